//! The central view: a day of trading read back through every report, the reports'
//! bad input, paging and CSV, and a property test that read models kept up to
//! date batch by batch equal a rebuild from the whole event log.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

mod common;

use chrono::{Days, Duration, NaiveDate};
use common::*;
use o2c::customer::{PaymentMethod, PaymentTerms};
use o2c::fulfilment::{ShipmentStatus, TrackingEvent};
use o2c::ids::{OrderId, OrderNumber};
use o2c::money::Currency;
use o2c::order::{AmendOrder, Channel, Hold, PlaceOrder};
use o2c::purchasing::{BackOrderPolicy, ReorderRule};
use o2c::quantity::Quantity;
use o2c::reports::{
    CycleStage, DateRange, Dimension, Granularity, Member, Page, PageRequest, PipelineRow,
    PipelineStage, SalesQuery, StockFilter, write_csv,
};
use o2c::returns::{Condition, ReceiveReturn, RequestReturn, ReturnReason};
use o2c::{Error, RecordPayment};
use proptest::prelude::*;
use rust_decimal::Decimal;
use rust_decimal_macros::dec;

fn day(offset: u64) -> NaiveDate {
    start().date_naive() + Days::new(offset)
}

fn at(w: &World, hours: i64) {
    w.clock.set(start() + Duration::hours(hours));
}

/// An account's balance in the trial balance (zero when nothing was posted).
fn ledger_balance(trial: &o2c::ledger::TrialBalance, code: o2c::ledger::AccountCode) -> Decimal {
    trial
        .balances
        .iter()
        .find(|b| b.account == code)
        .map_or(Decimal::ZERO, |b| b.balance.amount())
}

fn first(limit: usize) -> PageRequest {
    PageRequest::first(limit)
}

async fn pay_in_full(w: &World, order: OrderId, k: &str) {
    let order = w.oms.order(order).await.unwrap();
    for invoice in &order.invoices {
        let owed = w
            .oms
            .invoice(*invoice)
            .await
            .unwrap()
            .outstanding()
            .unwrap();
        if owed.is_positive() {
            w.oms
                .record_payment(RecordPayment::new(
                    key(&format!("{k}-{invoice}")),
                    *invoice,
                    owed,
                    PaymentMethod::Card,
                ))
                .await
                .unwrap();
        }
    }
}

async fn deliver(w: &World, order: OrderId) {
    let order = w.oms.order(order).await.unwrap();
    for s in &order.shipments {
        w.oms
            .record_tracking(
                *s,
                TrackingEvent {
                    at: w.oms_now(),
                    status: ShipmentStatus::Delivered,
                    description: "handed over".into(),
                },
            )
            .await
            .unwrap();
    }
}

trait Now {
    fn oms_now(&self) -> chrono::DateTime<chrono::Utc>;
}

impl Now for World {
    fn oms_now(&self) -> chrono::DateTime<chrono::Utc> {
        use o2c::clock::Clock;
        self.clock.now()
    }
}

/// Ada (web, prepaid) buys TEE 2 + MUG 1, pays an hour later, it ships at two
/// hours and arrives a day after; she sends one TEE back, damaged, the next day.
/// Bob (B2B, net 30) orders 10 BOOK of which 8 are in stock; Cy (phone, net 30)
/// orders MUG 2. Neither pays.
async fn a_day_of_trading() -> (World, OrderId, OrderId, OrderId) {
    let w = world().await;
    let ada = customer(&w, "Ada", PaymentTerms::Prepaid, None).await;
    let bob = customer(&w, "Bob", PaymentTerms::Net { days: 30 }, None).await;
    let cy = customer(&w, "Cy", PaymentTerms::Net { days: 30 }, None).await;
    at(&w, 0);
    let web = w
        .oms
        .place_order(
            PlaceOrder::new(key("ada"), ada.id, Channel::Web, Currency::USD)
                .line(sku("TEE"), 2)
                .line(sku("MUG"), 1),
        )
        .await
        .unwrap()
        .id;
    let b2b = w
        .oms
        .place_order(
            PlaceOrder::new(key("bob"), bob.id, Channel::B2b, Currency::USD)
                .line(sku("BOOK"), 10)
                .back_order(BackOrderPolicy::ShipAvailable),
        )
        .await
        .unwrap()
        .id;
    let phone = w
        .oms
        .place_order(
            PlaceOrder::new(key("cy"), cy.id, Channel::Phone, Currency::USD).line(sku("MUG"), 2),
        )
        .await
        .unwrap()
        .id;
    at(&w, 1);
    pay_in_full(&w, web, "ada-pays").await;
    at(&w, 2);
    w.oms.ship(web, key("ship-ada")).await.unwrap();
    at(&w, 26);
    deliver(&w, web).await;
    at(&w, 30);
    let rma = w
        .oms
        .request_return(RequestReturn::new(key("rma"), web).line(1, 1, ReturnReason::Damaged))
        .await
        .unwrap()
        .id;
    w.oms.authorise_return(rma, key("rma-ok")).await.unwrap();
    w.oms
        .receive_return(ReceiveReturn::new(key("rma-in"), rma).line(
            1,
            1,
            Condition::Resellable {
                location: loc(EAST),
            },
        ))
        .await
        .unwrap();
    w.oms
        .set_reorder_rule(ReorderRule {
            sku: sku("TEE"),
            location: loc(EAST),
            min: Quantity::new(9),
            max: Quantity::new(20),
        })
        .await
        .unwrap();
    (w, web, b2b, phone)
}

#[tokio::test]
async fn sales_by_channel_net_the_return_and_show_the_margin() {
    let (w, ..) = a_day_of_trading().await;
    let page = w
        .oms
        .sales(&SalesQuery {
            range: DateRange::new(day(0), day(5)).unwrap(),
            granularity: Granularity::Month,
            dimension: Dimension::Channel,
            page: first(100),
        })
        .await
        .unwrap();
    let web = page
        .items
        .iter()
        .find(|r| r.member == Member::Channel(Channel::Web))
        .expect("a web row");
    assert_eq!(web.period, day(0), "clipped to the range");
    assert_eq!(web.units_sold, 3);
    assert_eq!(web.units_returned, 1);
    assert_eq!(web.invoiced, usd(dec!(52.50)));
    assert_eq!(web.credited, usd(dec!(20.00)), "the returned TEE, net");
    assert_eq!(web.net_revenue, usd(dec!(32.50)));
    assert_eq!(
        web.cost_of_goods,
        usd(dec!(12.00)),
        "TEE 2 × 8.00 + MUG 4.00, less the TEE that came back"
    );
    assert_eq!(web.gross_margin, usd(dec!(20.50)));
    // Every channel's net revenue is what the ledger's revenue account holds, and
    // their cost of goods what its cost-of-goods account holds.
    let (mut net, mut cost) = (Decimal::ZERO, Decimal::ZERO);
    for row in &page.items {
        net += row.net_revenue.amount();
        cost += row.cost_of_goods.amount();
    }
    let accounts = o2c::ledger::AccountMap::default();
    let balances = w.oms.trial_balance().await.unwrap();
    let balance = |code| ledger_balance(&balances, code);
    assert_eq!(
        net,
        -balance(accounts.revenue),
        "revenue is a credit balance"
    );
    assert_eq!(cost, balance(accounts.cogs));
    // By product, per day: the TEE sold on day 0 and came back on day 1.
    let tees: Vec<_> = w
        .oms
        .sales(&SalesQuery {
            range: DateRange::new(day(0), day(1)).unwrap(),
            granularity: Granularity::Day,
            dimension: Dimension::Product,
            page: first(100),
        })
        .await
        .unwrap()
        .items
        .into_iter()
        .filter(|r| r.member == Member::Product(sku("TEE")))
        .collect();
    assert_eq!(tees.len(), 2);
    assert_eq!((tees[0].period, tees[0].units_sold), (day(0), 2));
    assert_eq!((tees[1].period, tees[1].units_returned), (day(1), 1));
    assert_eq!(tees[1].credited, usd(dec!(20.00)));
}

#[tokio::test]
async fn ageing_puts_unpaid_net_invoices_in_their_bucket_and_counts_dso() {
    let (w, _, b2b, phone) = a_day_of_trading().await;
    let mut owed = Decimal::ZERO;
    for order in [b2b, phone] {
        for invoice in w.oms.order(order).await.unwrap().invoices {
            owed += w
                .oms
                .invoice(invoice)
                .await
                .unwrap()
                .outstanding()
                .unwrap()
                .amount();
        }
    }
    assert!(owed > Decimal::ZERO);
    // On day 10 nothing is due yet; on day 45 it is 15 days late.
    let early = w
        .oms
        .receivables_ageing(day(10), &first(100))
        .await
        .unwrap();
    assert_eq!(early.totals.len(), 1);
    assert_eq!(early.totals[0].current.amount(), owed);
    let late = w
        .oms
        .receivables_ageing(day(45), &first(100))
        .await
        .unwrap();
    assert_eq!(late.totals[0].days_1_30.amount(), owed);
    assert!(late.totals[0].current.is_zero());
    assert_eq!(late.customers.items.len(), 2, "Bob and Cy; Ada paid");
    assert_eq!(late.totals[0].open_invoices, 2);
    // DSO over 90 days: everything invoiced was on day 0.
    let dso = &late.dso[0];
    assert_eq!(dso.currency, Currency::USD);
    assert!(
        dso.days
            .is_some_and(|d| d > Decimal::ZERO && d < Decimal::from(90))
    );
    // One customer per page: the cursor leads to the other, and no further.
    let one = w.oms.receivables_ageing(day(45), &first(1)).await.unwrap();
    assert_eq!(one.customers.items.len(), 1);
    let next = first(1).next(&one.customers).expect("a second page");
    let two = w.oms.receivables_ageing(day(45), &next).await.unwrap();
    assert_eq!(two.customers.items.len(), 1);
    assert_ne!(
        one.customers.items[0].customer,
        two.customers.items[0].customer
    );
    assert_eq!(two.customers.next, None);
}

#[tokio::test]
async fn cycle_times_fill_rate_and_on_time_in_full() {
    let (w, ..) = a_day_of_trading().await;
    let week = DateRange::new(day(0), day(6)).unwrap();
    let cycles = w.oms.cycle_times(week, &first(100)).await.unwrap().items;
    let web = |stage| {
        cycles
            .iter()
            .find(|r| r.channel == Channel::Web && r.stage == stage)
            .unwrap_or_else(|| panic!("no web {stage:?} in {cycles:?}"))
    };
    let close = |got: u64, want: u64| {
        let err = (got as f64 - want as f64).abs() / want as f64;
        assert!(err <= o2c::reports::RELATIVE_ERROR, "{got} against {want}");
    };
    close(web(CycleStage::PlacedToPaid).p50_seconds, 3_600);
    close(web(CycleStage::PlacedToShipped).p90_seconds, 7_200);
    close(web(CycleStage::PlacedToDelivered).p50_seconds, 26 * 3_600);
    close(web(CycleStage::ShippedToDelivered).p50_seconds, 24 * 3_600);
    assert!(
        !cycles
            .iter()
            .any(|r| r.channel == Channel::Phone && r.stage == CycleStage::PlacedToPaid),
        "Cy never paid"
    );

    let fill = w.oms.fill_rate(week, &first(100)).await.unwrap().items;
    let b2b = fill.iter().find(|r| r.channel == Channel::B2b).unwrap();
    assert_eq!((b2b.orders, b2b.orders_filled), (1, 0));
    assert_eq!((b2b.units_ordered, b2b.units_filled), (10, 8));
    assert_eq!(b2b.fill_rate_percent, Some(dec!(80.0)));
    let web = fill.iter().find(|r| r.channel == Channel::Web).unwrap();
    assert_eq!((web.orders_filled, web.units_filled), (1, 3));

    let otif = w
        .oms
        .on_time_in_full(week, &first(100))
        .await
        .unwrap()
        .items;
    assert_eq!(otif.len(), 1, "only Ada's order completed: {otif:?}");
    assert_eq!(
        (otif[0].channel, otif[0].orders, otif[0].on_time_in_full),
        (Channel::Web, 1, 1)
    );

    w.clock.set(start() + Duration::days(45));
    let waiting = w.oms.back_order_ageing(&first(100)).await.unwrap().items;
    assert_eq!(waiting.len(), 1);
    assert_eq!(waiting[0].sku, sku("BOOK"));
    assert_eq!((waiting[0].orders, waiting[0].units), (1, 2));
    assert_eq!(waiting[0].days_31_60, 2);
}

#[tokio::test]
async fn inventory_payments_and_returns() {
    let (w, ..) = a_day_of_trading().await;
    let week = DateRange::new(day(0), day(6)).unwrap();
    let all = w
        .oms
        .inventory(week, StockFilter::All, &first(100))
        .await
        .unwrap()
        .items;
    let levels = w.oms.store_stock_levels().await;
    assert_eq!(all.len(), levels.len());
    for level in &levels {
        let row = all
            .iter()
            .find(|r| r.sku == level.sku && r.location == level.location)
            .unwrap();
        assert_eq!((row.on_hand, row.reserved), (level.on_hand, level.reserved));
    }
    let tee_east = all
        .iter()
        .find(|r| r.sku == sku("TEE") && r.location == loc(EAST))
        .unwrap();
    assert_eq!(tee_east.shipped, 2);
    assert_eq!(
        tee_east.value,
        Some(usd(dec!(8.00) * Decimal::from(tee_east.on_hand)))
    );
    let low = w
        .oms
        .inventory(week, StockFilter::AtOrBelowReorderPoint, &first(100))
        .await
        .unwrap()
        .items;
    assert_eq!(low.len(), 1, "TEE at WH-EAST: 9 available, reorder at 9");
    assert_eq!((low[0].available, low[0].reorder_point), (9, Some(9)));
    let risk = w
        .oms
        .inventory(week, StockFilter::AtRisk, &first(100))
        .await
        .unwrap()
        .items;
    assert!(
        risk.iter().any(|r| r.sku == sku("BOOK")),
        "2 BOOK back-ordered and none to be had: {risk:?}"
    );

    let payments = w
        .oms
        .payment_figures(week, &first(100))
        .await
        .unwrap()
        .items;
    // The return left Ada credit, not a refund: one day of payments.
    assert_eq!(payments.len(), 1, "{payments:?}");
    assert_eq!(payments[0].captures, 1);
    assert_eq!(payments[0].captured, usd(dec!(57.75)));

    let returns = w
        .oms
        .returns_by_product(week, &first(100))
        .await
        .unwrap()
        .items;
    let tee = returns.iter().find(|r| r.sku == sku("TEE")).unwrap();
    assert_eq!((tee.units_sold, tee.units_returned), (2, 1));
    assert_eq!(tee.return_rate_percent, Some(dec!(50.0)));
    assert_eq!(tee.reasons, vec![(ReturnReason::Damaged, 1)]);
}

trait StoreLevels {
    async fn store_stock_levels(&self) -> Vec<o2c::stock::StockLevel>;
}

impl StoreLevels for TestOms {
    async fn store_stock_levels(&self) -> Vec<o2c::stock::StockLevel> {
        use o2c::store::Store;
        self.store().all_stock_levels().await.unwrap()
    }
}

#[tokio::test]
async fn bad_report_requests_are_refused_with_what_was_wrong() {
    let (w, ..) = a_day_of_trading().await;
    let field = |e: Error| match e {
        Error::Invalid { field, .. } => field,
        other => panic!("expected Invalid, got {other:?}"),
    };
    assert_eq!(field(DateRange::new(day(3), day(2)).unwrap_err()), "range");
    let backwards = DateRange {
        from: day(3),
        to: day(2),
    };
    assert_eq!(
        field(w.oms.cycle_times(backwards, &first(10)).await.unwrap_err()),
        "range"
    );
    let week = DateRange::new(day(0), day(6)).unwrap();
    for limit in [0, 101] {
        let e = w.oms.fill_rate(week, &first(limit)).await.unwrap_err();
        assert_eq!(e.code(), "request.invalid");
        assert_eq!(field(e), "limit");
    }
    let forged = PageRequest {
        after: Some(String::from("not a cursor").into()),
        limit: 10,
    };
    assert_eq!(
        field(
            w.oms
                .receivables_ageing(day(45), &forged)
                .await
                .unwrap_err()
        ),
        "after"
    );
}

#[tokio::test]
async fn reports_write_csv_and_page_with_cursors() {
    let (w, ..) = a_day_of_trading().await;
    let query = |page| SalesQuery {
        range: DateRange::new(day(0), day(1)).unwrap(),
        granularity: Granularity::Day,
        dimension: Dimension::Product,
        page,
    };
    let all = w.oms.sales(&query(first(100))).await.unwrap();
    assert!(all.items.len() >= 4, "{:?}", all.items);
    // Two rows a page: the same rows, in the same order.
    let mut paged = Vec::new();
    let mut request = first(2);
    loop {
        let page: Page<_> = w.oms.sales(&query(request.clone())).await.unwrap();
        assert!(page.items.len() <= 2);
        let next = request.next(&page);
        paged.extend(page.items);
        match next {
            Some(n) => request = n,
            None => break,
        }
    }
    assert_eq!(paged, all.items);

    let mut out = Vec::new();
    write_csv(&mut out, &all.items).unwrap();
    let text = String::from_utf8(out).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), all.items.len() + 1);
    assert!(lines[0].starts_with("period,member,currency,units_sold"));
    // Invoiced when placed: all 10, the 2 back-ordered too; nothing shipped yet.
    assert_eq!(
        lines[1],
        format!("{},BOOK,USD,10,0,159.90,0.00,159.90,0.00,159.90", day(0))
    );
}

/// Seven orders on the web and the phone, each taken to a different point:
/// the pipeline counts each at its stage, worth what it is worth now, and every
/// order is found by the number its customer would quote.
#[tokio::test]
async fn the_pipeline_counts_each_order_at_its_stage() {
    let w = world().await;
    let ben = customer(&w, "Ben", PaymentTerms::Net { days: 30 }, None)
        .await
        .id;
    at(&w, 0);
    let completed = place(&w, "completed", ben, Channel::Web, "TEE", 1).await;
    let shipped = place(&w, "shipped", ben, Channel::Web, "MUG", 1).await;
    let shipped_too = place(&w, "shipped-too", ben, Channel::Web, "TEE", 1).await;
    let held = place(&w, "held", ben, Channel::Web, "TEE", 1).await;
    let delivered = place(&w, "delivered", ben, Channel::Phone, "TEE", 2).await;
    let cancelled = place(&w, "cancelled", ben, Channel::Phone, "MUG", 2).await;
    let amended = place(&w, "amended", ben, Channel::Phone, "BOOK", 1).await;
    let placed = [
        &completed,
        &shipped,
        &shipped_too,
        &held,
        &delivered,
        &cancelled,
        &amended,
    ];
    assert_eq!(
        w.oms.order_pipeline().await.unwrap(),
        vec![
            PipelineRow {
                stage: PipelineStage::Placed,
                channel: Channel::Web,
                orders: 4,
                value: usd(placed[..4]
                    .iter()
                    .map(|o| o.total().unwrap().amount())
                    .sum()),
            },
            PipelineRow {
                stage: PipelineStage::Placed,
                channel: Channel::Phone,
                orders: 3,
                value: usd(placed[4..]
                    .iter()
                    .map(|o| o.total().unwrap().amount())
                    .sum()),
            },
        ],
        "every order placed, nothing more"
    );

    // Held for review before it shipped, then released: it ships, arrives and is
    // paid.
    at(&w, 1);
    w.oms
        .hold_order(completed.id, Hold::ManualReview, key("review"))
        .await
        .unwrap();
    let stage_of = |rows: &[PipelineRow], channel| {
        rows.iter()
            .filter(|r| r.channel == channel)
            .map(|r| (r.stage, r.orders))
            .collect::<Vec<_>>()
    };
    let rows = w.oms.order_pipeline().await.unwrap();
    assert_eq!(
        stage_of(&rows, Channel::Web),
        vec![(PipelineStage::Placed, 3), (PipelineStage::OnHold, 1)]
    );
    w.oms
        .release_hold(completed.id, Hold::ManualReview, key("reviewed"))
        .await
        .unwrap();
    let rows = w.oms.order_pipeline().await.unwrap();
    assert_eq!(
        stage_of(&rows, Channel::Web),
        vec![(PipelineStage::Placed, 4)]
    );
    for order in [&completed, &shipped, &shipped_too, &delivered] {
        w.oms
            .ship(order.id, key(&format!("ship-{}", order.id)))
            .await
            .unwrap();
    }
    at(&w, 20);
    deliver(&w, completed.id).await;
    deliver(&w, delivered.id).await;
    pay_in_full(&w, completed.id, "pay-completed").await;
    // Two holds, one lifted: still on hold.
    w.oms
        .hold_order(held.id, Hold::ManualReview, key("hold-1"))
        .await
        .unwrap();
    w.oms
        .hold_order(held.id, Hold::CreditLimit, key("hold-2"))
        .await
        .unwrap();
    w.oms
        .release_hold(held.id, Hold::CreditLimit, key("lift-2"))
        .await
        .unwrap();
    w.oms
        .cancel_order(cancelled.id, "changed their mind", key("cancel"))
        .await
        .unwrap();
    let amended = w
        .oms
        .amend_order(AmendOrder::new(key("amend"), amended.id).set_quantity(1, 3))
        .await
        .unwrap()
        .into_inner();
    assert_ne!(amended.value().unwrap(), placed[6].total().unwrap());
    assert_eq!(
        w.oms.order(completed.id).await.unwrap().status,
        o2c::order::OrderStatus::Completed
    );
    let worth = |orders: &[&o2c::order::Order]| {
        usd(orders.iter().map(|o| o.total().unwrap().amount()).sum())
    };
    let row = |stage, channel, orders, value| PipelineRow {
        stage,
        channel,
        orders,
        value,
    };
    let rows = w.oms.order_pipeline().await.unwrap();
    assert_eq!(
        rows,
        vec![
            row(
                PipelineStage::Placed,
                Channel::Phone,
                1,
                amended.value().unwrap()
            ),
            row(PipelineStage::OnHold, Channel::Web, 1, worth(&[&held])),
            row(
                PipelineStage::Shipped,
                Channel::Web,
                2,
                worth(&[&shipped, &shipped_too])
            ),
            row(
                PipelineStage::Delivered,
                Channel::Phone,
                1,
                worth(&[&delivered])
            ),
            row(
                PipelineStage::Completed,
                Channel::Web,
                1,
                worth(&[&completed])
            ),
            // Worth what it was placed for: cancelling does not reprice it.
            row(
                PipelineStage::Cancelled,
                Channel::Phone,
                1,
                worth(&[&cancelled])
            ),
        ]
    );
    assert_eq!(rows.iter().map(|r| r.orders).sum::<u64>(), 7);

    let mut out = Vec::new();
    write_csv(&mut out, &rows).unwrap();
    let text = String::from_utf8(out).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines[0], "stage,channel,currency,orders,value");
    assert_eq!(
        lines[3],
        format!(
            "shipped,web,USD,2,{}",
            worth(&[&shipped, &shipped_too]).amount()
        )
    );

    for order in placed {
        let number = order.number.expect("numbered when placed");
        assert_eq!(
            w.oms.order_by_number(&number).await.unwrap(),
            Some(order.id),
            "{number}"
        );
    }
    assert_eq!(
        w.oms
            .order_by_number(&OrderNumber::new(999_999))
            .await
            .unwrap(),
        None
    );
    // A rebuild from the log counts the same.
    w.oms.rebuild_reports().await.unwrap();
    assert_eq!(w.oms.order_pipeline().await.unwrap(), rows);
}

/// `units` of `item` for `who`, on `channel`, keyed `k`.
async fn place(
    w: &World,
    k: &str,
    who: o2c::ids::CustomerId,
    channel: Channel,
    item: &str,
    units: i64,
) -> o2c::order::Order {
    w.oms
        .place_order(PlaceOrder::new(key(k), who, channel, Currency::USD).line(sku(item), units))
        .await
        .unwrap()
        .into_inner()
}

// ---------------------------------------------------------------------------
// Property: kept up to date = rebuilt
// ---------------------------------------------------------------------------

#[derive(Debug, Clone)]
enum Op {
    Place {
        who: usize,
        channel: usize,
        sku: usize,
        units: u32,
    },
    Pay(usize),
    Ship(usize),
    Deliver(usize),
    Cancel(usize),
    Return(usize),
    /// A hold placed by a person (prepaid orders are held by themselves).
    Hold(usize, usize),
    Release(usize, usize),
    /// Line 1 set to this many units.
    Amend(usize, u32),
    Later(i64),
    /// A report is asked: the models fold what is new.
    Refresh,
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        4 => (0..3usize, 0..4usize, 0..3usize, 1..12u32)
            .prop_map(|(who, channel, sku, units)| Op::Place { who, channel, sku, units }),
        3 => (0..20usize).prop_map(Op::Pay),
        3 => (0..20usize).prop_map(Op::Ship),
        2 => (0..20usize).prop_map(Op::Deliver),
        1 => (0..20usize).prop_map(Op::Cancel),
        1 => (0..20usize).prop_map(Op::Return),
        2 => (0..20usize, 0..3usize).prop_map(|(i, h)| Op::Hold(i, h)),
        2 => (0..20usize, 0..3usize).prop_map(|(i, h)| Op::Release(i, h)),
        1 => (0..20usize, 1..6u32).prop_map(|(i, units)| Op::Amend(i, units)),
        2 => (1..72i64).prop_map(Op::Later),
        3 => Just(Op::Refresh),
    ]
}

async fn run(ops: Vec<Op>) {
    let w = world().await;
    let mut people = Vec::new();
    for (name, terms) in [
        ("Ann", PaymentTerms::Prepaid),
        ("Ben", PaymentTerms::Net { days: 14 }),
        ("Col", PaymentTerms::Net { days: 30 }),
    ] {
        people.push(customer(&w, name, terms, None).await.id);
    }
    let channels = [Channel::Web, Channel::Store, Channel::Phone, Channel::B2b];
    let skus = ["TEE", "MUG", "BOOK"];
    let holds = [Hold::ManualReview, Hold::CreditLimit, Hold::AwaitingPayment];
    let mut orders: Vec<OrderId> = Vec::new();
    let pick = |orders: &Vec<OrderId>, i: usize| orders.get(i % orders.len().max(1)).copied();
    for (n, op) in ops.into_iter().enumerate() {
        let k = |what: &str| key(&format!("{what}-{n}"));
        // Commands may be refused (no stock, nothing to ship, on hold): the
        // models must follow whatever did commit.
        match op {
            Op::Place {
                who,
                channel,
                sku: s,
                units,
            } => {
                if let Ok(o) = w
                    .oms
                    .place_order(
                        PlaceOrder::new(k("place"), people[who], channels[channel], Currency::USD)
                            .line(sku(skus[s]), i64::from(units))
                            .back_order(BackOrderPolicy::ShipAvailable),
                    )
                    .await
                {
                    orders.push(o.id);
                }
            }
            Op::Pay(i) => {
                if let Some(o) = pick(&orders, i) {
                    pay_in_full(&w, o, &format!("pay-{n}")).await;
                }
            }
            Op::Ship(i) => {
                if let Some(o) = pick(&orders, i) {
                    let _ = w.oms.ship(o, k("ship")).await;
                }
            }
            Op::Deliver(i) => {
                if let Some(o) = pick(&orders, i) {
                    deliver(&w, o).await;
                }
            }
            Op::Cancel(i) => {
                if let Some(o) = pick(&orders, i) {
                    let _ = w
                        .oms
                        .cancel_order(o, "changed their mind", k("cancel"))
                        .await;
                }
            }
            Op::Return(i) => {
                if let Some(o) = pick(&orders, i)
                    && let Ok(rma) = w
                        .oms
                        .request_return(RequestReturn::new(k("rma"), o).line(
                            1,
                            1,
                            ReturnReason::Defective,
                        ))
                        .await
                {
                    let _ = w.oms.authorise_return(rma.id, k("rma-ok")).await;
                    let _ = w
                        .oms
                        .receive_return(ReceiveReturn::new(k("rma-in"), rma.id).line(
                            1,
                            1,
                            Condition::Resellable {
                                location: loc(WEST),
                            },
                        ))
                        .await;
                }
            }
            Op::Hold(i, h) => {
                if let Some(o) = pick(&orders, i) {
                    let _ = w.oms.hold_order(o, holds[h], k("hold")).await;
                }
            }
            Op::Release(i, h) => {
                if let Some(o) = pick(&orders, i) {
                    let _ = w.oms.release_hold(o, holds[h], k("release")).await;
                }
            }
            Op::Amend(i, units) => {
                if let Some(o) = pick(&orders, i) {
                    let _ = w
                        .oms
                        .amend_order(
                            AmendOrder::new(k("amend"), o).set_quantity(1, i64::from(units)),
                        )
                        .await;
                }
            }
            Op::Later(hours) => w.clock.advance(Duration::hours(hours)),
            Op::Refresh => {
                w.oms.refresh_reports().await.unwrap();
            }
        }
    }
    let kept = w.oms.read_models().await.unwrap();
    w.oms.rebuild_reports().await.unwrap();
    let rebuilt = w.oms.read_models().await.unwrap();
    assert_eq!(kept.cursor(), rebuilt.cursor());
    assert!(
        kept == rebuilt,
        "kept up to date and rebuilt differ in {:?}",
        kept.differences(&rebuilt)
    );
    // Whatever was cancelled, voided, credited or returned, the sales report's
    // net revenue and cost of goods are the ledger's.
    let everything = DateRange::new(day(0), w.oms_now().date_naive()).unwrap();
    let mut request = first(100);
    let (mut net, mut cost) = (Decimal::ZERO, Decimal::ZERO);
    loop {
        let page = w
            .oms
            .sales(&SalesQuery {
                range: everything,
                granularity: Granularity::Month,
                dimension: Dimension::Channel,
                page: request.clone(),
            })
            .await
            .unwrap();
        for row in &page.items {
            net += row.net_revenue.amount();
            cost += row.cost_of_goods.amount();
        }
        match request.next(&page) {
            Some(next) => request = next,
            None => break,
        }
    }
    let accounts = o2c::ledger::AccountMap::default();
    let balances = w.oms.trial_balance().await.unwrap();
    let balance = |code| ledger_balance(&balances, code);
    assert_eq!(
        net,
        -balance(accounts.revenue),
        "net revenue against the ledger"
    );
    assert_eq!(
        cost,
        balance(accounts.cogs),
        "cost of goods against the ledger"
    );
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]
    #[test]
    fn read_models_kept_up_to_date_equal_a_rebuild(ops in proptest::collection::vec(op(), 1..60)) {
        pollster::block_on(run(ops));
    }
}
