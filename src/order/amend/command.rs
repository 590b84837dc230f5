//! The command to amend an order, and the changes it may ask for.

use serde::{Deserialize, Serialize};

use crate::customer::Address;
use crate::ids::{IdempotencyKey, OrderId, Sku};
use crate::order::LineRequest;

/// One change to an order.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum Amendment {
    /// Adds a line, priced like a line of a new order (catalogue price unless
    /// given, its own discount, tax for the order's destination).
    AddLine(LineRequest),
    /// Sets the units a line is for (what is ordered less what was cancelled). It
    /// can never go below what has shipped. Signed so a negative number from a form
    /// gets a precise error.
    SetQuantity {
        /// The line.
        line_no: u16,
        /// Units wanted from now on.
        quantity: i64,
    },
    /// Removes what has not shipped of a line: `SetQuantity` to what shipped.
    RemoveLine {
        /// The line.
        line_no: u16,
    },
    /// Ships what has not shipped yet to another address.
    ShipTo {
        /// The new address.
        address: Address,
    },
}

/// The command to amend an order: its changes apply in order, in one commit.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct AmendOrder {
    /// Same key, same amendment: a retry returns the order as the first one left it.
    pub idempotency_key: IdempotencyKey,
    /// The order.
    pub order: OrderId,
    /// The changes, applied one after another.
    pub changes: Vec<Amendment>,
}

crate::with_setters!(AmendOrder {
    with_idempotency_key => idempotency_key: IdempotencyKey,
    with_order => order: OrderId,
    with_changes => changes: Vec<Amendment>,
});

impl AmendOrder {
    /// An amendment with no changes yet.
    pub fn new(idempotency_key: IdempotencyKey, order: OrderId) -> Self {
        Self {
            idempotency_key,
            order,
            changes: Vec::new(),
        }
    }

    /// Adds a line at the catalogue price.
    #[must_use]
    pub fn add_line(mut self, sku: Sku, quantity: i64) -> Self {
        self.changes
            .push(Amendment::AddLine(LineRequest::new(sku, quantity)));
        self
    }

    /// Sets the units line `line_no` is for.
    #[must_use]
    pub fn set_quantity(mut self, line_no: u16, quantity: i64) -> Self {
        self.changes
            .push(Amendment::SetQuantity { line_no, quantity });
        self
    }

    /// Removes what has not shipped of line `line_no`.
    #[must_use]
    pub fn remove_line(mut self, line_no: u16) -> Self {
        self.changes.push(Amendment::RemoveLine { line_no });
        self
    }

    /// Ships the rest to `address`.
    #[must_use]
    pub fn ship_to(mut self, address: Address) -> Self {
        self.changes.push(Amendment::ShipTo { address });
        self
    }
}
