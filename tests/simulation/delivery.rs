//! Sending a command the way a network does: once, twice in a row, or twice at the
//! same moment, always with the same idempotency key; then judging what came back.

use std::fmt::Debug;
use std::future::Future;

use o2c::fulfilment::CarrierError;
use o2c::store::{ReadError, Store, StoreError};
use o2c::{Applied, Error};

use crate::executor::both;
use crate::invariants::check_everything;
use crate::plan::InjectedFault;
use crate::sim::Sim;

#[derive(Debug, Clone, Copy)]
enum Mode {
    Once,
    Again,
    Concurrently,
}

/// Sends a command (built afresh by `send` for each delivery), checks every answer
/// is one a caller may get, that two successful answers are the same (`identity`)
/// and that no more than one of them is a first run (the second of two in a row
/// must say it is a replay), and then every invariant. Returns the first
/// successful answer.
pub async fn deliver<S, T, F, Fut>(
    sim: &Sim<'_, S>,
    step: u64,
    what: String,
    identity: Option<fn(&T) -> String>,
    send: F,
) -> Option<T>
where
    S: Store,
    T: Debug,
    F: Fn() -> Fut,
    Fut: Future<Output = Result<Applied<T>, Error>>,
{
    deliver_all(sim, step, what, identity, send)
        .await
        .into_iter()
        .find_map(Result::ok)
        .map(Applied::into_inner)
}

/// As [`deliver`], but returns every answer, for a caller that knows what the
/// command must come to (a refusal, say).
pub async fn deliver_all<S, T, F, Fut>(
    sim: &Sim<'_, S>,
    step: u64,
    what: String,
    identity: Option<fn(&T) -> String>,
    send: F,
) -> Vec<Result<Applied<T>, Error>>
where
    S: Store,
    T: Debug,
    F: Fn() -> Fut,
    Fut: Future<Output = Result<Applied<T>, Error>>,
{
    let mode = match sim.plan().choose(|r| r.below(4)) {
        0 | 1 => Mode::Once,
        2 => Mode::Again,
        _ => Mode::Concurrently,
    };
    sim.plan().note(format!("#{step} {what} [{mode:?}]"));
    let plan = sim.plan();
    let send = || {
        plan.count_command();
        send()
    };
    let results = match mode {
        Mode::Once => {
            let first = send().await;
            // A caller retries an error it cannot explain, with the same key.
            if first.as_ref().is_err_and(worth_retrying) {
                sim.plan()
                    .note(format!("#{step}   -> {}; client retries", brief(&first)));
                vec![first, send().await]
            } else {
                vec![first]
            }
        }
        Mode::Again => {
            let first = send().await;
            sim.plan()
                .note(format!("#{step}   -> {} (first)", brief(&first)));
            vec![first, send().await]
        }
        Mode::Concurrently => {
            let (a, b) = both(sim.plan(), send(), send()).await;
            vec![a, b]
        }
    };
    for result in &results {
        sim.plan().note(format!("#{step}   -> {}", brief(result)));
        if let Err(e) = result
            && !acceptable(e)
        {
            sim.fail(&format!(
                "#{step} {what} failed with an error no caller should see: {e:?}"
            ));
        }
    }
    let oks: Vec<&Applied<T>> = results.iter().filter_map(|r| r.as_ref().ok()).collect();
    if oks.iter().filter(|answer| !answer.replayed).count() > 1 {
        sim.fail(&format!(
            "#{step} {what} delivered twice with one key ran twice:\n{oks:?}"
        ));
    }
    if let (Mode::Again, [Ok(_), Ok(second)]) = (mode, results.as_slice())
        && !second.replayed
    {
        sim.fail(&format!(
            "#{step} {what} sent again after it succeeded did not say it was a replay"
        ));
    }
    if let (Some(identity), [a, b]) = (identity, oks.as_slice())
        && identity(&a.value) != identity(&b.value)
    {
        sim.fail(&format!(
            "#{step} {what} delivered twice with one key gave two different results:\n{a:?}\n{b:?}"
        ));
    }
    check_everything(sim, &format!("#{step} {what}"));
    results
}

/// Errors a correct service may return here: refusals of the request as the world
/// stood, carrier timeouts, and the store failures we injected.
fn acceptable(e: &Error) -> bool {
    match e {
        Error::Order(_)
        | Error::Stock(_)
        | Error::Payment(_)
        | Error::Return(_)
        | Error::Credit(_)
        | Error::Purchasing(_) => true,
        Error::Carrier(CarrierError::Timeout { .. }) => true,
        Error::Provider(o2c::payment::ProviderError::Timeout { .. }) => true,
        // The warehouse timed out, or the order shipped (or was cancelled) before
        // the release reached it.
        Error::ThirdParty(
            o2c::fulfilment::ThirdPartyError::Unavailable { .. }
            | o2c::fulfilment::ThirdPartyError::NothingToRelease { .. },
        ) => true,
        Error::Store(StoreError::Backend(source)) => {
            source.downcast_ref::<InjectedFault>().is_some()
        }
        _ => false,
    }
}

/// An error that says nothing about the command: a store failure we injected, a
/// lost race, a carrier timeout.
pub fn only_a_fault(e: &Error) -> bool {
    worth_retrying(e)
}

fn worth_retrying(e: &Error) -> bool {
    matches!(
        e,
        Error::Store(StoreError::Backend(_))
            | Error::Read(ReadError::Backend(_))
            | Error::Carrier(_)
    ) || e.is_retryable()
}

/// One line for the trace.
fn brief<T: Debug>(result: &Result<T, Error>) -> String {
    match result {
        Ok(_) => "ok".into(),
        Err(Error::Store(StoreError::Backend(source))) => format!("store error ({source})"),
        Err(e) => {
            let text = format!("{e:?}");
            text.chars().take(140).collect()
        }
    }
}
