//! Saving a product: a cost change revalues the stock on hand, so the inventory
//! account keeps equalling stock × cost.

use super::Product;
use crate::decide::Context;
use crate::error::Error;
use crate::event::Event;
use crate::ids::EntryId;
use crate::stock::StockLevel;
use crate::store::{Changeset, Check, Put, Versioned};

/// Adds `product`, or replaces `existing` with it, in `changes`. When the cost
/// changes ([`Product::revalues`]), `levels` are the SKU's stock levels as read:
/// the difference on the units on hand is posted between inventory and inventory
/// adjustments, and the commit checks the count still holds, so a receipt or a
/// shipment committing first sends the command back to count again rather than
/// leaving stock mis-valued. `levels` are not looked at otherwise.
///
/// # Errors
/// As [`Product::validate`]; [`Error::Invalid`] for a change of cost currency
/// while stock is on hand; [`Error::Money`] or [`Error::Ledger`] if the
/// revaluation cannot be computed. Nothing is added to `changes` on a refusal.
pub fn save_product(
    product: &Product,
    existing: Option<&Versioned<Product>>,
    levels: &[StockLevel],
    ctx: &Context<'_>,
    changes: &mut Changeset,
) -> Result<(), Error> {
    product.validate()?;
    if let Some(old) = existing.filter(|old| product.revalues(&old.value)) {
        let on_hand: i64 = levels
            .iter()
            .map(|l| l.on_hand)
            .fold(0, i64::saturating_add);
        if on_hand != 0 && old.value.cost.currency() != product.cost.currency() {
            return Err(Error::invalid(
                "cost",
                "cannot change currency while stock is on hand",
            ));
        }
        // The revaluation is for exactly these units: a receipt or shipment
        // committing first must send this command back to count again.
        changes.checks.push(Check::SkuOnHand {
            sku: product.sku.clone(),
            on_hand,
        });
        if on_hand != 0 {
            let step = product.cost.checked_sub(old.value.cost)?;
            let mut value = step.checked_mul_qty(on_hand.unsigned_abs())?;
            if on_hand < 0 {
                value = -value;
            }
            let reason = format!("revaluation of {}", product.sku);
            changes.journal.extend(ctx.postings.adjustment(
                &reason,
                value,
                ctx.id(EntryId::from_uuid),
                ctx.now,
            )?);
        }
    }
    changes
        .puts
        .push(Put::upsert(product.clone(), existing.map(|v| v.version)));
    changes.events.push(Event::ProductSaved {
        sku: product.sku.clone(),
    });
    Ok(())
}

#[cfg(test)]
mod tests {
    //! Saving a product, given the one stored and its stock, with no store.
    use chrono::{DateTime, Utc};

    use super::*;
    use crate::catalog::TaxClass;
    use crate::clock::SeededIds;
    use crate::ids::{LocationId, Sku};
    use crate::ledger::{AccountMap, ChartOfAccounts, Postings};
    use crate::money::{Currency, Money};

    fn usd(cents: i64) -> Money {
        Money::from_minor(cents, Currency::USD)
    }

    /// A mug at 10.00, carried at `cost`.
    fn mug(cost: Money) -> Product {
        Product::new(
            Sku::new("MUG").unwrap(),
            "Mug",
            usd(1000),
            cost,
            TaxClass::standard(),
        )
    }

    /// The mug as stored, at 4.00 cost.
    fn stored() -> Versioned<Product> {
        Versioned {
            value: mug(usd(400)),
            version: 3,
        }
    }

    /// `on_hand` units of the mug at each of two locations.
    fn levels(on_hand: [i64; 2]) -> Vec<StockLevel> {
        ["EAST", "WEST"]
            .into_iter()
            .zip(on_hand)
            .map(|(at, on_hand)| StockLevel {
                sku: Sku::new("MUG").unwrap(),
                location: LocationId::new(at).unwrap(),
                on_hand,
                reserved: 0,
            })
            .collect()
    }

    fn when_saved(
        product: &Product,
        existing: Option<&Versioned<Product>>,
        levels: &[StockLevel],
    ) -> (Result<(), Error>, Changeset) {
        let (chart, accounts, ids) = (
            ChartOfAccounts::default(),
            AccountMap::default(),
            SeededIds::new(1),
        );
        let at = DateTime::<Utc>::UNIX_EPOCH;
        let ctx = Context::new(at, &ids, Postings::new(&chart, &accounts));
        let mut changes = Changeset::new(at);
        let saved = save_product(product, existing, levels, &ctx, &mut changes);
        (saved, changes)
    }

    /// The field `product` is refused for, asserting nothing was decided.
    fn refused_field(product: &Product, existing: Option<&Versioned<Product>>) -> &'static str {
        let (refused, changes) = when_saved(product, existing, &levels([5, 0]));
        assert!(changes.is_empty(), "a refusal decides nothing");
        match refused {
            Err(Error::Invalid { field, .. }) => field,
            other => panic!("not refused as invalid: {other:?}"),
        }
    }

    #[test]
    fn a_new_product_is_inserted_with_no_revaluation() {
        let (saved, changes) = when_saved(&mug(usd(400)), None, &[]);
        saved.unwrap();
        assert_eq!(changes.puts.len(), 1);
        assert_eq!(changes.puts[0].expected, None);
        assert!(changes.journal.is_empty() && changes.checks.is_empty());
        assert!(matches!(
            changes.events.as_slice(),
            [Event::ProductSaved { .. }]
        ));
    }

    #[test]
    fn a_cost_change_revalues_the_units_on_hand() {
        // 3 + 4 units on hand go from 4.00 to 4.50: 3.50 more inventory.
        let (saved, changes) = when_saved(&mug(usd(450)), Some(&stored()), &levels([3, 4]));
        saved.unwrap();
        assert_eq!(changes.puts[0].expected, Some(3));
        assert!(matches!(
            changes.checks.as_slice(),
            [Check::SkuOnHand { on_hand: 7, .. }]
        ));
        let entry = changes.journal.first().expect("a revaluation");
        let debited: Money = Money::sum(
            Currency::USD,
            entry
                .lines()
                .iter()
                .map(|l| l.amount)
                .filter(|a| a.is_positive()),
        )
        .unwrap();
        assert_eq!(debited, usd(350));
    }

    #[test]
    fn the_count_is_checked_even_with_nothing_on_hand() {
        let (saved, changes) = when_saved(&mug(usd(450)), Some(&stored()), &levels([2, -2]));
        saved.unwrap();
        assert!(changes.journal.is_empty(), "nothing to revalue");
        assert!(matches!(
            changes.checks.as_slice(),
            [Check::SkuOnHand { on_hand: 0, .. }]
        ));
    }

    #[test]
    fn the_same_cost_needs_no_count() {
        let mut renamed = stored().value;
        renamed.name = "Big mug".into();
        let (saved, changes) = when_saved(&renamed, Some(&stored()), &levels([5, 0]));
        saved.unwrap();
        assert!(changes.checks.is_empty() && changes.journal.is_empty());
        assert!(!renamed.revalues(&stored().value));
    }

    #[test]
    fn refusals_name_the_field() {
        let mut free = mug(usd(400));
        free.price = usd(-1);
        assert_eq!(refused_field(&free, None), "price");
        assert_eq!(refused_field(&mug(usd(-1)), None), "cost");
        let fraction = Money::new(rust_decimal::Decimal::new(4001, 3), Currency::USD);
        assert_eq!(refused_field(&mug(fraction), None), "cost");
        let euros = mug(Money::from_minor(400, Currency::EUR));
        assert_eq!(refused_field(&euros, Some(&stored())), "cost");
        // With nothing on hand, the currency may change.
        let (saved, _) = when_saved(&euros, Some(&stored()), &levels([0, 0]));
        saved.unwrap();
    }
}
