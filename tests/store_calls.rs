//! What each command asks of its store: reads (one per `Store` call; a batched read
//! counts once) and commits, counted by `o2c::testing::Counting` on the memory
//! store. Run with `--nocapture` for the table the README quotes. The bounds are
//! today's counts, so a change that adds a round trip fails here; the command
//! pipeline brings them down and tightens them. No command reads purchase orders
//! or suppliers whole: it reads those of its SKUs, by index term.
#![cfg(feature = "testing")]
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]
mod common;

use chrono::Days;
use common::*;
use o2c::customer::{PaymentMethod, PaymentTerms};
use o2c::fulfilment::{ShipmentStatus, TrackingEvent};
use o2c::order::{Amendment, Channel, PlaceOrder};
use o2c::purchasing::{BackOrderPolicy, Offer, Supplier};
use o2c::quantity::Quantity;
use o2c::returns::{Condition, ReturnReason};
use std::sync::Mutex;

use o2c::store::{Fetched, MemoryStore, Prefetch, ReadResult, Store};
use o2c::testing::{Calls, Counting};
use o2c::{
    AdjustStock, IssueCreditNote, Oms, ReceivePurchaseOrder, ReceiveReturn, ReceiveStock,
    RecordPayment, RecordRefund, RequestReturn,
};
use rust_decimal_macros::dec;

/// The memory store, noting the kinds each fetch reads whole.
#[derive(Default)]
struct Scans {
    inner: MemoryStore,
    kinds: Mutex<Vec<&'static str>>,
}

impl o2c::store::StoreWrapper for Scans {
    type Inner = MemoryStore;

    fn inner(&self) -> &MemoryStore {
        &self.inner
    }

    async fn fetch(&self, request: &Prefetch) -> ReadResult<Fetched> {
        self.kinds.lock().unwrap().extend(&request.kinds);
        self.inner.fetch(request).await
    }
}

/// (command, its calls, the kinds it read whole) rows, in the order run.
struct Table(Vec<(&'static str, Calls, Vec<&'static str>)>);

impl Table {
    fn row(&mut self, store: &Counting<Scans>, command: &'static str) {
        let scanned =
            std::mem::take(&mut *o2c::store::StoreWrapper::inner(store).kinds.lock().unwrap());
        self.0.push((command, store.take(), scanned));
    }
}

#[tokio::test]
async fn each_command_reads_and_commits_no_more_than_it_did() {
    let w = world().await;
    let counted = Counting::new(Scans::default());
    // The world's catalogue, copied into a counted store.
    let oms = Oms::new(&counted, parcel_carrier())
        .with_clock(w.clock.clone())
        .with_config(w.oms.config().clone())
        .unwrap();
    for p in w.oms.store().list::<o2c::catalog::Product>().await.unwrap() {
        oms.save_product(p.value).await.unwrap();
    }
    for l in w.oms.store().list::<o2c::stock::Location>().await.unwrap() {
        oms.save_location(l.value).await.unwrap();
    }
    let tax = w
        .oms
        .store()
        .load::<o2c::catalog::TaxTable>(&())
        .await
        .unwrap();
    oms.set_tax_table(tax.unwrap().value).await.unwrap();
    counted.take();
    let mut t = Table(Vec::new());

    let mut profile = o2c::customer::NewCustomer::new(
        "Ann",
        "ann@example.com",
        us_address("Ann"),
        o2c::money::Currency::USD,
    );
    profile.terms = PaymentTerms::Net { days: 30 };
    profile.payment_method = PaymentMethod::BankTransfer;
    let ann = oms
        .register_customer(profile, o2c::ids::IdempotencyKey::generate())
        .await
        .unwrap();
    t.row(&counted, "register_customer");

    oms.receive_stock(
        ReceiveStock::new(key("in-1"), sku("TEE"), loc(EAST), 20).with_reference("opening".into()),
    )
    .await
    .unwrap();
    t.row(&counted, "receive_stock");

    oms.adjust_stock(AdjustStock::new(
        key("adj-1"),
        sku("TEE"),
        loc(EAST),
        -1,
        "count",
    ))
    .await
    .unwrap();
    t.row(&counted, "adjust_stock");

    let order = oms
        .place_order(
            PlaceOrder::new(key("o-1"), ann.id, Channel::Web, o2c::money::Currency::USD)
                .line(sku("TEE"), 3),
        )
        .await
        .unwrap();
    t.row(&counted, "place_order (in stock)");

    let today = start().date_naive();
    let supplier = Supplier::new(
        o2c::ids::SupplierId::from_uuid(uuid::Uuid::from_u128(5)),
        "Mills",
        o2c::money::Currency::USD,
    )
    .offer(Offer::new(
        sku("MUG"),
        usd(dec!(2.00)),
        5,
        today,
        today.checked_add_days(Days::new(90)).unwrap(),
    ));
    oms.save_supplier(supplier.clone()).await.unwrap();
    t.row(&counted, "save_supplier");

    let waiting = oms
        .place_order(
            PlaceOrder::new(
                key("o-2"),
                ann.id,
                Channel::Phone,
                o2c::money::Currency::USD,
            )
            .line(sku("MUG"), 2)
            .back_order(BackOrderPolicy::BackOrder),
        )
        .await
        .unwrap();
    t.row(&counted, "place_order (back-ordered)");

    let po = oms
        .raise_purchase_order(
            supplier.id,
            &loc(EAST),
            &[(sku("MUG"), Quantity::new(10))],
            o2c::ids::IdempotencyKey::generate(),
        )
        .await
        .unwrap();
    t.row(&counted, "raise_purchase_order");
    let po = oms
        .approve_purchase_order(po.id, o2c::ids::IdempotencyKey::generate())
        .await
        .unwrap();
    t.row(&counted, "approve_purchase_order");
    oms.receive_purchase_order(
        ReceivePurchaseOrder::new(key("grn-1"), po.id)
            .with_lines(vec![(sku("MUG"), Quantity::new(10))]),
    )
    .await
    .unwrap();
    t.row(&counted, "receive_purchase_order");
    oms.replenish(&loc(EAST), o2c::ids::IdempotencyKey::generate())
        .await
        .unwrap();
    t.row(&counted, "replenish (nothing short)");
    oms.set_reorder_rule(o2c::purchasing::ReorderRule {
        sku: sku("MUG"),
        location: loc(EAST),
        min: Quantity::new(50),
        max: Quantity::new(60),
    })
    .await
    .unwrap();
    t.row(&counted, "set_reorder_rule");
    let raised = oms
        .replenish(&loc(EAST), o2c::ids::IdempotencyKey::generate())
        .await
        .unwrap();
    t.row(&counted, "replenish");
    assert_eq!(raised.len(), 1, "the rule calls for one purchase order");
    oms.cancel_purchase_order(raised[0].id, o2c::ids::IdempotencyKey::generate())
        .await
        .unwrap();
    t.row(&counted, "cancel_purchase_order");

    let invoice = oms.invoice(order.invoices[0]).await.unwrap();
    counted.take();
    oms.record_payment(RecordPayment::new(
        key("pay-1"),
        invoice.id,
        invoice.total().unwrap(),
        PaymentMethod::BankTransfer,
    ))
    .await
    .unwrap();
    t.row(&counted, "record_payment");

    oms.amend_order(
        o2c::order::AmendOrder::new(key("amend-1"), waiting.id).with_changes(vec![
            Amendment::SetQuantity {
                line_no: 1,
                quantity: 3,
            },
        ]),
    )
    .await
    .unwrap();
    t.row(&counted, "amend_order");

    let shipments = oms
        .ship(order.id, o2c::ids::IdempotencyKey::generate())
        .await
        .unwrap();
    t.row(&counted, "ship");
    oms.record_tracking(
        shipments[0].id,
        TrackingEvent {
            at: start(),
            status: ShipmentStatus::Delivered,
            description: "left at the door".into(),
        },
    )
    .await
    .unwrap();
    t.row(&counted, "record_tracking");

    let rma = oms
        .request_return(RequestReturn::new(key("ret-1"), order.id).with_lines(vec![(
            1,
            Quantity::new(1),
            ReturnReason::Defective,
        )]))
        .await
        .unwrap();
    t.row(&counted, "request_return");
    oms.authorise_return(rma.id, o2c::ids::IdempotencyKey::generate())
        .await
        .unwrap();
    t.row(&counted, "authorise_return");
    oms.receive_return(
        ReceiveReturn::new(key("ret-in-1"), rma.id).with_lines(vec![(
            1,
            Quantity::new(1),
            Condition::Resellable {
                location: loc(EAST),
            },
        )]),
    )
    .await
    .unwrap();
    t.row(&counted, "receive_return");

    let exchange = oms
        .request_exchange(
            RequestReturn::new(key("swap-1"), order.id)
                .with_lines(vec![(1, Quantity::new(1), ReturnReason::NoLongerWanted)])
                .exchange()
                .with_replacement(vec![o2c::order::LineRequest::new(sku("TEE"), 1)]),
        )
        .await
        .unwrap();
    t.row(&counted, "request_exchange");
    oms.authorise_return(exchange.id, o2c::ids::IdempotencyKey::generate())
        .await
        .unwrap();
    counted.take();
    let swapped = oms
        .receive_return(
            ReceiveReturn::new(key("swap-in-1"), exchange.id).with_lines(vec![(
                1,
                Quantity::new(1),
                Condition::Resellable {
                    location: loc(EAST),
                },
            )]),
        )
        .await
        .unwrap();
    t.row(&counted, "receive_return (exchange)");
    assert!(
        swapped.replacement_order.is_some(),
        "the replacement was placed"
    );

    oms.issue_credit_note(
        IssueCreditNote::new(key("cn-1"), invoice.id, "goodwill")
            .with_lines(vec![(1, Quantity::new(1))]),
    )
    .await
    .unwrap();
    t.row(&counted, "issue_credit_note");
    let payment = oms.store().list::<o2c::ledger::Payment>().await.unwrap()[0]
        .value
        .id;
    counted.take();
    let credit = oms.customer(ann.id).await.unwrap().history.credit;
    counted.take();
    assert!(
        credit.is_positive(),
        "the credit note left credit to refund"
    );
    oms.record_refund(RecordRefund::new(
        key("refund-1"),
        payment,
        credit.min(usd(dec!(1.00))).unwrap(),
    ))
    .await
    .unwrap();
    t.row(&counted, "record_refund");

    oms.cancel_order(
        waiting.id,
        "changed mind",
        o2c::ids::IdempotencyKey::generate(),
    )
    .await
    .unwrap();
    t.row(&counted, "cancel_order");

    println!("| command | reads | commits |\n|---|---|---|");
    for (command, calls, _) in &t.0 {
        println!("| `{command}` | {} | {} |", calls.reads, calls.commits);
    }
    // Today's counts: a change that adds a round trip to a command fails here.
    const BOUNDS: [(&str, u64, u64); 25] = [
        ("register_customer", 1, 1),
        ("receive_stock", 2, 1),
        ("adjust_stock", 2, 1),
        ("place_order (in stock)", 1, 1),
        ("save_supplier", 1, 1),
        ("place_order (back-ordered)", 2, 1),
        ("raise_purchase_order", 1, 1),
        ("approve_purchase_order", 2, 1),
        ("receive_purchase_order", 2, 1),
        ("replenish (nothing short)", 1, 1),
        ("set_reorder_rule", 1, 1),
        ("replenish", 2, 1),
        ("cancel_purchase_order", 2, 1),
        ("record_payment", 1, 1),
        ("amend_order", 2, 1),
        ("ship", 1, 1),
        ("record_tracking", 1, 1),
        ("request_return", 1, 1),
        ("authorise_return", 1, 1),
        ("receive_return", 2, 1),
        ("request_exchange", 1, 1),
        ("receive_return (exchange)", 2, 1),
        ("issue_credit_note", 1, 1),
        ("record_refund", 1, 1),
        ("cancel_order", 1, 1),
    ];
    let bound = |command: &str| {
        BOUNDS
            .iter()
            .find(|(c, _, _)| *c == command)
            .map(|(_, reads, commits)| (*reads, *commits))
            .unwrap_or_else(|| panic!("no bound for {command}"))
    };
    for (command, calls, scanned) in &t.0 {
        assert!(
            !scanned.contains(&"purchase_order") && !scanned.contains(&"supplier"),
            "{command} read {scanned:?} whole"
        );
        let (reads, commits) = bound(command);
        assert!(
            calls.reads <= reads && calls.commits <= commits,
            "{command}: {calls:?}"
        );
        assert_eq!(calls.lost_races, 0, "{command} raced nobody");
    }
}
