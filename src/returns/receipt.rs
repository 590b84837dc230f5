//! What receiving a return reads before it decides: the return first; then, in
//! one read, everything it names; then, only if needed, one last read of the
//! orders waiting for the restocked units, the invoices issued since the return
//! was asked for, and the supply of an exchange's short replacement.

use super::{Condition, ReceiveReturn, ReturnAuthorization, ReturnError, ReturnStatus};
use crate::catalog::{Product, Products, TaxTable};
use crate::customer::Customer;
use crate::error::Error;
use crate::ids::{OrderId, Sku};
use crate::ledger::Invoice;
use crate::order::{Order, OrderInputs};
use crate::purchasing::{self, BackOrderQueue, PurchaseOrder, Supplier};
use crate::stock::Location;
use crate::store::{Entity, Fetched, Prefetch, RecordKey, Versioned};

/// A back-order queue as read: `None` when the SKU has none yet.
pub(crate) type QueueRead = (Sku, Option<Versioned<BackOrderQueue>>);

/// What a receipt rests on, read before deciding: the return, then in one
/// dependent read what it names (see [`ReceiptReads::prefetch`]), and — only if
/// needed — a last read of the orders waiting in the restocked SKUs' queues, the
/// invoices issued since the return was asked for, and a replacement's supply
/// ([`ReceiptReads::still_to_read`]).
pub(crate) struct ReceiptReads {
    /// The return.
    pub rma: Versioned<ReturnAuthorization>,
    /// Its order.
    pub order: Versioned<Order>,
    /// Its customer.
    pub customer: Versioned<Customer>,
    /// The order's invoices.
    pub invoices: Vec<Versioned<Invoice>>,
    /// The products, stock and tax a receipt and a replacement are decided on,
    /// and every location.
    pub catalogue: OrderInputs<'static>,
    /// The version each product was read at: a restock moves its cost, at the
    /// version read.
    pub product_versions: Vec<(Sku, u64)>,
    /// The queues of the SKUs restocked.
    pub queues: Vec<QueueRead>,
    /// The orders waiting in them (the return's own order aside).
    pub waiting: Vec<Versioned<Order>>,
    /// Where a replacement short of stock is promised a date from.
    pub supply: Option<ReplacementSupply>,
}

/// Where an exchange's replacement short of stock is promised a date from, and the
/// queues it joins.
pub(crate) struct ReplacementSupply {
    /// The suppliers offering the replacement's SKUs, with their offers.
    pub suppliers: Vec<Supplier>,
    /// The purchase orders sent for them and not yet fully received.
    pub sent: Vec<PurchaseOrder>,
    /// The queues of the replacement's SKUs.
    pub queues: Vec<QueueRead>,
}

impl ReceiptReads {
    /// What to read, once `rma` is read, to receive `cmd`: its order, customer and
    /// invoices, the products and stock of the SKUs coming back, every location
    /// and the queues of the SKUs restocked; for the receipt that completes an
    /// exchange, also the replacement's products and stock and the tax table.
    ///
    /// # Errors
    /// [`ReturnError::Empty`] for a receipt of no lines: nothing to read.
    pub(crate) fn prefetch(
        rma: &ReturnAuthorization,
        cmd: &ReceiveReturn,
    ) -> Result<Prefetch, Error> {
        if cmd.lines.is_empty() {
            return Err(ReturnError::Empty.into());
        }
        let mut request = Prefetch::new()
            .record::<Order>(&rma.order)
            .record::<Customer>(&rma.customer)
            .every::<Location>();
        for id in &rma.invoices {
            request = request.record::<Invoice>(id);
        }
        for line in &rma.lines {
            request = request.record::<Product>(&line.sku).stock(&line.sku);
        }
        for sku in restocking(rma, cmd) {
            request = request.record::<BackOrderQueue>(&sku);
        }
        if completes_exchange(rma, cmd) {
            request = request.record::<TaxTable>(&());
            for line in &rma.replacement {
                request = request.record::<Product>(&line.sku).stock(&line.sku);
            }
        }
        Ok(request)
    }

    /// The reads in `fetched`, asked for by [`ReceiptReads::prefetch`].
    ///
    /// # Errors
    /// [`Error::NotFound`] for the return's order or customer.
    pub(crate) fn from_fetched(
        rma: Versioned<ReturnAuthorization>,
        cmd: &ReceiveReturn,
        mut fetched: Fetched,
    ) -> Result<Self, Error> {
        let order = take::<Order>(&mut fetched, &rma.value.order)?;
        let customer = take::<Customer>(&mut fetched, &rma.value.customer)?;
        let invoices = rma
            .value
            .invoices
            .iter()
            .filter_map(|id| fetched.take::<Invoice>(id))
            .collect();
        let queues = restocking(&rma.value, cmd)
            .into_iter()
            .map(|sku| {
                let queue = fetched.take::<BackOrderQueue>(&sku);
                (sku, queue)
            })
            .collect();
        let mut products = Products::default();
        let mut product_versions = Vec::new();
        for sku in rma
            .value
            .lines
            .iter()
            .map(|l| &l.sku)
            .chain(rma.value.replacement.iter().map(|l| &l.sku))
        {
            if let Some(p) = fetched.take::<Product>(sku) {
                product_versions.push((sku.clone(), p.version));
                products.insert(p.value);
            }
        }
        let catalogue = OrderInputs::taking(products, &mut fetched);
        Ok(Self {
            rma,
            order,
            customer,
            invoices,
            catalogue,
            product_versions,
            queues,
            waiting: Vec::new(),
            supply: None,
        })
    }

    /// What is left to read before deciding `cmd`, in one last read (`None`:
    /// nothing): the orders waiting in the restocked SKUs' queues, the order's
    /// invoices issued since the return was asked for — and, on that read, the
    /// supply of an exchange's replacement in case it is short, so that it needs
    /// no read of its own (the flag says whether it is asked for).
    pub(crate) fn still_to_read(&self, cmd: &ReceiveReturn) -> Option<(Prefetch, bool)> {
        let mut request = Prefetch::new();
        for id in self.waiting_to_read() {
            request = request.record::<Order>(&id);
        }
        for id in &self.order.value.invoices {
            if !self.invoices.iter().any(|i| i.value.id == *id) {
                request = request.record::<Invoice>(id);
            }
        }
        if request.records.is_empty() {
            return None;
        }
        if completes_exchange(&self.rma.value, cmd) {
            return Some((self.supply_to_read(request), true));
        }
        Some((request, false))
    }

    /// Adds to `request` what a replacement short of stock needs: the queues of
    /// its SKUs, the suppliers offering them and the purchase orders open for
    /// them (a short line is promised from its own SKU's alone).
    pub(crate) fn supply_to_read(&self, request: Prefetch) -> Prefetch {
        let skus = crate::ids::distinct(self.rma.value.replacement.iter().map(|line| &line.sku));
        let request = purchasing::supply_to_read(request, &skus);
        skus.iter().fold(request, |request, sku| {
            request.record::<BackOrderQueue>(sku)
        })
    }

    /// Takes in what [`ReceiptReads::still_to_read`] or
    /// [`ReceiptReads::supply_to_read`] asked for (`with_supply`: the supply too).
    pub(crate) fn add(&mut self, mut fetched: Fetched, with_supply: bool) {
        for id in self.waiting_to_read() {
            if let Some(order) = fetched.take::<Order>(&id) {
                self.waiting.push(order);
            }
        }
        for id in &self.order.value.invoices {
            if !self.invoices.iter().any(|i| i.value.id == *id)
                && let Some(invoice) = fetched.take::<Invoice>(id)
            {
                self.invoices.push(invoice);
            }
        }
        if !with_supply {
            return;
        }
        let mut queues: Vec<QueueRead> = Vec::new();
        for line in &self.rma.value.replacement {
            if !queues.iter().any(|(sku, _)| sku == &line.sku) {
                let queue = fetched.take::<BackOrderQueue>(&line.sku);
                queues.push((line.sku.clone(), queue));
            }
        }
        self.supply = Some(ReplacementSupply {
            suppliers: fetched.take_every().into_iter().map(|v| v.value).collect(),
            sent: fetched
                .take_every()
                .into_iter()
                .map(|v: Versioned<PurchaseOrder>| v.value)
                .filter(PurchaseOrder::is_sent)
                .collect(),
            queues,
        });
    }

    /// The orders the restocked SKUs' queues name that are not read yet, the
    /// return's own order aside (a fill works on the receipt's copy of it).
    fn waiting_to_read(&self) -> Vec<OrderId> {
        let own = self.order.value.id;
        let mut ids: Vec<OrderId> = Vec::new();
        for (_, queue) in &self.queues {
            for w in queue.iter().flat_map(|q| q.value.waiting.iter()) {
                if w.order != own
                    && !ids.contains(&w.order)
                    && !self.waiting.iter().any(|o| o.value.id == w.order)
                {
                    ids.push(w.order);
                }
            }
        }
        ids
    }

    /// The queue of `sku` as read.
    pub(super) fn queue(&self, sku: &Sku) -> Result<Option<Versioned<BackOrderQueue>>, Error> {
        self.queues
            .iter()
            .find(|(s, _)| s == sku)
            .map(|(_, q)| q.clone())
            .ok_or_else(|| Error::NotPrefetched {
                key: RecordKey::BackOrderQueue(sku.clone()),
            })
    }
}

/// Takes a record that must exist out of `fetched`.
fn take<E: Entity>(fetched: &mut Fetched, key: &E::Key) -> Result<Versioned<E>, Error>
where
    E::Key: std::fmt::Display,
{
    fetched
        .take::<E>(key)
        .ok_or_else(|| Error::dangling(E::kind(), key))
}

/// The SKUs `cmd` puts back on the shelf, each once.
pub(super) fn restocking(rma: &ReturnAuthorization, cmd: &ReceiveReturn) -> Vec<Sku> {
    let resellable = cmd
        .lines
        .iter()
        .filter(|(_, _, condition)| matches!(condition, Condition::Resellable { .. }))
        .filter_map(|(line_no, _, _)| rma.lines.iter().find(|l| l.line_no == *line_no));
    crate::ids::distinct(resellable.map(|l| &l.sku))
}

/// True if receiving `cmd` completes an exchange whose replacement is still to
/// place (as far as `rma` allows the receipt at all).
fn completes_exchange(rma: &ReturnAuthorization, cmd: &ReceiveReturn) -> bool {
    if rma.replacement.is_empty() || rma.replacement_order.is_some() {
        return false;
    }
    let mut after = rma.clone();
    cmd.lines
        .iter()
        .all(|(line_no, units, _)| after.receive(*line_no, *units).is_ok())
        && after.status == ReturnStatus::Received
}

#[cfg(test)]
mod tests {
    //! What a receipt reads, given the return and what was read before.
    use super::super::fixtures::{at, receipt, receipt_reads, resellable, sku};
    use super::*;
    use crate::ids::InvoiceId;
    use crate::order::LineRequest;
    use crate::store::IndexTerm;

    /// `reads` as an exchange of the mug for `replacement`.
    fn exchange(mut reads: ReceiptReads, replacement: Vec<LineRequest>) -> ReceiptReads {
        reads.rma.value.replacement = replacement;
        reads
    }

    #[test]
    fn the_return_names_all_a_receipt_reads_in_one_go() {
        // Given the authorised return of a mug, billed on one invoice
        let reads = receipt_reads(0);
        let rma = &reads.rma.value;
        // When a mug comes back fit to sell
        let request = ReceiptReads::prefetch(rma, &receipt(1, resellable())).unwrap();
        // Then its order, customer, invoice, product, stock and queue are read
        for key in [
            RecordKey::Order(rma.order),
            RecordKey::Customer(rma.customer),
            RecordKey::Invoice(rma.invoices[0]),
            RecordKey::Product(sku("MUG")),
            RecordKey::BackOrderQueue(sku("MUG")),
        ] {
            assert!(request.records.contains(&key), "{key:?}");
        }
        assert_eq!(request.stock_of, vec![sku("MUG")]);
        assert_eq!(request.kinds, vec![Location::kind()]);
        // and a damaged one joins no queue
        let damaged = ReceiptReads::prefetch(rma, &receipt(1, Condition::Damaged)).unwrap();
        assert!(
            !damaged
                .records
                .contains(&RecordKey::BackOrderQueue(sku("MUG")))
        );
    }

    #[test]
    fn a_receipt_of_nothing_reads_nothing() {
        let mut cmd = receipt(1, resellable());
        cmd.lines.clear();
        assert!(matches!(
            ReceiptReads::prefetch(&receipt_reads(0).rma.value, &cmd),
            Err(Error::Return(ReturnError::Empty))
        ));
    }

    #[test]
    fn an_invoice_issued_after_the_request_is_read_last() {
        let mut reads = receipt_reads(0);
        let cmd = receipt(1, resellable());
        assert!(reads.still_to_read(&cmd).is_none(), "nothing left");
        let later = InvoiceId::from_uuid(uuid::Uuid::from_u128(77));
        reads.order.value.invoices.push(later);
        let (last, supply) = reads.still_to_read(&cmd).unwrap();
        assert_eq!(last.records, vec![RecordKey::Invoice(later)]);
        assert!(!supply);
    }

    #[test]
    fn the_receipt_completing_an_exchange_reads_its_supply_with_the_waiting_orders() {
        let mut reads = exchange(receipt_reads(0), vec![LineRequest::new(sku("CUP"), 1)]);
        let mut queue = BackOrderQueue::new(sku("MUG"));
        queue.push(
            OrderId::from_uuid(uuid::Uuid::from_u128(99)),
            1,
            None,
            crate::quantity::Quantity::new(1),
            at(),
            0,
        );
        reads.queues = vec![(
            sku("MUG"),
            Some(Versioned {
                value: queue,
                version: 1,
            }),
        )];
        let (last, supply) = reads.still_to_read(&receipt(1, resellable())).unwrap();
        assert!(supply);
        // The replacement's SKU, by index term: never the kinds whole.
        let cup = IndexTerm::Sku(sku("CUP"));
        assert!(last.terms.contains(&(Supplier::kind(), cup.clone())));
        assert!(last.terms.contains(&(PurchaseOrder::kind(), cup)));
        assert!(last.kinds.is_empty(), "{:?}", last.kinds);
    }
}
