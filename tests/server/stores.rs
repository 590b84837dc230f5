//! The durable stores across a restart: SQLite and PostgreSQL.

use serde_json::json;

use crate::http::{Http, place, register, start, unique};

/// Starts a durable store (`args`), places an order, stops, starts again on
/// the same store and finds the order, a clean audit, and the shop going on.
async fn survives_a_restart(args: &[&str]) {
    let server = start(args);
    assert!(
        server.log().contains("seeded the demo shop"),
        "{}",
        server.log()
    );
    let http = Http::new(&server);
    let customer = register(&http, "Durable Buyer", "durable@buyer.example", false).await;
    let order = place(&http, &customer, "phone", &[("TEE-BLUE-M", 1)]).await;
    let id = order["id"].as_str().unwrap().to_owned();
    let before = http.read(&format!("/orders/{id}")).await;
    let stock = http.read("/stock/TEE-BLUE-M").await;
    let events = http.last_event().await;
    drop(server);

    let server = start(args);
    assert!(
        server.log().contains("holds the demo shop already"),
        "{}",
        server.log()
    );
    let http = Http::new(&server);
    assert_eq!(http.read(&format!("/orders/{id}")).await, before);
    assert_eq!(http.read("/stock/TEE-BLUE-M").await, stock);
    assert_eq!(http.last_event().await, events);
    let audit = http.read("/audit").await;
    assert_eq!(audit["violations"], json!([]), "{audit}");
    assert_eq!(audit["events"], events);

    // The shop goes on from where it stopped.
    let next = place(&http, &customer, "phone", &[("TEE-BLUE-M", 1)]).await;
    assert!(next["number"].as_u64() > order["number"].as_u64());
    let shipments = http
        .post_empty(&format!("/orders/{id}/shipments"))
        .await
        .expect(201);
    assert_eq!(shipments[0]["order"], id.as_str());
    assert_eq!(http.read("/audit").await["violations"], json!([]));
}

#[cfg(feature = "sqlite")]
#[tokio::test]
async fn durable_stores_serve_and_continue_on_sqlite() {
    /// A directory of its own, removed when the test ends.
    struct TempDir(std::path::PathBuf);
    impl Drop for TempDir {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }
    let dir = TempDir(std::env::temp_dir().join(format!("o2c-server-{}", unique())));
    std::fs::create_dir_all(&dir.0).unwrap();
    let file = dir.0.join("shop.db");
    survives_a_restart(&["--sqlite", file.to_str().unwrap()]).await;
}

#[cfg(feature = "postgres")]
#[tokio::test(flavor = "multi_thread")]
async fn durable_stores_serve_and_continue_on_postgres() {
    use o2c::store::postgres::{PostgresOptions, PostgresStore};

    let url = std::env::var("O2C_POSTGRES_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".to_owned());
    let tenant = format!("srv_{}", unique());
    let args = ["--postgres", url.as_str(), "--tenant", tenant.as_str()];
    let run = {
        let args: Vec<String> = args.iter().map(|&a| a.to_owned()).collect();
        tokio::spawn(async move {
            let args: Vec<&str> = args.iter().map(String::as_str).collect();
            survives_a_restart(&args).await;
        })
        .await
    };
    // The tenant goes whatever became of the test.
    let store =
        PostgresStore::connect(&url, PostgresOptions::default().with_tenant(tenant.clone()))
            .await
            .unwrap_or_else(|e| panic!("PostgreSQL at {url} (set O2C_POSTGRES_URL): {e}"));
    store.drop_tenant(&tenant).await.unwrap();
    if let Err(failed) = run {
        std::panic::resume_unwind(failed.into_panic());
    }
}
