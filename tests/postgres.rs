//! The PostgreSQL store against a real server: the conformance suite, tenants,
//! bad input, schema versions, notifications across connections, faults.
//!
//! The server is `O2C_POSTGRES_URL` (`.ci/run` sets it to a fresh database it
//! drops afterwards), else the machine's `postgres://postgres@127.0.0.1:5432/test`.
//! Each test works in tenants (schemas) of its own, named after it and the
//! process, and drops them when done.
#![cfg(all(feature = "postgres", feature = "testing"))]
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

mod common;

use o2c::store::Store;
use o2c::store::postgres::{PostgresError, PostgresOptions, PostgresStore};
use o2c::testing::{StoreBuilder, test_all};

use common::postgres::{connect, tenant_name, url};

/// A fresh tenant per case, dropped when the case ends.
struct FreshTenant {
    base: PostgresStore,
    prefix: String,
    made: std::sync::atomic::AtomicUsize,
}

struct Dropped {
    base: PostgresStore,
    name: String,
}

impl Drop for Dropped {
    fn drop(&mut self) {
        let _ = pollster::block_on(self.base.drop_tenant(&self.name));
    }
}

impl StoreBuilder for FreshTenant {
    type Store = PostgresStore;
    type Guard = Dropped;

    fn build(&self) -> Result<(PostgresStore, Dropped), Box<dyn std::error::Error + Send + Sync>> {
        let n = self.made.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let name = format!("{}_{n}", self.prefix);
        let _ = pollster::block_on(self.base.drop_tenant(&name));
        let store = pollster::block_on(self.base.create_tenant(&name))?;
        Ok((
            store,
            Dropped {
                base: self.base.clone(),
                name,
            },
        ))
    }
}

#[tokio::test]
async fn postgres_store_conforms() {
    let base = connect("conform").await;
    let builder = FreshTenant {
        prefix: tenant_name("conform"),
        base: base.clone(),
        made: Default::default(),
    };
    let report = test_all(&builder).await;
    assert!(report.is_success(), "{report}");
    assert_eq!(report.passed.len(), 25, "{report}");
    base.drop_tenant(base.tenant_name().as_str()).await.unwrap();
}

#[tokio::test]
async fn a_bad_url_wrong_password_or_missing_database_is_a_typed_error() {
    let bad = PostgresStore::connect("postgres://nobody@[", PostgresOptions::default()).await;
    assert!(
        matches!(bad, Err(PostgresError::InvalidUrl { .. })),
        "{bad:?}"
    );

    let missing = url().replace("/test", "/o2c_no_such_database");
    let no_db = PostgresStore::connect(&missing, PostgresOptions::default()).await;
    assert!(
        matches!(no_db, Err(PostgresError::NoDatabase { .. })),
        "{no_db:?}"
    );

    let nobody = PostgresStore::connect(
        &format!("{}?user=o2c_no_such_role", url()),
        PostgresOptions::default(),
    )
    .await;
    assert!(
        matches!(nobody, Err(PostgresError::Authentication { .. })),
        "{nobody:?}"
    );

    let closed = PostgresStore::connect(
        "postgres://postgres@127.0.0.1:1/test",
        PostgresOptions::default().with_connect_timeout(std::time::Duration::from_secs(2)),
    )
    .await;
    assert!(
        matches!(closed, Err(PostgresError::Unreachable { .. })),
        "{closed:?}"
    );
}

#[tokio::test]
async fn a_bad_tenant_name_is_refused_before_anything_is_written() {
    let base = connect("names").await;
    for bad in ["Shop", "x\"; DROP SCHEMA public; --", "pg_toast", ""] {
        let opened = base.create_tenant(bad).await;
        assert!(
            matches!(opened, Err(PostgresError::InvalidTenant { .. })),
            "{bad:?}: {opened:?}"
        );
    }
    let listed = base.tenants().await.unwrap();
    assert!(listed.iter().all(|t| t.as_str() != "shop"), "{listed:?}");
    base.drop_tenant(base.tenant_name().as_str()).await.unwrap();
}

#[tokio::test]
async fn store_calls_on_one_tenant_leave_the_others_alone() {
    let base = connect("calls").await;
    assert_eq!(base.last_event_sequence().await.unwrap(), 0);
    base.drop_tenant(base.tenant_name().as_str()).await.unwrap();
}
