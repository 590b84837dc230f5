//! The double-entry ledger: accounts, journal entries, invoices, payments, credit
//! notes and refunds, and the decisions that issue and record them.
//!
//! Amounts on journal lines are signed: positive is a debit, negative a credit, so an
//! entry balances when its lines sum to zero per currency, and an account's balance is
//! the plain sum of its lines (debit-positive). Every entry is checked when built;
//! an unbalanced entry cannot exist.

mod account;
mod credit;
mod credit_note;
mod entry;
mod export;
#[cfg(test)]
pub(crate) mod fixtures;
mod invoice;
mod invoicing;
mod order_credit;
mod payment;
mod postings;
mod refund;

pub use account::{Account, AccountCode, AccountKind, AccountMap, ChartOfAccounts};
pub use credit::{IssueCreditNote, credit_invoice, credit_lines, issue_credit_note};
pub use credit_note::{CreditNote, CreditNoteNumber};
pub use entry::{
    AccountBalance, EntryBuilder, EntrySource, JournalEntry, JournalLine, TrialBalance,
};
pub use export::{
    AccountNames, DocumentNumbers, ExportError, ExportOptions, ExportSummary, JournalFormat,
    JournalWriter,
};
pub use invoice::{
    Invoice, InvoiceLine, InvoiceNumber, InvoicePolicy, InvoiceStatus, InvoiceTotals,
};
pub use invoicing::issue_invoice;
pub use order_credit::credit_order_lines;
pub(crate) use payment::record_capture;
pub use payment::{OverpaymentPolicy, Payment, RecordPayment, record_payment};
pub use postings::Postings;
pub use refund::{RecordRefund, record_refund};

use crate::error::ErrorKind;
use crate::money::{Currency, Money, MoneyError};
use crate::quantity::Quantity;

/// Why a ledger operation was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum LedgerError {
    /// Debits and credits differ in some currency.
    #[error("journal entry does not balance in {currency}: off by {imbalance}")]
    Unbalanced {
        /// The currency that does not balance.
        currency: Currency,
        /// Sum of debits minus credits.
        imbalance: Money,
    },
    /// An entry needs at least one debit and one credit.
    #[error("a journal entry needs at least two non-zero lines")]
    TooFewLines,
    /// An amount has more decimals than its currency allows.
    #[error("journal amount {0} is not in minor units")]
    NotInMinorUnits(Money),
    /// A line names an account missing from the chart.
    #[error("unknown account {0}")]
    UnknownAccount(AccountCode),
    /// Amount arithmetic failed.
    #[error(transparent)]
    Money(#[from] MoneyError),
}

impl LedgerError {
    /// This error's stable code ([`Error::code`](crate::Error::code)).
    pub fn code(&self) -> &'static str {
        match self {
            LedgerError::Unbalanced { .. } => "ledger.unbalanced",
            LedgerError::TooFewLines => "ledger.too_few_lines",
            LedgerError::NotInMinorUnits(..) => "ledger.not_in_minor_units",
            LedgerError::UnknownAccount(..) => "ledger.unknown_account",
            LedgerError::Money(_) => "ledger.arithmetic",
        }
    }

    /// What sort of failure this is ([`Error::kind`](crate::Error::kind)).
    pub fn kind(&self) -> ErrorKind {
        match self {
            LedgerError::Unbalanced { .. } => ErrorKind::Internal,
            LedgerError::TooFewLines => ErrorKind::Internal,
            LedgerError::NotInMinorUnits(..) => ErrorKind::Internal,
            LedgerError::UnknownAccount(..) => ErrorKind::Internal,
            LedgerError::Money(_) => ErrorKind::Internal,
        }
    }
}

/// Why a credit note or a refund was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum CreditError {
    /// The invoice was voided: there is nothing left on it to credit.
    #[error("invoice {0} is void")]
    InvoiceVoid(crate::ids::InvoiceId),
    /// A credit note with no units and no shipping, or worth nothing.
    #[error("the credit note credits nothing")]
    NothingToCredit,
    /// A line number the invoice does not bill.
    #[error("invoice line {line_no} does not exist")]
    NotOnInvoice {
        /// The line asked for.
        line_no: u16,
    },
    /// More units than the invoice line bills, less what was credited before.
    #[error(
        "line {line_no}: crediting {requested} units, but {invoiced} were invoiced and {credited} already credited"
    )]
    MoreThanInvoiced {
        /// The line.
        line_no: u16,
        /// Units the invoice line bills.
        invoiced: Quantity,
        /// Units credited before.
        credited: Quantity,
        /// Units asked for.
        requested: Quantity,
    },
    /// More shipping than the invoice charged, less what was credited before.
    #[error("crediting {requested} of shipping, but {remaining} is left to credit")]
    ShippingBeyondCharged {
        /// Shipping not yet credited.
        remaining: Money,
        /// Shipping asked for.
        requested: Money,
    },
    /// A refund of more than the customer's credit balance.
    #[error("refunding {requested}, but the customer's credit is {available}")]
    ExceedsCredit {
        /// The customer's credit.
        available: Money,
        /// The refund asked for.
        requested: Money,
    },
    /// A payment made out of customer credit: refunding it would only move credit
    /// to credit. Refund the payments that brought the money in.
    #[error("payment {0} was made out of customer credit")]
    PaidFromCredit(crate::ids::PaymentId),
    /// A refund of more than the payment, less what was refunded before.
    #[error("refunding {requested} against a payment of {paid} of which {refunded} was refunded")]
    BeyondPayment {
        /// The payment's amount.
        paid: Money,
        /// Refunded before.
        refunded: Money,
        /// The refund asked for.
        requested: Money,
    },
}

impl CreditError {
    /// This error's stable code ([`Error::code`](crate::Error::code)).
    pub fn code(&self) -> &'static str {
        match self {
            CreditError::InvoiceVoid(..) => "credit.invoice_void",
            CreditError::NothingToCredit => "credit.nothing_to_credit",
            CreditError::NotOnInvoice { .. } => "credit.not_on_invoice",
            CreditError::MoreThanInvoiced { .. } => "credit.more_than_invoiced",
            CreditError::ShippingBeyondCharged { .. } => "credit.shipping_beyond_charged",
            CreditError::ExceedsCredit { .. } => "credit.exceeds_credit",
            CreditError::PaidFromCredit(..) => "credit.paid_from_credit",
            CreditError::BeyondPayment { .. } => "credit.beyond_payment",
        }
    }

    /// What sort of failure this is ([`Error::kind`](crate::Error::kind)).
    pub fn kind(&self) -> ErrorKind {
        match self {
            CreditError::InvoiceVoid(..) => ErrorKind::Refused,
            CreditError::NothingToCredit => ErrorKind::InvalidInput,
            CreditError::NotOnInvoice { .. } => ErrorKind::InvalidInput,
            CreditError::MoreThanInvoiced { .. } => ErrorKind::Refused,
            CreditError::ShippingBeyondCharged { .. } => ErrorKind::Refused,
            CreditError::ExceedsCredit { .. } => ErrorKind::Refused,
            CreditError::PaidFromCredit(..) => ErrorKind::Refused,
            CreditError::BeyondPayment { .. } => ErrorKind::Refused,
        }
    }
}

/// Why a payment was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum PaymentError {
    /// Zero or negative.
    #[error("a payment must be positive, got {0}")]
    NotPositive(Money),
    /// More than the invoice still owes, and the policy refuses overpayments.
    #[error("payment of {offered} exceeds the {outstanding} outstanding")]
    Overpayment {
        /// What the invoice still owes.
        outstanding: Money,
        /// What was offered.
        offered: Money,
    },
    /// The invoice was voided.
    #[error("invoice {0} is void")]
    InvoiceVoid(crate::ids::InvoiceId),
    /// The invoice is already paid in full.
    #[error("invoice {0} is already paid")]
    AlreadyPaid(crate::ids::InvoiceId),
    /// The payment's currency differs from the invoice's.
    #[error("the invoice is in {expected}, the payment in {found}")]
    CurrencyMismatch {
        /// The invoice's currency.
        expected: Currency,
        /// The payment's.
        found: Currency,
    },
    /// The amount has more decimals than the currency has minor units.
    #[error("{0} is not a whole number of minor units")]
    NotInMinorUnits(Money),
    /// [`PaymentMethod::OnAccount`](crate::customer::PaymentMethod::OnAccount) is a
    /// payment term (the customer pays later, on their account), not a way money
    /// arrives: no money came in, so there is nothing to record and the invoice
    /// still owes. Record the payment once the money arrives, with the method it
    /// came by (`BankTransfer`, say).
    #[error(
        "on account is a payment term, not a payment: record the money with the method it arrived by"
    )]
    OnAccountIsNotAPayment,
    /// Card-like payments go through the payment provider: they are captured as
    /// goods ship ([`Oms::ship`](crate::Oms::ship)), never recorded by hand.
    #[error("{method:?} payments go through the payment provider, not record_payment")]
    ThroughProvider {
        /// The method.
        method: crate::customer::PaymentMethod,
    },
    /// The customer's card was declined, and the policy refuses the order
    /// ([`DeclinedPayment::Refuse`](crate::payment::DeclinedPayment::Refuse)).
    #[error("the payment was declined: {reason}")]
    Declined {
        /// Why, as the provider said.
        reason: String,
    },
    /// A provider's notification or answer names a request the order never sent.
    #[error("order {order} has no payment request {key}")]
    UnknownRequest {
        /// The order.
        order: crate::ids::OrderId,
        /// The request's key (or the capture's reference).
        key: String,
    },
    /// The order's payment goes through the provider and holds no authorisation
    /// to take this from (voided, expired, or never made).
    #[error("order {0} has no active card authorisation")]
    NotAuthorised(crate::ids::OrderId),
    /// What a shipment would invoice is more than the order's authorisation
    /// still holds: authorise the order again first
    /// ([`Oms::authorise_order`](crate::Oms::authorise_order)).
    #[error("the shipment would capture {requested}, but only {available} is authorised")]
    ExceedsAuthorisation {
        /// What the authorisation still holds.
        available: Money,
        /// What the shipment would capture.
        requested: Money,
    },
    /// The notification came from another provider than the service's.
    #[error("the notification is from {found}, not {expected}")]
    OtherProvider {
        /// The service's provider.
        expected: String,
        /// The notification's.
        found: String,
    },
}

impl PaymentError {
    /// This error's stable code ([`Error::code`](crate::Error::code)).
    pub fn code(&self) -> &'static str {
        match self {
            PaymentError::NotPositive(..) => "payment.not_positive",
            PaymentError::Overpayment { .. } => "payment.overpayment",
            PaymentError::InvoiceVoid(..) => "payment.invoice_void",
            PaymentError::AlreadyPaid(..) => "payment.already_paid",
            PaymentError::CurrencyMismatch { .. } => "payment.currency_mismatch",
            PaymentError::NotInMinorUnits(..) => "payment.not_in_minor_units",
            PaymentError::OnAccountIsNotAPayment => "payment.on_account_is_not_a_payment",
            PaymentError::ThroughProvider { .. } => "payment.through_provider",
            PaymentError::Declined { .. } => "payment.declined",
            PaymentError::UnknownRequest { .. } => "payment.unknown_request",
            PaymentError::NotAuthorised(..) => "payment.not_authorised",
            PaymentError::ExceedsAuthorisation { .. } => "payment.exceeds_authorisation",
            PaymentError::OtherProvider { .. } => "payment.other_provider",
        }
    }

    /// What sort of failure this is ([`Error::kind`](crate::Error::kind)).
    pub fn kind(&self) -> ErrorKind {
        match self {
            PaymentError::NotPositive(..) => ErrorKind::InvalidInput,
            PaymentError::Overpayment { .. } => ErrorKind::Refused,
            PaymentError::InvoiceVoid(..) => ErrorKind::Refused,
            PaymentError::AlreadyPaid(..) => ErrorKind::Refused,
            PaymentError::CurrencyMismatch { .. } => ErrorKind::InvalidInput,
            PaymentError::NotInMinorUnits(..) => ErrorKind::InvalidInput,
            PaymentError::OnAccountIsNotAPayment => ErrorKind::InvalidInput,
            PaymentError::ThroughProvider { .. } => ErrorKind::InvalidInput,
            PaymentError::Declined { .. } => ErrorKind::Refused,
            PaymentError::UnknownRequest { .. } => ErrorKind::InvalidInput,
            PaymentError::NotAuthorised(..) => ErrorKind::Refused,
            PaymentError::ExceedsAuthorisation { .. } => ErrorKind::Refused,
            PaymentError::OtherProvider { .. } => ErrorKind::InvalidInput,
        }
    }
}
