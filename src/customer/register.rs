//! Registering a customer: the rules a profile must meet to open an account.

use super::{Customer, CustomerHistory, NewCustomer};
use crate::decide::Context;
use crate::error::Error;
use crate::event::Event;
use crate::ids::CustomerId;
use crate::money::Money;
use crate::store::Changeset;

impl NewCustomer {
    /// Refuses a profile no account can be opened with: every document and every
    /// notice is addressed by name, e-mail and country, and a credit limit is
    /// compared with what the customer owes in the account's currency.
    ///
    /// # Errors
    /// [`Error::Invalid`] for an empty name, an e-mail without `@`, an address whose
    /// country is not an ISO alpha-2 code, or a credit limit that is negative or in
    /// another currency than the account.
    pub fn validate(&self) -> Result<(), Error> {
        if self.name.trim().is_empty() {
            return Err(Error::invalid("name", "must not be empty"));
        }
        if !self.email.contains('@') {
            return Err(Error::invalid(
                "email",
                format!("{:?} is not an e-mail address", self.email),
            ));
        }
        if let Some(address) = self.addresses.iter().find(|a| !a.has_valid_country()) {
            return Err(Error::invalid(
                "address.country",
                format!("{:?} is not an ISO 3166 alpha-2 code", address.country),
            ));
        }
        if let Some(limit) = self.credit_limit {
            let zero = Money::zero(self.currency);
            if limit.currency() != self.currency || limit.cmp_amount(zero).is_ok_and(|o| o.is_lt())
            {
                return Err(Error::invalid(
                    "credit_limit",
                    "must be non-negative and in the account currency",
                ));
            }
        }
        Ok(())
    }
}

/// Opens an account for `profile`: the new customer, with an empty history, and
/// its event, added to `changes`.
///
/// # Errors
/// As [`NewCustomer::validate`]; nothing is added to `changes` then.
pub fn register_customer(
    profile: NewCustomer,
    ctx: &Context<'_>,
    changes: &mut Changeset,
) -> Result<Customer, Error> {
    profile.validate()?;
    let customer = Customer {
        id: ctx.id(CustomerId::from_uuid),
        history: CustomerHistory::new(profile.currency),
        profile: profile.into(),
        registered_at: ctx.now,
        overdue_since: None,
    };
    changes.insert(customer.clone());
    changes.events.push(Event::CustomerRegistered {
        customer: customer.id,
    });
    Ok(customer)
}

#[cfg(test)]
mod tests {
    //! Registering, given a profile, with no store.
    use chrono::{DateTime, Utc};

    use super::*;
    use crate::clock::SeededIds;
    use crate::customer::Address;
    use crate::ledger::{AccountMap, ChartOfAccounts, Postings};
    use crate::money::Currency;

    fn ada() -> NewCustomer {
        let address = Address::new("Ada", "1 High St", "Leeds", "LS1 1AA", "GB");
        NewCustomer::new("Ada", "ada@example.com", address, Currency::USD)
    }

    fn when_registered(profile: NewCustomer) -> (Result<Customer, Error>, Changeset) {
        let (chart, accounts, ids) = (
            ChartOfAccounts::default(),
            AccountMap::default(),
            SeededIds::new(1),
        );
        let at = DateTime::<Utc>::UNIX_EPOCH;
        let ctx = Context::new(at, &ids, Postings::new(&chart, &accounts));
        let mut changes = Changeset::new(at);
        let registered = register_customer(profile, &ctx, &mut changes);
        (registered, changes)
    }

    /// The field `profile` is refused for, asserting nothing was decided.
    fn refused_field(profile: NewCustomer) -> &'static str {
        let (refused, changes) = when_registered(profile);
        assert!(changes.is_empty(), "a refusal decides nothing");
        match refused {
            Err(Error::Invalid { field, .. }) => field,
            other => panic!("not refused as invalid: {other:?}"),
        }
    }

    #[test]
    fn a_valid_profile_opens_an_account_with_an_empty_history() {
        let (registered, changes) = when_registered(ada());
        let customer = registered.unwrap();
        assert_eq!(customer.history, CustomerHistory::new(Currency::USD));
        assert_eq!(*customer.profile, ada());
        assert_eq!(changes.puts.len(), 1);
        assert!(matches!(
            changes.events.as_slice(),
            [Event::CustomerRegistered { customer: id }] if *id == customer.id
        ));
    }

    #[test]
    fn a_profile_is_refused_for_each_field_that_is_wrong() {
        let mut nameless = ada();
        nameless.name = "  ".into();
        assert_eq!(refused_field(nameless), "name");
        let mut no_mail = ada();
        no_mail.email = "ada.example.com".into();
        assert_eq!(refused_field(no_mail), "email");
        let mut nowhere = ada();
        nowhere.addresses[0].country = "Britain".into();
        assert_eq!(refused_field(nowhere), "address.country");
        let mut negative = ada();
        negative.credit_limit = Some(Money::from_minor(-1, Currency::USD));
        assert_eq!(refused_field(negative), "credit_limit");
        let mut euros = ada();
        euros.credit_limit = Some(Money::from_minor(100, Currency::EUR));
        assert_eq!(refused_field(euros), "credit_limit");
        let mut zero = ada();
        zero.credit_limit = Some(Money::zero(Currency::USD));
        assert!(zero.validate().is_ok(), "a zero limit is a limit");
    }
}
