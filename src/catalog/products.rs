//! The products one decision works with.

use std::borrow::Cow;

use super::Product;
use crate::ids::Sku;
use crate::money::Currency;

/// The catalogue's products one command works with, by SKU: lent from what the
/// command read when it only reads them (placing, shipping), owned when it took
/// them. A command touches a few, so a list beats a hash map.
#[derive(Debug, Default, Clone)]
pub(crate) struct Products<'a>(Vec<Cow<'a, Product>>);

impl<'a> Products<'a> {
    /// Room for `n` products.
    pub(crate) fn with_capacity(n: usize) -> Self {
        Self(Vec::with_capacity(n))
    }

    /// True if `sku` is among them.
    pub(crate) fn contains_key(&self, sku: &Sku) -> bool {
        self.get(sku).is_some()
    }

    /// Adds `product`, owned.
    pub(crate) fn insert(&mut self, product: Product) {
        self.0.push(Cow::Owned(product));
    }

    /// Adds `product`, lent.
    pub(crate) fn lend(&mut self, product: &'a Product) {
        self.0.push(Cow::Borrowed(product));
    }

    /// The product of `sku`, if read.
    pub(crate) fn get(&self, sku: &Sku) -> Option<&Product> {
        self.0.iter().map(|p| &**p).find(|p| p.sku == *sku)
    }

    /// The currency `sku` is costed in, if read.
    pub(crate) fn cost_currency(&self, sku: &Sku) -> Option<Currency> {
        self.get(sku).map(|p| p.cost.currency())
    }
}

impl FromIterator<Product> for Products<'_> {
    fn from_iter<I: IntoIterator<Item = Product>>(products: I) -> Self {
        Self(products.into_iter().map(Cow::Owned).collect())
    }
}

impl<'a> FromIterator<&'a Product> for Products<'a> {
    fn from_iter<I: IntoIterator<Item = &'a Product>>(products: I) -> Self {
        Self(products.into_iter().map(Cow::Borrowed).collect())
    }
}
