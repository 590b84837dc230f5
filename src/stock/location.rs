use std::sync::Arc;

use serde::{Deserialize, Serialize};

use crate::customer::Address;
use crate::ids::LocationId;

/// What kind of place holds stock.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum LocationKind {
    /// A warehouse or distribution centre.
    Warehouse,
    /// A retail store: can ship, and can hand goods over for in-store pickup.
    Store,
    /// A third-party logistics provider's site.
    ThirdParty,
}

/// A place that holds stock.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Location {
    /// Code.
    pub id: LocationId,
    /// Display name.
    pub name: String,
    /// Kind of site.
    pub kind: LocationKind,
    /// Where shipments leave from (and where pickup customers come to). Shared: the
    /// service reads every location for every order.
    pub address: Arc<Address>,
    /// Allocation priority: lower numbers are tried first.
    pub priority: u32,
    /// Whether orders may be allocated here at all.
    pub fulfils_orders: bool,
}

impl Location {
    /// A location that fulfils orders.
    pub fn new(
        id: LocationId,
        name: impl Into<String>,
        kind: LocationKind,
        address: Address,
        priority: u32,
    ) -> Self {
        Self {
            id,
            name: name.into(),
            kind,
            address: Arc::new(address),
            priority,
            fulfils_orders: true,
        }
    }
}
