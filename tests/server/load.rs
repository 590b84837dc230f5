//! The bounded load example over real HTTP.

use crate::server_support;

#[test]
fn a_bounded_load_sells_exactly_the_stock() {
    // The load example over real HTTP: a quarter of its checkouts find no
    // stock; it fails unless exactly the stocked units were sold and the audit
    // is clean afterwards.
    server_support::binary();
    let load = server_support::example("server_load");
    let out = std::process::Command::new(load)
        .args(["--checkouts", "400", "--clients", "8"])
        .output()
        .unwrap();
    let report = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{report}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        report.contains("accepted 300, refused for stock 100, failed 0"),
        "{report}"
    );
    assert!(
        report.contains("exact") && report.contains("audit: clean"),
        "{report}"
    );
}
