//! The products one decision works with.

use super::Product;
use crate::ids::Sku;
use crate::money::Currency;

/// The catalogue's products one command works with, by SKU. A command touches a
/// few, so a list beats a hash map (and the keys are the command's own `Sku`s, which
/// compare by pointer first).
#[derive(Debug, Default, Clone)]
pub(crate) struct Products(Vec<(Sku, Product)>);

impl Products {
    /// Room for `n` products.
    pub(crate) fn with_capacity(n: usize) -> Self {
        Self(Vec::with_capacity(n))
    }

    /// True if `sku` is among them.
    pub(crate) fn contains_key(&self, sku: &Sku) -> bool {
        self.get(sku).is_some()
    }

    /// Adds `product` as `sku`'s.
    pub(crate) fn insert(&mut self, sku: Sku, product: Product) {
        self.0.push((sku, product));
    }

    /// The product of `sku`, if read.
    pub(crate) fn get(&self, sku: &Sku) -> Option<&Product> {
        self.0.iter().find(|(s, _)| s == sku).map(|(_, p)| p)
    }

    /// The currency `sku` is costed in, if read.
    pub(crate) fn cost_currency(&self, sku: &Sku) -> Option<Currency> {
        self.get(sku).map(|p| p.cost.currency())
    }
}

impl FromIterator<Product> for Products {
    fn from_iter<I: IntoIterator<Item = Product>>(products: I) -> Self {
        Self(products.into_iter().map(|p| (p.sku.clone(), p)).collect())
    }
}
