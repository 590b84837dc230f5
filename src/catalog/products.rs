//! The products one decision works with.

use super::Product;
use crate::ids::Sku;
use crate::money::Currency;

/// The catalogue's products one command works with, by SKU: lent from what the
/// command read when it only reads them (placing, shipping), owned when it took
/// them. A command touches a few, so lists beat a hash map; the lent ones are
/// kept apart from the owned ones so that a lookup walks plain references.
#[derive(Debug, Default, Clone)]
pub(crate) struct Products<'a> {
    lent: Vec<&'a Product>,
    owned: Vec<Product>,
}

impl<'a> Products<'a> {
    /// Room for `n` lent products.
    pub(crate) fn with_capacity(n: usize) -> Self {
        Self {
            lent: Vec::with_capacity(n),
            owned: Vec::new(),
        }
    }

    /// True if `sku` is among them.
    pub(crate) fn contains_key(&self, sku: &Sku) -> bool {
        self.get(sku).is_some()
    }

    /// Adds `product`, owned.
    pub(crate) fn insert(&mut self, product: Product) {
        self.owned.push(product);
    }

    /// Adds `product`, lent.
    pub(crate) fn lend(&mut self, product: &'a Product) {
        self.lent.push(product);
    }

    /// The product of `sku`, if read.
    pub(crate) fn get(&self, sku: &Sku) -> Option<&Product> {
        let mut all = self.lent.iter().copied().chain(&self.owned);
        all.find(|p| p.sku == *sku)
    }

    /// The currency `sku` is costed in, if read.
    pub(crate) fn cost_currency(&self, sku: &Sku) -> Option<Currency> {
        self.get(sku).map(|p| p.cost.currency())
    }
}

impl FromIterator<Product> for Products<'_> {
    fn from_iter<I: IntoIterator<Item = Product>>(products: I) -> Self {
        Self {
            lent: Vec::new(),
            owned: products.into_iter().collect(),
        }
    }
}

impl<'a> FromIterator<&'a Product> for Products<'a> {
    fn from_iter<I: IntoIterator<Item = &'a Product>>(products: I) -> Self {
        Self {
            lent: products.into_iter().collect(),
            owned: Vec::new(),
        }
    }
}
