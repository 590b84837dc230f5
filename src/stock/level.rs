use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::StockError;

use crate::ids::{LocationId, OrderId, ShipmentId, Sku};

/// Stock of one SKU at one location.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct StockLevel {
    /// The SKU.
    pub sku: Sku,
    /// The location.
    pub location: LocationId,
    /// Units physically there: the sum of all movements.
    pub on_hand: i64,
    /// Units promised to open orders: the sum of open reservations.
    pub reserved: i64,
}

impl StockLevel {
    /// An empty level.
    pub fn empty(sku: Sku, location: LocationId) -> Self {
        Self {
            sku,
            location,
            on_hand: 0,
            reserved: 0,
        }
    }

    /// Units that can still be promised: `on_hand − reserved`.
    pub fn available(&self) -> i64 {
        self.on_hand.saturating_sub(self.reserved)
    }

    /// [`StockLevel::available`] as a count of units to allocate from.
    ///
    /// # Errors
    /// [`StockError::BrokenGuard`] if more is reserved than is on hand: the store
    /// guard never lets that be stored, so it is a store to repair, not stock to
    /// count as zero.
    pub fn units_available(&self) -> Result<u64, StockError> {
        u64::try_from(self.available()).map_err(|_| StockError::BrokenGuard {
            sku: self.sku.clone(),
            location: self.location.clone(),
            on_hand: self.on_hand,
            reserved: self.reserved,
        })
    }
}

/// Why on-hand changed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum MovementReason {
    /// Goods a customer sent back, fit to sell again.
    Return {
        /// The return authorisation.
        rma: crate::ids::ReturnId,
    },
    /// Goods received into the location from outside o2c's purchasing.
    Receipt {
        /// The host's reference (delivery note).
        reference: String,
    },
    /// Goods received against one of our purchase orders.
    PurchaseOrder {
        /// The purchase order.
        purchase_order: crate::ids::PurchaseOrderId,
    },
    /// Goods left on a shipment.
    Shipment {
        /// The shipment.
        shipment: ShipmentId,
    },
    /// A stock count or correction.
    Adjustment {
        /// Why (cycle count, damage, found).
        reason: String,
    },
}

/// One change of on-hand, recorded forever: on-hand is the sum of these.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct StockMovement {
    /// The SKU.
    pub sku: Sku,
    /// The location.
    pub location: LocationId,
    /// Signed change of on-hand.
    pub quantity: i64,
    /// Why.
    pub reason: MovementReason,
    /// When.
    pub at: DateTime<Utc>,
    /// What a receipt was worth at cost: what it added to inventory and to goods
    /// received not invoiced, so the audit can check that account against its
    /// documents. `None` on every other movement (their documents carry their
    /// value: shipments, returns), and on receipts recorded before 0.2.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value: Option<crate::money::Money>,
}

/// A change of reserved stock for one order: positive reserves, negative releases.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct ReservationChange {
    /// The SKU.
    pub sku: Sku,
    /// The location.
    pub location: LocationId,
    /// The order the units are (or were) promised to.
    pub order: OrderId,
    /// Signed change of reserved.
    pub quantity: i64,
}
