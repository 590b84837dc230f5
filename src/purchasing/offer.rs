//! The best-offer rule: which supplier to buy a SKU from, and why.

use std::cmp::Ordering;

use chrono::{Days, NaiveDate};
use serde::{Deserialize, Serialize};

use super::{Offer, Supplier};
use crate::ids::{Sku, SupplierId};
use crate::money::{Currency, Money};
use crate::quantity::Quantity;

/// An offer that qualifies, with what ordering from it would mean.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct RankedOffer {
    /// The supplier.
    pub supplier: SupplierId,
    /// The offer.
    pub offer: Offer,
    /// Units to order: the need, raised to the minimum and rounded up to whole packs.
    pub order_quantity: Quantity,
    /// `order_quantity` × unit cost.
    pub total_cost: Money,
    /// Today plus the lead time.
    pub arrives_on: NaiveDate,
    /// True when it arrives on or before the needed-by date (or none was given).
    pub in_time: bool,
    /// Why it ranks where it does, for a buyer to read.
    pub reasons: Vec<String>,
}

/// An offer left out, and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct ExcludedOffer {
    /// The supplier.
    pub supplier: SupplierId,
    /// The offer.
    pub offer: Offer,
    /// Why it does not qualify.
    pub reason: String,
}

/// Every offer for a SKU, best first, and those that do not qualify.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct OfferRanking {
    /// Qualifying offers, best first.
    pub ranked: Vec<RankedOffer>,
    /// Offers left out, with the reason.
    pub excluded: Vec<ExcludedOffer>,
}

impl OfferRanking {
    /// The winner, if any offer qualifies.
    pub fn best(&self) -> Option<&RankedOffer> {
        self.ranked.first()
    }
}

/// Units to order for a need of `needed`: at least the minimum, in whole packs.
/// `None` if that overflows or the pack size is zero.
pub fn order_quantity(
    needed: Quantity,
    minimum: Quantity,
    pack_size: Quantity,
) -> Option<Quantity> {
    let wanted = needed.max(minimum).max(Quantity::new(1));
    wanted.checked_next_multiple_of(pack_size)
}

/// Ranks every supplier's offers for `needed` units of `sku`, priced in `currency`,
/// ordered on `today`, wanted by `needed_by`.
///
/// **The rule.** An offer qualifies when it is valid today, priced in `currency`
/// (the currency inventory is carried in), and its quantity arithmetic does not
/// overflow. Qualifying offers rank by, in turn:
/// 1. arriving by `needed_by` (offers in time before late ones);
/// 2. lowest unit cost;
/// 3. shortest lead time;
/// 4. lowest total for the rounded quantity (a smaller pack wastes less);
/// 5. supplier id, so the ranking is deterministic.
///
/// Each ranked offer carries its reasons in words; each excluded one says why.
pub fn rank_offers(
    suppliers: &[Supplier],
    sku: &Sku,
    needed: Quantity,
    currency: Currency,
    today: NaiveDate,
    needed_by: Option<NaiveDate>,
) -> OfferRanking {
    let mut ranking = OfferRanking::default();
    for supplier in suppliers {
        for offer in supplier.offers.iter().filter(|o| &o.sku == sku) {
            match qualify(supplier, offer, needed, currency, today, needed_by) {
                Ok(ranked) => ranking.ranked.push(ranked),
                Err(reason) => ranking.excluded.push(ExcludedOffer {
                    supplier: supplier.id,
                    offer: offer.clone(),
                    reason,
                }),
            }
        }
    }
    ranking.ranked.sort_by(compare);
    let cheapest = ranking
        .ranked
        .iter()
        .map(|r| r.offer.unit_cost.amount())
        .min();
    let count = ranking.ranked.len();
    for (place, ranked) in ranking.ranked.iter_mut().enumerate() {
        let mut why = vec![format!("ranked {} of {count}", place.saturating_add(1))];
        if Some(ranked.offer.unit_cost.amount()) == cheapest {
            why.push(format!("lowest unit cost ({})", ranked.offer.unit_cost));
        } else {
            why.push(format!("unit cost {}", ranked.offer.unit_cost));
        }
        why.append(&mut ranked.reasons);
        ranked.reasons = why;
    }
    ranking
}

fn qualify(
    supplier: &Supplier,
    offer: &Offer,
    needed: Quantity,
    currency: Currency,
    today: NaiveDate,
    needed_by: Option<NaiveDate>,
) -> Result<RankedOffer, String> {
    if !offer.is_valid_on(today) {
        return Err(format!(
            "not valid on {today} (valid {} to {})",
            offer.valid_from, offer.valid_until
        ));
    }
    if offer.unit_cost.currency() != currency {
        return Err(format!(
            "priced in {}, inventory is carried in {currency}",
            offer.unit_cost.currency()
        ));
    }
    if offer.lead_time_days == 0 || offer.pack_size.is_zero() {
        return Err("malformed: zero lead time or pack size".to_owned());
    }
    let quantity = order_quantity(needed, offer.minimum_quantity, offer.pack_size)
        .ok_or_else(|| "the order quantity overflows".to_owned())?;
    let total_cost = offer
        .unit_cost
        .checked_mul_qty(u64::from(quantity.units()))
        .map_err(|e| format!("the total overflows: {e}"))?;
    let arrives_on = today
        .checked_add_days(Days::new(u64::from(offer.lead_time_days)))
        .ok_or_else(|| "arrives beyond the calendar".to_owned())?;
    let in_time = needed_by.is_none_or(|by| arrives_on <= by);
    let mut reasons = vec![format!(
        "{} days' lead time: arrives {arrives_on}{}",
        offer.lead_time_days,
        match needed_by {
            Some(by) if in_time => format!(", in time for {by}"),
            Some(by) => format!(", after {by}"),
            None => String::new(),
        }
    )];
    if quantity != needed {
        reasons.push(format!(
            "{needed} needed, {quantity} ordered (minimum {}, packs of {})",
            offer.minimum_quantity, offer.pack_size
        ));
    }
    reasons.push(format!("{} from {}", total_cost, supplier.name));
    Ok(RankedOffer {
        supplier: supplier.id,
        offer: offer.clone(),
        order_quantity: quantity,
        total_cost,
        arrives_on,
        in_time,
        reasons,
    })
}

fn compare(a: &RankedOffer, b: &RankedOffer) -> Ordering {
    b.in_time
        .cmp(&a.in_time)
        .then_with(|| a.offer.unit_cost.amount().cmp(&b.offer.unit_cost.amount()))
        .then_with(|| a.offer.lead_time_days.cmp(&b.offer.lead_time_days))
        .then_with(|| a.total_cost.amount().cmp(&b.total_cost.amount()))
        .then_with(|| a.supplier.cmp(&b.supplier))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::indexing_slicing)]
    use super::*;
    use proptest::prelude::*;

    fn day(d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(2026, 12, d).unwrap()
    }
    fn usd(cents: i64) -> Money {
        Money::from_minor(cents, Currency::USD)
    }
    fn sku() -> Sku {
        Sku::new("BOLT").unwrap()
    }
    fn supplier(n: u128, name: &str, offer: Offer) -> Supplier {
        Supplier::new(
            SupplierId::from_uuid(uuid::Uuid::from_u128(n)),
            name,
            Currency::USD,
        )
        .offer(offer)
    }

    fn q(units: u32) -> Quantity {
        Quantity::new(units)
    }

    #[test]
    fn rounds_up_to_the_minimum_and_whole_packs() {
        let rounded = |needed, minimum, pack| order_quantity(q(needed), q(minimum), q(pack));
        assert_eq!(rounded(37, 20, 10), Some(q(40)));
        assert_eq!(rounded(5, 20, 10), Some(q(20)));
        assert_eq!(rounded(5, 0, 12), Some(q(12)));
        assert_eq!(rounded(24, 0, 12), Some(q(24)));
        assert_eq!(rounded(0, 0, 1), Some(q(1)));
        assert_eq!(rounded(5, 0, 0), None);
        assert_eq!(rounded(u32::MAX, 0, 2), None);
    }

    #[test]
    fn in_time_beats_cheap_and_cheap_beats_fast() {
        let slow_cheap = supplier(1, "Slow", Offer::new(sku(), usd(300), 20, day(1), day(31)));
        let fast_dear = supplier(2, "Fast", Offer::new(sku(), usd(500), 2, day(1), day(31)));
        let mid = supplier(3, "Mid", Offer::new(sku(), usd(400), 5, day(1), day(31)));
        let all = [slow_cheap, fast_dear, mid];
        // Needed in a week: the slow one is late, so the cheaper of the other two wins.
        let r = rank_offers(&all, &sku(), q(10), Currency::USD, day(1), Some(day(8)));
        assert_eq!(r.best().unwrap().supplier, all[2].id, "{r:#?}");
        assert_eq!(r.ranked[1].supplier, all[1].id);
        assert_eq!(r.ranked[2].supplier, all[0].id);
        assert!(!r.ranked[2].in_time);
        assert!(
            r.ranked[2]
                .reasons
                .iter()
                .any(|w| w.contains("after 2026-12-08"))
        );
        // No deadline: cheapest first.
        let r = rank_offers(&all, &sku(), q(10), Currency::USD, day(1), None);
        assert_eq!(r.best().unwrap().supplier, all[0].id);
        assert!(
            r.best()
                .unwrap()
                .reasons
                .iter()
                .any(|w| w.starts_with("lowest unit cost"))
        );
    }

    #[test]
    fn expired_and_foreign_offers_are_excluded_with_the_reason() {
        let expired = supplier(1, "Old", Offer::new(sku(), usd(100), 3, day(1), day(2)));
        let euro = Supplier::new(
            SupplierId::from_uuid(uuid::Uuid::from_u128(2)),
            "EU",
            Currency::EUR,
        )
        .offer(Offer::new(
            sku(),
            Money::from_minor(100, Currency::EUR),
            3,
            day(1),
            day(31),
        ));
        let r = rank_offers(&[expired, euro], &sku(), q(10), Currency::USD, day(5), None);
        assert!(r.ranked.is_empty());
        assert_eq!(r.excluded.len(), 2);
        assert!(r.excluded[0].reason.starts_with("not valid on 2026-12-05"));
        assert!(r.excluded[1].reason.contains("priced in EUR"));
    }

    #[test]
    fn bad_offers_fail_validation() {
        let base = Offer::new(sku(), usd(100), 3, day(1), day(31));
        let zero_lead = Offer {
            lead_time_days: 0,
            ..base.clone()
        };
        assert!(matches!(
            zero_lead.validate(),
            Err(super::super::PurchasingError::ZeroLeadTime { .. })
        ));
        let zero_pack = base.clone().packs_of(Quantity::ZERO);
        assert!(matches!(
            zero_pack.validate(),
            Err(super::super::PurchasingError::ZeroPackSize { .. })
        ));
        let backwards = Offer {
            valid_until: day(1),
            valid_from: day(2),
            ..base.clone()
        };
        assert!(matches!(
            backwards.validate(),
            Err(super::super::PurchasingError::EmptyValidity { .. })
        ));
        let sub_cent = Offer {
            unit_cost: Money::new("1.005".parse().unwrap(), Currency::USD),
            ..base
        };
        assert!(matches!(
            sub_cent.validate(),
            Err(super::super::PurchasingError::InvalidCost { .. })
        ));
    }

    proptest! {
        /// The rounded quantity covers the need and the minimum, in whole packs, and
        /// wastes less than one pack beyond them.
        #[test]
        fn order_quantity_is_the_least_whole_pack_count(needed in 0u32..100_000, minimum in 0u32..1_000, pack in 1u32..500) {
            let got = order_quantity(q(needed), q(minimum), q(pack)).unwrap().units();
            let floor = needed.max(minimum).max(1);
            prop_assert!(got >= floor);
            prop_assert_eq!(got % pack, 0);
            prop_assert!(got - floor < pack);
        }

        /// The best offer is never beaten on the rule's first two keys by another.
        #[test]
        fn the_best_offer_is_not_dominated(costs in proptest::collection::vec((1i64..1000, 1u16..30), 1..8), by in 1u32..28) {
            let suppliers: Vec<Supplier> = costs.iter().enumerate().map(|(n, (c, lead))| {
                supplier(n as u128, "S", Offer::new(sku(), usd(*c), *lead, day(1), day(31)))
            }).collect();
            let r = rank_offers(&suppliers, &sku(), q(10), Currency::USD, day(1), Some(day(by)));
            let best = r.best().unwrap();
            for other in &r.ranked {
                prop_assert!(best.in_time || !other.in_time);
                if other.in_time == best.in_time {
                    prop_assert!(best.offer.unit_cost.amount() <= other.offer.unit_cost.amount());
                }
            }
        }
    }
}
