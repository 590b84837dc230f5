//! An order as a host shows it: the order with the figures a screen or an API
//! response would otherwise compute from it.

use serde::Serialize;

use super::{FulfilmentStatus, Order, PaymentStatus};
use crate::money::{Money, MoneyError};

/// An order with its money and progress worked out ([`Oms::order_view`](crate::Oms::order_view)).
///
/// The amounts are the order's own figures: `total` is what the order is worth now
/// (units still wanted, with shipping: [`Order::value`]); `invoiced`, `paid` and
/// `credited` are what its invoices billed, what payments settled on them and what
/// credit notes took back; `due` is what its invoices still ask for; `unbilled` is
/// what of `total` no invoice carries yet.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct OrderView {
    /// The order itself.
    pub order: Order,
    /// What the order is worth now.
    pub total: Money,
    /// Billed on its invoices.
    pub invoiced: Money,
    /// Paid against its invoices.
    pub paid: Money,
    /// Taken back by credit notes.
    pub credited: Money,
    /// Still owed on its invoices: invoiced less paid and credited.
    pub due: Money,
    /// Of `total`, what no invoice carries yet.
    pub unbilled: Money,
    /// Shipping progress.
    pub fulfilment: FulfilmentStatus,
    /// Payment progress.
    pub payment: PaymentStatus,
}

impl OrderView {
    /// The view of `order`.
    ///
    /// # Errors
    /// On overflow.
    pub fn of(order: Order) -> Result<Self, MoneyError> {
        let credited = order.credit_total();
        let due = order
            .invoiced
            .checked_sub(order.paid)?
            .checked_sub(credited)?;
        Ok(Self {
            total: order.value()?,
            invoiced: order.invoiced,
            paid: order.paid,
            credited,
            due,
            unbilled: order.unbilled_value()?,
            fulfilment: order.fulfilment_status(),
            payment: order.payment_status(),
            order,
        })
    }
}
