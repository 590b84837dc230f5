//! Stock: locations, levels per SKU × location, reservations, movements, allocation.
//!
//! On-hand only ever changes through a [`StockMovement`]; reserved only through a
//! [`ReservationChange`]. The store applies both as guarded deltas inside its commit
//! (see [`crate::store::Store`]), which is what makes overselling impossible even
//! under concurrent writers.

mod allocation;
pub(crate) mod availability;
mod level;
mod location;
mod receive;
mod valuation;

pub use allocation::{Allocation, AllocationStrategy, LineDemand, allocate, allocate_available};
pub use availability::{Availability, availability};
pub use level::{MovementReason, ReservationChange, StockLevel, StockMovement};
pub use location::{Location, LocationKind};
pub use receive::{AdjustStock, ReceiveStock};
pub(crate) use receive::{StockCommand, change_stock, record_correction};
pub use valuation::{Valuation, valuation};

use crate::error::ErrorKind;
use crate::ids::{LocationId, Sku};

/// Why stock could not be reserved or moved.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum StockError {
    /// Not enough available stock, over all locations allowed to serve the order.
    #[error("insufficient stock of {sku}: requested {requested}, available {available}")]
    Insufficient {
        /// The SKU short of stock.
        sku: Sku,
        /// Units asked for (summed over the order's lines of this SKU).
        requested: u64,
        /// Units available across the locations considered.
        available: u64,
    },
    /// An adjustment or shipment would take on-hand below what is reserved.
    #[error(
        "stock of {sku} at {location} would go below reserved: on hand {on_hand}, reserved {reserved}, change {delta}"
    )]
    BelowReserved {
        /// The SKU.
        sku: Sku,
        /// The location.
        location: LocationId,
        /// On-hand before the change.
        on_hand: i64,
        /// Reserved before the change.
        reserved: i64,
        /// The requested change of on-hand.
        delta: i64,
    },
    /// A zero stock change was requested.
    #[error("a stock change of zero units does nothing")]
    ZeroChange,
    /// A stock level read with more reserved than on hand, which the store's
    /// guard forbids: the store needs repair (page an operator); counting it as
    /// nothing available would hide that.
    #[error(
        "stock of {sku} at {location} breaks the guard: on hand {on_hand}, reserved {reserved}"
    )]
    BrokenGuard {
        /// The SKU.
        sku: Sku,
        /// The location.
        location: LocationId,
        /// On-hand read.
        on_hand: i64,
        /// Reserved read.
        reserved: i64,
    },
}

impl StockError {
    /// This error's stable code ([`Error::code`](crate::Error::code)).
    pub fn code(&self) -> &'static str {
        match self {
            StockError::Insufficient { .. } => "stock.insufficient",
            StockError::BelowReserved { .. } => "stock.below_reserved",
            StockError::ZeroChange => "stock.zero_change",
            StockError::BrokenGuard { .. } => "stock.broken_guard",
        }
    }

    /// What sort of failure this is ([`Error::kind`](crate::Error::kind)).
    pub fn kind(&self) -> ErrorKind {
        match self {
            StockError::Insufficient { .. } => ErrorKind::Refused,
            StockError::BelowReserved { .. } => ErrorKind::Refused,
            StockError::ZeroChange => ErrorKind::InvalidInput,
            StockError::BrokenGuard { .. } => ErrorKind::Internal,
        }
    }
}
