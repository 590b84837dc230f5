//! The catalogue: products (SKUs) and the tax rates that apply to them.

mod product;
mod products;
mod save;
mod tax;

pub use product::{Dimensions, Product};
pub(crate) use products::Products;
pub use save::save_product;
pub use tax::{TaxClass, TaxRate, TaxTable};
