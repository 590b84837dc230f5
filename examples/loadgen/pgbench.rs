//! `--pgbench`: PostgreSQL's own TPC-B benchmark on the same server with the same
//! number of clients, printed beside o2c's figures as the hardware's yardstick.
//!
//! `pgbench -i -s 10` loads its `pgbench_*` tables into the database the run
//! uses, `pgbench -c N -j 2 -T seconds` measures, and `pgbench -i -I d` drops the
//! tables again, before o2c's passes start, so they do not share the server's
//! cache with them.

use std::process::{Command, Output};

use crate::Res;
use crate::report::Yardstick;

/// pgbench's scale: 10 branches, 1,000,000 accounts (about 160 MB).
const SCALE: u32 = 10;
/// pgbench's threads (`-j`): the machine's two cores.
const THREADS: usize = 2;

/// Runs pgbench against `url` with `clients` clients for `seconds`, and removes
/// its tables afterwards whatever happened.
pub(crate) fn run(url: &str, clients: usize, seconds: u64) -> Res<Yardstick> {
    // pgbench refuses more threads than clients.
    let threads = THREADS.min(clients);
    eprintln!("pgbench: loading scale {SCALE}, then {clients} clients for {seconds} s ...");
    let measured = pgbench(&["-i", "-q", "-s", &SCALE.to_string(), url]).and_then(|_| {
        pgbench(&[
            "-c",
            &clients.to_string(),
            "-j",
            &threads.to_string(),
            "-T",
            &seconds.to_string(),
            url,
        ])
    });
    let cleaned = pgbench(&["-i", "-I", "d", url]);
    let out = measured?;
    cleaned?;
    let report = String::from_utf8_lossy(&out.stdout);
    Ok(Yardstick {
        scale: SCALE,
        clients,
        threads,
        seconds,
        tps: tps(&report).ok_or_else(|| format!("no tps in pgbench's report:\n{report}"))?,
    })
}

/// Runs pgbench with `args`; its output if it succeeded.
fn pgbench(args: &[&str]) -> Res<Output> {
    let out = Command::new("pgbench")
        .args(args)
        .output()
        .map_err(|e| format!("cannot run pgbench (is it installed?): {e}"))?;
    if !out.status.success() {
        return Err(format!(
            "pgbench {} failed: {}",
            args.first().copied().unwrap_or_default(),
            String::from_utf8_lossy(&out.stderr).trim()
        )
        .into());
    }
    Ok(out)
}

/// The figure of `tps = 1234.5 (without initial connection time)`; older
/// versions also print one "including connections establishing", which is not it.
fn tps(report: &str) -> Option<f64> {
    report
        .lines()
        .filter_map(|line| line.trim().strip_prefix("tps = "))
        .find(|rest| !rest.contains("including"))
        .and_then(|rest| rest.split_whitespace().next())
        .and_then(|n| n.parse().ok())
}

#[cfg(test)]
mod tests {
    use super::tps;

    #[test]
    fn reads_tps_without_connection_time() {
        let v15 = "latency average = 0.712 ms\n\
                   initial connection time = 4.223 ms\n\
                   tps = 1404.257165 (without initial connection time)\n";
        assert_eq!(tps(v15), Some(1404.257165));
        let v12 = "tps = 1390.1 (including connections establishing)\n\
                   tps = 1401.5 (excluding connections establishing)\n";
        assert_eq!(tps(v12), Some(1401.5));
        assert_eq!(tps("no figure here"), None);
    }
}
