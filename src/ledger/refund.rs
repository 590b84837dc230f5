//! Refunding: paying customer credit back against one of their payments, the way
//! it came (card to card, bank to bank).

use serde::{Deserialize, Serialize};

use super::{CreditError, Payment, PaymentError};
use crate::customer::{Customer, PaymentMethod};
use crate::decide::Context;
use crate::error::Error;
use crate::event::Event;
use crate::ids::{EntryId, IdempotencyKey, PaymentId};
use crate::money::Money;
use crate::store::Changeset;

/// The command to refund customer credit against one of their payments.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct RecordRefund {
    /// Same key, same refund.
    pub idempotency_key: IdempotencyKey,
    /// The payment refunded (the money goes back the way it came).
    pub payment: PaymentId,
    /// How much.
    pub amount: Money,
}

crate::with_setters!(RecordRefund {
    with_idempotency_key => idempotency_key: IdempotencyKey,
    with_payment => payment: PaymentId,
    with_amount => amount: Money,
});

impl RecordRefund {
    /// `amount` of the customer's credit paid back against `payment`.
    pub fn new(key: IdempotencyKey, payment: PaymentId, amount: Money) -> Self {
        Self {
            idempotency_key: key,
            payment,
            amount,
        }
    }

    /// Refuses an amount no refund can be, before anything is read.
    ///
    /// # Errors
    /// [`PaymentError::NotPositive`] or [`PaymentError::NotInMinorUnits`].
    pub fn check_amount(&self) -> Result<(), Error> {
        if !self.amount.is_positive() {
            return Err(PaymentError::NotPositive(self.amount).into());
        }
        if !self.amount.is_in_minor_units() {
            return Err(PaymentError::NotInMinorUnits(self.amount).into());
        }
        Ok(())
    }
}

/// Refuses `cmd` if `payment` alone shows it cannot be met: the checks of
/// [`record_refund`] that do not need the payer.
///
/// # Errors
/// As [`record_refund`], less `ExceedsCredit`.
fn check_refund(cmd: &RecordRefund, payment: &Payment) -> Result<(), Error> {
    cmd.check_amount()?;
    if cmd.amount.currency() != payment.amount.currency() {
        return Err(PaymentError::CurrencyMismatch {
            expected: payment.amount.currency(),
            found: cmd.amount.currency(),
        }
        .into());
    }
    if payment.method == PaymentMethod::CustomerCredit {
        return Err(CreditError::PaidFromCredit(payment.id).into());
    }
    let refunded = payment.refund_total();
    if refunded
        .checked_add(cmd.amount)?
        .cmp_amount(payment.amount)?
        .is_gt()
    {
        return Err(CreditError::BeyondPayment {
            paid: payment.amount,
            refunded,
            requested: cmd.amount,
        }
        .into());
    }
    Ok(())
}

/// Refunds `cmd.amount` of `customer`'s credit against `payment`: marks it
/// refunded and lowers the credit in memory, and adds the posting and the event to
/// `changes`. Only credit can be refunded — credit a returned or cancelled part
/// first ([`super::issue_credit_note`]) — and never more than the payment brought
/// in. The caller puts the payment and moves the customer's figures.
///
/// # Errors
/// [`Error::Credit`] with `ExceedsCredit`, `PaidFromCredit` or `BeyondPayment`;
/// [`Error::Payment`] for a non-positive amount, another currency or sub-cent
/// digits. Nothing is added to `changes` on a refusal.
pub fn record_refund(
    cmd: &RecordRefund,
    payment: &mut Payment,
    customer: &mut Customer,
    ctx: &Context<'_>,
    changes: &mut Changeset,
) -> Result<(), Error> {
    check_refund(cmd, payment)?;
    let available = customer.history.credit;
    if cmd.amount.cmp_amount(available)?.is_gt() {
        return Err(CreditError::ExceedsCredit {
            available,
            requested: cmd.amount,
        }
        .into());
    }
    changes.journal.extend(ctx.postings.refund(
        payment,
        cmd.amount,
        ctx.id(EntryId::from_uuid),
        ctx.now,
    )?);
    payment.refunded = Some(payment.refund_total().checked_add(cmd.amount)?);
    customer.history.credit = available.checked_sub(cmd.amount)?;
    changes.events.push(Event::RefundIssued {
        payment: payment.id,
        customer: customer.id,
        amount: cmd.amount,
    });
    Ok(())
}

#[cfg(test)]
mod tests {
    //! The refund decision, given a payment and its payer, with no store.
    use super::super::fixtures::{Books, at, given_order, usd};
    use super::*;
    use crate::ids::{InvoiceId, OrderId};
    use crate::money::Currency;

    /// A card payment of 30.00, and its payer holding 12.00 of credit.
    fn given() -> (Payment, Customer) {
        let (mut customer, order) = given_order();
        customer.history.credit = usd(1200);
        let payment = Payment {
            id: PaymentId::from_uuid(uuid::Uuid::from_u128(7)),
            invoice: InvoiceId::from_uuid(uuid::Uuid::from_u128(3)),
            order: OrderId::from_uuid(uuid::Uuid::from_u128(2)),
            customer: customer.id,
            method: PaymentMethod::Card,
            amount: usd(3000),
            applied: usd(3000),
            credited: usd(0),
            received_at: at(),
            reference: None,
            refunded: None,
        };
        assert_eq!(payment.order, order.id);
        (payment, customer)
    }

    fn refund(amount: Money) -> RecordRefund {
        RecordRefund {
            idempotency_key: IdempotencyKey::new("r-1").unwrap(),
            payment: PaymentId::from_uuid(uuid::Uuid::from_u128(7)),
            amount,
        }
    }

    fn when_refunded(
        cmd: &RecordRefund,
        (payment, customer): &mut (Payment, Customer),
    ) -> (Result<(), Error>, Changeset) {
        let books = Books::new();
        let mut changes = Changeset::new(at());
        let refunded = record_refund(cmd, payment, customer, &books.ctx(), &mut changes);
        (refunded, changes)
    }

    /// The refusal `cmd` meets, asserting it decided nothing and changed neither
    /// the payment nor the credit.
    fn refusal(cmd: &RecordRefund, world: &mut (Payment, Customer)) -> Error {
        let before = world.clone();
        let (refused, changes) = when_refunded(cmd, world);
        assert!(changes.is_empty(), "a refusal decides nothing");
        assert_eq!(*world, before);
        refused.unwrap_err()
    }

    fn credit_error(e: Error) -> CreditError {
        match e {
            Error::Credit(e) => e,
            other => panic!("not a credit error: {other:?}"),
        }
    }

    fn payment_error(e: Error) -> PaymentError {
        match e {
            Error::Payment(e) => e,
            other => panic!("not a payment error: {other:?}"),
        }
    }

    #[test]
    fn a_refund_pays_credit_back_the_way_it_came() {
        let mut world = given();
        let (refunded, changes) = when_refunded(&refund(usd(500)), &mut world);
        refunded.unwrap();
        let (payment, customer) = world;
        assert_eq!(payment.refund_total(), usd(500));
        assert_eq!(customer.history.credit, usd(700));
        assert_eq!(changes.journal.len(), 1);
        assert!(changes.puts.is_empty(), "the caller puts the payment");
        assert!(matches!(
            changes.events.as_slice(),
            [Event::RefundIssued { amount, .. }] if *amount == usd(500)
        ));
    }

    #[test]
    fn refunds_add_up_against_the_payment() {
        let mut world = given();
        world.1.history.credit = usd(5000);
        when_refunded(&refund(usd(2000)), &mut world).0.unwrap();
        assert_eq!(
            credit_error(refusal(&refund(usd(1001)), &mut world)),
            CreditError::BeyondPayment {
                paid: usd(3000),
                refunded: usd(2000),
                requested: usd(1001),
            }
        );
        when_refunded(&refund(usd(1000)), &mut world).0.unwrap();
        assert_eq!(world.0.refund_total(), usd(3000));
    }

    #[test]
    fn refusals_say_why_and_decide_nothing() {
        let mut world = given();
        assert_eq!(
            credit_error(refusal(&refund(usd(1201)), &mut world)),
            CreditError::ExceedsCredit {
                available: usd(1200),
                requested: usd(1201),
            }
        );
        assert_eq!(
            payment_error(refusal(&refund(usd(0)), &mut world)),
            PaymentError::NotPositive(usd(0))
        );
        let fraction = Money::new(rust_decimal::Decimal::new(1001, 3), Currency::USD);
        assert_eq!(
            payment_error(refusal(&refund(fraction), &mut world)),
            PaymentError::NotInMinorUnits(fraction)
        );
        let euros = Money::from_minor(100, Currency::EUR);
        assert_eq!(
            payment_error(refusal(&refund(euros), &mut world)),
            PaymentError::CurrencyMismatch {
                expected: Currency::USD,
                found: Currency::EUR,
            }
        );
        world.0.method = PaymentMethod::CustomerCredit;
        let id = world.0.id;
        assert_eq!(
            credit_error(refusal(&refund(usd(100)), &mut world)),
            CreditError::PaidFromCredit(id)
        );
    }

    #[test]
    fn the_early_check_refuses_what_needs_no_payer() {
        let (payment, _) = given();
        assert!(check_refund(&refund(usd(3000)), &payment).is_ok());
        assert_eq!(
            credit_error(check_refund(&refund(usd(3001)), &payment).unwrap_err()),
            CreditError::BeyondPayment {
                paid: usd(3000),
                refunded: usd(0),
                requested: usd(3001),
            }
        );
    }
}
