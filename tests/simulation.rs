//! Deterministic simulation (issue 7): customers, warehouse staff, carriers and the
//! back office act at once, as interleaved tasks on a seeded executor and a manual
//! clock, against a store and carriers that fail, stall, conflict and lose replies.
//! Every command is sent once, twice, or twice at once with the same key. After
//! every command the audit must be clean, stock conserved and never oversold, and
//! nothing applied twice.
//!
//! A run is a pure function of its seed; a failure prints the seed and the last 50
//! actions. Knobs: `O2C_SIM_SEEDS` (how many seeds, default 16), `O2C_SIM_STEPS`
//! (commands per seed, default 250), `O2C_SIM_FIRST_SEED` (where the seeds start,
//! default 0, for running a long simulation in shards), `O2C_SIM_SEED` (run just
//! this one seed):
//!
//! The SQLite run (feature `sqlite`) crashes and reopens its file as it goes; it
//! has its own knobs, `O2C_SIM_SQLITE_SEEDS` (default 3) and `O2C_SIM_SQLITE_STEPS`
//! (default 120). The PostgreSQL run (feature `postgres`, on `O2C_POSTGRES_URL` or
//! the machine's test database, a fresh tenant per seed) has
//! `O2C_SIM_POSTGRES_SEEDS` (default 2) and `O2C_SIM_POSTGRES_STEPS` (default 120).
//! A networked store answers in its own time, so its runs are not exactly
//! repeatable from the seed; every invariant is checked all the same.
//!
//! ```sh
//! O2C_SIM_SEEDS=500 O2C_SIM_STEPS=1000 cargo test --all-features --test simulation -- --nocapture
//! ```
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]
#[path = "simulation/actors.rs"]
mod actors;
#[path = "simulation/changes.rs"]
mod changes;
mod common;
#[path = "simulation/delivery.rs"]
mod delivery;
#[path = "simulation/executor.rs"]
mod executor;
#[path = "simulation/faulty_carrier.rs"]
mod faulty_carrier;
#[path = "simulation/faulty_store.rs"]
mod faulty_store;
#[path = "simulation/invariants.rs"]
mod invariants;
#[path = "simulation/plan.rs"]
mod plan;
#[path = "simulation/reports.rs"]
mod reports;
#[path = "simulation/rng.rs"]
mod rng;
#[path = "simulation/sim.rs"]
mod sim;
#[path = "simulation/world.rs"]
mod world;

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Instant;

use o2c::clock::{ManualClock, SeededIds};
use o2c::store::{MemoryStore, Store};

use executor::{Executor, Stopped};
use faulty_carrier::Carriers;
use plan::{Fault, Plan};
use sim::{Outside, Sim};
use world::Cast;

/// Customers in the simulated company (one task each).
const CUSTOMERS: usize = 5;
/// Warehouse staff (one task each).
const WAREHOUSE_STAFF: usize = 2;

/// What one or more runs did.
#[derive(Debug, Default)]
struct Summary {
    seeds: u64,
    turns: u64,
    commands: u64,
    polls: u64,
    faults: BTreeMap<Fault, u64>,
    /// Amendments and exchanges, by kind and outcome.
    exercised: BTreeMap<&'static str, u64>,
}

impl Summary {
    fn add(&mut self, plan: &Plan, polls: u64) {
        self.seeds += 1;
        self.turns += plan.turns();
        self.commands += plan.commands();
        self.polls += polls;
        for (fault, n) in plan.tallies() {
            *self.faults.entry(fault).or_default() += n;
        }
        for (what, n) in plan.exercise_tally() {
            *self.exercised.entry(what).or_default() += n;
        }
    }

    fn print(&self, name: &str, steps: u64, started: Instant) {
        eprintln!(
            "{name}: {} seeds × {steps} steps: {} turns, {} commands sent, {} polls, {:.1?}",
            self.seeds,
            self.turns,
            self.commands,
            self.polls,
            started.elapsed()
        );
        for (fault, n) in &self.faults {
            eprintln!("  {fault:?}: {n}");
        }
        for (what, n) in &self.exercised {
            eprintln!("  {what}: {n}");
        }
    }
}

fn env_number(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// The seeds to run: `O2C_SIM_SEED` alone, or `O2C_SIM_SEEDS` of them from
/// `O2C_SIM_FIRST_SEED` (default 0), so a long run can be split into shards.
fn seeds(default_count: u64) -> Vec<u64> {
    match std::env::var("O2C_SIM_SEED")
        .ok()
        .and_then(|v| v.parse().ok())
    {
        Some(seed) => vec![seed],
        None => {
            let first = env_number("O2C_SIM_FIRST_SEED", 0);
            (first..first.saturating_add(env_number("O2C_SIM_SEEDS", default_count))).collect()
        }
    }
}

fn outside(seed: u64, steps: u64) -> Outside {
    let clock = Arc::new(ManualClock::new(common::start()));
    Outside {
        carriers: Arc::new(Carriers::new()),
        third_party: Arc::new(world::third_party(seed)),
        cards: Arc::new(world::cards(seed, &clock)),
        clock,
        ids: Arc::new(SeededIds::new(seed)),
        plan: Arc::new(Plan::new(seed, steps)),
    }
}

/// Spawns everyone on `executor`.
fn cast_tasks<'a, S: Store>(executor: &mut Executor<'a>, sim: &'a Sim<'_, S>) {
    for (n, who) in sim.cast.customers.iter().enumerate() {
        executor.spawn(format!("customer{n}"), actors::customer(sim, *who));
    }
    for n in 0..WAREHOUSE_STAFF {
        executor.spawn(format!("warehouse{n}"), actors::warehouse(sim));
    }
    executor.spawn("carriers".into(), actors::carrier_network(sim));
    executor.spawn("backoffice".into(), actors::back_office(sim));
    executor.spawn("3pl".into(), actors::third_party(sim));
    executor.spawn("scheduler".into(), actors::scheduler(sim));
    executor.spawn("cards".into(), actors::card_network(sim));
}

/// One seed on `store`: set up, then everyone at once until the budget is spent;
/// returns the polls made.
fn run_on<S: Store>(store: Arc<S>, seed: u64, steps: u64) -> (Arc<Plan>, u64) {
    let outside = outside(seed, steps);
    let mut sim = Sim::start(store, &outside, Cast::nobody());
    sim.cast = pollster::block_on(world::furnish(&sim.oms, CUSTOMERS));
    outside.plan.set_injecting(true);
    let mut executor = Executor::new(seed, 0);
    cast_tasks(&mut executor, &sim);
    let stopped = executor.run(&outside.plan, &outside.clock);
    assert_eq!(stopped, Stopped::AllDone);
    let polls = executor.polls;
    drop(executor);
    invariants::check_at_the_end(&sim);
    (Arc::clone(&outside.plan), polls)
}

/// One seed on a fresh in-memory store.
fn run_in_memory(seed: u64, steps: u64) -> (Arc<Plan>, u64) {
    run_on(Arc::new(MemoryStore::new()), seed, steps)
}

#[test]
fn simulation_on_the_memory_store() {
    let steps = env_number("O2C_SIM_STEPS", 250);
    let started = Instant::now();
    let mut summary = Summary::default();
    for seed in seeds(16) {
        let (plan, polls) = run_in_memory(seed, steps);
        summary.add(&plan, polls);
    }
    summary.print("memory simulation", steps, started);
    assert!(summary.commands > 0);
}

#[test]
fn a_seed_replays_exactly() {
    let (a, _) = run_in_memory(3, 60);
    let (b, _) = run_in_memory(3, 60);
    assert_eq!(
        a.report(),
        b.report(),
        "the same seed must give the same trace"
    );
    assert_eq!(a.tallies(), b.tallies());
}

/// The same company on the SQLite store, where the process also dies: at random
/// moments, and right after commits whose reply was lost. Tasks in flight die with
/// it (a booking made and never committed stays at the carrier); the store is
/// reopened from its file and everything must still hold before work resumes.
#[cfg(feature = "sqlite")]
mod on_sqlite {
    use std::path::PathBuf;

    use o2c::store::sqlite::{Durability, SqliteOptions, SqliteStore};

    use super::*;

    /// Chance per poll, in thousandths, of a crash at a random moment.
    const CRASH_PER_MILLE: usize = 4;

    /// A database file in the temp directory, removed (with its WAL files) on drop.
    struct TempDb(PathBuf);

    impl TempDb {
        fn new(seed: u64) -> Self {
            let path =
                std::env::temp_dir().join(format!("o2c-sim-{}-{seed}.sqlite3", std::process::id()));
            let db = Self(path);
            db.remove();
            db
        }

        fn remove(&self) {
            for suffix in ["", "-wal", "-shm", "-journal"] {
                let mut p = self.0.clone().into_os_string();
                p.push(suffix);
                let _ = std::fs::remove_file(p);
            }
        }
    }

    impl Drop for TempDb {
        fn drop(&mut self) {
            self.remove();
        }
    }

    /// One seed, across as many crashes as it takes to spend the budget.
    fn run_with_crashes(seed: u64, steps: u64) -> (Arc<Plan>, u64) {
        let db = TempDb::new(seed);
        let outside = outside(seed, steps);
        outside.plan.enable_crash_testing();
        let mut cast: Option<Cast> = None;
        let mut polls = 0;
        for epoch in 0.. {
            let options = SqliteOptions::default().with_durability(Durability::Normal);
            let store = Arc::new(SqliteStore::open(&db.0, options).unwrap());
            let mut sim = Sim::start(store, &outside, cast.clone().unwrap_or_else(Cast::nobody));
            match &cast {
                None => {
                    sim.cast = pollster::block_on(world::furnish(&sim.oms, CUSTOMERS));
                    cast = Some(sim.cast.clone());
                }
                Some(_) => invariants::check_everything(&sim, "reopening after the crash"),
            }
            outside.plan.set_injecting(true);
            let mut executor = Executor::new(seed, epoch).with_random_crashes(CRASH_PER_MILLE);
            cast_tasks(&mut executor, &sim);
            let stopped = executor.run(&outside.plan, &outside.clock);
            polls += executor.polls;
            drop(executor);
            outside.plan.set_injecting(false);
            if stopped == Stopped::AllDone {
                invariants::check_at_the_end(&sim);
                break;
            }
            // Half the time like `kill -9`: no destructor runs, no connection closes.
            let dirty = outside.plan.choose(|r| r.chance(50));
            outside.plan.tally(
                Fault::Crash,
                &format!(
                    "epoch {epoch} ends {}",
                    if dirty { "by kill -9" } else { "by exit" }
                ),
            );
            if dirty {
                std::mem::forget(sim);
            } else {
                drop(sim);
            }
        }
        (Arc::clone(&outside.plan), polls)
    }

    #[test]
    fn simulation_on_sqlite_with_crashes() {
        let steps = env_number("O2C_SIM_SQLITE_STEPS", 120);
        let started = Instant::now();
        let mut summary = Summary::default();
        for seed in seeds(env_number("O2C_SIM_SQLITE_SEEDS", 3)) {
            let (plan, polls) = run_with_crashes(seed, steps);
            summary.add(&plan, polls);
        }
        summary.print("sqlite simulation", steps, started);
        assert!(summary.commands > 0);
    }
}

/// The same company on PostgreSQL: a fresh tenant per seed, the same faults
/// injected around the store and the carriers, the same invariants.
#[cfg(feature = "postgres")]
mod on_postgres {
    use o2c::store::postgres::{PostgresOptions, PostgresStore};

    use super::*;

    fn run_on_postgres(seed: u64, steps: u64) -> (Arc<Plan>, u64) {
        let tenant = format!("t_sim_{}_{seed}", std::process::id());
        let store = pollster::block_on(async {
            let store = PostgresStore::connect(
                &common::postgres::url(),
                PostgresOptions::default().with_tenant(tenant.clone()),
            )
            .await
            .unwrap();
            store.drop_tenant(&tenant).await.unwrap();
            store.create_tenant(&tenant).await.unwrap()
        });
        let outcome = run_on(Arc::new(store.clone()), seed, steps);
        pollster::block_on(store.drop_tenant(&tenant)).unwrap();
        outcome
    }

    #[test]
    fn simulation_on_postgres() {
        let steps = env_number("O2C_SIM_POSTGRES_STEPS", 120);
        let started = Instant::now();
        let mut summary = Summary::default();
        for seed in seeds(env_number("O2C_SIM_POSTGRES_SEEDS", 2)) {
            let (plan, polls) = run_on_postgres(seed, steps);
            summary.add(&plan, polls);
        }
        summary.print("postgres simulation", steps, started);
        assert!(summary.commands > 0);
    }
}
