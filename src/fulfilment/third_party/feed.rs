//! What o2c remembers of a third-party warehouse's stream of reports, and the
//! reconciliation of its stock counts against o2c's on-hand.

use serde::{Deserialize, Serialize};

use super::CountedStock;
use crate::ids::{LocationId, Sku};
use crate::stock::StockLevel;

/// What o2c knows of one third-party warehouse's reports: the position of each
/// SKU's last count, the movements reported after it, and what counts found
/// missing but could not write off. One record per warehouse, written by every
/// report that moves its stock.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct ThirdPartyFeed {
    /// The warehouse.
    pub location: LocationId,
    /// Each counted SKU's last count position (a count may cover a few SKUs):
    /// a count of the SKU at or before it is stale and changes nothing, and a
    /// movement of the SKU reported at or before it was in that count.
    pub counted: Vec<CountPosition>,
    /// Movements reported after their SKU's last count (or with none yet): a
    /// count taken before them does not see them, so they are not differences.
    /// A count of the SKU clears them up to its `as_of`.
    pub since_count: Vec<ReportedMove>,
    /// Units the last count found missing that orders still hold reserved: on
    /// hand may not drop below what is reserved, so they were not written off.
    /// A shipment of them reported late settles them; the next count recounts.
    pub unresolved: Vec<Shortfall>,
}

/// Where a SKU was last counted.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct CountPosition {
    /// The SKU.
    pub sku: Sku,
    /// The count's position in the warehouse's stream.
    pub as_of: u64,
}

/// A change of on-hand the warehouse reported, at its position.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct ReportedMove {
    /// The report's sequence.
    pub sequence: u64,
    /// The SKU.
    pub sku: Sku,
    /// Signed change of on-hand (a shipment is negative).
    pub quantity: i64,
}

/// Units of a SKU a count found missing but left on hand, because they are
/// reserved.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct Shortfall {
    /// The SKU.
    pub sku: Sku,
    /// Units.
    pub units: u64,
}

/// What applying a stock count did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct CountResult {
    /// The count's position.
    pub as_of: u64,
    /// False when the count was stale for every SKU it lists (each at or before
    /// the SKU's last count) and changed nothing.
    pub applied: bool,
    /// The SKUs whose count differed from o2c's on-hand as of the count.
    pub differences: Vec<CountDifference>,
}

/// One SKU whose count differed from what o2c expected.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct CountDifference {
    /// The SKU.
    pub sku: Sku,
    /// o2c's on-hand as of the count: today's, less the movements reported
    /// after the count's position.
    pub expected: i64,
    /// What the warehouse counted.
    pub counted: i64,
    /// The stock adjustment posted (`counted − expected`, unless that would
    /// take on-hand below what is reserved).
    pub adjusted: i64,
    /// Missing units not written off because they are reserved (see
    /// [`ThirdPartyFeed::unresolved`]).
    pub unresolved: u64,
}

/// A movement reported after a count that already saw it: on-hand is put back
/// by `units` (the count wrote them off as missing; the report says where they
/// went), so they are not taken twice.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Late {
    /// The SKU.
    pub sku: Sku,
    /// Units to put back on hand.
    pub units: i64,
}

impl ThirdPartyFeed {
    /// A warehouse nothing was reported from yet.
    pub fn new(location: LocationId) -> Self {
        Self {
            location,
            counted: Vec::new(),
            since_count: Vec::new(),
            unresolved: Vec::new(),
        }
    }

    /// Where `sku` was last counted, if it was.
    fn counted_at(&self, sku: &Sku) -> Option<u64> {
        self.counted.iter().find(|c| &c.sku == sku).map(|c| c.as_of)
    }

    /// Records the stock `moves` a report at `sequence` makes. A move of a SKU
    /// whose last count already saw it (at or before that count's position)
    /// comes late: it is in the count, so what the count wrote off for it is
    /// put back (the [`Late`] returned) and what it left unresolved is settled.
    pub(crate) fn moved(&mut self, sequence: u64, moves: &[(Sku, i64)]) -> Vec<Late> {
        let mut put_back = Vec::new();
        for (sku, quantity) in moves {
            if self.counted_at(sku).is_none_or(|at| sequence > at) {
                self.since_count.push(ReportedMove {
                    sequence,
                    sku: sku.clone(),
                    quantity: *quantity,
                });
                continue;
            }
            let mut units = quantity.saturating_neg();
            if units > 0 {
                // Units the count left on hand (reserved) need no putting back.
                if let Some(short) = self.unresolved.iter_mut().find(|s| &s.sku == sku) {
                    let settled = short.units.min(units.unsigned_abs());
                    short.units -= settled;
                    units -= i64::try_from(settled).unwrap_or(0);
                }
                self.unresolved.retain(|s| s.units > 0);
            }
            if units != 0 {
                put_back.push(Late {
                    sku: sku.clone(),
                    units,
                });
            }
        }
        put_back
    }
}

/// Compares a count taken `as_of` a position with o2c's on-hand (`levels`, this
/// warehouse's stock of the counted SKUs as read), and moves each counted SKU's
/// position on to it. Returns the differences — each with the adjustment to
/// post, never one that takes on-hand below what is reserved — or `None` when
/// the count is stale for every SKU it lists (each at or before the SKU's last
/// count), which changes nothing. A SKU it is stale for is passed over.
pub(crate) fn reconcile(
    feed: &mut ThirdPartyFeed,
    as_of: u64,
    counts: &[CountedStock],
    levels: &[StockLevel],
) -> Option<Vec<CountDifference>> {
    let mut differences = Vec::new();
    let mut applied = false;
    for counted in counts {
        if feed.counted_at(&counted.sku).is_some_and(|at| as_of <= at) {
            continue;
        }
        applied = true;
        feed.counted.retain(|c| c.sku != counted.sku);
        feed.counted.push(CountPosition {
            sku: counted.sku.clone(),
            as_of,
        });
        let level = levels
            .iter()
            .find(|l| l.sku == counted.sku && l.location == feed.location);
        let (on_hand, reserved) = level.map_or((0, 0), |l| (l.on_hand, l.reserved));
        // Movements reported after the count's position are not in it.
        let after: i64 = feed
            .since_count
            .iter()
            .filter(|m| m.sequence > as_of && m.sku == counted.sku)
            .map(|m| m.quantity)
            .sum();
        let expected = on_hand.saturating_sub(after);
        let count = i64::from(counted.on_hand);
        feed.unresolved.retain(|s| s.sku != counted.sku);
        feed.since_count
            .retain(|m| m.sku != counted.sku || m.sequence > as_of);
        if count == expected {
            continue;
        }
        let wanted = count.saturating_sub(expected);
        // On-hand may not drop below what orders hold reserved.
        let adjusted = wanted.max(reserved.saturating_sub(on_hand).min(0));
        let unresolved = adjusted.saturating_sub(wanted).unsigned_abs();
        if unresolved > 0 {
            feed.unresolved.push(Shortfall {
                sku: counted.sku.clone(),
                units: unresolved,
            });
        }
        differences.push(CountDifference {
            sku: counted.sku.clone(),
            expected,
            counted: count,
            adjusted,
            unresolved,
        });
    }
    applied.then_some(differences)
}
