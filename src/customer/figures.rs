//! A customer's running figures move by deltas the store applies in the commit, so
//! two commands for one customer (a guest account, an EDI batch) never conflict on
//! its record.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::{Customer, CustomerHistory, PaymentTerms};
use crate::ids::CustomerId;
use crate::money::{Money, MoneyError};

/// What one command changes in one customer's [`CustomerHistory`]: every figure by
/// an amount added to whatever the store holds when the commit applies it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct CustomerDelta {
    /// The customer.
    pub customer: CustomerId,
    /// Added to orders placed.
    pub orders_placed: i64,
    /// Added to orders cancelled.
    pub orders_cancelled: i64,
    /// Added to the lifetime value.
    pub lifetime_value: Money,
    /// Added to the balance owed.
    pub balance: Money,
    /// Added to the customer's credit; the commit fails with a conflict if that
    /// leaves it negative (a concurrent command spent it first).
    pub credit: Money,
    /// Added to the value of open orders not yet invoiced.
    pub uninvoiced: Money,
    /// The latest order time, if this command placed one (the later time wins).
    pub last_order_at: Option<DateTime<Utc>>,
    /// The credit limit the command judged the customer within: the commit fails
    /// with a conflict if the exposure (balance + uninvoiced) ends above it, so the
    /// command decides again and holds the order. Set only when the command raised
    /// the exposure of a customer on account and left it within the limit.
    pub within_limit: Option<Money>,
}

impl CustomerDelta {
    /// What a command did to a customer, from the record it read (`before`) and
    /// the record as it decided it (`after`).
    ///
    /// # Errors
    /// [`MoneyError`] on overflow or mixed currencies.
    pub fn between(before: &Customer, after: &Customer) -> Result<Self, MoneyError> {
        let (b, a) = (&before.history, &after.history);
        let exposure = |h: &CustomerHistory| h.balance.checked_add(h.uninvoiced);
        let raised = exposure(a)?.cmp_amount(exposure(b)?)?.is_gt();
        let on_account = matches!(after.profile.terms, PaymentTerms::Net { .. });
        let within_limit = match after.profile.credit_limit {
            Some(limit) if raised && on_account && !after.over_credit_limit()? => Some(limit),
            _ => None,
        };
        Ok(Self {
            customer: after.id,
            orders_placed: i64::from(a.orders_placed) - i64::from(b.orders_placed),
            orders_cancelled: i64::from(a.orders_cancelled) - i64::from(b.orders_cancelled),
            lifetime_value: a.lifetime_value.checked_sub(b.lifetime_value)?,
            balance: a.balance.checked_sub(b.balance)?,
            credit: a.credit.checked_sub(b.credit)?,
            uninvoiced: a.uninvoiced.checked_sub(b.uninvoiced)?,
            last_order_at: a.last_order_at.filter(|at| Some(*at) != b.last_order_at),
            within_limit,
        })
    }

    /// True if it changes nothing.
    pub fn is_empty(&self) -> bool {
        self.orders_placed == 0
            && self.orders_cancelled == 0
            && self.lifetime_value.is_zero()
            && self.balance.is_zero()
            && self.credit.is_zero()
            && self.uninvoiced.is_zero()
            && self.last_order_at.is_none()
    }
}

/// Why a delta could not be applied.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FiguresError {
    /// The figures moved meanwhile: the credit would go negative, or the exposure
    /// past the limit the command judged within. Decide again.
    #[error("the customer's figures changed meanwhile: {0}")]
    Moved(&'static str),
    /// The delta does not fit the figures (overflow, another currency).
    #[error("the customer's figures cannot take the change: {0}")]
    Invalid(String),
}

impl CustomerHistory {
    /// Adds `delta` to the figures, or changes nothing and says why not.
    ///
    /// # Errors
    /// [`FiguresError::Moved`] when a guard fails, [`FiguresError::Invalid`] when
    /// the sums do not fit.
    pub fn apply(&mut self, delta: &CustomerDelta) -> Result<(), FiguresError> {
        let invalid = |e: MoneyError| FiguresError::Invalid(e.to_string());
        let count = |now: u32, by: i64| {
            u32::try_from(i64::from(now) + by)
                .map_err(|_| FiguresError::Invalid(format!("an order count of {now} {by:+}")))
        };
        let after = CustomerHistory {
            orders_placed: count(self.orders_placed, delta.orders_placed)?,
            orders_cancelled: count(self.orders_cancelled, delta.orders_cancelled)?,
            lifetime_value: self
                .lifetime_value
                .checked_add(delta.lifetime_value)
                .map_err(invalid)?,
            last_order_at: self.last_order_at.max(delta.last_order_at),
            balance: self.balance.checked_add(delta.balance).map_err(invalid)?,
            credit: self.credit.checked_add(delta.credit).map_err(invalid)?,
            uninvoiced: self
                .uninvoiced
                .checked_add(delta.uninvoiced)
                .map_err(invalid)?,
        };
        if after.credit.is_negative() {
            return Err(FiguresError::Moved("credit would go negative"));
        }
        if let Some(limit) = delta.within_limit {
            let exposure = after
                .balance
                .checked_add(after.uninvoiced)
                .map_err(invalid)?;
            if exposure.cmp_amount(limit).map_err(invalid)?.is_gt() {
                return Err(FiguresError::Moved("exposure would pass the credit limit"));
            }
        }
        *self = after;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::customer::{Address, NewCustomer};
    use crate::money::Currency;

    fn usd(cents: i64) -> Money {
        Money::from_minor(cents, Currency::USD)
    }

    fn customer(limit: Option<Money>) -> Customer {
        let address = Address::new("Ada", "1 Main St", "Boston", "02108", "US");
        let mut profile = NewCustomer::new("Ada", "ada@example.com", address, Currency::USD);
        profile.terms = PaymentTerms::Net { days: 30 };
        profile.credit_limit = limit;
        Customer {
            id: CustomerId::from_uuid(uuid::Uuid::from_u128(1)),
            profile: std::sync::Arc::new(profile),
            history: CustomerHistory::new(Currency::USD),
            registered_at: DateTime::<Utc>::UNIX_EPOCH,
            overdue_since: None,
        }
    }

    #[test]
    fn two_orders_decided_on_the_same_figures_both_count() {
        let before = customer(None);
        let mut after = before.clone();
        after.history.orders_placed = 1;
        after.history.uninvoiced = usd(500);
        after.history.lifetime_value = usd(500);
        after.history.last_order_at = Some(DateTime::<Utc>::UNIX_EPOCH);
        let delta = CustomerDelta::between(&before, &after).unwrap();
        let mut stored = before.history.clone();
        stored.apply(&delta).unwrap();
        stored.apply(&delta).unwrap();
        assert_eq!(stored.orders_placed, 2);
        assert_eq!(stored.uninvoiced, usd(1000));
        assert_eq!(delta.within_limit, None, "no limit, nothing to guard");
    }

    #[test]
    fn credit_spent_twice_is_refused_the_second_time() {
        let mut before = customer(None);
        before.history.credit = usd(300);
        let mut after = before.clone();
        after.history.credit = usd(0);
        let delta = CustomerDelta::between(&before, &after).unwrap();
        let mut stored = before.history.clone();
        stored.apply(&delta).unwrap();
        let unchanged = stored.clone();
        assert_eq!(
            stored.apply(&delta),
            Err(FiguresError::Moved("credit would go negative"))
        );
        assert_eq!(stored, unchanged);
    }

    #[test]
    fn an_order_judged_within_the_limit_cannot_pass_it_with_a_twin() {
        let before = customer(Some(usd(800)));
        let mut after = before.clone();
        after.history.uninvoiced = usd(500);
        let delta = CustomerDelta::between(&before, &after).unwrap();
        assert_eq!(delta.within_limit, Some(usd(800)));
        let mut stored = before.history.clone();
        stored.apply(&delta).unwrap();
        assert_eq!(
            stored.apply(&delta),
            Err(FiguresError::Moved("exposure would pass the credit limit"))
        );
        // Paying invoices lowers exposure: never guarded.
        let mut paid = after.clone();
        paid.history.uninvoiced = usd(0);
        assert_eq!(
            CustomerDelta::between(&after, &paid).unwrap().within_limit,
            None
        );
    }

    #[test]
    fn counts_never_go_below_zero() {
        let before = customer(None);
        let mut after = before.clone();
        after.history.orders_cancelled = 1;
        let mut undo = CustomerDelta::between(&after, &before).unwrap();
        undo.orders_placed = -1;
        let mut stored = before.history.clone();
        assert!(matches!(stored.apply(&undo), Err(FiguresError::Invalid(_))));
    }
}
