//! One simulated company: the service over a faulty store and faulty carriers, an
//! unfaulted view of the same store for choosing targets and checking, and the plan.

use std::future::Future;
use std::sync::Arc;

use o2c::clock::{ManualClock, SeededIds};
use o2c::store::{Entity, ReadResult, Store};
use o2c::{Oms, OmsConfig};

use crate::faulty_carrier::{Carriers, FaultyCarrier};
use crate::faulty_store::FaultyStore;
use crate::plan::Plan;
use crate::world::Cast;

pub type SimOms<S> =
    Oms<FaultyStore<Arc<S>>, FaultyCarrier, Arc<o2c::payment::SimulatedCardProvider>>;

/// What survives a crash: the carriers, the clock, the id generator, the plan.
pub struct Outside {
    pub carriers: Arc<Carriers>,
    /// The third-party warehouse: its shelves and its feed outlive a crash.
    pub third_party: Arc<o2c::fulfilment::SimulatedThirdParty>,
    /// The card provider: its books and its webhooks outlive a crash.
    pub cards: Arc<o2c::payment::SimulatedCardProvider>,
    pub clock: Arc<ManualClock>,
    pub ids: Arc<SeededIds>,
    pub plan: Arc<Plan>,
}

pub struct Sim<'o, S> {
    pub oms: SimOms<S>,
    /// The same store without faults: what a back-office screen would show.
    pub direct: Arc<S>,
    pub outside: &'o Outside,
    pub cast: Cast,
}

impl<'o, S: Store> Sim<'o, S> {
    /// A service (a process) over `store`.
    pub fn start(store: Arc<S>, outside: &'o Outside, cast: Cast) -> Self {
        let oms = Oms::new(
            FaultyStore {
                inner: Arc::clone(&store),
                plan: Arc::clone(&outside.plan),
            },
            FaultyCarrier {
                carriers: Arc::clone(&outside.carriers),
                plan: Arc::clone(&outside.plan),
            },
        )
        .with_clock(outside.clock.clone())
        .with_ids(outside.ids.clone())
        // Retried at once: a pause would wake from the timer thread, outside the
        // simulation's deterministic executor.
        .with_config(OmsConfig::default().with_backoff(o2c::Backoff::none()))
        .unwrap()
        .with_payments(Arc::clone(&outside.cards));
        Self {
            oms,
            direct: store,
            outside,
            cast,
        }
    }

    pub fn plan(&self) -> &Plan {
        &self.outside.plan
    }

    /// Reads from the unfaulted store, on the spot.
    pub fn read<T>(&self, read: impl Future<Output = ReadResult<T>>) -> T {
        match pollster::block_on(read) {
            Ok(value) => value,
            Err(e) => self.fail(&format!("a direct store read failed: {e}")),
        }
    }

    /// Every record of a kind, read straight from the store (no faults).
    pub fn all<E: Entity>(&self) -> Vec<E> {
        self.read(self.direct.list::<E>())
            .into_iter()
            .map(|v| v.value)
            .collect()
    }

    /// Fails the test with the seed and the trace.
    pub fn fail(&self, why: &str) -> ! {
        panic!("SIMULATION FAILED: {why}\n{}", self.plan().report())
    }
}
