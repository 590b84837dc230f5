//! The journal exported for an accountant, read by the accountant's own tools.
//!
//! A loadgen run of 20,000 transactions on SQLite (the example binary, as a host
//! would run it), then both exports of its books: `hledger check -s` and
//! `bean-check` must accept them, and every account's balance as hledger and
//! `bean-query` sum it must equal o2c's trial balance to the minor unit, per
//! currency, with each currency's total zero. An entry in several currencies is
//! put to both tools too.
//!
//! CI installs hledger and beancount (`.ci/run`): a missing tool fails these
//! tests with a message saying so, never skips them.
#![cfg(feature = "sqlite")]
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use std::collections::BTreeMap;
use std::fs::File;
use std::io::BufWriter;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::str::FromStr;
use std::time::Instant;

use chrono::{TimeZone, Utc};
use o2c::Oms;
use o2c::fulfilment::PickupCarrier;
use o2c::ids::EntryId;
use o2c::ledger::{
    AccountCode, AccountKind, AccountNames, ChartOfAccounts, DocumentNumbers, EntryBuilder,
    EntrySource, ExportOptions, JournalFormat, JournalWriter, TrialBalance,
};
use o2c::money::{Currency, Money};
use o2c::store::sqlite::{SqliteOptions, SqliteStore};
use rust_decimal::Decimal;

/// Balances by account name and currency code, zeros left out (neither tool
/// lists an account whose balance is zero).
type Balances = BTreeMap<(String, String), Decimal>;

/// How many transactions loadgen runs before the books are exported.
const TRANSACTIONS: &str = "20000";

/// A directory of its own in the temp dir, emptied first; removed on drop unless
/// the test failed (then it is kept, for a look at the files).
struct Scratch(PathBuf);

impl Scratch {
    fn new(name: &str) -> Self {
        let dir = std::env::temp_dir().join(format!("o2c-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        Self(dir)
    }

    fn path(&self, file: &str) -> PathBuf {
        self.0.join(file)
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        if std::thread::panicking() {
            eprintln!("kept {} for a look", self.0.display());
        } else {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }
}

/// Runs `tool` with `args`; a tool that is not installed fails the test, saying
/// how to install it.
fn run(tool: &str, args: &[&str]) -> Output {
    match Command::new(tool).args(args).output() {
        Ok(out) => out,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => panic!(
            "`{tool}` is not installed, and this test needs it: \
             `apt-get install -y hledger beancount` (CI's .ci/run does)"
        ),
        Err(e) => panic!("could not run {tool}: {e}"),
    }
}

/// Runs `tool`, which must succeed; its standard output.
fn succeed(tool: &str, args: &[&str]) -> String {
    let out = run(tool, args);
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "{tool} {args:?} failed ({}):\n{stdout}{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    stdout
}

/// Both tools are there, before anything long runs.
fn tools_are_installed() {
    succeed("hledger", &["--version"]);
    succeed("bean-check", &["--version"]);
    succeed("bean-query", &["--version"]);
}

/// The loadgen example, built by `cargo test` with the examples (or here, with
/// the same features and profile, when a test was asked for alone).
fn loadgen() -> PathBuf {
    let exe = std::env::current_exe().unwrap();
    let profile = exe.parent().and_then(Path::parent).unwrap();
    let bin = profile
        .join("examples")
        .join(format!("loadgen{}", std::env::consts::EXE_SUFFIX));
    if bin.exists() {
        return bin;
    }
    let mut features = vec!["sqlite"];
    for (on, feature) in [
        (cfg!(feature = "postgres"), "postgres"),
        (cfg!(feature = "testing"), "testing"),
        (cfg!(feature = "tracing"), "tracing"),
        (cfg!(feature = "schema"), "schema"),
        (cfg!(feature = "json-numbers"), "json-numbers"),
    ] {
        if on {
            features.push(feature);
        }
    }
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned());
    let mut build = Command::new(cargo);
    build.args([
        "build",
        "--example",
        "loadgen",
        "--features",
        &features.join(","),
    ]);
    if !cfg!(debug_assertions) {
        build.arg("--release");
    }
    let status = build.status().unwrap();
    assert!(status.success(), "building loadgen failed: {status}");
    assert!(bin.exists(), "{} is missing after the build", bin.display());
    bin
}

/// o2c's trial balance, by the names the export gives the accounts.
fn trial_balance(balance: &TrialBalance, names: &AccountNames) -> Balances {
    let mut by_name = Balances::new();
    for b in &balance.balances {
        if b.balance.is_zero() {
            continue;
        }
        let name = names
            .name(&b.account)
            .unwrap_or_else(|| panic!("account {} is not in the chart", b.account));
        let key = (name.to_owned(), b.balance.currency().code().to_owned());
        assert!(by_name.insert(key, b.balance.amount()).is_none());
    }
    by_name
}

fn decimal(text: &str) -> Decimal {
    Decimal::from_str(text.trim()).unwrap_or_else(|e| panic!("{text:?} is not a number: {e}"))
}

/// `hledger balance --flat -O csv`: `"account","12.50 USD, 1000 JPY"` rows, then
/// the `"total"` row; the total row is checked to be zero in every currency.
fn hledger_balances(file: &Path) -> Balances {
    let csv = succeed(
        "hledger",
        &[
            "-f",
            file.to_str().unwrap(),
            "balance",
            "--flat",
            "-O",
            "csv",
        ],
    );
    let mut balances = Balances::new();
    let mut rows = csv.lines();
    assert_eq!(rows.next(), Some("\"account\",\"balance\""), "{csv}");
    let mut total = None;
    for row in rows {
        let (account, amounts) = row
            .strip_prefix('"')
            .and_then(|r| r.strip_suffix('"'))
            .and_then(|r| r.split_once("\",\""))
            .unwrap_or_else(|| panic!("unexpected row {row:?}"));
        if account == "total" {
            total = Some(amounts.to_owned());
            continue;
        }
        for amount in amounts.split(", ") {
            let (number, currency) = amount.split_once(' ').unwrap();
            let key = (account.to_owned(), currency.to_owned());
            assert!(balances.insert(key, decimal(number)).is_none(), "{row}");
        }
    }
    assert_eq!(
        total.as_deref(),
        Some("0"),
        "the books do not balance:\n{csv}"
    );
    balances
}

/// `bean-query`'s sums by account and currency. `str()` hands each sum over as
/// Python writes it (`Decimal('-12.50')`): beancount 2.3.5 renders an amount's
/// column to the precision most of its rows have, and refuses a position of a
/// billion or more, neither of which a check to the minor unit can have.
fn beancount_balances(file: &Path) -> Balances {
    let query = "select account, currency, str(sum(number)) as total \
                 group by account, currency order by account, currency";
    let csv = succeed("bean-query", &["-f", "csv", file.to_str().unwrap(), query]);
    let mut rows = csv.lines();
    assert_eq!(rows.next(), Some("account,currency,total"), "{csv}");
    let mut balances = Balances::new();
    for row in rows.filter(|r| !r.trim().is_empty()) {
        let cells: Vec<&str> = row.split(',').map(str::trim).collect();
        let [account, currency, total] = cells[..] else {
            panic!("unexpected row {row:?}");
        };
        let total = total
            .strip_prefix("Decimal('")
            .and_then(|t| t.strip_suffix("')"))
            .unwrap_or_else(|| panic!("unexpected total in {row:?}"));
        if decimal(total).is_zero() {
            continue;
        }
        let key = (account.to_owned(), currency.to_owned());
        assert!(balances.insert(key, decimal(total)).is_none(), "{row}");
    }
    balances
}

/// Each currency's sum over every account.
fn totals(balances: &Balances) -> BTreeMap<&str, Decimal> {
    let mut sums: BTreeMap<&str, Decimal> = BTreeMap::new();
    for ((_, currency), amount) in balances {
        *sums.entry(currency.as_str()).or_default() += *amount;
    }
    sums
}

/// The same balances, with a readable first difference when not.
fn assert_same(tool: &str, found: &Balances, expected: &Balances) {
    for (key, amount) in expected {
        assert_eq!(
            found.get(key),
            Some(amount),
            "{tool} disagrees with o2c's trial balance on {key:?}"
        );
    }
    assert_eq!(
        found, expected,
        "{tool} has accounts o2c's trial balance does not"
    );
}

/// The transactions hledger counted.
fn hledger_transactions(file: &Path) -> u64 {
    let stats = succeed("hledger", &["-f", file.to_str().unwrap(), "stats"]);
    stats
        .lines()
        .filter_map(|l| l.split_once(':'))
        .find(|(name, _)| name.trim() == "Transactions")
        .and_then(|(_, n)| n.split_whitespace().next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("no transaction count in\n{stats}"))
}

/// True if `text` holds something shaped like a UUID.
fn has_uuid(text: &str) -> bool {
    let b = text.as_bytes();
    (0..b.len().saturating_sub(35)).any(|i| {
        b[i..i + 36].iter().enumerate().all(|(j, c)| match j {
            8 | 13 | 18 | 23 => *c == b'-',
            _ => c.is_ascii_hexdigit(),
        })
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_loadgen_runs_books_read_the_same_in_hledger_and_beancount() {
    tools_are_installed();
    let scratch = Scratch::new("journal-export");
    let db = scratch.path("books.sqlite3");

    let loadgen = loadgen();
    let started = Instant::now();
    let out = Command::new(loadgen)
        .args(["--store", "sqlite", "--db", db.to_str().unwrap(), "--keep"])
        .args(["--no-baseline", "--durability", "normal", "--json"])
        .args(["--transactions", TRANSACTIONS])
        .args(["--skus", "1000", "--customers", "300", "--locations", "2"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "loadgen failed: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    eprintln!("loadgen: {:.1} s", started.elapsed().as_secs_f64());
    let ran = report["transactions"].as_u64();
    assert!(
        ran.is_some_and(|n| n >= 20_000),
        "loadgen ran {ran:?} transactions: {report}"
    );
    assert_eq!(report["errors"].as_u64(), Some(0), "{report}");
    assert_eq!(report["audit_violations"].as_u64(), Some(0), "{report}");

    let oms = Oms::new(
        SqliteStore::open(&db, SqliteOptions::default()).unwrap(),
        PickupCarrier::new(),
    );
    let names = AccountNames::new(&oms.config().chart);
    let expected = trial_balance(&oms.trial_balance().await.unwrap(), &names);
    assert!(expected.len() >= 6, "{expected:?}");

    let mut files = Vec::new();
    for (format, file) in [
        (JournalFormat::Hledger, "books.journal"),
        (JournalFormat::Beancount, "books.beancount"),
    ] {
        let path = scratch.path(file);
        let started = Instant::now();
        let out = BufWriter::new(File::create(&path).unwrap());
        let summary = oms
            .export_journal(out, &ExportOptions::new(format))
            .await
            .unwrap();
        eprintln!(
            "{file}: {} entries in {:.1} s, {} bytes",
            summary.written,
            started.elapsed().as_secs_f64(),
            std::fs::metadata(&path).unwrap().len()
        );
        assert_eq!(summary.read, summary.written);
        assert!(summary.written > 20_000, "{summary:?}");
        files.push((path, summary));
    }
    let (journal, summary) = &files[0];
    let (beancount, _) = &files[1];

    // hledger: parses, every account and commodity declared, balances equal.
    let started = Instant::now();
    succeed("hledger", &["-f", journal.to_str().unwrap(), "check", "-s"]);
    assert_eq!(hledger_transactions(journal), summary.written);
    let found = hledger_balances(journal);
    assert_same("hledger", &found, &expected);
    eprintln!("hledger: {:.1} s", started.elapsed().as_secs_f64());

    // beancount: bean-check says nothing, balances equal.
    let started = Instant::now();
    let check = succeed("bean-check", &[beancount.to_str().unwrap()]);
    assert!(check.trim().is_empty(), "bean-check: {check}");
    let found = beancount_balances(beancount);
    assert_same("bean-query", &found, &expected);
    assert!(totals(&found).values().all(Decimal::is_zero), "{found:?}");
    eprintln!("beancount: {:.1} s", started.elapsed().as_secs_f64());

    // Every entry is described by its documents' numbers, not by ids.
    let text = std::fs::read_to_string(journal).unwrap();
    let mut kinds: BTreeMap<&str, u64> = BTreeMap::new();
    for head in text.lines().filter(|l| l.starts_with("20")) {
        let (description, tags) = head.split_once("  ; ").unwrap();
        assert!(!has_uuid(description), "{head}");
        assert!(tags.starts_with("entry:") && has_uuid(tags), "{head}");
        let source = tags.split(", source:").nth(1).unwrap();
        *kinds.entry(source.split(',').next().unwrap()).or_default() += 1;
        if source.starts_with("payment") {
            assert!(description.contains(" on invoice INV-"), "{head}");
            assert!(description.contains(", order SO-"), "{head}");
        }
    }
    eprintln!("entries by source: {kinds:?}");
    for kind in ["invoice", "payment", "shipment", "stock_receipt"] {
        assert!(
            kinds.get(kind).is_some_and(|n| *n > 0),
            "no {kind}: {kinds:?}"
        );
    }
}

/// An entry in three currencies, each balancing on its own — which o2c's
/// entries may be, though no posting rule makes one yet — is read as balanced
/// by both tools, each currency summed apart and to the minor unit.
#[test]
fn an_entry_in_several_currencies_balances_in_both_tools() {
    tools_are_installed();
    let scratch = Scratch::new("journal-export-currencies");
    let chart = ChartOfAccounts::empty()
        .with("1100", "Accounts receivable", AccountKind::Asset)
        .with("2100", "Sales tax payable", AccountKind::Liability)
        .with("4000", "Sales revenue", AccountKind::Revenue);
    let (ar, tax, sales) = (
        AccountCode::new("1100"),
        AccountCode::new("2100"),
        AccountCode::new("4000"),
    );
    let m = |text: &str| Money::from_str(text).unwrap();
    let entry = EntryBuilder::new(
        "invoice INV-000001",
        EntrySource::StockAdjustment {
            reason: "three currencies".into(),
        },
    )
    .debit(&ar, m("10.80 USD"))
    .credit(&sales, m("10.00 USD"))
    .credit(&tax, m("0.80 USD"))
    .debit(&ar, m("1500 JPY"))
    .credit(&sales, m("1500 JPY"))
    .debit(&ar, m("0.125 KWD"))
    .credit(&sales, m("0.100 KWD"))
    .credit(&tax, m("0.025 KWD"))
    .build(
        EntryId::from_uuid(uuid::Uuid::nil()),
        Utc.with_ymd_and_hms(2026, 1, 2, 3, 4, 5).unwrap(),
        &chart,
    )
    .unwrap();
    let names = AccountNames::new(&chart);
    let mut expected = Balances::new();
    for line in entry.lines() {
        let key = (
            names.name(&line.account).unwrap().to_owned(),
            line.amount.currency().code().to_owned(),
        );
        *expected.entry(key).or_default() += line.amount.amount();
    }
    assert_eq!(totals(&expected).len(), 3);

    for (format, file) in [
        (JournalFormat::Hledger, "books.journal"),
        (JournalFormat::Beancount, "books.beancount"),
    ] {
        let path = scratch.path(file);
        let mut writer = JournalWriter::new(
            File::create(&path).unwrap(),
            &chart,
            &ExportOptions::new(format),
        )
        .unwrap();
        assert!(writer.write(&entry, &DocumentNumbers::new()).unwrap());
        writer.finish().unwrap();
        match format {
            JournalFormat::Hledger => {
                succeed("hledger", &["-f", path.to_str().unwrap(), "check", "-s"]);
                assert_same("hledger", &hledger_balances(&path), &expected);
            }
            JournalFormat::Beancount => {
                succeed("bean-check", &[path.to_str().unwrap()]);
                assert_same("bean-query", &beancount_balances(&path), &expected);
            }
        }
    }
    assert_eq!(Currency::KWD.minor_units(), 3);
}
