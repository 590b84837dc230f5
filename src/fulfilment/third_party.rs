//! Warehouses run by someone else (third-party logistics, 3PL): o2c releases an
//! order's lines to the site through a port, and the site reports back — what it
//! shipped, what it could not ship, and what it counts on its shelves.
//!
//! The reports arrive as [`ThirdPartyMessage`]s, each with the site's own
//! message id, which is its idempotency key: a message delivered twice is applied
//! once. Reports that move stock carry the site's **sequence**, its position in
//! the site's own stream of movements, and a stock count carries the position it
//! was taken **as of**. That is what makes late and out-of-order messages
//! harmless: a shipment reported after a count that already saw it is not
//! counted twice, and a count older than the last one applied changes nothing.

mod feed;
mod messages;
pub(crate) mod orders;
mod simulator;
pub(crate) mod stock;
#[cfg(test)]
mod tests;

use std::future::Future;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::error::ErrorKind;
use crate::ids::{IdempotencyKey, LocationId, OrderId, Sku};
use crate::order::Delivery;
use crate::quantity::Quantity;

pub use feed::{
    CountDifference, CountPosition, CountResult, ReportedMove, Shortfall, ThirdPartyFeed,
};
pub(crate) use feed::{Late, reconcile};
pub use messages::{CountedStock, ThirdPartyMessage, ThirdPartyReport};
pub use simulator::{SimulatedThirdParty, ThirdPartyFaults};

/// What applying a third-party warehouse's message did
/// ([`Oms::apply_third_party_message`](crate::Oms::apply_third_party_message)).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(tag = "type", content = "value", rename_all = "snake_case")]
pub enum ThirdPartyOutcome {
    /// The shipment the reported units left on.
    Shipped(crate::fulfilment::Shipment),
    /// The order, its rejected units no longer released.
    Rejected(crate::order::Order),
    /// What the count found.
    Counted(CountResult),
}

/// Units of one order line, in a release and in the reports about it.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct ReleaseLine {
    /// The order line.
    pub line_no: u16,
    /// Its SKU.
    pub sku: Sku,
    /// Units.
    pub quantity: Quantity,
}

/// An order's lines handed to a third-party warehouse to pick, pack and ship:
/// the outbound request of [`ThirdPartyWarehouse::release`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct Release {
    /// The release's own key: the warehouse takes a release it already has as a
    /// repeat of it, never as a second one.
    pub key: IdempotencyKey,
    /// The order.
    pub order: OrderId,
    /// The warehouse.
    pub location: LocationId,
    /// What to ship.
    pub lines: Vec<ReleaseLine>,
    /// Where to (or a pickup at the warehouse), and how fast.
    pub delivery: Delivery,
    /// When o2c released it.
    pub released_at: DateTime<Utc>,
}

/// Why a third-party warehouse's port or report failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ThirdPartyError {
    /// The warehouse did not answer (a timeout, a broken connection). The release
    /// is recorded: calling again with the same key sends it again, and the
    /// warehouse takes it once.
    #[error("the third-party warehouse {site} did not answer")]
    Unavailable {
        /// The warehouse's name.
        site: String,
    },
    /// The warehouse refused the release (its own reason). Its units are o2c's
    /// again at once, as if the warehouse had rejected them.
    #[error("the third-party warehouse {site} refused the release: {reason}")]
    Refused {
        /// The warehouse's name.
        site: String,
        /// Its reason.
        reason: String,
    },
    /// The location is not a third-party warehouse.
    #[error("{location} is not a third-party warehouse")]
    NotThirdParty {
        /// The location.
        location: LocationId,
    },
    /// Nothing of the order is reserved at the warehouse and not yet released.
    #[error("nothing of order {order} is left to release to {location}")]
    NothingToRelease {
        /// The order.
        order: OrderId,
        /// The warehouse.
        location: LocationId,
    },
    /// A report names units of an order line that were not released to the
    /// warehouse (more than were, another order's, another site's).
    #[error(
        "order {order} line {line_no}: {reported} units reported, {released} released to {location}"
    )]
    NotReleased {
        /// The order.
        order: OrderId,
        /// The warehouse.
        location: LocationId,
        /// The line.
        line_no: u16,
        /// Units released there and not yet reported.
        released: u64,
        /// Units the report names.
        reported: u64,
    },
    /// A message that can never be applied: an id that is no key, no lines, a
    /// count of no SKUs or of one SKU twice, a sequence or position of 0.
    #[error("malformed third-party message: {reason}")]
    Malformed {
        /// What is wrong.
        reason: String,
    },
}

impl ThirdPartyError {
    /// This error's stable code ([`Error::code`](crate::Error::code)).
    pub fn code(&self) -> &'static str {
        match self {
            ThirdPartyError::Unavailable { .. } => "third_party.unavailable",
            ThirdPartyError::Refused { .. } => "third_party.refused",
            ThirdPartyError::NotThirdParty { .. } => "third_party.not_third_party",
            ThirdPartyError::NothingToRelease { .. } => "third_party.nothing_to_release",
            ThirdPartyError::NotReleased { .. } => "third_party.not_released",
            ThirdPartyError::Malformed { .. } => "third_party.malformed",
        }
    }

    /// What sort of failure this is ([`Error::kind`](crate::Error::kind)).
    pub fn kind(&self) -> ErrorKind {
        match self {
            ThirdPartyError::Unavailable { .. } => ErrorKind::Unavailable,
            ThirdPartyError::Refused { .. } => ErrorKind::Refused,
            ThirdPartyError::NotThirdParty { .. } => ErrorKind::InvalidInput,
            ThirdPartyError::NothingToRelease { .. } => ErrorKind::Refused,
            ThirdPartyError::NotReleased { .. } => ErrorKind::InvalidInput,
            ThirdPartyError::Malformed { .. } => ErrorKind::InvalidInput,
        }
    }
}

/// The port to a warehouse run by someone else: what o2c sends it. What it
/// sends back comes in as [`ThirdPartyMessage`]s, through
/// [`Oms::apply_third_party_message`](crate::Oms::apply_third_party_message).
///
/// # Contract
/// - **Idempotent by key.** A release whose [`Release::key`] the warehouse
///   already has is a repeat: it answers as it did and ships nothing more. o2c
///   sends a release again when a call with the same key is retried (after a
///   timeout, say), so this is what keeps a retry from shipping twice.
/// - **Reports back.** Every unit released is, in the end, reported shipped or
///   rejected, each report with a message id of its own; units it ships carry
///   the site's sequence (see [`ThirdPartyReport`]).
pub trait ThirdPartyWarehouse: Send + Sync {
    /// The warehouse's name, for errors and logs.
    fn name(&self) -> &str;

    /// Hands `release` to the warehouse.
    ///
    /// # Errors
    /// [`ThirdPartyError::Unavailable`] when it does not answer;
    /// [`ThirdPartyError::Refused`] when it will not take the release.
    fn release(
        &self,
        release: &Release,
    ) -> impl Future<Output = Result<(), ThirdPartyError>> + Send;
}

impl<W: ThirdPartyWarehouse> ThirdPartyWarehouse for std::sync::Arc<W> {
    fn name(&self) -> &str {
        W::name(self)
    }

    fn release(
        &self,
        release: &Release,
    ) -> impl Future<Output = Result<(), ThirdPartyError>> + Send {
        W::release(self, release)
    }
}
