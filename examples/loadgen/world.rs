//! The master data both passes start from, generated from the seed, and the constants
//! both systems share (the unknown SKU, the carrier's rate card, the tax rates).

use rust_decimal::Decimal;

use crate::args::Config;
use crate::rng::SplitMix64;

/// The code no product has: the 1 % of orders that name it must be refused.
pub(crate) const UNKNOWN_SKU: &str = "SKU-UNKNOWN";
/// The carrier both systems book shipments with.
pub(crate) const CARRIER: &str = "Parcelly";
/// The carrier's rate card: parcels up to this many grams cost this many cents.
pub(crate) const RATE_BANDS: [(u64, i64); 4] = [
    (1_000, 495),
    (5_000, 895),
    (20_000, 1_495),
    (u64::MAX, 4_995),
];

/// The standard tax rate, 8.25 %.
pub(crate) fn standard_rate() -> Decimal {
    Decimal::new(825, 4)
}

/// The reduced tax rate, 5 %, for one product in four.
pub(crate) fn reduced_rate() -> Decimal {
    Decimal::new(5, 2)
}

/// One catalogue entry, as both systems load it.
#[derive(Debug, Clone)]
pub(crate) struct ProductSpec {
    pub(crate) code: String,
    pub(crate) name: String,
    pub(crate) price_cents: i64,
    pub(crate) cost_cents: i64,
    pub(crate) weight_grams: u32,
    pub(crate) reorder_point: u32,
    pub(crate) reduced_tax: bool,
}

/// Master data both passes start from, generated from the seed.
#[derive(Debug, Clone)]
pub(crate) struct World {
    pub(crate) products: Vec<ProductSpec>,
    /// Location codes `WH-01`, `WH-02`, ...: code order is index order, and the
    /// priority is the index + 1.
    pub(crate) locations: Vec<String>,
    pub(crate) customers: usize,
    pub(crate) stock: u32,
}

impl World {
    /// The world for `cfg`: the same seed and sizes always give the same world.
    pub(crate) fn generate(cfg: &Config) -> World {
        let mut rng = SplitMix64::new(cfg.seed ^ 0x5EED_F00D_CA7A_1065);
        let products = (0..cfg.skus)
            .map(|i| {
                let price_cents = rng.between(100, 50_000) as i64;
                let margin = rng.between(40, 70) as i64;
                ProductSpec {
                    code: format!("SKU-{i:06}"),
                    name: format!("Product {i}"),
                    price_cents,
                    cost_cents: (price_cents * margin / 100).max(1),
                    weight_grams: rng.between(50, 2_000) as u32,
                    reorder_point: rng.between(0, 50) as u32,
                    reduced_tax: rng.one_in(4),
                }
            })
            .collect();
        World {
            products,
            locations: (1..=cfg.locations).map(|i| format!("WH-{i:02}")).collect(),
            customers: cfg.customers,
            stock: cfg.stock,
        }
    }
}
