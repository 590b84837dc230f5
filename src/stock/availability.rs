//! What a SKU has to sell, summed over its locations, beside its reorder point: the
//! low-stock view a replenishment screen or a storefront's "only 3 left" reads.

use std::collections::HashMap;

use serde::{Deserialize, Serialize};

use super::StockLevel;
use crate::catalog::Product;
use crate::error::Error;
use crate::ids::Sku;
use crate::store::{Entity, Fetched, Prefetch};

/// One SKU's stock over every location, and whether it has fallen to its reorder
/// point.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct Availability {
    /// The SKU.
    pub sku: Sku,
    /// Units physically held, over every location.
    pub on_hand: i64,
    /// Units promised to open orders, over every location.
    pub reserved: i64,
    /// The product's reorder point ([`Product::reorder_point`]).
    pub reorder_point: u32,
}

impl Availability {
    /// Units free to promise: on hand less reserved.
    pub fn available(&self) -> i64 {
        self.on_hand.saturating_sub(self.reserved)
    }

    /// True when what is free to promise, over every location, is at or below the
    /// reorder point ([`Product::reorder_point`]): time to order more. A reorder
    /// point of 0, the default, watches nothing.
    pub fn is_low(&self) -> bool {
        self.reorder_point > 0 && self.available() <= i64::from(self.reorder_point)
    }
}

/// The availability of `product` from its `levels` (those of other SKUs are
/// ignored, so a caller can pass every level it read).
pub fn availability(product: &Product, levels: &[StockLevel]) -> Availability {
    summed(
        product,
        levels.iter().filter(|level| level.sku == product.sku),
    )
}

/// `product`'s availability from `levels`, all of its SKU.
fn summed<'a>(product: &Product, levels: impl Iterator<Item = &'a StockLevel>) -> Availability {
    let held = levels.fold(Held::default(), |held, level| held.plus(level));
    held.of(product)
}

/// Units on hand and reserved, summed over some levels of one SKU.
#[derive(Debug, Clone, Copy, Default)]
struct Held {
    on_hand: i64,
    reserved: i64,
}

impl Held {
    fn plus(self, level: &StockLevel) -> Held {
        Held {
            on_hand: self.on_hand.saturating_add(level.on_hand),
            reserved: self.reserved.saturating_add(level.reserved),
        }
    }

    fn of(self, product: &Product) -> Availability {
        Availability {
            sku: product.sku.clone(),
            on_hand: self.on_hand,
            reserved: self.reserved,
            reorder_point: product.reorder_point,
        }
    }
}

/// The one read [`of`] answers from: the products of `skus` and their stock,
/// each SKU asked once.
pub(crate) fn prefetch(skus: &[Sku]) -> Prefetch {
    let skus = crate::ids::distinct(skus);
    let mut request = Prefetch::new();
    request.records = skus.iter().map(Product::record_key).collect();
    request.stock_of = skus;
    request
}

/// The availability of each of `skus`, in the order asked (a SKU asked twice is
/// answered twice), from what `asked` (the [`prefetch`] of `skus`) read — in
/// whatever order the store answered.
///
/// # Errors
/// [`Error::NotFound`] for a SKU with no product.
pub(crate) fn of(
    skus: &[Sku],
    asked: &Prefetch,
    fetched: &Fetched,
) -> Result<Vec<Availability>, Error> {
    let products: Vec<&Product> = fetched.lend_each::<Product>().map(|p| p.value).collect();
    // Only a request without repeats can be matched to the answer one to one.
    if asked.stock_of.len() == skus.len()
        && let Some(found) = in_order_asked(skus, &products, &fetched.stock)
    {
        return Ok(found);
    }
    by_hash(skus, &products, &fetched.stock)
}

/// The common case without a lookup: distinct SKUs asked, and a store that
/// answered their products in the order asked and each SKU's levels together, in
/// the same order (the memory store does). `None` as soon as the answer is in any
/// other shape. Every level is consumed in turn, so a SKU's level found anywhere
/// but in its own run is caught.
fn in_order_asked(
    skus: &[Sku],
    products: &[&Product],
    levels: &[StockLevel],
) -> Option<Vec<Availability>> {
    if products.len() != skus.len() {
        return None;
    }
    let mut found = Vec::with_capacity(skus.len());
    let mut rest = levels;
    for (sku, product) in skus.iter().zip(products) {
        if product.sku != *sku {
            return None;
        }
        let run = rest.iter().take_while(|level| level.sku == *sku).count();
        let (own, after) = rest.split_at_checked(run)?;
        found.push(summed(product, own.iter()));
        rest = after;
    }
    rest.is_empty().then_some(found)
}

/// Any other answer: products and levels found by hashing their SKUs (sorting
/// and searching a hundred SKUs by string comparison cost more than the read).
fn by_hash(
    skus: &[Sku],
    products: &[&Product],
    levels: &[StockLevel],
) -> Result<Vec<Availability>, Error> {
    type Map<'a, V> = HashMap<&'a Sku, V, foldhash::fast::RandomState>;
    let mut by_sku: Map<&Product> = Map::with_capacity_and_hasher(skus.len(), Default::default());
    for product in products {
        by_sku.insert(&product.sku, product);
    }
    let mut held: Map<Held> = Map::with_capacity_and_hasher(skus.len(), Default::default());
    for level in levels {
        let sum = held.entry(&level.sku).or_default();
        *sum = sum.plus(level);
    }
    skus.iter()
        .map(|sku| {
            let product = by_sku
                .get(sku)
                .ok_or_else(|| Error::not_found(Product::kind(), sku))?;
            Ok(held.get(sku).copied().unwrap_or_default().of(product))
        })
        .collect()
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use std::sync::Arc;

    use super::*;
    use crate::catalog::TaxClass;
    use crate::ids::LocationId;
    use crate::money::{Currency, Money};
    use crate::store::Record;

    fn product(sku: &str, reorder_point: u32) -> Product {
        let usd = |c| Money::from_minor(c, Currency::USD);
        let mut p = Product::new(
            Sku::new(sku).unwrap(),
            sku,
            usd(1000),
            usd(400),
            TaxClass::standard(),
        );
        p.reorder_point = reorder_point;
        p
    }

    fn level(sku: &str, at: &str, on_hand: i64, reserved: i64) -> StockLevel {
        StockLevel {
            sku: Sku::new(sku).unwrap(),
            location: LocationId::new(at).unwrap(),
            on_hand,
            reserved,
        }
    }

    #[test]
    fn sums_every_location_of_its_own_sku_only() {
        let levels = [
            level("TEE", "A", 10, 4),
            level("MUG", "A", 99, 0),
            level("TEE", "B", 5, 1),
        ];
        let seen = availability(&product("TEE", 10), &levels);
        assert_eq!((seen.on_hand, seen.reserved, seen.available()), (15, 5, 10));
        assert!(seen.is_low(), "10 free is at a reorder point of 10");
        let seen = availability(&product("TEE", 9), &levels);
        assert!(!seen.is_low());
    }

    #[test]
    fn a_sku_never_stocked_has_nothing_and_is_low_if_it_has_a_reorder_point() {
        let seen = availability(&product("NEW", 1), &[]);
        assert_eq!((seen.on_hand, seen.reserved), (0, 0));
        assert!(seen.is_low());
        assert!(
            !availability(&product("NEW", 0), &[]).is_low(),
            "not watched"
        );
    }

    #[test]
    fn answers_each_sku_asked_whatever_order_the_store_answered_in() {
        let tee = product("TEE", 2);
        let mug = product("MUG", 50);
        // Answered in another order than asked, and TEE once though asked twice.
        let fetched = Fetched {
            records: vec![
                (1, Arc::new(Record::Product(mug.clone()))),
                (1, Arc::new(Record::Product(tee.clone()))),
            ],
            // A SKU's levels apart and out of location order.
            stock: vec![
                level("TEE", "B", 1, 0),
                level("MUG", "A", 9, 0),
                level("TEE", "A", 4, 1),
            ],
            ..Fetched::default()
        };
        let skus = [tee.sku.clone(), mug.sku.clone(), tee.sku.clone()];
        let seen = of(&skus, &prefetch(&skus), &fetched).unwrap();
        let summary: Vec<(&str, i64, bool)> = seen
            .iter()
            .map(|a| (a.sku.as_str(), a.available(), a.is_low()))
            .collect();
        assert_eq!(
            summary,
            vec![("TEE", 4, false), ("MUG", 9, true), ("TEE", 4, false)]
        );
        // Each SKU read once, so none of its levels comes back twice.
        let asked = prefetch(&skus);
        assert_eq!((asked.records.len(), asked.stock_of.len()), (2, 2));
        let unknown = [Sku::new("NOPE").unwrap()];
        assert!(matches!(
            of(&unknown, &prefetch(&unknown), &fetched),
            Err(Error::NotFound { .. })
        ));
    }

    #[test]
    fn a_sku_asked_twice_is_answered_whole_twice_even_if_the_store_repeats_it() {
        let tee = product("TEE", 2);
        // A store (or a wrapper) that answered the one product twice.
        let fetched = Fetched {
            records: vec![
                (1, Arc::new(Record::Product(tee.clone()))),
                (1, Arc::new(Record::Product(tee.clone()))),
            ],
            stock: vec![level("TEE", "A", 4, 1), level("TEE", "B", 1, 0)],
            ..Fetched::default()
        };
        let skus = [tee.sku.clone(), tee.sku.clone()];
        let seen = of(&skus, &prefetch(&skus), &fetched).unwrap();
        let available: Vec<i64> = seen.iter().map(Availability::available).collect();
        assert_eq!(available, vec![4, 4]);
    }

    proptest::proptest! {
        /// Whatever order the store answers in, and whether the fast path or the
        /// hashed one answers, each SKU gets exactly its own levels.
        #[test]
        fn every_answer_shape_sums_each_sku_alone(
            held in proptest::collection::vec(proptest::collection::vec((0i64..50, 0i64..5), 0..4), 1..7),
            asked_at in proptest::collection::vec(0usize..7, 1..10),
            in_order in proptest::bool::ANY,
            shuffle_seed in 0u64..1000,
        ) {
            let products: Vec<Product> =
                (0..held.len()).map(|i| product(&format!("S{i}"), 10)).collect();
            let asked: Vec<Sku> = asked_at
                .iter()
                .map(|i| products.get(i % products.len()).unwrap().sku.clone())
                .collect();
            let distinct = crate::ids::distinct(&asked);
            let levels_of = |sku: &Sku| -> Vec<StockLevel> {
                let i = products.iter().position(|p| &p.sku == sku).unwrap();
                held.get(i)
                    .unwrap()
                    .iter()
                    .enumerate()
                    .map(|(at, (on_hand, reserved))| {
                        level(sku.as_str(), &format!("L{at}"), *on_hand, *reserved)
                    })
                    .collect()
            };
            let mut records: Vec<(u64, Arc<Record>)> = distinct
                .iter()
                .map(|sku| {
                    let p = products.iter().find(|p| &p.sku == sku).unwrap();
                    (1, Arc::new(Record::Product(p.clone())))
                })
                .collect();
            let mut stock: Vec<StockLevel> = distinct.iter().flat_map(levels_of).collect();
            if !in_order {
                // A fixed shuffle from the seed: rotate and reverse.
                let n = records.len();
                records.rotate_left(shuffle_seed as usize % n);
                if !stock.is_empty() {
                    let m = stock.len();
                    stock.rotate_left(shuffle_seed as usize % m);
                    stock.reverse();
                }
            }
            let fetched = Fetched { records, stock, ..Fetched::default() };
            if in_order && distinct.len() == asked.len() {
                // The shape the memory store answers in takes the path without lookups.
                let lent: Vec<&Product> = fetched.lend_each::<Product>().map(|p| p.value).collect();
                proptest::prop_assert!(in_order_asked(&asked, &lent, &fetched.stock).is_some());
            }
            let seen = of(&asked, &prefetch(&asked), &fetched).unwrap();
            proptest::prop_assert_eq!(seen.len(), asked.len());
            for (sku, got) in asked.iter().zip(&seen) {
                let own = levels_of(sku);
                proptest::prop_assert_eq!(&got.sku, sku);
                proptest::prop_assert_eq!(got.on_hand, own.iter().map(|l| l.on_hand).sum::<i64>());
                proptest::prop_assert_eq!(got.reserved, own.iter().map(|l| l.reserved).sum::<i64>());
            }
        }
    }
}
