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
/// record, both (`key = k, id = i`) for a keyed command that addresses one,
/// neither for one that has no subject. A keyed command may add
/// `twin = fut`: when every attempt failed, `fut` looks for the result of a twin
/// submission that committed first (`Ok(Some(result))`), and the command returns
/// that instead of its error.
macro_rules! retrying {
    ($oms:expr, $name:expr, key = $key:expr, id = $id:expr, $attempt:expr, twin = $twin:expr) => {
        $crate::oms::retry::retrying!(@run $oms, $crate::oms::trace::Command::keyed_on($name, $key, $id), $attempt, $twin)
    };
    ($oms:expr, $name:expr, key = $key:expr, $attempt:expr, twin = $twin:expr) => {
        $crate::oms::retry::retrying!(@run $oms, $crate::oms::trace::Command::keyed($name, $key), $attempt, $twin)
    };
    ($oms:expr, $name:expr, key = $key:expr, $attempt:expr) => {
        $crate::oms::retry::retrying!(@run $oms, $crate::oms::trace::Command::keyed($name, $key), $attempt, async { Ok(None) })
    };
    ($oms:expr, $name:expr, id = $id:expr, $attempt:expr) => {
        $crate::oms::retry::retrying!(@run $oms, $crate::oms::trace::Command::addressed($name, $id), $attempt, async { Ok(None) })
    };
    ($oms:expr, $name:expr, $attempt:expr) => {
        $crate::oms::retry::retrying!(@run $oms, $crate::oms::trace::Command::plain($name), $attempt, async { Ok(None) })
    };
    (@run $oms:expr, $span:expr, $attempt:expr, $twin:expr) => {
        $span
            .run(async {
                let mut attempts: u32 = 0;
                let result = loop {
                    attempts += 1;
                    // In a block of its own, so that a `?` or `return` in the attempt
                    // ends the attempt, not the command: a lost race must reach the retry.
                    let attempt: Result<_, $crate::Error> = async { $attempt }.await;
                    match attempt {
                        Err(e) if $crate::oms::retry::lost_race(&e) => {
                            if attempts >= $oms.config.max_attempts {
                                $crate::oms::trace::gave_up(attempts);
                                break Err($crate::Error::Contention { attempts });
                            }
                            $crate::oms::trace::lost_race(attempts, &e);
                            $oms.config.backoff.pause(attempts).await;
                        }
                        other => break other,
                    }
                };
                // A failed keyed command asks whether a twin (the same key, sent
                // twice at once) committed first: if so, the caller gets the twin's
                // result, inside the same span.
                let result = match result {
                    Err(failed) => {
                        let twin: Result<Option<_>, $crate::Error> = $twin.await;
                        match twin {
                            Ok(Some(value)) => Ok(value),
                            // No twin, or no way to ask: the command's own error.
                            Ok(None) | Err(_) => Err(failed),
                        }
                    }
                    done => done,
                };
                (result, attempts)
            })
            .await
    };
}
pub(crate) use retrying;
