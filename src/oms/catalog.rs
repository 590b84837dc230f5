//! Master data: customers, products, locations, tax rates.

use super::Oms;
use crate::catalog::{Product, TaxTable};
use crate::customer::{Customer, CustomerHistory, NewCustomer};
use crate::error::Error;
use crate::event::Event;
use crate::fulfilment::Carrier;
use crate::ids::{CustomerId, EntryId, LocationId, Sku};
use crate::money::Money;
use crate::stock::Location;
use crate::store::{Changeset, Check, Put, Store};

impl<S: Store, C: Carrier> Oms<S, C> {
    /// Registers a customer.
    ///
    /// # Errors
    /// [`Error::Invalid`] for an empty name, an e-mail without `@`, an address whose
    /// country is not an ISO alpha-2 code, or a credit limit that is negative or in
    /// another currency than the account.
    pub async fn register_customer(&self, profile: NewCustomer) -> Result<Customer, Error> {
        validate_customer(&profile)?;
        let now = self.now();
        let customer = Customer {
            id: self.new_id(CustomerId::from_uuid),
            history: CustomerHistory::new(profile.currency),
            profile: profile.into(),
            registered_at: now,
        };
        let mut changes = Changeset::new(now);
        changes.puts.push(Put::insert(customer.clone()));
        changes.events.push(Event::CustomerRegistered {
            customer: customer.id,
        });
        self.store.commit(changes).await?;
        Ok(customer)
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
        if product.price.is_negative() {
            return Err(Error::invalid("price", "must not be negative"));
        }
        if product.cost.is_negative() || !product.cost.is_in_minor_units() {
            return Err(Error::invalid(
                "cost",
                "must be a non-negative amount in minor units",
            ));
        }
        super::retrying!(self, self.try_save_product(&product).await)
    }

    async fn try_save_product(&self, product: &Product) -> Result<(), Error> {
        let now = self.now();
        let existing = self.store.load::<Product>(&product.sku).await?;
        let mut changes = Changeset::new(now);
        if let Some(old) = &existing {
            if old.value.cost != product.cost {
                let on_hand: i64 = self
                    .store
                    .stock_levels(&product.sku)
                    .await?
                    .iter()
                    .map(|l| l.on_hand)
                    .fold(0, i64::saturating_add);
                // The revaluation is for exactly these units: a receipt or shipment
                // committing first must send this command back to count again.
                changes.checks.push(Check::SkuOnHand {
                    sku: product.sku.clone(),
                    on_hand,
                });
                if on_hand != 0 {
                    if old.value.cost.currency() != product.cost.currency() {
                        return Err(Error::invalid(
                            "cost",
                            "cannot change currency while stock is on hand",
                        ));
                    }
                    let units = on_hand.unsigned_abs();
                    let step = product.cost.checked_sub(old.value.cost)?;
                    let mut value = step.checked_mul_qty(units)?;
                    if on_hand < 0 {
                        value = -value;
                    }
                    let reason = format!("revaluation of {}", product.sku);
                    let entry = self.postings().adjustment(
                        &reason,
                        value,
                        self.new_id(EntryId::from_uuid),
                        now,
                    )?;
                    changes.journal.extend(entry);
                }
            }
        }
        changes
            .puts
            .push(Put::upsert(product.clone(), existing.map(|v| v.version)));
        changes.events.push(Event::ProductSaved {
            sku: product.sku.clone(),
        });
        self.store.commit(changes).await?;
        Ok(())
    }

    /// Adds a location or replaces its details.
    ///
    /// # Errors
    /// [`Error::Invalid`] if its address has no valid country.
    pub async fn save_location(&self, location: Location) -> Result<(), Error> {
        if !location.address.has_valid_country() {
            return Err(Error::invalid(
                "location.address.country",
                "must be an ISO 3166 alpha-2 code",
            ));
        }
        super::retrying!(self, {
            let existing = self.store.load::<Location>(&location.id).await?;
            let mut changes = Changeset::new(self.now());
            changes
                .puts
                .push(Put::upsert(location.clone(), existing.map(|v| v.version)));
            changes.events.push(Event::LocationSaved {
                location: location.id.clone(),
            });
            self.store
                .commit(changes)
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
        if let Some(bad) = table
            .rates()
            .iter()
            .find(|r| r.rate.is_sign_negative() || r.rate >= rust_decimal::Decimal::ONE)
        {
            return Err(Error::invalid(
                "tax rate",
                format!("{} for {} is not a fraction in [0, 1)", bad.rate, bad.class),
            ));
        }
        super::retrying!(self, {
            let existing = self.store.load::<TaxTable>(&()).await?;
            let mut changes = Changeset::new(self.now());
            changes
                .puts
                .push(Put::upsert(table.clone(), existing.map(|v| v.version)));
            changes.events.push(Event::TaxTableSaved);
            self.store
                .commit(changes)
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

fn validate_customer(profile: &NewCustomer) -> Result<(), Error> {
    if profile.name.trim().is_empty() {
        return Err(Error::invalid("name", "must not be empty"));
    }
    if !profile.email.contains('@') {
        return Err(Error::invalid(
            "email",
            format!("{:?} is not an e-mail address", profile.email),
        ));
    }
    if let Some(address) = profile.addresses.iter().find(|a| !a.has_valid_country()) {
        return Err(Error::invalid(
            "address.country",
            format!("{:?} is not an ISO 3166 alpha-2 code", address.country),
        ));
    }
    if let Some(limit) = profile.credit_limit {
        let zero = Money::zero(profile.currency);
        if limit.currency() != profile.currency || limit.cmp_amount(zero).is_ok_and(|o| o.is_lt()) {
            return Err(Error::invalid(
                "credit_limit",
                "must be non-negative and in the account currency",
            ));
        }
    }
    Ok(())
}
