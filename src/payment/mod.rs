//! Card payments through a payment provider: authorised at checkout, captured as
//! goods ship, voided when an order is cancelled, refunded through the provider.
//!
//! # The cycle
//! With a provider configured ([`Oms::with_payments`](crate::Oms::with_payments)),
//! an order from a customer whose method the provider [takes](PaymentProvider::takes)
//! (a card) is paid this way:
//! 1. **Placing** decides the order, then authorises its total with the
//!    customer's stored card ([`NewCustomer::payment_token`](crate::customer::NewCustomer::payment_token)),
//!    keyed by the order's idempotency key, and commits the order with the
//!    authorisation. The authorisation replaces the prepaid hold: the order may
//!    ship at once. If the commit fails for good, the authorisation is voided. A
//!    declined card holds the order ([`Hold::PaymentDeclined`](crate::order::Hold::PaymentDeclined))
//!    or refuses it ([`DeclinedPayment`]), and nothing is taken.
//! 2. **Shipping** invoices what each shipment carries (an order paid through a
//!    provider is invoiced as it ships, whatever the invoice policy: the capture
//!    is the invoice's payment) and, in the same commit, records a capture of the
//!    invoice's total and takes it from the authorisation's bounded counter, so
//!    two shipments capturing at once can never take more than was authorised.
//!    The capture is sent after the commit; once the provider answers it
//!    becomes a [`Payment`](crate::ledger::Payment) of the invoice. When nothing
//!    is left to ship, what is left of the authorisation is voided.
//!    A shipment the authorisation cannot pay for is refused
//!    ([`PaymentError::NotAuthorised`](crate::ledger::PaymentError::NotAuthorised),
//!    `ExceedsAuthorisation`); a capture the provider turns down holds the order
//!    until [`Oms::authorise_order`](crate::Oms::authorise_order) authorises it
//!    again and captures what the shipped invoices still owe. An amendment that
//!    makes the order dearer than its authorisation authorises it afresh.
//! 3. **Cancelling** voids what is still authorised.
//! 4. **Refunds** ([`Oms::record_refund`](crate::Oms::record_refund)) of a captured
//!    payment are booked, then sent to the provider, never beyond what the capture
//!    took; one the provider refuses is reversed into the customer's credit.
//! 5. **Expiry**: an authorisation that lapses before everything shipped is
//!    renewed or the order held, by policy ([`ExpiredAuthorisation`]), in
//!    [`Oms::run_due`](crate::Oms::run_due) or when the provider says so.
//!
//! Every request to the provider (capture, void, refund) is committed *before*
//! it is sent and carries its own idempotency key. A request whose answer was
//! lost (a timeout, a crash) stays open on the order; the service resolves it by
//! asking the provider ([`PaymentProvider::status`]) — from
//! [`Oms::run_due`](crate::Oms::run_due), or when the provider's notification
//! arrives ([`Oms::apply_payment_event`](crate::Oms::apply_payment_event)) —
//! and sends it again only when the provider has never seen it. A void waits
//! for the captures sent before it on the same authorisation.
//!
//! An authorisation made for a placement that never committed (the call given
//! up after the provider's reply was lost) is left to lapse at the provider;
//! its notifications name an order o2c does not have and are refused with
//! [`Error::NotFound`](crate::Error::NotFound). A retry of the placement with
//! the same key and the same card gets the same authorisation back.
//!
//! # The ledger
//! - An authorisation posts nothing: no money moved, and the customer owes
//!   nothing until goods are invoiced.
//! - A capture is a payment: Dr card clearing, Cr receivables.
//! - A refund of a capture: Dr customer credit, Cr card clearing (credit the
//!   returned or cancelled part first, as for any refund); reversed if the
//!   provider refuses it.
//! - A payout ([`Oms::record_settlement`](crate::Oms::record_settlement)): Dr bank
//!   (net), Dr provider fees, Cr card clearing (gross). Card clearing therefore
//!   holds what was captured, less refunds, not yet paid out.

mod authorisation;
mod notification;
mod provider;
mod settlement;
mod simulator;

pub use authorisation::{
    AUTHORISATION_COUNTER, Authorisation, AuthorisationState, PaymentRequest, RequestKind,
    RequestOutcome, active, authorised, due_at, nothing_left_to_ship, open_requests,
    request_capture, request_refund, request_void,
};
pub(crate) use authorisation::{Answered, answer, find};
pub use notification::{PaymentNotification, ProviderEvent};
pub use provider::{
    AuthoriseRequest, Authorised, CaptureRequest, NoPaymentProvider, PaymentProvider,
    ProviderError, ProviderReceipt, ProviderStatus, RefundRequest, VoidRequest,
};
pub(crate) use settlement::post as post_settlement;
pub use settlement::{RecordSettlement, Settlement};
pub use simulator::{CardFaults, DECLINED_CARD, ProviderTotals, SimulatedCardProvider};

use serde::{Deserialize, Serialize};

/// What placing an order does when the customer's card is declined.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "snake_case")]
pub enum DeclinedPayment {
    /// Place it held ([`Hold::PaymentDeclined`](crate::order::Hold::PaymentDeclined)),
    /// its stock reserved, until the customer's card is authorised
    /// ([`Oms::authorise_order`](crate::Oms::authorise_order)) or it is cancelled.
    #[default]
    #[serde(alias = "Hold")]
    Hold,
    /// Refuse it ([`PaymentError::Declined`](crate::ledger::PaymentError::Declined)):
    /// nothing is written.
    #[serde(alias = "Refuse")]
    Refuse,
}

/// What happens to an order whose authorisation lapses before everything shipped.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "snake_case")]
pub enum ExpiredAuthorisation {
    /// Authorise what is still to capture again; hold the order if that is
    /// declined.
    #[default]
    #[serde(alias = "Reauthorise")]
    Reauthorise,
    /// Hold the order ([`Hold::PaymentDeclined`](crate::order::Hold::PaymentDeclined))
    /// until the host authorises it again.
    #[serde(alias = "Hold")]
    Hold,
}

/// How the service treats card payments through its provider.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[non_exhaustive]
pub struct PaymentPolicy {
    /// A declined card at checkout.
    pub on_decline: DeclinedPayment,
    /// An authorisation that lapses.
    pub on_expiry: ExpiredAuthorisation,
}

impl PaymentPolicy {
    /// A declined card holds the order; a lapsed authorisation is renewed.
    pub fn new() -> Self {
        Self::default()
    }

    /// What a declined card does.
    #[must_use]
    pub fn with_on_decline(mut self, on_decline: DeclinedPayment) -> Self {
        self.on_decline = on_decline;
        self
    }

    /// What a lapsed authorisation does.
    #[must_use]
    pub fn with_on_expiry(mut self, on_expiry: ExpiredAuthorisation) -> Self {
        self.on_expiry = on_expiry;
        self
    }
}
