//! What an amendment decides from, read before it decides: everything the stored
//! order names, in one read, and — only when a change needs them — the supply
//! promise dates come from and the orders waiting for units it frees.

use std::borrow::Cow;

use crate::catalog::{Product, Products, TaxTable};
use crate::customer::Customer;
use crate::ids::{OrderId, Sku};
use crate::ledger::Invoice;
use crate::order::OrderInputs;
use crate::order::{Amendment, Order};
use crate::purchasing::{BackOrderQueue, Backlog, PurchaseOrder, Supplier, Supply, supply_to_read};
use crate::stock::{Location, StockLevel};
use crate::store::{Fetched, Prefetch, Versioned};

use super::AmendOrder;

/// What an amendment of one order rests on: the products, stock and back-order
/// queues of its SKUs (those it has and those added), the tax table, the locations,
/// and the order's invoices; then, if a decision asked for them ([`Needs`]), the
/// supply and the orders waiting in the queues.
#[derive(Debug, Clone, Default)]
pub(crate) struct AmendInputs {
    pub(crate) products: Products<'static>,
    pub(crate) tax: TaxTable,
    /// Every location: where the order may be served from, where a pickup goes,
    /// and whether the place a freed unit sits fulfils orders.
    pub(crate) locations: Vec<Location>,
    /// The stored stock of the SKUs.
    pub(crate) levels: Vec<StockLevel>,
    /// The order's invoices as read.
    pub(crate) invoices: Vec<Versioned<Invoice>>,
    /// The queue of each SKU as read (`None`: it has none yet).
    pub(crate) queues: Vec<(Sku, Option<Versioned<BackOrderQueue>>)>,
    /// The other orders waiting in the queues, once read (`None`: not yet).
    pub(crate) waiting: Option<Vec<Versioned<Order>>>,
    /// The suppliers offering the SKUs and the purchase orders sent for them,
    /// once read (`None`: not yet).
    pub(crate) supply: Option<(Vec<Supplier>, Vec<PurchaseOrder>)>,
}

/// What a decision asked for before it can decide: nothing was changed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Needs {
    /// The suppliers and purchase orders: a line is short and must be promised a
    /// date.
    pub(crate) supply: bool,
    /// The orders waiting in the queues: units freed may go to them.
    pub(crate) orders: Vec<OrderId>,
}

impl Needs {
    /// What to read for these needs, for an amendment of `skus` (the SKUs its
    /// queues were read for): a short line is promised from its own SKU's
    /// suppliers and purchase orders, so those of `skus` are all the supply read.
    pub(crate) fn prefetch(&self, skus: &[Sku]) -> Prefetch {
        let request = if self.supply {
            supply_to_read(Prefetch::new(), skus)
        } else {
            Prefetch::new()
        };
        self.orders
            .iter()
            .fold(request, |request, id| request.record::<Order>(id))
    }
}

impl AmendInputs {
    /// What to read for `cmd` once the order it amends, `stored`, is read: its
    /// customer too, which the caller takes out first.
    pub(crate) fn prefetch(cmd: &AmendOrder, stored: &Order) -> Prefetch {
        let mut request = Prefetch::new()
            .record::<Customer>(&stored.customer)
            .record::<TaxTable>(&())
            .every::<Location>();
        for sku in skus(cmd, stored) {
            request = request
                .record::<Product>(&sku)
                .stock(&sku)
                .record::<BackOrderQueue>(&sku);
        }
        stored
            .invoices
            .iter()
            .fold(request, |request, id| request.record::<Invoice>(id))
    }

    /// The inputs in `fetched`, read for `cmd`'s [`AmendInputs::prefetch`].
    pub(crate) fn from_fetched(cmd: &AmendOrder, stored: &Order, mut fetched: Fetched) -> Self {
        let skus = skus(cmd, stored);
        let mut products = Products::default();
        let mut queues = Vec::with_capacity(skus.len());
        for sku in skus {
            // Unknown SKUs are left out: pricing reports them.
            if let Some(p) = fetched.take::<Product>(&sku) {
                products.insert(p.value);
            }
            let queue = fetched.take::<BackOrderQueue>(&sku);
            queues.push((sku, queue));
        }
        // One the store lacks is left out: crediting it reports it missing.
        let invoices = stored
            .invoices
            .iter()
            .filter_map(|id| fetched.take::<Invoice>(id))
            .collect();
        let OrderInputs {
            products,
            tax,
            locations,
            levels,
        } = OrderInputs::taking(products, &mut fetched);
        // Taken, so owned already: these move, copying nothing.
        Self {
            products,
            tax: tax.into_owned(),
            locations: locations.into_iter().map(Cow::into_owned).collect(),
            levels: levels.into_owned(),
            invoices,
            queues,
            waiting: None,
            supply: None,
        }
    }

    /// Takes what `needs` asked for out of `fetched`, read for
    /// [`Needs::prefetch`]. An order a queue names and the store lacks is left
    /// out: a fill that needs it reports it missing.
    pub(crate) fn adopt_needs(&mut self, needs: &Needs, mut fetched: Fetched) {
        if needs.supply {
            let suppliers = fetched.take_every().into_iter().map(|v| v.value).collect();
            let sent = fetched
                .take_every()
                .into_iter()
                .map(|v: Versioned<PurchaseOrder>| v.value)
                .filter(PurchaseOrder::is_sent)
                .collect();
            self.supply = Some((suppliers, sent));
        }
        if !needs.orders.is_empty() {
            let read = needs
                .orders
                .iter()
                .filter_map(|id| fetched.take::<Order>(id))
                .collect();
            self.waiting = Some(read);
        }
    }

    /// The SKUs the amendment touches: those it read the queues of.
    pub(crate) fn skus(&self) -> Vec<Sku> {
        self.queues.iter().map(|(sku, _)| sku.clone()).collect()
    }

    /// The supply, if read.
    pub(super) fn supply(&self) -> Option<Supply<'_>> {
        self.supply
            .as_ref()
            .map(|(suppliers, sent)| Supply { suppliers, sent })
    }

    /// A backlog holding the queues as read and the waiting orders read so far.
    pub(super) fn backlog(&self) -> Backlog {
        let mut backlog = Backlog::default();
        for (sku, queue) in &self.queues {
            backlog.adopt_queue(sku, queue.clone());
        }
        for order in self.waiting.iter().flatten() {
            backlog.adopt(order.value.clone(), order.version);
        }
        backlog
    }

    /// Whether `location` fulfils orders (an unknown one does not).
    pub(super) fn fulfils(&self, location: &crate::ids::LocationId) -> bool {
        self.locations
            .iter()
            .any(|l| &l.id == location && l.fulfils_orders)
    }
}

/// The SKUs an amendment of `stored` touches: the order's, then those `cmd` adds,
/// each once.
pub(crate) fn skus(cmd: &AmendOrder, stored: &Order) -> Vec<Sku> {
    let added = cmd.changes.iter().filter_map(|c| match c {
        Amendment::AddLine(req) => Some(&req.sku),
        _ => None,
    });
    crate::ids::distinct(stored.lines.iter().map(|l| &l.sku).chain(added))
}
