//! Command-line flags: the store, how many callers, when a pass stops, the seed and
//! the world's size.

use std::path::PathBuf;
use std::str::FromStr;
use std::time::Duration;

/// What `--help` prints, and what a bad flag prints after its error.
pub(crate) const USAGE: &str = "\
usage: cargo run --release --example loadgen -- [flags]
  --store S           the store to drive: memory (default), sqlite or postgres
  --clients N[,N...]  concurrent callers (default 1); a list runs once per count
  --durability D      sqlite only: full (default, fsync every commit) or normal
  --db PATH           sqlite only: the o2c file (default: a fresh file in the temp
                      dir); the baseline's file is PATH.baseline
  --postgres-url URL  postgres only: the database (default: $O2C_POSTGRES_URL, else
                      postgres://postgres@127.0.0.1:5432/test)
  --pgbench           postgres only: first run pgbench (TPC-B, scale 10) with the
                      same number of clients, as the hardware's yardstick
  --pgbench-seconds T postgres only: how long pgbench runs (default 30)
  --keep              sqlite: keep the files; postgres: keep the tenant and the
                      baseline's schema (default: delete them at the end)
  --transactions N    transactions to run, shared by the callers (default 200000)
  --seconds T         or run the o2c pass for T seconds (the baseline repeats its count)
  --seed S            seed for every random choice (default 42)
  --skus N            catalogue size (default 10000)
  --customers N       customers (default 3000)
  --locations N       stock locations, 1 to 99 (default 4)
  --stock N           opening units per SKU per location (default 1000000)
  --json              print exactly one JSON object instead of the report
  --no-baseline       skip the baseline pass
  --follow-reports    keep o2c's read models folding the event log beside the
                      callers (a live dashboard); compare with a run without
  --follow-every-ms T the follower's pause between folds (default 100)
  --baseline-only     memory, one caller: run the baseline pass alone (--transactions N)
                      and print its line; with --no-baseline, a profiler can
                      measure each side in its own process
  --compare N         memory, one caller: run o2c and the baseline N times each, every
                      pass in a fresh process of its own, alternating which goes
                      first; print the medians and o2c time / baseline time";

const SUPPORTED_STORES: &[&str] = &["memory", "sqlite", "postgres"];

/// The database `--store postgres` uses when neither `--postgres-url` nor
/// `O2C_POSTGRES_URL` names one.
#[cfg_attr(not(feature = "postgres"), allow(dead_code))]
pub(crate) const DEFAULT_POSTGRES_URL: &str = "postgres://postgres@127.0.0.1:5432/test";

/// `--durability`: SQLite's `synchronous` setting for both passes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Durability {
    Full,
    Normal,
}

impl Durability {
    /// The name in the report, and the `PRAGMA synchronous` value in lower case.
    pub(crate) fn name(self) -> &'static str {
        match self {
            Durability::Full => "full",
            Durability::Normal => "normal",
        }
    }
}

impl FromStr for Durability {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "full" => Ok(Durability::Full),
            "normal" => Ok(Durability::Normal),
            other => Err(format!("durability {other:?}: expected full or normal")),
        }
    }
}

/// When a pass stops.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Limit {
    Transactions(u64),
    Seconds(f64),
}

impl Limit {
    /// Whether a pass that has run `done` transactions in `elapsed` stops here.
    pub(crate) fn reached(self, done: u64, elapsed: Duration) -> bool {
        match self {
            Limit::Transactions(n) => done >= n,
            Limit::Seconds(s) => elapsed.as_secs_f64() >= s,
        }
    }

    /// How much of the pass is done, for the progress bar.
    pub(crate) fn fraction(self, done: u64, elapsed: Duration) -> f64 {
        match self {
            Limit::Transactions(n) => done as f64 / n.max(1) as f64,
            Limit::Seconds(s) => elapsed.as_secs_f64() / s,
        }
    }
}

/// What to run, as the flags say.
#[derive(Debug, Clone)]
pub(crate) struct Config {
    pub(crate) store: String,
    /// Concurrent callers in this run.
    pub(crate) clients: usize,
    /// Every count `--clients` named, one run each.
    pub(crate) client_counts: Vec<usize>,
    /// PostgreSQL only: the database, `None` for the environment's or the default.
    pub(crate) postgres_url: Option<String>,
    /// PostgreSQL only: run pgbench first, for this many seconds.
    pub(crate) pgbench: Option<u64>,
    /// SQLite only.
    pub(crate) durability: Durability,
    /// SQLite only: the o2c file, `None` for a fresh one in the temp dir.
    pub(crate) db: Option<PathBuf>,
    /// SQLite: keep the files after the run; PostgreSQL: the schemas.
    pub(crate) keep: bool,
    pub(crate) limit: Limit,
    pub(crate) seed: u64,
    pub(crate) skus: usize,
    pub(crate) customers: usize,
    pub(crate) locations: usize,
    pub(crate) stock: u32,
    pub(crate) json: bool,
    pub(crate) baseline: bool,
    /// Run the baseline pass alone, without o2c.
    pub(crate) baseline_only: bool,
    /// Compare the two in this many rounds of fresh processes.
    pub(crate) compare: Option<usize>,
    /// Keep o2c's read models folding the log beside the callers.
    pub(crate) follow_reports: bool,
    /// How long the follower waits between folds (each folds all that is new).
    pub(crate) follow_every_ms: u64,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            store: "memory".to_owned(),
            clients: 1,
            client_counts: vec![1],
            postgres_url: None,
            pgbench: None,
            durability: Durability::Full,
            db: None,
            keep: false,
            limit: Limit::Transactions(200_000),
            seed: 42,
            skus: 10_000,
            customers: 3_000,
            locations: 4,
            stock: 1_000_000,
            json: false,
            baseline: true,
            baseline_only: false,
            compare: None,
            follow_reports: false,
            follow_every_ms: 100,
        }
    }
}

/// The configuration, or `None` when help was asked for.
pub(crate) fn parse_args(args: impl IntoIterator<Item = String>) -> Result<Option<Config>, String> {
    let mut cfg = Config::default();
    let (mut transactions, mut seconds, mut durability) = (None, None, None);
    let (mut pgbench, mut pgbench_seconds) = (false, None);
    let mut args = args.into_iter();
    while let Some(arg) = args.next() {
        let (flag, inline) = match arg.split_once('=') {
            Some((flag, value)) => (flag.to_owned(), Some(value.to_owned())),
            None => (arg, None),
        };
        let rest = &mut args;
        match flag.as_str() {
            "-h" | "--help" => return Ok(None),
            "--store" => cfg.store = value(&flag, inline, rest)?,
            "--clients" => {
                cfg.client_counts = counts(&flag, &value::<String>(&flag, inline, rest)?)?
            }
            "--postgres-url" => cfg.postgres_url = Some(value(&flag, inline, rest)?),
            "--pgbench" => pgbench = true,
            "--pgbench-seconds" => pgbench_seconds = Some(value::<u64>(&flag, inline, rest)?),
            "--durability" => {
                durability = Some(value::<String>(&flag, inline, rest)?.parse::<Durability>()?);
            }
            "--db" => cfg.db = Some(PathBuf::from(value::<String>(&flag, inline, rest)?)),
            "--keep" => cfg.keep = true,
            "--transactions" => transactions = Some(value::<u64>(&flag, inline, rest)?),
            "--seconds" => seconds = Some(value::<f64>(&flag, inline, rest)?),
            "--seed" => cfg.seed = value(&flag, inline, rest)?,
            "--skus" => cfg.skus = value(&flag, inline, rest)?,
            "--customers" => cfg.customers = value(&flag, inline, rest)?,
            "--locations" => cfg.locations = value(&flag, inline, rest)?,
            "--stock" => cfg.stock = value(&flag, inline, rest)?,
            "--json" => cfg.json = true,
            "--no-baseline" => cfg.baseline = false,
            "--follow-reports" => cfg.follow_reports = true,
            "--follow-every-ms" => cfg.follow_every_ms = value(&flag, inline, rest)?,
            "--baseline-only" => cfg.baseline_only = true,
            "--compare" => cfg.compare = Some(value(&flag, inline, rest)?),
            other => return Err(format!("unknown flag {other:?}")),
        }
    }
    cfg.limit = match (transactions, seconds) {
        (Some(_), Some(_)) => return Err("give --transactions or --seconds, not both".into()),
        (Some(0), None) => return Err("--transactions must be at least 1".into()),
        (Some(n), None) => Limit::Transactions(n),
        (None, Some(s)) if !(s.is_finite() && s > 0.0) => {
            return Err("--seconds must be a positive number".into());
        }
        (None, Some(s)) => Limit::Seconds(s),
        (None, None) => cfg.limit,
    };
    if let Some(d) = durability {
        cfg.durability = d;
    }
    cfg.clients = cfg.client_counts.first().copied().unwrap_or(1);
    if pgbench_seconds == Some(0) {
        return Err("--pgbench-seconds must be at least 1".into());
    }
    if pgbench {
        cfg.pgbench = Some(pgbench_seconds.unwrap_or(30));
    }
    validate(&cfg)?;
    let postgres = cfg.store == "postgres";
    if !postgres && (cfg.postgres_url.is_some() || pgbench || pgbench_seconds.is_some()) {
        return Err(
            "--postgres-url, --pgbench and --pgbench-seconds apply to --store postgres only".into(),
        );
    }
    if pgbench_seconds.is_some() && !pgbench {
        return Err("--pgbench-seconds needs --pgbench".into());
    }
    let single = cfg.client_counts == [1];
    if (cfg.baseline_only || cfg.compare.is_some()) && !single {
        return Err("--baseline-only and --compare run one caller: not with --clients".into());
    }
    if cfg.baseline_only && !(cfg.baseline && cfg.store == "memory") {
        return Err(
            "--baseline-only runs the memory baseline: not with --no-baseline or another store"
                .into(),
        );
    }
    if cfg.baseline_only && !matches!(cfg.limit, Limit::Transactions(_)) {
        return Err("--baseline-only needs --transactions, not --seconds".into());
    }
    if let Some(rounds) = cfg.compare {
        if rounds == 0 {
            return Err("--compare needs at least 1 round".into());
        }
        if cfg.store != "memory" || !cfg.baseline || cfg.baseline_only {
            return Err(
                "--compare runs both memory passes: not with another store, \
                 --no-baseline or --baseline-only"
                    .into(),
            );
        }
        if !matches!(cfg.limit, Limit::Transactions(_)) {
            return Err("--compare needs --transactions, not --seconds".into());
        }
    }
    if cfg.store != "sqlite" && (durability.is_some() || cfg.db.is_some()) {
        return Err("--durability and --db apply to --store sqlite only".into());
    }
    if cfg.keep && !(cfg.store == "sqlite" || postgres) {
        return Err("--keep applies to --store sqlite or postgres only".into());
    }
    Ok(Some(cfg))
}

/// The caller counts of `--clients`: one number or a comma-separated list, each
/// 1 to 1024.
fn counts(flag: &str, text: &str) -> Result<Vec<usize>, String> {
    /// More callers than this is a typo, not a benchmark of this machine.
    const MOST: usize = 1024;
    text.split(',')
        .map(|part| match part.trim().parse::<usize>() {
            Ok(n) if (1..=MOST).contains(&n) => Ok(n),
            _ => Err(format!(
                "{flag}: cannot read {part:?} (expected 1 to {MOST}, or a list such as 1,4,16)"
            )),
        })
        .collect()
}

/// The value of `flag`: after its `=`, or the next argument.
fn value<T: FromStr>(
    flag: &str,
    inline: Option<String>,
    rest: &mut impl Iterator<Item = String>,
) -> Result<T, String> {
    let text = inline
        .or_else(|| rest.next())
        .ok_or_else(|| format!("{flag} needs a value"))?;
    text.parse()
        .map_err(|_| format!("{flag}: cannot read {text:?}"))
}

/// Checks what a single flag cannot: the store is supported and the sizes make sense.
fn validate(cfg: &Config) -> Result<(), String> {
    if !SUPPORTED_STORES.contains(&cfg.store.as_str()) {
        return Err(format!(
            "store {:?} is not supported; supported stores: {}",
            cfg.store,
            SUPPORTED_STORES.join(", ")
        ));
    }
    if cfg.store == "sqlite" && !cfg!(feature = "sqlite") {
        return Err(
            "--store sqlite needs the sqlite feature: rebuild with --features sqlite \
             (cargo run --release --features sqlite --example loadgen -- --store sqlite)"
                .into(),
        );
    }
    if cfg.store == "postgres" && !cfg!(feature = "postgres") {
        return Err(
            "--store postgres needs the postgres feature: rebuild with --features postgres \
             (cargo run --release --features postgres --example loadgen -- --store postgres)"
                .into(),
        );
    }
    if cfg.skus == 0 || cfg.customers == 0 || cfg.stock == 0 {
        return Err("--skus, --customers and --stock must be at least 1".into());
    }
    if !(1..=99).contains(&cfg.locations) {
        return Err("--locations must be between 1 and 99".into());
    }
    Ok(())
}

impl Config {
    /// PostgreSQL: the database `--postgres-url` names, else `O2C_POSTGRES_URL`'s,
    /// else the local default.
    #[cfg_attr(not(feature = "postgres"), allow(dead_code))]
    pub(crate) fn postgres_url(&self) -> String {
        self.postgres_url
            .clone()
            .or_else(|| std::env::var("O2C_POSTGRES_URL").ok())
            .unwrap_or_else(|| DEFAULT_POSTGRES_URL.to_owned())
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::panic)]
mod tests {
    use super::{Config, parse_args};

    fn parse(args: &[&str]) -> Result<Config, String> {
        parse_args(args.iter().map(|a| (*a).to_owned())).map(|cfg| cfg.unwrap())
    }

    fn refused(args: &[&str]) -> String {
        match parse(args) {
            Ok(cfg) => panic!("{args:?} was accepted: {cfg:?}"),
            Err(message) => message,
        }
    }

    #[test]
    fn one_caller_by_default() {
        let cfg = parse(&[]).unwrap();
        assert_eq!((cfg.clients, cfg.client_counts), (1, vec![1]));
        assert_eq!(cfg.pgbench, None);
    }

    #[test]
    fn clients_take_a_count_or_a_list() {
        let cfg = parse(&["--clients", "4"]).unwrap();
        assert_eq!((cfg.clients, cfg.client_counts), (4, vec![4]));
        let cfg = parse(&["--clients=1,4,16"]).unwrap();
        assert_eq!((cfg.clients, cfg.client_counts), (1, vec![1, 4, 16]));
        for bad in ["0", "", "4,", "x", "1,0", "2000"] {
            assert!(refused(&["--clients", bad]).contains("--clients"), "{bad}");
        }
        assert!(refused(&["--clients"]).contains("needs a value"));
    }

    #[test]
    fn one_caller_modes_refuse_clients() {
        assert!(
            refused(&["--compare", "3", "--clients", "4", "--transactions", "9"])
                .contains("one caller")
        );
        assert!(
            refused(&["--baseline-only", "--clients", "2", "--transactions", "9"])
                .contains("one caller")
        );
        assert!(parse(&["--compare", "3", "--clients", "1", "--transactions", "9"]).is_ok());
    }

    #[test]
    fn postgres_flags_belong_to_postgres() {
        for flags in [
            &["--pgbench"][..],
            &["--pgbench-seconds", "5"],
            &["--postgres-url", "postgres://x@y/z"],
        ] {
            assert!(
                refused(flags).contains("--store postgres only"),
                "{flags:?}"
            );
        }
    }

    #[cfg(feature = "postgres")]
    #[test]
    fn postgres_flags_are_read() {
        let cfg = parse(&["--store", "postgres", "--pgbench"]).unwrap();
        assert_eq!(cfg.pgbench, Some(30));
        let cfg = parse(&[
            "--store=postgres",
            "--pgbench",
            "--pgbench-seconds=5",
            "--postgres-url",
            "postgres://me@db/shop",
            "--keep",
            "--clients",
            "16",
        ])
        .unwrap();
        assert_eq!(cfg.pgbench, Some(5));
        assert_eq!(cfg.postgres_url(), "postgres://me@db/shop");
        assert!(cfg.keep);
        assert_eq!(cfg.clients, 16);
        assert!(refused(&["--store", "postgres", "--db", "x"]).contains("sqlite only"));
        assert!(
            refused(&["--store", "postgres", "--pgbench-seconds", "5"]).contains("needs --pgbench")
        );
        assert!(
            refused(&["--store", "postgres", "--pgbench", "--pgbench-seconds", "0"])
                .contains("at least 1")
        );
    }

    #[cfg(not(feature = "postgres"))]
    #[test]
    fn postgres_needs_its_feature() {
        assert!(refused(&["--store", "postgres"]).contains("--features postgres"));
    }

    #[test]
    fn keep_is_for_stores_with_files_or_schemas() {
        assert!(refused(&["--keep"]).contains("--keep"));
    }
}
