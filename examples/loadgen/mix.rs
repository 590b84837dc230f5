//! The operations: the five transaction kinds and the seeded generator both passes
//! draw them from.

use crate::args::Config;
use crate::rng::SplitMix64;

/// Orders one ship-batch transaction ships at most.
pub(crate) const SHIP_BATCH: usize = 10;
/// Latest placed orders one stock-level transaction looks at.
pub(crate) const RECENT_ORDERS: usize = 20;

/// One requested line: `sku` indexes the catalogue; `None` is the unknown SKU.
#[derive(Debug, Clone)]
pub(crate) struct Line {
    pub(crate) sku: Option<usize>,
    pub(crate) quantity: u32,
}

/// A place-order transaction: `customer` indexes the customers.
#[derive(Debug, Clone)]
pub(crate) struct NewOrder {
    pub(crate) customer: usize,
    pub(crate) lines: Vec<Line>,
}

impl NewOrder {
    pub(crate) fn names_unknown_sku(&self) -> bool {
        self.lines.iter().any(|l| l.sku.is_none())
    }
}

/// One transaction of the mix, with every random choice it needs already drawn.
#[derive(Debug, Clone)]
pub(crate) enum Op {
    PlaceOrder(NewOrder),
    /// `pick` chooses among the open invoices; `half` pays half of one.
    Payment {
        pick: u64,
        half: bool,
    },
    OrderStatus {
        customer: usize,
    },
    ShipBatch,
    StockLevel,
}

/// The five transaction types, for latencies and the report.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    PlaceOrder,
    Payment,
    OrderStatus,
    ShipBatch,
    StockLevel,
}

impl Kind {
    pub(crate) const ALL: [Kind; 5] = [
        Kind::PlaceOrder,
        Kind::Payment,
        Kind::OrderStatus,
        Kind::ShipBatch,
        Kind::StockLevel,
    ];

    /// The name used in the report and as a JSON key.
    pub(crate) fn name(self) -> &'static str {
        match self {
            Kind::PlaceOrder => "place_order",
            Kind::Payment => "payment",
            Kind::OrderStatus => "order_status",
            Kind::ShipBatch => "ship_batch",
            Kind::StockLevel => "stock_level",
        }
    }
}

/// The generator both passes draw from: the mix depends on the seed alone, never on
/// the system under test.
#[derive(Debug, Clone)]
pub(crate) struct Mix {
    rng: SplitMix64,
    skus: usize,
    customers: usize,
}

impl Mix {
    /// The stream of caller `client`: caller 0 draws exactly what a single caller
    /// draws from `cfg.seed`; every other caller its own stream from the seed and
    /// its index (a hashed start, so no two streams overlap in any run's length),
    /// so each caller's operations are the same whatever the system.
    pub(crate) fn for_client(cfg: &Config, client: usize) -> Self {
        let seed = match client {
            0 => cfg.seed,
            i => SplitMix64::new(cfg.seed.wrapping_add(i as u64)).next_u64(),
        };
        Self {
            rng: SplitMix64::new(seed),
            skus: cfg.skus,
            customers: cfg.customers,
        }
    }

    /// The next transaction: 45 % place order, 43 % payment, 4 % each of order
    /// status, ship batch and stock level.
    pub(crate) fn next_op(&mut self) -> Op {
        match self.rng.below(100) {
            0..45 => Op::PlaceOrder(self.new_order()),
            45..88 => Op::Payment {
                pick: self.rng.next_u64(),
                half: self.rng.one_in(5),
            },
            88..92 => Op::OrderStatus {
                customer: self.rng.index(self.customers),
            },
            92..96 => Op::ShipBatch,
            _ => Op::StockLevel,
        }
    }

    fn new_order(&mut self) -> NewOrder {
        let customer = self.rng.index(self.customers);
        let count = self.rng.between(5, 15) as usize;
        let unknown = self.rng.one_in(100);
        let lines = (0..count)
            .map(|i| Line {
                sku: if unknown && i + 1 == count {
                    None
                } else {
                    Some(self.rng.index(self.skus))
                },
                quantity: self.rng.between(1, 10) as u32,
            })
            .collect();
        NewOrder { customer, lines }
    }
}
