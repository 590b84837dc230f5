//! The catalogue: products (SKUs) and the tax rates that apply to them.

mod product;
mod products;
mod tax;

pub use product::{Dimensions, Product};
pub(crate) use products::Products;
pub use tax::{TaxClass, TaxRate, TaxTable};
