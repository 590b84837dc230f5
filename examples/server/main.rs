//! o2c over HTTP: a JSON API for every command and view, a live dashboard, a
//! customer self-service page and an OpenAPI document, on a demo shop.
//!
//! ```text
//! cargo run --example server                                   # in memory, 127.0.0.1:8080
//! cargo run --example server -- --addr 127.0.0.1:0              # any free port
//! cargo run --features sqlite --example server -- --sqlite PATH
//! cargo run --features postgres --example server -- --postgres URL [--tenant NAME]
//! ```
//!
//! It binds the loopback interface unless `--addr` says otherwise, and prints
//! `listening on http://ADDR` once it takes requests. `RUST_LOG=info` logs
//! every request's span with the library's command spans inside it.

mod api;
mod app;
mod extract;
mod problem;
mod replay;
// The examples' shared seeded generator (the seed's history draws from it).
#[allow(dead_code)]
#[path = "../shop/rng.rs"]
mod rng;
mod routes;
mod seed;

use std::error::Error as StdError;
use std::net::SocketAddr;
use std::sync::Arc;

use o2c::Oms;
use o2c::fulfilment::{PickupCarrier, TableRateCarrier};
use o2c::money::{Currency, Money};
use o2c::payment::{CardFaults, SimulatedCardProvider};
use o2c::store::{MemoryStore, Store};
use tracing_subscriber::EnvFilter;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;

use crate::app::Carriers;
use crate::seed::DemoClock;

type Result<T> = std::result::Result<T, Box<dyn StdError + Send + Sync>>;

/// Where the server listens unless told otherwise: loopback only.
const DEFAULT_ADDR: &str = "127.0.0.1:8080";

#[tokio::main]
async fn main() -> Result<()> {
    // Quiet unless asked: `RUST_LOG=info` prints each request's span as it
    // closes, with the library's command span (name, key, attempts, outcome)
    // nested inside it, and their times.
    tracing_subscriber::registry()
        .with(EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("warn")))
        .with(
            tracing_subscriber::fmt::layer()
                .with_target(false)
                .with_span_events(tracing_subscriber::fmt::format::FmtSpan::CLOSE),
        )
        .init();
    let args: Vec<String> = std::env::args().collect();
    check_args(&args)?;
    let flag = |name: &str| -> Option<Option<String>> {
        args.iter()
            .position(|a| a == name)
            .map(|i| args.get(i + 1).cloned())
    };
    let addr: SocketAddr = flag("--addr")
        .flatten()
        .unwrap_or_else(|| DEFAULT_ADDR.to_owned())
        .parse()?;
    let clock = Arc::new(DemoClock::default());
    let cards = Arc::new(SimulatedCardProvider::new(
        "Cardly",
        clock.clone(),
        7,
        CardFaults::default(),
        1,
    ));
    let usd = |cents| Money::from_minor(cents, Currency::USD);
    let parcels = TableRateCarrier::new("Parcelly")
        .zone("US", 0)
        .band(2_000, vec![usd(595)])
        .band(20_000, vec![usd(1295)]);
    let carriers: Carriers = (parcels, PickupCarrier::new());
    match (flag("--sqlite"), flag("--postgres")) {
        (Some(_), Some(_)) => Err("--sqlite and --postgres: one store at a time".into()),
        (None, None) => {
            println!("store: in memory (nothing is kept when the server stops)");
            serve(MemoryStore::new(), carriers, cards, clock, addr).await
        }
        (Some(None), _) => Err("--sqlite needs a file path".into()),
        (_, Some(None)) => Err("--postgres needs a connection URL".into()),
        (Some(Some(path)), None) => on_file(&path, carriers, cards, clock, addr).await,
        (_, Some(Some(url))) => {
            let tenant = flag("--tenant")
                .flatten()
                .unwrap_or_else(|| "demo".to_owned());
            on_database(&url, &tenant, carriers, cards, clock, addr).await
        }
    }
}

/// The flags this server takes, each with a value.
const FLAGS: [&str; 4] = ["--addr", "--sqlite", "--postgres", "--tenant"];

/// Refuses what is not a flag it knows: a mistyped `--sqllite` would otherwise
/// start a shop in memory and keep nothing.
fn check_args(args: &[String]) -> Result<()> {
    let mut rest = args.iter().skip(1);
    while let Some(arg) = rest.next() {
        if !FLAGS.contains(&arg.as_str()) {
            return Err(format!(
                "unknown argument `{arg}`; the flags are {}, each with a value",
                FLAGS.join(", ")
            )
            .into());
        }
        if rest.next().is_none() {
            return Err(format!("{arg} needs a value").into());
        }
    }
    Ok(())
}

#[cfg(feature = "sqlite")]
async fn on_file(
    path: &str,
    carriers: Carriers,
    cards: Arc<SimulatedCardProvider>,
    clock: Arc<DemoClock>,
    addr: SocketAddr,
) -> Result<()> {
    use o2c::store::sqlite::{SqliteOptions, SqliteStore};
    println!("store: SQLite file {path}");
    let store = SqliteStore::open(path, SqliteOptions::default())?;
    serve(store, carriers, cards, clock, addr).await
}

#[cfg(not(feature = "sqlite"))]
async fn on_file(
    _: &str,
    _: Carriers,
    _: Arc<SimulatedCardProvider>,
    _: Arc<DemoClock>,
    _: SocketAddr,
) -> Result<()> {
    Err("the SQLite store is behind a feature: cargo run --features sqlite --example server -- --sqlite PATH".into())
}

#[cfg(feature = "postgres")]
async fn on_database(
    url: &str,
    tenant: &str,
    carriers: Carriers,
    cards: Arc<SimulatedCardProvider>,
    clock: Arc<DemoClock>,
    addr: SocketAddr,
) -> Result<()> {
    use o2c::store::postgres::{PostgresOptions, PostgresStore};
    println!("store: PostgreSQL, tenant {tenant}");
    let store = PostgresStore::connect(url, PostgresOptions::default().with_tenant(tenant)).await?;
    serve(store, carriers, cards, clock, addr).await
}

#[cfg(not(feature = "postgres"))]
async fn on_database(
    _: &str,
    _: &str,
    _: Carriers,
    _: Arc<SimulatedCardProvider>,
    _: Arc<DemoClock>,
    _: SocketAddr,
) -> Result<()> {
    Err("the PostgreSQL store is behind a feature: cargo run --features postgres --example server -- --postgres URL".into())
}

async fn serve<S: Store + 'static>(
    store: S,
    carriers: Carriers,
    cards: Arc<SimulatedCardProvider>,
    clock: Arc<DemoClock>,
    addr: SocketAddr,
) -> Result<()> {
    let oms = Oms::new(store, carriers)
        .with_clock(clock.clone())
        .with_payments(cards);
    let started = std::time::Instant::now();
    if seed::seed(&oms, &clock).await? {
        println!(
            "seeded the demo shop: 30 days of trading in {:.1} s",
            started.elapsed().as_secs_f64()
        );
    } else {
        println!("the store holds the demo shop already: going on from it");
    }
    let listener = tokio::net::TcpListener::bind(addr).await?;
    let bound = listener.local_addr()?;
    if bound.ip().is_loopback() {
        println!(
            "only this machine can connect (loopback); --addr 0.0.0.0:8080 would open it to others"
        );
    } else {
        println!("warning: listening beyond this machine ({bound}); there is no authentication");
    }
    let router = app::router(oms, clock)?;
    println!("listening on http://{bound} (dashboard /, self-service /track, API docs /docs)");
    axum::serve(listener, router)
        .with_graceful_shutdown(async {
            let _ = tokio::signal::ctrl_c().await;
        })
        .await?;
    Ok(())
}
