//! Master data: customers, products, locations, tax rates. The rules are the
//! domain's ([`NewCustomer::validate`], [`crate::catalog::save_product`],
//! [`Location::validate`], [`TaxTable::validate`]).

use super::{Applied, Oms, fingerprint};
use crate::catalog::{Product, TaxTable, save_product};
use crate::customer::{Customer, NewCustomer, register_customer};
use crate::error::Error;
use crate::event::Event;
use crate::fulfilment::Carrier;
use crate::ids::{CustomerId, IdempotencyKey, LocationId, Sku};
use crate::order::Page;
use crate::payment::PaymentProvider;
use crate::stock::Location;
use crate::store::{Changeset, IdempotencyScope, IdempotentOutcome, Put, Store};

impl<S: Store, C: Carrier, P: PaymentProvider> Oms<S, C, P> {
    /// Registers a customer.
    ///
    /// Retrying with the same `key` returns the customer the first call registered
    /// (as it is now) as a replay, rather than a second customer.
    ///
    /// # Errors
    /// [`Error::Invalid`] for an empty name, an e-mail without `@`, an address whose
    /// country is not an ISO alpha-2 code, or a credit limit that is negative or in
    /// another currency than the account; [`Error::IdempotencyKeyReused`] for a key
    /// used for another command.
    pub async fn register_customer(
        &self,
        profile: NewCustomer,
        key: IdempotencyKey,
    ) -> Result<Applied<Customer>, Error> {
        let scope = IdempotencyScope::RegisterCustomer;
        let canonical = NewCustomer {
            credit_limit: profile.credit_limit.map(super::canonical_money),
            ..profile.clone()
        };
        let print = fingerprint(&canonical)?;
        super::retrying!(
            self,
            "register_customer",
            key = &key,
            {
                if let Some(outcome) = self.replay(scope, &key, &print).await? {
                    return self.replayed(&outcome).await;
                }
                let mut changes = Changeset::new(self.now());
                let customer =
                    register_customer(profile.clone(), &self.context(changes.at), &mut changes)?;
                let outcome = IdempotentOutcome::Customer(customer.id);
                self.commit_keyed(changes, scope, &key, &print, outcome)
                    .await?;
                Ok::<_, Error>(Applied::fresh(customer))
            },
            twin = self.twin::<Customer>(scope, &key, &print)
        )
    }

    /// A page of customers by id: at most `limit`, after `after` (from the first
    /// when `None`); `next` is the `after` of the page that follows, `None` on the
    /// last.
    ///
    /// # Errors
    /// [`Error::Invalid`] for a `limit` of 0; [`Error::Read`] if the store fails.
    pub async fn list_customers(
        &self,
        after: Option<CustomerId>,
        limit: usize,
    ) -> Result<Page<Customer, CustomerId>, Error> {
        if limit == 0 {
            return Err(Error::invalid(
                "limit",
                "a page holds at least one customer",
            ));
        }
        let asked = limit.saturating_add(1);
        let found =
            super::trace::store("customers_page", self.store.customers_page(after, asked)).await?;
        Ok(Page::of(found, limit, |v| v.value, |c: &Customer| c.id))
    }

    /// Adds a product or replaces its details.
    ///
    /// Changing the cost of a product with stock on hand revalues that stock: the
    /// difference is posted between inventory and inventory adjustments, so the
    /// inventory account keeps equalling stock × cost. The revaluation and every
    /// receipt, adjustment and shipment of the SKU are checked against each other at
    /// commit, so a cost change racing a stock movement is retried, never mis-valued.
    ///
    /// # Errors
    /// [`Error::Invalid`] for a negative price or cost, a cost with sub-cent digits,
    /// or a change of cost currency while stock is on hand.
    pub async fn save_product(&self, product: Product) -> Result<(), Error> {
        product.validate()?;
        super::retrying!(
            self,
            "save_product",
            id = &product.sku,
            self.try_save_product(&product).await
        )
    }

    async fn try_save_product(&self, product: &Product) -> Result<(), Error> {
        let existing =
            super::trace::store("load", self.store.load::<Product>(&product.sku)).await?;
        // The one read that depends on another: the stock a cost change revalues.
        let levels = match &existing {
            Some(old) if product.revalues(&old.value) => {
                super::trace::store("stock_levels", self.store.stock_levels(&product.sku)).await?
            }
            _ => Vec::new(),
        };
        let mut changes = Changeset::new(self.now());
        save_product(
            product,
            existing.as_ref(),
            &levels,
            &self.context(changes.at),
            &mut changes,
        )?;
        super::trace::store("commit", self.store.commit(changes)).await?;
        Ok(())
    }

    /// Adds a location or replaces its details.
    ///
    /// # Errors
    /// [`Error::Invalid`] if its address has no valid country.
    pub async fn save_location(&self, location: Location) -> Result<(), Error> {
        location.validate()?;
        super::retrying!(self, "save_location", id = &location.id, {
            let existing =
                super::trace::store("load", self.store.load::<Location>(&location.id)).await?;
            let mut changes = Changeset::new(self.now());
            changes
                .puts
                .push(Put::upsert(location.clone(), existing.map(|v| v.version)));
            changes.events.push(Event::LocationSaved {
                location: location.id.clone(),
            });
            super::trace::store("commit", self.store.commit(changes))
                .await
                .map(drop)
                .map_err(Error::from)
        })
    }

    /// Replaces the tax table.
    ///
    /// # Errors
    /// [`Error::Invalid`] for a negative rate or one of 100 % or more.
    pub async fn set_tax_table(&self, table: TaxTable) -> Result<(), Error> {
        table.validate()?;
        super::retrying!(self, "set_tax_table", {
            let existing = super::trace::store("load", self.store.load::<TaxTable>(&())).await?;
            let mut changes = Changeset::new(self.now());
            changes
                .puts
                .push(Put::upsert(table.clone(), existing.map(|v| v.version)));
            changes.events.push(Event::TaxTableSaved);
            super::trace::store("commit", self.store.commit(changes))
                .await
                .map(drop)
                .map_err(Error::from)
        })
    }

    /// A customer.
    ///
    /// # Errors
    /// [`Error::NotFound`].
    pub async fn customer(&self, id: CustomerId) -> Result<Customer, Error> {
        Ok(self.must::<Customer>(&id).await?.value)
    }

    /// A product.
    ///
    /// # Errors
    /// [`Error::NotFound`].
    pub async fn product(&self, sku: &Sku) -> Result<Product, Error> {
        Ok(self.must::<Product>(sku).await?.value)
    }

    /// A location.
    ///
    /// # Errors
    /// [`Error::NotFound`].
    pub async fn location(&self, id: &LocationId) -> Result<Location, Error> {
        Ok(self.must::<Location>(id).await?.value)
    }
}
