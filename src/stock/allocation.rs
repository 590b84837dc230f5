//! Deciding which locations serve an order.

use std::borrow::Borrow;

use serde::{Deserialize, Serialize};

use super::{Location, StockError, StockLevel};
use crate::ids::{LocationId, Sku};
use crate::quantity::Quantity;

/// One order line's need for stock.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LineDemand {
    /// The SKU.
    pub sku: Sku,
    /// Units needed.
    pub quantity: Quantity,
}

/// Units of one line promised from one location.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct Allocation {
    /// Index of the line in the demand.
    pub line: usize,
    /// The location serving it.
    pub location: LocationId,
    /// Units reserved there.
    pub quantity: Quantity,
}

/// How an order's lines are spread over locations.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "snake_case")]
pub enum AllocationStrategy {
    /// Ship from one location when any single location can cover every line (the
    /// first such location by priority), so the customer gets one parcel; otherwise
    /// split: each line takes what it can from locations in priority order.
    #[default]
    #[serde(alias = "SingleLocationFirst")]
    SingleLocationFirst,
    /// Always split by priority: each line takes what it can from the highest-priority
    /// location first. Drains preferred sites before touching others.
    #[serde(alias = "PriorityOrder")]
    PriorityOrder,
}

/// Like [`allocate`], but when stock is short it allocates what there is instead of
/// failing: lines take the available units of their SKU in line order, and the
/// second vector is each line's shortfall (0 for a covered line).
///
/// # Errors
/// [`StockError::BrokenGuard`] for a level with more reserved than on hand; else
/// only what [`allocate`] returns for a demand it can cover (none in practice).
pub fn allocate_available<L: Borrow<Location>>(
    demand: &[LineDemand],
    stock: &[StockLevel],
    locations: &[L],
    strategy: AllocationStrategy,
) -> Result<(Vec<Allocation>, Vec<Quantity>), StockError> {
    let mut left: Vec<(&Sku, u64)> = Vec::new();
    for level in stock {
        if !locations.iter().any(|l| l.borrow().id == level.location) {
            continue;
        }
        let units = level.units_available()?;
        match left.iter_mut().find(|(sku, _)| *sku == &level.sku) {
            Some((_, total)) => *total = total.saturating_add(units),
            None => left.push((&level.sku, units)),
        }
    }
    let mut covered = Vec::with_capacity(demand.len());
    let mut shortfalls = Vec::with_capacity(demand.len());
    for (line, d) in demand.iter().enumerate() {
        let wanted = d.quantity.units();
        let there = left
            .iter_mut()
            .find(|(sku, _)| *sku == &d.sku)
            .map_or(0, |(_, units)| {
                let take = u32::try_from(*units).map_or(wanted, |u| u.min(wanted));
                *units -= u64::from(take);
                take
            });
        shortfalls.push(d.quantity.saturating_sub(Quantity::new(there)));
        if there > 0 {
            covered.push((
                line,
                LineDemand {
                    sku: d.sku.clone(),
                    quantity: Quantity::new(there),
                },
            ));
        }
    }
    let reduced: Vec<LineDemand> = covered.iter().map(|(_, d)| d.clone()).collect();
    let mut allocations = allocate(&reduced, stock, locations, strategy)?;
    for a in &mut allocations {
        if let Some((line, _)) = covered.get(a.line) {
            a.line = *line;
        }
    }
    Ok((allocations, shortfalls))
}

/// Chooses locations for every line, or says which SKU is short.
///
/// `locations` are the candidates (the caller has already filtered out sites that do
/// not fulfil orders), owned or borrowed; ties in priority are broken by location
/// code so the result is deterministic. Several lines of the same SKU draw on the
/// same availability, so they can never be promised the same unit twice.
///
/// # Errors
/// [`StockError::Insufficient`] with the first SKU (in line order) whose total demand
/// exceeds its total availability at the candidate locations;
/// [`StockError::BrokenGuard`] for a level with more reserved than on hand.
pub fn allocate<L: Borrow<Location>>(
    demand: &[LineDemand],
    stock: &[StockLevel],
    locations: &[L],
    strategy: AllocationStrategy,
) -> Result<Vec<Allocation>, StockError> {
    let mut sites: Vec<&Location> = locations.iter().map(Borrow::borrow).collect();
    sites.sort_by(|a, b| a.priority.cmp(&b.priority).then_with(|| a.id.cmp(&b.id)));

    // The distinct SKUs in line order, each line's index into them, and what each needs.
    let mut skus: Vec<(&Sku, u64)> = Vec::new();
    let mut line_sku = Vec::with_capacity(demand.len());
    for d in demand {
        let units = u64::from(d.quantity.units());
        match skus.iter().position(|(sku, _)| *sku == &d.sku) {
            Some(i) => {
                line_sku.push(i);
                if let Some((_, total)) = skus.get_mut(i) {
                    *total += units;
                }
            }
            None => {
                line_sku.push(skus.len());
                skus.push((&d.sku, units));
            }
        }
    }

    // available[sku][site]: an order touches a few SKUs at a few sites, so a small
    // matrix filled in one pass beats repeated lookups by key.
    let mut available = vec![vec![0u64; sites.len()]; skus.len()];
    // Levels come SKU by SKU, so the SKU is looked up only when it changes.
    let mut last: Option<(&Sku, Option<usize>)> = None;
    for level in stock {
        let sku = match last {
            Some((seen, at)) if seen == &level.sku => at,
            _ => {
                let at = skus.iter().position(|(sku, _)| *sku == &level.sku);
                last = Some((&level.sku, at));
                at
            }
        };
        let Some(sku) = sku else {
            continue;
        };
        let site = sites.iter().position(|site| site.id == level.location);
        if let Some(cell) = site.and_then(|l| available.get_mut(sku)?.get_mut(l)) {
            *cell = level.units_available()?;
        }
    }

    for ((sku, requested), at) in skus.iter().zip(&available) {
        let total: u64 = at.iter().sum();
        if total < *requested {
            return Err(StockError::Insufficient {
                sku: (*sku).clone(),
                requested: *requested,
                available: total,
            });
        }
    }

    if strategy == AllocationStrategy::SingleLocationFirst {
        let covers_all = |site: usize| {
            skus.iter()
                .zip(&available)
                .all(|((_, requested), at)| at.get(site).copied().unwrap_or(0) >= *requested)
        };
        if let Some(site) = (0..sites.len())
            .find(|site| covers_all(*site))
            .and_then(|i| sites.get(i))
        {
            return Ok(demand
                .iter()
                .enumerate()
                .map(|(line, d)| Allocation {
                    line,
                    location: site.id.clone(),
                    quantity: d.quantity,
                })
                .collect());
        }
    }

    let mut allocations = Vec::with_capacity(demand.len());
    for ((line, d), sku) in demand.iter().enumerate().zip(line_sku) {
        let Some(at) = available.get_mut(sku) else {
            continue;
        };
        let mut needed = d.quantity.units();
        for (site, units) in sites.iter().zip(at.iter_mut()) {
            let take = u32::try_from(*units).map_or(needed, |u| u.min(needed));
            if take == 0 {
                continue;
            }
            *units -= u64::from(take);
            needed -= take;
            allocations.push(Allocation {
                line,
                location: site.id.clone(),
                quantity: Quantity::new(take),
            });
        }
    }
    Ok(allocations)
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::indexing_slicing)]
mod tests {
    use super::*;
    use crate::customer::Address;
    use crate::stock::LocationKind;

    fn sku(s: &str) -> Sku {
        Sku::new(s).unwrap()
    }
    fn loc(id: &str, priority: u32) -> Location {
        Location::new(
            LocationId::new(id).unwrap(),
            id,
            LocationKind::Warehouse,
            Address::default(),
            priority,
        )
    }
    fn level(s: &str, l: &str, on_hand: i64, reserved: i64) -> StockLevel {
        StockLevel {
            sku: sku(s),
            location: LocationId::new(l).unwrap(),
            on_hand,
            reserved,
        }
    }
    fn want(s: &str, q: u32) -> LineDemand {
        LineDemand {
            sku: sku(s),
            quantity: Quantity::new(q),
        }
    }

    #[test]
    fn one_location_that_covers_everything_wins_over_priority() {
        let sites = [loc("A", 1), loc("B", 2)];
        let stock = [
            level("X", "A", 5, 0),
            level("Y", "A", 0, 0),
            level("X", "B", 5, 0),
            level("Y", "B", 5, 0),
        ];
        let got = allocate(
            &[want("X", 2), want("Y", 1)],
            &stock,
            &sites,
            AllocationStrategy::SingleLocationFirst,
        )
        .unwrap();
        assert!(got.iter().all(|a| a.location.as_str() == "B"));
        assert_eq!(got.len(), 2);
    }

    #[test]
    fn splits_by_priority_when_no_single_site_covers() {
        let sites = [loc("B", 2), loc("A", 1)];
        let stock = [level("X", "A", 3, 1), level("X", "B", 10, 0)];
        let got = allocate(
            &[want("X", 5)],
            &stock,
            &sites,
            AllocationStrategy::SingleLocationFirst,
        )
        .unwrap();
        assert_eq!(got[0].location.as_str(), "B", "B alone covers 5");
        let got = allocate(
            &[want("X", 5)],
            &stock,
            &sites,
            AllocationStrategy::PriorityOrder,
        )
        .unwrap();
        assert_eq!(
            got.iter()
                .map(|a| (a.location.as_str(), a.quantity.units()))
                .collect::<Vec<_>>(),
            vec![("A", 2), ("B", 3)]
        );
    }

    #[test]
    fn two_lines_of_one_sku_share_availability() {
        let sites = [loc("A", 1)];
        let stock = [level("X", "A", 3, 0)];
        let err = allocate(
            &[want("X", 2), want("X", 2)],
            &stock,
            &sites,
            AllocationStrategy::PriorityOrder,
        )
        .unwrap_err();
        assert_eq!(
            err,
            StockError::Insufficient {
                sku: sku("X"),
                requested: 4,
                available: 3
            }
        );
        let got = allocate(
            &[want("X", 2), want("X", 1)],
            &stock,
            &sites,
            AllocationStrategy::PriorityOrder,
        )
        .unwrap();
        assert_eq!(got.iter().map(|a| a.quantity.units()).sum::<u32>(), 3);
    }

    #[test]
    fn unknown_stock_counts_as_zero() {
        let err = allocate(
            &[want("Z", 1)],
            &[],
            &[loc("A", 1)],
            AllocationStrategy::default(),
        )
        .unwrap_err();
        assert!(matches!(err, StockError::Insufficient { available: 0, .. }));
    }

    #[test]
    fn more_reserved_than_on_hand_is_a_broken_store_not_zero_available() {
        let demand = [LineDemand {
            sku: sku("A"),
            quantity: Quantity::new(1),
        }];
        let broken = [level("A", "W1", 1, 2)];
        let sites = [loc("W1", 1)];
        for outcome in [
            allocate(&demand, &broken, &sites, AllocationStrategy::default()).map(drop),
            allocate_available(&demand, &broken, &sites, AllocationStrategy::default()).map(drop),
        ] {
            assert_eq!(
                outcome,
                Err(StockError::BrokenGuard {
                    sku: sku("A"),
                    location: LocationId::new("W1").unwrap(),
                    on_hand: 1,
                    reserved: 2,
                })
            );
        }
    }
}
