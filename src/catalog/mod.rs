//! The catalogue: products (SKUs) and the tax rates that apply to them.

mod product;
mod tax;

pub use product::{Dimensions, Product};
pub use tax::{TaxClass, TaxRate, TaxTable};
