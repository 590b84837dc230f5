//! A third-party warehouse's feed and counts, with no store: what a count finds,
//! what it leaves alone, and that any order of delivery ends where the shelves are.
#![allow(clippy::unwrap_used, clippy::indexing_slicing, clippy::panic)]

use proptest::prelude::*;

use super::*;
use crate::stock::StockLevel;

fn site() -> LocationId {
    LocationId::new("3PL-EAST").unwrap()
}

fn mug() -> Sku {
    Sku::new("MUG").unwrap()
}

fn level(on_hand: i64, reserved: i64) -> StockLevel {
    StockLevel {
        sku: mug(),
        location: site(),
        on_hand,
        reserved,
    }
}

fn counted(units: u32) -> Vec<CountedStock> {
    vec![CountedStock {
        sku: mug(),
        on_hand: units,
    }]
}

#[test]
fn a_count_that_agrees_finds_nothing_and_moves_the_feed_on() {
    let mut feed = ThirdPartyFeed::new(site());
    let found = reconcile(&mut feed, 4, &counted(10), &[level(10, 2)]).unwrap();
    assert!(found.is_empty());
    assert_eq!(
        feed.counted,
        vec![CountPosition {
            sku: mug(),
            as_of: 4
        }]
    );
}

#[test]
fn shipments_reported_after_the_counts_position_are_not_differences() {
    let mut feed = ThirdPartyFeed::new(site());
    // Shipped 3 at sequence 5, already applied: on hand 10 → 7.
    assert!(feed.moved(5, &[(mug(), -3)]).is_empty());
    let found = reconcile(&mut feed, 4, &counted(10), &[level(7, 0)]).unwrap();
    assert!(found.is_empty(), "{found:?}");
    // Still after the count: a later count as of 4 or 5 is stale or sees it.
    assert_eq!(feed.since_count.len(), 1);
    let found = reconcile(&mut feed, 5, &counted(7), &[level(7, 0)]).unwrap();
    assert!(found.is_empty());
    assert!(feed.since_count.is_empty());
}

#[test]
fn a_count_at_or_before_the_last_one_applied_changes_nothing() {
    let mut feed = ThirdPartyFeed::new(site());
    reconcile(&mut feed, 5, &counted(10), &[level(10, 0)]).unwrap();
    let before = feed.clone();
    assert!(reconcile(&mut feed, 5, &counted(1), &[level(10, 0)]).is_none());
    assert!(reconcile(&mut feed, 3, &counted(1), &[level(10, 0)]).is_none());
    assert_eq!(feed, before);
}

#[test]
fn a_count_of_some_skus_leaves_the_others_as_they_were() {
    let tee = Sku::new("TEE").unwrap();
    let mut feed = ThirdPartyFeed::new(site());
    // A tee shipment at sequence 1 is late; a count of mugs alone at 2 did not
    // see it, so when it comes it is no count's to put back.
    reconcile(&mut feed, 2, &counted(10), &[level(10, 0)]).unwrap();
    assert!(feed.moved(1, &[(tee.clone(), -3)]).is_empty());
    // A mug count older than the last mug count is stale; one of tees at the
    // same position is not: each SKU keeps its own.
    let tees = vec![CountedStock {
        sku: tee.clone(),
        on_hand: 7,
    }];
    let tee_level = StockLevel {
        sku: tee.clone(),
        ..level(7, 0)
    };
    assert!(reconcile(&mut feed, 1, &counted(9), &[level(10, 0)]).is_none());
    let found = reconcile(&mut feed, 1, &tees, &[tee_level]);
    assert_eq!(found, Some(Vec::new()));
}

#[test]
fn a_difference_is_adjusted_but_never_below_what_is_reserved() {
    let mut feed = ThirdPartyFeed::new(site());
    let found = reconcile(&mut feed, 1, &counted(12), &[level(10, 0)]).unwrap();
    assert_eq!(
        found,
        vec![CountDifference {
            sku: mug(),
            expected: 10,
            counted: 12,
            adjusted: 2,
            unresolved: 0,
        }]
    );
    // 6 missing, but only 4 are free: 2 stay on hand, reserved.
    let found = reconcile(&mut feed, 2, &counted(4), &[level(10, 6)]).unwrap();
    assert_eq!((found[0].adjusted, found[0].unresolved), (-4, 2));
    assert_eq!(
        feed.unresolved,
        vec![Shortfall {
            sku: mug(),
            units: 2
        }]
    );
}

#[test]
fn a_late_shipment_settles_what_the_count_left_and_puts_back_what_it_wrote_off() {
    let mut feed = ThirdPartyFeed::new(site());
    // Sequence 3 shipped 5 but its report is late; the count as of 4 misses
    // them: 3 written off, 2 left because reserved.
    let found = reconcile(&mut feed, 4, &counted(5), &[level(10, 7)]).unwrap();
    assert_eq!((found[0].adjusted, found[0].unresolved), (-3, 2));
    let late = feed.moved(3, &[(mug(), -5)]);
    assert_eq!(
        late,
        vec![Late {
            sku: mug(),
            units: 3
        }]
    );
    assert!(feed.unresolved.is_empty());
    // A report after the count is only remembered.
    assert!(feed.moved(6, &[(mug(), -1)]).is_empty());
}

/// One step of a warehouse and o2c exchanging messages, about one of two SKUs.
#[derive(Debug, Clone)]
enum Step {
    /// o2c releases up to this many free units.
    Release(usize, u8),
    /// The warehouse ships what it can of what was released.
    Ship(usize),
    /// Units go missing from the shelves.
    Lose(usize, u8),
    /// Goods arrive, recorded on both sides.
    Arrive(usize, u8),
    /// The warehouse counts the first SKU, the second, or both.
    Count(u8),
    /// A message in the outbox (by position) reaches o2c; it may come again.
    Deliver(usize, bool),
}

fn step() -> impl Strategy<Value = Step> {
    let sku = 0..2_usize;
    prop_oneof![
        (sku.clone(), 1..6_u8).prop_map(|(s, n)| Step::Release(s, n)),
        sku.clone().prop_map(Step::Ship),
        (sku.clone(), 1..4_u8).prop_map(|(s, n)| Step::Lose(s, n)),
        (sku, 1..8_u8).prop_map(|(s, n)| Step::Arrive(s, n)),
        (1..4_u8).prop_map(Step::Count),
        (0..16_usize, any::<bool>()).prop_map(|(at, again)| Step::Deliver(at, again)),
        (0..16_usize, any::<bool>()).prop_map(|(at, again)| Step::Deliver(at, again)),
    ]
}

fn skus() -> [Sku; 2] {
    [mug(), Sku::new("TEE").unwrap()]
}

#[derive(Debug, Clone)]
enum Sent {
    Shipped {
        sequence: u64,
        sku: usize,
        units: i64,
    },
    Counted {
        as_of: u64,
        units: Vec<(usize, u32)>,
    },
}

/// o2c's side: on hand and reserved of each SKU at the warehouse, and its feed.
struct Books {
    feed: ThirdPartyFeed,
    on_hand: [i64; 2],
    reserved: [i64; 2],
}

impl Books {
    fn level(&self, n: usize) -> StockLevel {
        StockLevel {
            sku: skus()[n].clone(),
            location: site(),
            on_hand: self.on_hand[n],
            reserved: self.reserved[n],
        }
    }

    fn apply(&mut self, message: &Sent) {
        match message {
            Sent::Shipped {
                sequence,
                sku,
                units,
            } => {
                self.on_hand[*sku] -= units;
                self.reserved[*sku] -= units;
                for late in self
                    .feed
                    .moved(*sequence, &[(skus()[*sku].clone(), -units)])
                {
                    self.on_hand[*sku] += late.units;
                }
            }
            Sent::Counted { as_of, units } => {
                let counts: Vec<CountedStock> = units
                    .iter()
                    .map(|(n, on_hand)| CountedStock {
                        sku: skus()[*n].clone(),
                        on_hand: *on_hand,
                    })
                    .collect();
                let levels = [self.level(0), self.level(1)];
                if let Some(found) = reconcile(&mut self.feed, *as_of, &counts, &levels) {
                    for d in found {
                        let n = skus().iter().position(|s| *s == d.sku).unwrap();
                        self.on_hand[n] += d.adjusted;
                    }
                }
            }
        }
        for n in 0..2 {
            assert!(
                0 <= self.reserved[n] && self.reserved[n] <= self.on_hand[n],
                "the stock guard broke: {} on hand, {} reserved",
                self.on_hand[n],
                self.reserved[n]
            );
        }
    }
}

proptest! {
    /// However the warehouse's reports are delayed, reordered and repeated —
    /// whatever it loses, and whichever SKUs each count covers — o2c never
    /// breaks the stock guard, and once every report is in, what is left open
    /// is given back and both SKUs are counted, o2c's on-hand is what is on the
    /// shelves, with nothing unresolved.
    #[test]
    fn any_order_of_reports_ends_with_the_shelves(steps in prop::collection::vec(step(), 1..80)) {
        let mut books = Books {
            feed: ThirdPartyFeed::new(site()),
            on_hand: [20, 20],
            reserved: [0, 0],
        };
        let (mut shelves, mut open, mut sequence) = ([20_i64, 20], [0_i64, 0], 0_u64);
        let mut outbox: Vec<(usize, Sent)> = Vec::new();
        let mut applied: Vec<usize> = Vec::new();
        let mut sent = 0;
        let mut send = |outbox: &mut Vec<(usize, Sent)>, message| {
            sent += 1;
            outbox.push((sent, message));
        };
        for step in steps {
            match step {
                Step::Release(n, units) => {
                    let units = i64::from(units).min(books.on_hand[n] - books.reserved[n]);
                    books.reserved[n] += units;
                    open[n] += units;
                }
                Step::Ship(n) => {
                    let units = open[n].min(shelves[n]);
                    if units > 0 {
                        shelves[n] -= units;
                        open[n] -= units;
                        sequence += 1;
                        send(&mut outbox, Sent::Shipped { sequence, sku: n, units });
                    }
                }
                Step::Lose(n, units) => shelves[n] -= i64::from(units).min(shelves[n]),
                Step::Arrive(n, units) => {
                    shelves[n] += i64::from(units);
                    books.on_hand[n] += i64::from(units);
                }
                Step::Count(which) => {
                    // A count takes a position of its own.
                    sequence += 1;
                    let units = (0..2)
                        .filter(|n| which & (1 << n) != 0)
                        .map(|n| (n, u32::try_from(shelves[n]).unwrap()))
                        .collect();
                    send(&mut outbox, Sent::Counted { as_of: sequence, units });
                }
                Step::Deliver(at, again) => {
                    if outbox.is_empty() {
                        continue;
                    }
                    let at = at % outbox.len();
                    let (id, message) = match again {
                        true => outbox[at].clone(),
                        false => outbox.remove(at),
                    };
                    // The store applies a message id once.
                    if !applied.contains(&id) {
                        applied.push(id);
                        books.apply(&message);
                    }
                }
            }
        }
        for (id, message) in std::mem::take(&mut outbox) {
            if !applied.contains(&id) {
                applied.push(id);
                books.apply(&message);
            }
        }
        // The warehouse gives back what it could not ship, then counts both.
        for (reserved, open) in books.reserved.iter_mut().zip(open) {
            *reserved -= open;
        }
        sequence += 1;
        let units = (0..2).map(|n| (n, u32::try_from(shelves[n]).unwrap())).collect();
        books.apply(&Sent::Counted { as_of: sequence, units });
        prop_assert_eq!(books.on_hand, shelves);
        prop_assert!(books.feed.unresolved.is_empty());
    }
}
