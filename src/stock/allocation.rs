//! Deciding which locations serve an order.

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
pub enum AllocationStrategy {
    /// Ship from one location when any single location can cover every line (the
    /// first such location by priority), so the customer gets one parcel; otherwise
    /// split: each line takes what it can from locations in priority order.
    #[default]
    SingleLocationFirst,
    /// Always split by priority: each line takes what it can from the highest-priority
    /// location first. Drains preferred sites before touching others.
    PriorityOrder,
}

/// Chooses locations for every line, or says which SKU is short.
///
/// `locations` are the candidates (the caller has already filtered out sites that do
/// not fulfil orders); ties in priority are broken by location code so the result is
/// deterministic. Several lines of the same SKU draw on the same availability, so
/// they can never be promised the same unit twice.
///
/// # Errors
/// [`StockError::Insufficient`] with the first SKU (in line order) whose total demand
/// exceeds its total availability at the candidate locations.
pub fn allocate(
    demand: &[LineDemand],
    stock: &[StockLevel],
    locations: &[Location],
    strategy: AllocationStrategy,
) -> Result<Vec<Allocation>, StockError> {
    let mut ordered: Vec<&Location> = locations.iter().collect();
    ordered.sort_by(|a, b| a.priority.cmp(&b.priority).then_with(|| a.id.cmp(&b.id)));

    // An order touches a few SKUs at a few sites: a flat list beats hashing strings.
    let mut available: Available<'_> = stock
        .iter()
        .map(|level| {
            let units = u64::try_from(level.available()).unwrap_or(0);
            ((&level.sku, &level.location), units)
        })
        .collect();

    let totals = demand_by_sku(demand);
    check_totals(&totals, &available, &ordered)?;

    if strategy == AllocationStrategy::SingleLocationFirst {
        if let Some(site) = ordered
            .iter()
            .find(|site| covers_all(&totals, &available, &site.id))
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

    let mut allocations = Vec::new();
    for (line, d) in demand.iter().enumerate() {
        let mut needed = u64::from(d.quantity.units());
        for site in &ordered {
            if needed == 0 {
                break;
            }
            let Some(units) = units_at(&mut available, &d.sku, &site.id) else {
                continue;
            };
            let take = needed.min(*units);
            if take == 0 {
                continue;
            }
            *units -= take;
            needed -= take;
            allocations.push(Allocation {
                line,
                location: site.id.clone(),
                quantity: Quantity::new(u32::try_from(take).unwrap_or(u32::MAX)),
            });
        }
    }
    Ok(allocations)
}

/// Units available per (SKU, location).
type Available<'a> = Vec<((&'a Sku, &'a LocationId), u64)>;

fn units_at<'a>(available: &'a mut Available<'_>, sku: &Sku, site: &LocationId) -> Option<&'a mut u64> {
    available
        .iter_mut()
        .find(|((s, l), _)| *s == sku && *l == site)
        .map(|(_, units)| units)
}

fn units_of(available: &Available<'_>, sku: &Sku, site: &LocationId) -> u64 {
    available
        .iter()
        .find(|((s, l), _)| *s == sku && *l == site)
        .map_or(0, |(_, units)| *units)
}

fn demand_by_sku(demand: &[LineDemand]) -> Vec<(&Sku, u64)> {
    let mut totals: Vec<(&Sku, u64)> = Vec::new();
    for d in demand {
        match totals.iter_mut().find(|(sku, _)| *sku == &d.sku) {
            Some((_, total)) => *total += u64::from(d.quantity.units()),
            None => totals.push((&d.sku, u64::from(d.quantity.units()))),
        }
    }
    totals
}

fn check_totals(
    totals: &[(&Sku, u64)],
    available: &Available<'_>,
    sites: &[&Location],
) -> Result<(), StockError> {
    for &(sku, requested) in totals {
        let total: u64 = sites.iter().map(|site| units_of(available, sku, &site.id)).sum();
        if total < requested {
            return Err(StockError::Insufficient {
                sku: sku.clone(),
                requested,
                available: total,
            });
        }
    }
    Ok(())
}

fn covers_all(totals: &[(&Sku, u64)], available: &Available<'_>, site: &LocationId) -> bool {
    totals
        .iter()
        .all(|(sku, requested)| units_of(available, sku, site) >= *requested)
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
}
