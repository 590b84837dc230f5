//! Master data: the tax table, products, locations, customers.

use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::{get, post, put};
use o2c::catalog::{Product, TaxTable};
use o2c::customer::{Customer, NewCustomer};
use o2c::ids::{CustomerId, LocationId, Sku};
use o2c::order::Page;
use o2c::stock::Location;
use o2c::store::Store;
use serde::Deserialize;

use crate::api::{Api, Op};
use crate::app::{Reply, Shared, applied, ok};
use crate::extract::{Body, Key, Params, Q};

pub fn add<S: Store + 'static>(api: &mut Api<Shared<S>>) {
    api.add(
        |s| {
            Op::put("/tax-table", "setTaxTable")
                .about("catalog", "Replace the tax table")
                .body(s.named("TaxTable"))
                .answers(200, "The table now in force", s.named("TaxTable"))
        },
        put(set_tax_table::<S>),
    );
    api.add(
        |s| {
            Op::put("/products/{sku}", "saveProduct")
                .about("catalog", "Create or replace a product")
                .path("sku", s.of::<Sku>())
                .body(s.body_of::<Product>(&["sku"]))
                .answers(200, "The product as saved", s.named("Product"))
        },
        put(save_product::<S>),
    );
    api.add(
        |s| {
            Op::get("/products/{sku}", "getProduct")
                .about("catalog", "A product")
                .path("sku", s.of::<Sku>())
                .answers(200, "The product", s.named("Product"))
        },
        get(product::<S>),
    );
    api.add(
        |s| {
            Op::put("/locations/{id}", "saveLocation")
                .about("catalog", "Create or replace a warehouse or store")
                .path("id", s.of::<LocationId>())
                .body(s.body_of::<Location>(&["id"]))
                .answers(200, "The location as saved", s.named("Location"))
        },
        put(save_location::<S>),
    );
    api.add(
        |s| {
            Op::get("/locations/{id}", "getLocation")
                .about("catalog", "A location")
                .path("id", s.of::<LocationId>())
                .answers(200, "The location", s.named("Location"))
        },
        get(location::<S>),
    );
    api.add(
        |s| {
            Op::post("/customers", "registerCustomer")
                .about("customers", "Register a customer")
                .body(s.named("NewCustomer"))
                .answers(201, "The customer", s.named("Customer"))
        },
        post(register::<S>),
    );
    api.add(
        |s| {
            Op::get("/customers", "listCustomers")
                .about("customers", "Customers, a page at a time")
                .query(s.query::<CustomerQuery>())
                .answers(200, "A page of customers", s.named("CustomerPage"))
        },
        get(customers::<S>),
    );
    api.add(
        |s| {
            Op::get("/customers/{id}", "getCustomer")
                .about("customers", "A customer")
                .path("id", s.of::<CustomerId>())
                .answers(200, "The customer", s.named("Customer"))
        },
        get(customer::<S>),
    );
}

async fn set_tax_table<S: Store>(State(app): State<Shared<S>>, _: Key, body: Body) -> Reply {
    let table: TaxTable = body.parse()?;
    app.oms.set_tax_table(table.clone()).await?;
    ok(&table)
}

async fn save_product<S: Store>(
    State(app): State<Shared<S>>,
    Params(sku): Params<Sku>,
    _: Key,
    body: Body,
) -> Reply {
    let product: Product = body.decode(&[("sku", serde_json::json!(sku))])?;
    app.oms.save_product(product).await?;
    ok(&app.oms.product(&sku).await?)
}

async fn product<S: Store>(State(app): State<Shared<S>>, Params(sku): Params<Sku>) -> Reply {
    ok(&app.oms.product(&sku).await?)
}

async fn save_location<S: Store>(
    State(app): State<Shared<S>>,
    Params(id): Params<LocationId>,
    _: Key,
    body: Body,
) -> Reply {
    let location: Location = body.decode(&[("id", serde_json::json!(id))])?;
    app.oms.save_location(location).await?;
    ok(&app.oms.location(&id).await?)
}

async fn location<S: Store>(State(app): State<Shared<S>>, Params(id): Params<LocationId>) -> Reply {
    ok(&app.oms.location(&id).await?)
}

async fn register<S: Store>(State(app): State<Shared<S>>, Key(key): Key, body: Body) -> Reply {
    let profile: NewCustomer = body.parse()?;
    applied(
        StatusCode::CREATED,
        app.oms.register_customer(profile, key).await?,
    )
}

/// Where a page of customers starts, and how long it is.
#[derive(Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
struct CustomerQuery {
    /// The `next` of the page before.
    after: Option<CustomerId>,
    /// Rows wanted, 1 to 100 (50 if absent).
    #[schemars(range(min = 1, max = 100))]
    limit: Option<usize>,
}

async fn customers<S: Store>(State(app): State<Shared<S>>, Q(query): Q<CustomerQuery>) -> Reply {
    let limit = super::page_size(query.limit)?;
    let page: Page<Customer, CustomerId> = app.oms.list_customers(query.after, limit).await?;
    ok(&page)
}

async fn customer<S: Store>(State(app): State<Shared<S>>, Params(id): Params<CustomerId>) -> Reply {
    ok(&app.oms.customer(id).await?)
}
