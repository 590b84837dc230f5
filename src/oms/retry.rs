//! Retrying a command that lost a race, pausing as [`crate::Backoff`] says.

use crate::error::Error;

/// True for failures that fresh reads may get past: another writer won a race.
pub(crate) fn lost_race(error: &Error) -> bool {
    matches!(error, Error::Store(e) if e.is_lost_race())
}

/// Runs one attempt of a command until it stops losing races, up to the configured
/// number of attempts, pausing between them as [`crate::Backoff`] says. A macro rather
/// than a closure-taking function so the command's future stays a plain, `Send`
/// async block.
///
/// The loop runs in the command's span ([`super::trace`]): `retrying!(oms, "name",
/// key = k, attempt)` for a keyed command, `id = i` for one that addresses a
/// record, neither for one that has no subject.
macro_rules! retrying {
    ($oms:expr, $name:expr, key = $key:expr, $attempt:expr) => {
        $crate::oms::retry::retrying!(@run $oms, $crate::oms::trace::Command::keyed($name, $key), $attempt)
    };
    ($oms:expr, $name:expr, id = $id:expr, $attempt:expr) => {
        $crate::oms::retry::retrying!(@run $oms, $crate::oms::trace::Command::addressed($name, $id), $attempt)
    };
    ($oms:expr, $name:expr, $attempt:expr) => {
        $crate::oms::retry::retrying!(@run $oms, $crate::oms::trace::Command::plain($name), $attempt)
    };
    (@run $oms:expr, $span:expr, $attempt:expr) => {
        $span
            .run(async {
                let mut attempts: u32 = 0;
                loop {
                    attempts += 1;
                    // In a block of its own, so that a `?` or `return` in the attempt
                    // ends the attempt, not the command: a lost race must reach the retry.
                    let attempt: Result<_, $crate::Error> = async { $attempt }.await;
                    match attempt {
                        Err(e) if $crate::oms::retry::lost_race(&e) => {
                            if attempts >= $oms.config.max_attempts {
                                $crate::oms::trace::gave_up(attempts);
                                break (Err($crate::Error::Contention { attempts }), attempts);
                            }
                            $crate::oms::trace::lost_race(attempts, &e);
                            $oms.config.backoff.pause(attempts).await;
                        }
                        other => break (other, attempts),
                    }
                }
            })
            .await
    };
}
pub(crate) use retrying;
