//! `--compare N`: o2c and the baseline, each pass in a fresh process of its own,
//! N times each, alternating which goes first; medians and their ratio.
//!
//! Why not both passes in one process, as a plain run does: the pass that runs
//! second inherits the first one's freed heap, so it skips page faults (the kernel
//! zeroing each new page) that the first pass paid for, and whichever goes first
//! warms or cools the caches for the other. Alone, each side grows its own memory
//! from nothing, and alternating the order spreads a drift in the machine's speed
//! over both.

use std::process::Command;

use serde_json::{Value, json};

use crate::Res;

/// One side's measured pass, as its child process reported it.
#[derive(Debug, Clone)]
struct Sample {
    seconds: f64,
    tally: Value,
    peak_rss_bytes: Option<u64>,
}

/// The flags given, less `--compare N` and `--json`: what each child runs with.
pub(crate) fn child_args(given: &[String]) -> Vec<String> {
    let mut kept = Vec::with_capacity(given.len());
    let mut skip_value = false;
    for arg in given {
        if std::mem::take(&mut skip_value) {
            continue;
        }
        match arg.as_str() {
            "--compare" => skip_value = true,
            "--json" => {}
            a if a.starts_with("--compare=") => {}
            _ => kept.push(arg.clone()),
        }
    }
    kept
}

/// Runs `rounds` pairs of child processes with `args` (see [`child_args`]) and
/// prints the comparison.
pub(crate) fn compare(args: &[String], rounds: usize, json_out: bool) -> Res<()> {
    let exe = std::env::current_exe()?;
    let (mut o2c, mut baseline) = (Vec::new(), Vec::new());
    for round in 0..rounds {
        // Alternate the order, so a drift in the machine's speed falls on both.
        let o2c_first = round % 2 == 0;
        for o2c_turn in [o2c_first, !o2c_first] {
            let side = if o2c_turn {
                "--no-baseline"
            } else {
                "--baseline-only"
            };
            let sample = run_child(&exe, args, side)?;
            if !json_out {
                let who = if o2c_turn { "o2c" } else { "baseline" };
                println!("round {}  {who:<9} {:>7.2} s", round + 1, sample.seconds);
            }
            if o2c_turn {
                o2c.push(sample);
            } else {
                baseline.push(sample);
            }
        }
    }
    let agree = o2c.iter().zip(&baseline).all(|(a, b)| a.tally == b.tally);
    let seconds = |samples: &[Sample]| samples.iter().map(|s| s.seconds).collect::<Vec<_>>();
    let (o2c_s, base_s) = (seconds(&o2c), seconds(&baseline));
    let ratios: Vec<f64> = o2c_s.iter().zip(&base_s).map(|(a, b)| a / b).collect();
    let (o2c_median, base_median) = (median(&o2c_s), median(&base_s));
    let rss = |samples: &[Sample]| samples.iter().filter_map(|s| s.peak_rss_bytes).max();
    if json_out {
        println!(
            "{}",
            json!({
                "rounds": rounds,
                "o2c_seconds": o2c_s,
                "baseline_seconds": base_s,
                "o2c_median_seconds": o2c_median,
                "baseline_median_seconds": base_median,
                "ratio_of_medians": o2c_median / base_median,
                "round_ratios": ratios,
                "median_round_ratio": median(&ratios),
                "o2c_peak_rss_bytes": rss(&o2c),
                "baseline_peak_rss_bytes": rss(&baseline),
                "tallies_agree": agree,
            })
        );
    } else {
        println!(
            "median       o2c {o2c_median:.2} s, baseline {base_median:.2} s: \
             o2c time / baseline time = {:.2}× (median of the rounds' ratios {:.2}×)",
            o2c_median / base_median,
            median(&ratios)
        );
        let mib = |b: Option<u64>| b.map_or("?".to_owned(), |b| format!("{}", b >> 20));
        println!(
            "peak RSS     o2c {} MiB, baseline {} MiB (largest of the rounds)",
            mib(rss(&o2c)),
            mib(rss(&baseline))
        );
        println!(
            "agreement    {}",
            if agree {
                "every round's passes produced identical outcome tallies"
            } else {
                "the tallies DIFFER between o2c and the baseline"
            }
        );
    }
    if agree {
        Ok(())
    } else {
        Err("o2c and the baseline disagree on the outcome tallies".into())
    }
}

/// Runs this program again with `args` and `side`, and reads its JSON line.
fn run_child(exe: &std::path::Path, args: &[String], side: &str) -> Res<Sample> {
    let out = Command::new(exe)
        .args(args)
        .arg(side)
        .arg("--json")
        .output()?;
    if !out.status.success() {
        return Err(format!(
            "loadgen {side} failed: {}",
            String::from_utf8_lossy(&out.stderr).trim()
        )
        .into());
    }
    let line = String::from_utf8(out.stdout)?;
    let report: Value = serde_json::from_str(line.trim())?;
    let errors = report
        .get("errors")
        .and_then(Value::as_u64)
        .ok_or("a child's report has no error count")?;
    // The baseline has no audit; o2c's report always carries its count.
    let violations = match report.get("audit_violations") {
        Some(count) => count.as_u64().ok_or("a bad audit count")?,
        None if side == "--baseline-only" => 0,
        None => return Err("o2c's report has no audit count".into()),
    };
    if errors != 0 || violations != 0 {
        return Err(
            format!("loadgen {side}: {errors} errors, {violations} audit violations").into(),
        );
    }
    Ok(Sample {
        seconds: report
            .get("seconds")
            .and_then(Value::as_f64)
            .ok_or("a child's report has no seconds")?,
        tally: report
            .get("tally")
            .cloned()
            .ok_or("a child's report has no tally")?,
        peak_rss_bytes: report.get("peak_rss_bytes").and_then(Value::as_u64),
    })
}

/// The middle value (the mean of the middle two for an even count).
fn median(values: &[f64]) -> f64 {
    let mut sorted = values.to_vec();
    sorted.sort_by(f64::total_cmp);
    let n = sorted.len();
    let at = |i: usize| sorted.get(i).copied().unwrap_or(f64::NAN);
    if n % 2 == 1 {
        at(n / 2)
    } else {
        (at((n / 2).wrapping_sub(1)) + at(n / 2)) / 2.0
    }
}

#[cfg(test)]
mod tests {
    use super::{child_args, median};

    #[test]
    fn median_of_odd_and_even_counts() {
        assert_eq!(median(&[3.0, 1.0, 2.0]), 2.0);
        assert_eq!(median(&[4.0, 1.0, 3.0, 2.0]), 2.5);
        assert!(median(&[]).is_nan());
    }

    #[test]
    fn children_run_without_compare_and_json() {
        let given: Vec<String> = [
            "--compare",
            "5",
            "--transactions",
            "10",
            "--json",
            "--compare=3",
        ]
        .map(String::from)
        .to_vec();
        assert_eq!(child_args(&given), ["--transactions", "10"]);
    }
}
