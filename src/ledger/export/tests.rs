#![allow(clippy::unwrap_used, clippy::indexing_slicing)]

use std::sync::Arc;

use chrono::{DateTime, Duration, NaiveDate, TimeZone, Utc};
use rust_decimal_macros::dec;
use uuid::Uuid;

use super::*;
use crate::ids::OrderNumber;
use crate::ledger::{AccountKind, EntryBuilder, EntrySource, InvoiceNumber};
use crate::prelude::*;

fn day(d: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(2026, 3, d).unwrap()
}

fn at(d: u32, hour: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 3, d, hour, 0, 0).unwrap()
}

fn code(c: &str) -> AccountCode {
    AccountCode::new(c)
}

fn usd(cents: i64) -> Money {
    Money::from_minor(cents, Currency::USD)
}

/// Three accounts, one of each side and a revenue account.
fn small_chart() -> ChartOfAccounts {
    ChartOfAccounts::empty()
        .with("1100", "Accounts receivable", AccountKind::Asset)
        .with("2100", "Sales tax payable", AccountKind::Liability)
        .with("4000", "Sales revenue", AccountKind::Revenue)
}

/// Invoice INV-000042 of order SO-000007: 10.80 owed, 10.00 sales, 0.80 tax.
fn invoice_entry(posted_at: DateTime<Utc>) -> JournalEntry {
    let invoice = crate::ids::InvoiceId::from_uuid(Uuid::from_u128(2));
    EntryBuilder::new("invoice INV-000042", EntrySource::Invoice { invoice })
        .debit(&code("1100"), usd(1080))
        .credit(&code("4000"), usd(1000))
        .credit(&code("2100"), usd(80))
        .build(
            EntryId::from_uuid(Uuid::from_u128(1)),
            posted_at,
            &small_chart(),
        )
        .unwrap()
}

fn numbers() -> DocumentNumbers {
    DocumentNumbers::new()
        .invoice(InvoiceNumber::new(42))
        .order(OrderNumber::new(7))
}

/// `entries` exported as `options` say, each described by [`numbers`] (and a
/// stock adjustment by nothing).
fn export(options: &ExportOptions, chart: &ChartOfAccounts, entries: &[JournalEntry]) -> String {
    let mut out = Vec::new();
    let mut writer = JournalWriter::new(&mut out, chart, options).unwrap();
    for entry in entries {
        let numbers = match entry.source() {
            EntrySource::StockAdjustment { .. } => DocumentNumbers::new(),
            _ => numbers(),
        };
        writer.write(entry, &numbers).unwrap();
    }
    writer.finish().unwrap();
    String::from_utf8(out).unwrap()
}

#[test]
fn an_hledger_journal_is_written_exactly() {
    let text = export(
        &ExportOptions::new(JournalFormat::Hledger),
        &small_chart(),
        &[invoice_entry(at(2, 23))],
    );
    assert_eq!(
        text,
        "\
; The o2c journal: every entry (dates in UTC).
; Check it: hledger -f FILE check -s; balances: hledger -f FILE balance
decimal-mark .

account Assets:1100-Accounts-receivable  ; type: A
  ; o2c account 1100: Accounts receivable
account Liabilities:2100-Sales-tax-payable  ; type: L
  ; o2c account 2100: Sales tax payable
account Income:4000-Sales-revenue  ; type: R
  ; o2c account 4000: Sales revenue

commodity 1000.00 USD

2026-03-02 * invoice INV-000042, order SO-000007  ; entry:00000000-0000-0000-0000-000000000001, source:invoice, invoice:INV-000042, order:SO-000007
    Assets:1100-Accounts-receivable              10.80 USD
    Income:4000-Sales-revenue                   -10.00 USD
    Liabilities:2100-Sales-tax-payable           -0.80 USD

"
    );
}

#[test]
fn a_beancount_file_is_written_exactly() {
    let options = ExportOptions::new(JournalFormat::Beancount)
        .from(day(2))
        .to(day(3));
    let text = export(&options, &small_chart(), &[invoice_entry(at(2, 23))]);
    assert_eq!(
        text,
        "\
; The o2c journal: the entries posted on or after 2026-03-02 and before 2026-03-03 (dates in UTC).
; Check it: bean-check FILE
option \"title\" \"o2c journal\"

2026-03-02 open Assets:1100-Accounts-receivable
  code: \"1100\"
  name: \"Accounts receivable\"
2026-03-02 open Liabilities:2100-Sales-tax-payable
  code: \"2100\"
  name: \"Sales tax payable\"
2026-03-02 open Income:4000-Sales-revenue
  code: \"4000\"
  name: \"Sales revenue\"

2026-03-02 commodity USD

2026-03-02 * \"invoice INV-000042, order SO-000007\"
  entry: \"00000000-0000-0000-0000-000000000001\"
  source: \"invoice\"
  invoice: \"INV-000042\"
  order: \"SO-000007\"
  Assets:1100-Accounts-receivable              10.80 USD
  Income:4000-Sales-revenue                   -10.00 USD
  Liabilities:2100-Sales-tax-payable           -0.80 USD

"
    );
}

#[test]
fn only_entries_posted_in_the_range_are_written() {
    let options = ExportOptions::new(JournalFormat::Hledger)
        .from(day(2))
        .to(day(4));
    assert!(!options.includes(day(1)));
    assert!(options.includes(day(2)) && options.includes(day(3)));
    assert!(!options.includes(day(4)));
    let mut out = Vec::new();
    let mut writer = JournalWriter::new(&mut out, &small_chart(), &options).unwrap();
    let written: Vec<bool> = [at(1, 23), at(2, 0), at(3, 23), at(4, 0)]
        .into_iter()
        .map(|t| writer.write(&invoice_entry(t), &numbers()).unwrap())
        .collect();
    assert_eq!(written, [false, true, true, false]);
    assert_eq!(writer.written(), 2);
    writer.finish().unwrap();
    let text = String::from_utf8(out).unwrap();
    assert_eq!(text.matches(" * invoice INV-000042").count(), 2);
    assert!(text.contains("2026-03-02 * ") && text.contains("2026-03-03 * "));
    // Open ends: everything from a day on, everything before a day.
    assert!(
        ExportOptions::new(JournalFormat::Hledger)
            .from(day(2))
            .includes(day(30))
    );
    assert!(
        ExportOptions::new(JournalFormat::Hledger)
            .to(day(2))
            .includes(day(1))
    );
    // An empty range is allowed, and writes the accounts only.
    let empty = ExportOptions::new(JournalFormat::Hledger)
        .from(day(2))
        .to(day(2));
    assert!(empty.validate().is_ok());
    assert!(!export(&empty, &small_chart(), &[invoice_entry(at(2, 1))]).contains(" * "));
}

#[test]
fn a_range_that_ends_before_it_starts_is_refused_before_anything_is_written() {
    let bad = ExportOptions::new(JournalFormat::Beancount)
        .from(day(3))
        .to(day(2));
    let mut out = Vec::new();
    let err = JournalWriter::new(&mut out, &small_chart(), &bad).unwrap_err();
    assert!(
        matches!(err, ExportError::BadRange { from, to } if from == day(3) && to == day(2)),
        "{err:?}"
    );
    assert!(out.is_empty());
    let err = crate::Error::from(err);
    assert_eq!(err.code(), "ledger.export_range");
    assert_eq!(err.kind(), ErrorKind::InvalidInput);
    assert_eq!(
        err.public_message(),
        "the export range starts on 2026-03-03, after it ends on 2026-03-02"
    );
}

#[test]
fn amounts_are_exact_to_the_minor_unit_in_every_currency_of_an_entry() {
    // One entry in three currencies, each balancing on its own: both tools
    // accept it as it is (tests/journal_export.rs runs them on it).
    let yen = |n| Money::from_minor(n, Currency::JPY);
    let dinar = |n| Money::from_minor(n, Currency::KWD);
    let huge = Money::new(dec!(12345678901234567.89), Currency::USD);
    // More decimals than the minor units, all zeros: kept exact, not rounded.
    let padded = Money::new(dec!(0.100), Currency::USD);
    let entry = EntryBuilder::new("x", EntrySource::StockAdjustment { reason: "x".into() })
        .debit(&code("1100"), huge)
        .credit(&code("4000"), huge)
        .debit(&code("1100"), yen(1500))
        .credit(&code("4000"), yen(1500))
        .debit(&code("1100"), dinar(1))
        .credit(&code("4000"), dinar(1))
        .debit(&code("1100"), padded)
        .credit(&code("4000"), padded)
        .build(EntryId::from_uuid(Uuid::nil()), at(5, 12), &small_chart())
        .unwrap();
    let text = export(
        &ExportOptions::new(JournalFormat::Hledger),
        &small_chart(),
        std::slice::from_ref(&entry),
    );
    for line in [
        "commodity 1000.00 USD\n",
        "commodity 1000. JPY\n",
        "commodity 1000.000 KWD\n",
        "commodity 1000.00 USD\ncommodity 1000. JPY\ncommodity 1000.000 KWD\n\n2026",
        // Wider than the column: still whole.
        "    Assets:1100-Accounts-receivable     12345678901234567.89 USD\n",
        "    Income:4000-Sales-revenue           -12345678901234567.89 USD\n",
        "    Assets:1100-Accounts-receivable               1500 JPY\n",
        "    Income:4000-Sales-revenue                   -0.001 KWD\n",
        "    Assets:1100-Accounts-receivable               0.10 USD\n",
        // The memo stands when a source has no documents.
        "2026-03-05 * x  ; entry:00000000-0000-0000-0000-000000000000, source:stock_adjustment\n",
    ] {
        assert!(text.contains(line), "{line:?} not in\n{text}");
    }
    assert_eq!(text.matches("commodity ").count(), 3, "{text}");
    let beancount = export(
        &ExportOptions::new(JournalFormat::Beancount),
        &small_chart(),
        &[entry],
    );
    assert!(
        beancount.contains("1970-01-01 commodity JPY\n"),
        "{beancount}"
    );
    assert!(beancount.contains("1970-01-01 open Income:4000-Sales-revenue\n"));
}

#[test]
fn account_names_are_valid_in_both_tools_and_distinct() {
    let chart = ChartOfAccounts::empty()
        .with("1100", "Accounts receivable", AccountKind::Asset)
        .with("11.00", "Accounts receivable", AccountKind::Asset)
        .with("11-00", "Accounts receivable", AccountKind::Asset)
        .with("cash", "Café & bar; \"till\"", AccountKind::Asset)
        .with("3000", "Owner's equity", AccountKind::Equity)
        .with("5000", "Cost of goods sold", AccountKind::Expense)
        .with("--", "", AccountKind::Liability);
    let names = AccountNames::new(&chart);
    let name = |c: &str| names.name(&code(c)).unwrap().to_owned();
    assert_eq!(name("1100"), "Assets:1100-Accounts-receivable");
    // Two codes that read the same once made safe: told apart in code order.
    assert_eq!(name("11-00"), "Assets:11-00-Accounts-receivable");
    assert_eq!(name("11.00"), "Assets:11-00-Accounts-receivable-2");
    assert_eq!(name("cash"), "Assets:Cash-Caf-bar-till");
    assert_eq!(name("3000"), "Equity:3000-Owner-s-equity");
    assert_eq!(name("5000"), "Expenses:5000-Cost-of-goods-sold");
    assert_eq!(name("--"), "Liabilities:Account");
    assert_eq!(names.name(&code("9999")), None);
    for (_, name, _) in names.iter() {
        let (root, rest) = name.split_once(':').unwrap();
        assert!(["Assets", "Liabilities", "Equity", "Income", "Expenses"].contains(&root));
        let first = rest.chars().next().unwrap();
        assert!(
            first.is_ascii_uppercase() || first.is_ascii_digit(),
            "{name}"
        );
        assert!(
            rest.chars().all(|c| c.is_ascii_alphanumeric() || c == '-'),
            "{name}"
        );
    }
    // The account's own code and name stay in the declaration, made safe.
    let text = export(&ExportOptions::new(JournalFormat::Beancount), &chart, &[]);
    assert!(
        text.contains("  name: \"Café & bar; \\\"till\\\"\"\n"),
        "{text}"
    );
    let text = export(&ExportOptions::new(JournalFormat::Hledger), &chart, &[]);
    assert!(
        text.contains("  ; o2c account cash: Café & bar; \"till\"\n"),
        "{text}"
    );
}

#[test]
fn an_entry_on_an_account_the_chart_lost_is_refused_and_not_written() {
    let entry = invoice_entry(at(2, 1));
    let chart = ChartOfAccounts::empty()
        .with("1100", "Accounts receivable", AccountKind::Asset)
        .with("4000", "Sales revenue", AccountKind::Revenue);
    let mut out = Vec::new();
    let mut writer = JournalWriter::new(
        &mut out,
        &chart,
        &ExportOptions::new(JournalFormat::Hledger),
    )
    .unwrap();
    let err = writer.write(&entry, &numbers()).unwrap_err();
    assert!(
        matches!(&err, ExportError::UnknownAccount { account, .. } if account.as_str() == "2100"),
        "{err:?}"
    );
    assert_eq!(crate::Error::from(err).code(), "ledger.unknown_account");
    writer.finish().unwrap();
    assert!(!String::from_utf8(out).unwrap().contains(" * "));
}

#[test]
fn descriptions_are_safe_in_both_tools() {
    assert_eq!(hledger_text("a; b\nc"), "a, b c");
    assert_eq!(quoted("say \"hi\" \\ bye\n"), "say \\\"hi\\\" \\\\ bye");
}

/// A writer that fails, as a full disk does.
struct Full;

impl Write for Full {
    fn write(&mut self, _: &[u8]) -> io::Result<usize> {
        Err(io::Error::new(io::ErrorKind::StorageFull, "disk full"))
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

#[test]
fn a_failing_writer_is_a_typed_error_with_the_io_error_as_source() {
    let oms = Oms::new(MemoryStore::new(), PickupCarrier::new());
    let err =
        pollster::block_on(oms.export_journal(Full, &ExportOptions::new(JournalFormat::Hledger)))
            .unwrap_err();
    assert_eq!(err.code(), "ledger.export_write");
    assert_eq!(err.kind(), ErrorKind::Unavailable);
    let source = std::error::Error::source(&err)
        .and_then(|e| e.downcast_ref::<io::Error>())
        .map(io::Error::kind);
    assert_eq!(source, Some(io::ErrorKind::StorageFull));
}

/// A shop on a manual clock: a T-shirt in stock and Ada, on 30 days' terms.
async fn shop(clock: Arc<ManualClock>) -> (Oms<MemoryStore, TableRateCarrier>, OrderId) {
    let oms = Oms::new(
        MemoryStore::new(),
        TableRateCarrier::new("Parcelly")
            .zone("US", 0)
            .band(5_000, vec![usd(700)]),
    )
    .with_clock(clock.clone())
    .with_ids(Arc::new(SeededIds::new(7)));
    let key = |k: &str| IdempotencyKey::new(k).unwrap();
    oms.set_tax_table(TaxTable::new().with_rate(TaxClass::standard(), None, dec!(0.08)))
        .await
        .unwrap();
    let tee = Sku::new("TEE-M").unwrap();
    let product = Product::new(
        tee.clone(),
        "T-shirt",
        usd(2000),
        usd(800),
        TaxClass::standard(),
    );
    oms.save_product(product).await.unwrap();
    let wh = LocationId::new("WH-1").unwrap();
    let address = Address::new("Warehouse", "1 Dock Rd", "Reno", "89501", "US");
    oms.save_location(Location::new(
        wh.clone(),
        "Reno",
        LocationKind::Warehouse,
        address,
        1,
    ))
    .await
    .unwrap();
    oms.receive_stock(ReceiveStock::new(key("grn-1"), tee.clone(), wh, 10).reference("opening"))
        .await
        .unwrap();
    let mut ada = NewCustomer::new(
        "Ada",
        "ada@example.com",
        Address::new("Ada", "12 Way", "Boston", "02108", "US"),
        Currency::USD,
    );
    ada.terms = PaymentTerms::Net { days: 30 };
    ada.payment_method = PaymentMethod::BankTransfer;
    let ada = oms.register_customer(ada, key("ada")).await.unwrap();
    let order = oms
        .place_order(
            PlaceOrder::new(key("cart-1"), ada.id, Channel::Web, Currency::USD).line(tee, 2),
        )
        .await
        .unwrap();
    (oms, order.id)
}

/// Placed and invoiced on the 1st, paid on the 2nd, shipped on the 3rd: the
/// export of the 2nd holds the payment alone, named by its invoice and order.
#[test]
fn the_oms_exports_a_range_with_the_documents_numbers() {
    pollster::block_on(async {
        let clock = Arc::new(ManualClock::new(at(1, 9)));
        let (oms, order) = shop(clock.clone()).await;
        let invoice = oms
            .invoice(oms.order(order).await.unwrap().invoices[0])
            .await
            .unwrap();
        clock.set(at(2, 15));
        let key = |k: &str| IdempotencyKey::new(k).unwrap();
        oms.record_payment(RecordPayment::new(
            key("pay-1"),
            invoice.id,
            invoice.total().unwrap(),
            PaymentMethod::BankTransfer,
        ))
        .await
        .unwrap();
        clock.set(at(3, 8));
        oms.ship(order, key("ship-1")).await.unwrap();

        let journal = oms.journal(0, 100).await.unwrap();
        let payment = journal
            .iter()
            .find(|e| matches!(e.source(), EntrySource::Payment { .. }))
            .unwrap();
        let options = ExportOptions::new(JournalFormat::Beancount)
            .from(day(2))
            .to(day(3));
        let mut books = Vec::new();
        let summary = oms.export_journal(&mut books, &options).await.unwrap();
        assert_eq!(summary.read, journal.len() as u64);
        assert_eq!(summary.written, 1);
        let text = String::from_utf8(books).unwrap();
        let entry = text.split_once("2026-03-02 commodity USD\n\n").unwrap().1;
        assert_eq!(
            entry,
            format!(
                "\
2026-03-02 * \"payment on invoice INV-000001, order SO-000001\"
  entry: \"{}\"
  source: \"payment\"
  invoice: \"INV-000001\"
  order: \"SO-000001\"
  Assets:1010-Bank                                       43.20 USD
  Assets:1100-Accounts-receivable                       -43.20 USD

",
                payment.id()
            )
        );
        assert!(
            text.contains("2026-03-02 open Assets:1010-Bank\n"),
            "{text}"
        );

        // The whole ledger: every entry, each named by its documents.
        let mut books = Vec::new();
        let options = ExportOptions::new(JournalFormat::Hledger);
        let summary = oms.export_journal(&mut books, &options).await.unwrap();
        assert_eq!(summary.written, journal.len() as u64);
        let text = String::from_utf8(books).unwrap();
        for line in [
            "2026-03-01 * goods received opening  ; entry:",
            "2026-03-01 * invoice INV-000001, order SO-000001  ; entry:",
            "2026-03-02 * payment on invoice INV-000001, order SO-000001  ; entry:",
            "2026-03-03 * shipment of order SO-000001  ; entry:",
        ] {
            assert!(text.contains(line), "{line:?} not in\n{text}");
        }

        // A bad range reads nothing and writes nothing.
        let mut books = Vec::new();
        let bad = ExportOptions::new(JournalFormat::Hledger)
            .from(day(3))
            .to(day(1));
        let err = oms.export_journal(&mut books, &bad).await.unwrap_err();
        assert!(
            matches!(err, crate::Error::Export(ExportError::BadRange { .. })),
            "{err:?}"
        );
        assert!(books.is_empty());
    });
}

/// Fewer than a page, exactly a page, and more: every entry is written once.
#[test]
fn the_journal_is_read_in_pages_and_each_entry_written_once() {
    pollster::block_on(async {
        let clock = Arc::new(ManualClock::new(at(1, 9)));
        let (oms, _) = shop(clock.clone()).await;
        let tee = Sku::new("TEE-M").unwrap();
        let wh = LocationId::new("WH-1").unwrap();
        let page = Oms::<MemoryStore, TableRateCarrier>::EXPORT_PAGE;
        let mut n = oms.journal(0, usize::MAX).await.unwrap().len();
        let mut receipt = 0;
        for target in [page - 1, page, page + 1, 2 * page + 3] {
            while n < target {
                receipt += 1;
                oms.receive_stock(
                    ReceiveStock::new(
                        IdempotencyKey::new(format!("grn-extra-{receipt}")).unwrap(),
                        tee.clone(),
                        wh.clone(),
                        1,
                    )
                    .reference(format!("R{receipt}")),
                )
                .await
                .unwrap();
                n += 1;
            }
            clock.advance(Duration::hours(1));
            let mut books = Vec::new();
            let options = ExportOptions::new(JournalFormat::Hledger);
            let summary = oms.export_journal(&mut books, &options).await.unwrap();
            assert_eq!((summary.read, summary.written), (n as u64, n as u64));
            let text = String::from_utf8(books).unwrap();
            assert_eq!(text.matches("  ; entry:").count(), n);
            assert_eq!(text.matches("goods received R1  ;").count(), 1);
        }
    });
}

/// A host shares an `Oms` across tasks: the export's future is `Send` too.
#[test]
fn the_export_future_is_send() {
    fn send<T: Send>(_: &T) {}
    let oms = Oms::new(MemoryStore::new(), PickupCarrier::new());
    let options = ExportOptions::new(JournalFormat::Hledger);
    let export = oms.export_journal(Vec::new(), &options);
    send(&export);
}
