use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::customer::PaymentMethod;
use crate::ids::{CustomerId, InvoiceId, OrderId, PaymentId};
use crate::money::Money;

/// What to do with money received beyond what an invoice still owes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
pub enum OverpaymentPolicy {
    /// Refuse the payment: the caller must record the right amount.
    #[default]
    Reject,
    /// Apply what is owed and hold the rest as customer credit (a liability).
    CreditCustomer,
}

/// Money received against an invoice.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Payment {
    /// Identity.
    pub id: PaymentId,
    /// The invoice paid.
    pub invoice: InvoiceId,
    /// Its order.
    pub order: OrderId,
    /// The payer.
    pub customer: CustomerId,
    /// How it was paid.
    pub method: PaymentMethod,
    /// Everything received.
    pub amount: Money,
    /// The part applied to the invoice.
    pub applied: Money,
    /// The excess held as customer credit.
    pub credited: Money,
    /// When received.
    pub received_at: DateTime<Utc>,
    /// The gateway's or bank's reference.
    pub reference: Option<String>,
    /// Refunded against it so far (`None`: nothing).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub refunded: Option<Money>,
}

impl Payment {
    /// Refunded against it so far.
    pub fn refund_total(&self) -> Money {
        self.refunded
            .unwrap_or_else(|| Money::zero(self.amount.currency()))
    }
}
