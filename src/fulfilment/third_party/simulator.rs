//! A third-party warehouse in memory, for tests, the simulation and examples:
//! it takes releases, ships what its shelves hold, counts them, and delivers its
//! reports the way a real feed does — some late, some twice.

use std::collections::{BTreeMap, VecDeque};
use std::sync::{Mutex, MutexGuard, PoisonError};

use chrono::{DateTime, Utc};

use super::{
    CountedStock, Release, ReleaseLine, ThirdPartyError, ThirdPartyMessage, ThirdPartyReport,
    ThirdPartyWarehouse,
};
use crate::fulfilment::TrackingNumber;
use crate::ids::{LocationId, Sku};
use crate::money::Money;
use crate::quantity::Quantity;

/// How a [`SimulatedThirdParty`]'s feed misbehaves, in percent of messages
/// delivered (0 to 100).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ThirdPartyFaults {
    /// Held back at a delivery and sent with a later one: late, and out of order.
    pub late_percent: u8,
    /// Delivered twice: once now, once with a later delivery.
    pub repeat_percent: u8,
    /// Release calls that time out: half of them after the warehouse took the
    /// release (the reply was lost), half before.
    pub timeout_percent: u8,
}

/// A third-party warehouse in memory. Goods reach its shelves with
/// [`SimulatedThirdParty::stock`] (record the same receipt in o2c), go missing
/// with [`SimulatedThirdParty::lose`], leave with [`SimulatedThirdParty::work`];
/// its reports wait in an outbox for [`SimulatedThirdParty::deliver`].
/// Deterministic for a seed.
#[derive(Debug)]
pub struct SimulatedThirdParty {
    name: String,
    state: Mutex<Site>,
}

#[derive(Debug)]
struct Site {
    location: LocationId,
    fee: Money,
    faults: ThirdPartyFaults,
    rng: u64,
    shelves: BTreeMap<Sku, u32>,
    /// Every release key taken, so a repeat is known.
    taken: Vec<String>,
    /// Releases with units still to ship, oldest first.
    open: VecDeque<Release>,
    sequence: u64,
    messages: u64,
    outbox: Vec<ThirdPartyMessage>,
}

impl SimulatedThirdParty {
    /// A warehouse named `name` at `location`, charging `fee` a shipment,
    /// misbehaving as `faults` say, its choices drawn from `seed`.
    pub fn new(
        name: impl Into<String>,
        location: LocationId,
        fee: Money,
        faults: ThirdPartyFaults,
        seed: u64,
    ) -> Self {
        Self {
            name: name.into(),
            state: Mutex::new(Site {
                location,
                fee,
                faults,
                rng: seed,
                shelves: BTreeMap::new(),
                taken: Vec::new(),
                open: VecDeque::new(),
                sequence: 0,
                messages: 0,
                outbox: Vec::new(),
            }),
        }
    }

    fn site(&self) -> MutexGuard<'_, Site> {
        // A panic elsewhere while holding it leaves plain data: carry on.
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// `units` of `sku` put on the shelves.
    pub fn stock(&self, sku: &Sku, units: u32) {
        let mut site = self.site();
        let shelf = site.shelves.entry(sku.clone()).or_default();
        *shelf = shelf.saturating_add(units);
    }

    /// Up to `units` of `sku` gone from the shelves (damage, theft) with no
    /// report: only a count shows it. Returns the units lost.
    pub fn lose(&self, sku: &Sku, units: u32) -> u32 {
        let mut site = self.site();
        let shelf = site.shelves.entry(sku.clone()).or_default();
        let lost = units.min(*shelf);
        *shelf -= lost;
        lost
    }

    /// Units of `sku` on the shelves.
    pub fn on_hand(&self, sku: &Sku) -> u32 {
        self.site().shelves.get(sku).copied().unwrap_or(0)
    }

    /// Ships what the shelves hold of the open releases, oldest first, a
    /// shipment report each (part of a release when the shelves run short; the
    /// rest waits for stock). Returns the shipments made.
    pub fn work(&self, now: DateTime<Utc>) -> usize {
        let mut site = self.site();
        let mut shipments = 0;
        let mut open = std::mem::take(&mut site.open);
        for release in &mut open {
            let mut shipped = Vec::new();
            for line in &mut release.lines {
                let shelf = site.shelves.entry(line.sku.clone()).or_default();
                let units = line.quantity.units().min(*shelf);
                if units == 0 {
                    continue;
                }
                *shelf -= units;
                line.quantity = line.quantity.saturating_sub(Quantity::new(units));
                shipped.push(ReleaseLine {
                    line_no: line.line_no,
                    sku: line.sku.clone(),
                    quantity: Quantity::new(units),
                });
            }
            release.lines.retain(|l| !l.quantity.is_zero());
            if shipped.is_empty() {
                continue;
            }
            site.sequence += 1;
            let sequence = site.sequence;
            let report = ThirdPartyReport::Shipped {
                sequence,
                order: release.order,
                release: release.key.clone(),
                lines: shipped,
                carrier: self.name.clone(),
                service: "ground".to_owned(),
                tracking: TrackingNumber::new(format!("{}-{sequence}", self.name)),
                charge: site.fee,
                shipped_at: now,
            };
            site.send(report);
            shipments += 1;
        }
        open.retain(|r| !r.lines.is_empty());
        site.open = open;
        shipments
    }

    /// Gives back every unit still open on its releases, for `reason`: a
    /// rejection report each.
    pub fn reject_open(&self, reason: &str) -> usize {
        let mut site = self.site();
        let open = std::mem::take(&mut site.open);
        let rejected = open.len();
        for release in open {
            site.send(ThirdPartyReport::Rejected {
                order: release.order,
                release: release.key,
                lines: release.lines,
                reason: reason.to_owned(),
            });
        }
        rejected
    }

    /// Counts the shelves — every SKU it ever held, empty ones as 0 — at the
    /// next position of its stream.
    pub fn count(&self, now: DateTime<Utc>) {
        let mut site = self.site();
        let counts = site
            .shelves
            .iter()
            .map(|(sku, units)| CountedStock {
                sku: sku.clone(),
                on_hand: *units,
            })
            .collect();
        // A count takes a position of its own, after every movement so far.
        site.sequence += 1;
        let as_of = site.sequence;
        site.send(ThirdPartyReport::Counted {
            as_of,
            counts,
            counted_at: now,
        });
    }

    /// The reports due now, in the order sent, less those the faults hold back
    /// for later, plus those they repeat.
    pub fn deliver(&self) -> Vec<ThirdPartyMessage> {
        let mut site = self.site();
        let outbox = std::mem::take(&mut site.outbox);
        let mut now = Vec::with_capacity(outbox.len());
        let faults = site.faults;
        for message in outbox {
            if site.chance(faults.late_percent) {
                site.outbox.push(message);
            } else if site.chance(faults.repeat_percent) {
                now.push(message.clone());
                site.outbox.push(message);
            } else {
                now.push(message);
            }
        }
        now
    }

    /// Every report still in the outbox, with no faults.
    pub fn deliver_all(&self) -> Vec<ThirdPartyMessage> {
        std::mem::take(&mut self.site().outbox)
    }

    /// Units still released to it and not shipped.
    pub fn open_units(&self) -> u64 {
        let site = self.site();
        site.open
            .iter()
            .flat_map(|r| &r.lines)
            .map(|l| u64::from(l.quantity.units()))
            .sum()
    }
}

impl Site {
    fn send(&mut self, report: ThirdPartyReport) {
        self.messages += 1;
        let id = format!("m{}", self.messages);
        self.outbox.push(ThirdPartyMessage {
            id,
            location: self.location.clone(),
            report,
        });
    }

    /// True `percent` times in a hundred (SplitMix64).
    fn chance(&mut self, percent: u8) -> bool {
        if percent == 0 {
            return false;
        }
        self.rng = self.rng.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.rng;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^= z >> 31;
        z % 100 < u64::from(percent)
    }
}

impl ThirdPartyWarehouse for SimulatedThirdParty {
    fn name(&self) -> &str {
        &self.name
    }

    async fn release(&self, release: &Release) -> Result<(), ThirdPartyError> {
        let mut site = self.site();
        let timeout = site.faults.timeout_percent;
        let times_out = site.chance(timeout);
        // Half the timeouts lose the request, half lose the reply.
        if times_out && site.chance(50) {
            return Err(ThirdPartyError::Unavailable {
                site: self.name.clone(),
            });
        }
        if release.location != site.location {
            return Err(ThirdPartyError::Refused {
                site: self.name.clone(),
                reason: format!("this is not {}", release.location),
            });
        }
        let key = release.key.as_str().to_owned();
        if !site.taken.contains(&key) {
            site.taken.push(key);
            site.open.push_back(release.clone());
        }
        match times_out {
            true => Err(ThirdPartyError::Unavailable {
                site: self.name.clone(),
            }),
            false => Ok(()),
        }
    }
}
