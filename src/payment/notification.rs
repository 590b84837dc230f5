//! What a provider reports on its own (webhooks): answers to requests whose reply
//! was lost, lapsed authorisations, payouts.

use serde::{Deserialize, Serialize};

use crate::ids::OrderId;
use crate::money::Money;

/// One notification from the provider. Applied once per (provider, id)
/// ([`Oms::apply_payment_event`](crate::Oms::apply_payment_event)): providers
/// deliver webhooks at least once.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct PaymentNotification {
    /// The provider's id for the notification.
    pub id: String,
    /// The provider.
    pub provider: String,
    /// What happened.
    pub event: ProviderEvent,
}

/// What a notification says happened.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ProviderEvent {
    /// A capture, void or refund the service asked for was done.
    RequestDone {
        /// The order (the merchant reference).
        order: OrderId,
        /// The request's key.
        key: String,
        /// The provider's id for what it did.
        reference: String,
    },
    /// A capture, void or refund the service asked for was declined or refused.
    RequestFailed {
        /// The order.
        order: OrderId,
        /// The request's key.
        key: String,
        /// Why.
        reason: String,
    },
    /// An authorisation lapsed with money still held.
    AuthorisationExpired {
        /// The order.
        order: OrderId,
        /// The provider's id for the authorisation.
        authorisation: String,
    },
    /// The provider paid captured money out to the bank.
    Settled {
        /// The provider's id for the payout.
        payout: String,
        /// What it settles of the captures.
        gross: Money,
        /// The provider's fee.
        fee: Money,
    },
}
