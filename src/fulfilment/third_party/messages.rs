//! What a third-party warehouse reports back.

use std::collections::BTreeSet;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::{ReleaseLine, ThirdPartyError};
use crate::fulfilment::TrackingNumber;
use crate::ids::{IdempotencyKey, LocationId, OrderId, Sku};
use crate::money::Money;

/// One message from a third-party warehouse.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct ThirdPartyMessage {
    /// The warehouse's own id for the message: the same id is the same message,
    /// applied once however often it is delivered.
    pub id: String,
    /// The warehouse it comes from.
    pub location: LocationId,
    /// What it reports.
    pub report: ThirdPartyReport,
}

/// What a third-party warehouse reports.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum ThirdPartyReport {
    /// Released units left the warehouse: all of a release, or part of it.
    Shipped {
        /// The movement's position in the site's stream (from 1, increasing,
        /// shared with its counts): what a count's `as_of` is compared with.
        sequence: u64,
        /// The order.
        order: OrderId,
        /// The release the units were handed over on.
        release: IdempotencyKey,
        /// Units shipped, per order line.
        lines: Vec<ReleaseLine>,
        /// Who carries them.
        carrier: String,
        /// The carrier's service.
        service: String,
        /// The carrier's tracking number.
        tracking: TrackingNumber,
        /// What the warehouse charges for the shipment (zero when it bills
        /// otherwise), in the order's currency.
        charge: Money,
        /// When they left.
        shipped_at: DateTime<Utc>,
    },
    /// Released units the warehouse will not ship (it has none, or cannot send
    /// them there): they are o2c's again, still reserved at the warehouse, to
    /// release again once it has stock, or to cancel.
    Rejected {
        /// The order.
        order: OrderId,
        /// The release.
        release: IdempotencyKey,
        /// The units given back, per order line.
        lines: Vec<ReleaseLine>,
        /// The warehouse's reason.
        reason: String,
    },
    /// What the warehouse counted on its shelves, as of a position in its
    /// stream: every movement it reported with a lower sequence is in the
    /// count, none with a higher one is.
    Counted {
        /// The count's own position in the stream: movements and counts share
        /// one sequence, each taking the next, so two counts are never at one
        /// position (a loss between them would go unseen) and the later one
        /// always wins.
        as_of: u64,
        /// The SKUs counted, at least one. A SKU left out is not counted (a
        /// cycle count may cover a few, and each SKU keeps its own last count
        /// position); one the warehouse holds none of is listed with 0.
        counts: Vec<CountedStock>,
        /// When it was counted.
        counted_at: DateTime<Utc>,
    },
}

/// Units of one SKU counted at a third-party warehouse.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct CountedStock {
    /// The SKU.
    pub sku: Sku,
    /// Units on the shelves.
    pub on_hand: u32,
}

impl ThirdPartyMessage {
    /// The key the message is applied under: its location and id when they fit
    /// a key, else a digest of them (ids are unique per warehouse, so two
    /// warehouses' `1` are two messages).
    ///
    /// # Errors
    /// [`ThirdPartyError::Malformed`] for an id that is empty, longer than 200
    /// bytes, or has control characters.
    pub(crate) fn key(&self) -> Result<IdempotencyKey, ThirdPartyError> {
        let malformed = |reason: &str| ThirdPartyError::Malformed {
            reason: format!("message id {:?}: {reason}", self.id),
        };
        if self.id.is_empty() || self.id.len() > 200 {
            return Err(malformed("must be 1 to 200 bytes"));
        }
        if self.id.chars().any(char::is_control) {
            return Err(malformed("has control characters"));
        }
        let text = format!("{}/{}", self.location, self.id);
        IdempotencyKey::from_text_or_hash(&text, "3pl").map_err(|e| malformed(&e.to_string()))
    }

    /// Refuses a message no store could apply, before anything is read.
    ///
    /// # Errors
    /// [`ThirdPartyError::Malformed`], saying what is wrong.
    pub(crate) fn check(&self) -> Result<IdempotencyKey, ThirdPartyError> {
        let key = self.key()?;
        let malformed = |reason: String| Err(ThirdPartyError::Malformed { reason });
        match &self.report {
            ThirdPartyReport::Shipped {
                sequence,
                lines,
                charge,
                ..
            } => {
                if *sequence == 0 {
                    return malformed("a shipment's sequence starts at 1".into());
                }
                if charge.is_negative() {
                    return malformed(format!("a negative charge {charge}"));
                }
                check_lines(lines)?;
            }
            ThirdPartyReport::Rejected { lines, .. } => check_lines(lines)?,
            ThirdPartyReport::Counted { counts, as_of, .. } => {
                if *as_of == 0 {
                    return malformed("a count's position starts at 1".into());
                }
                if counts.is_empty() {
                    return malformed("a count lists no SKUs".into());
                }
                let mut seen = BTreeSet::new();
                for c in counts {
                    if !seen.insert(&c.sku) {
                        return malformed(format!("{} is counted twice", c.sku));
                    }
                }
            }
        }
        Ok(key)
    }
}

/// Lines of a report: at least one, none empty, each order line once.
fn check_lines(lines: &[ReleaseLine]) -> Result<(), ThirdPartyError> {
    let malformed = |reason: String| Err(ThirdPartyError::Malformed { reason });
    if lines.is_empty() {
        return malformed("a report names no lines".into());
    }
    let mut seen = BTreeSet::new();
    for line in lines {
        if line.quantity.is_zero() {
            return malformed(format!("line {} reports no units", line.line_no));
        }
        if !seen.insert(line.line_no) {
            return malformed(format!("line {} is reported twice", line.line_no));
        }
    }
    Ok(())
}
