use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::{Invoice, InvoiceStatus, PaymentError};
use crate::customer::{Customer, PaymentMethod};
use crate::decide::Context;
use crate::error::Error;
use crate::event::Event;
use crate::ids::{CustomerId, EntryId, IdempotencyKey, InvoiceId, OrderId, PaymentId};
use crate::money::Money;
use crate::order::settle::settle;
use crate::order::{Order, OrderAction, transition};
use crate::store::Changeset;

/// What to do with money received beyond what an invoice still owes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "snake_case")]
pub enum OverpaymentPolicy {
    /// Refuse the payment: the caller must record the right amount.
    #[default]
    #[serde(alias = "Reject")]
    Reject,
    /// Apply what is owed and hold the rest as customer credit (a liability).
    #[serde(alias = "CreditCustomer")]
    CreditCustomer,
}

/// Money received against an invoice.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct Payment {
    /// Identity.
    pub id: PaymentId,
    /// The invoice paid.
    pub invoice: InvoiceId,
    /// Its order.
    pub order: OrderId,
    /// The payer.
    pub customer: CustomerId,
    /// How it was paid.
    pub method: PaymentMethod,
    /// Everything received.
    pub amount: Money,
    /// The part applied to the invoice.
    pub applied: Money,
    /// The excess held as customer credit.
    pub credited: Money,
    /// When received.
    pub received_at: DateTime<Utc>,
    /// The gateway's or bank's reference.
    pub reference: Option<String>,
    /// Refunded against it so far (`None`: nothing).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub refunded: Option<Money>,
}

impl Payment {
    /// Refunded against it so far.
    pub fn refund_total(&self) -> Money {
        self.refunded
            .unwrap_or_else(|| Money::zero(self.amount.currency()))
    }
}

/// Money received against an invoice.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct RecordPayment {
    /// Same key, same payment: a gateway's retried webhook is recorded once.
    pub idempotency_key: IdempotencyKey,
    /// The invoice paid.
    pub invoice: InvoiceId,
    /// Amount received.
    pub amount: Money,
    /// How.
    pub method: PaymentMethod,
    /// The gateway's or bank's reference.
    pub reference: Option<String>,
    /// What to do with an excess.
    #[serde(default)]
    pub overpayment: OverpaymentPolicy,
}

crate::with_setters!(RecordPayment {
    with_idempotency_key => idempotency_key: IdempotencyKey,
    with_invoice => invoice: InvoiceId,
    with_amount => amount: Money,
    with_method => method: PaymentMethod,
    with_reference => reference: Option<String>,
    with_overpayment => overpayment: OverpaymentPolicy,
});

impl RecordPayment {
    /// A payment that refuses overpayment.
    pub fn new(
        idempotency_key: IdempotencyKey,
        invoice: InvoiceId,
        amount: Money,
        method: PaymentMethod,
    ) -> Self {
        Self {
            idempotency_key,
            invoice,
            amount,
            method,
            reference: None,
            overpayment: OverpaymentPolicy::Reject,
        }
    }
}

/// Records `cmd` against `invoice` of `order` from `customer`, in memory and in
/// `changes` (the payment record, its posting and events); the caller puts the
/// invoice and the order, and moves the customer's figures.
///
/// # Errors
/// As [`crate::Oms::record_payment`], less the reads.
pub fn record_payment(
    cmd: &RecordPayment,
    invoice: &mut Invoice,
    order: &mut Order,
    customer: &mut Customer,
    ctx: &Context<'_>,
    changes: &mut Changeset,
) -> Result<Payment, Error> {
    record(cmd, false, invoice, order, customer, ctx, changes)
}

/// Records money a card capture took for `invoice`, as [`record_payment`]
/// does with `cmd` (whose overpayment policy must credit the customer) — and,
/// since the money is already taken, also when the invoice was settled
/// meanwhile (by a bank transfer, a credit note): what it no longer owes is the
/// customer's credit.
///
/// # Errors
/// As [`record_payment`], less `AlreadyPaid`.
pub(crate) fn record_capture(
    cmd: &RecordPayment,
    invoice: &mut Invoice,
    order: &mut Order,
    customer: &mut Customer,
    ctx: &Context<'_>,
    changes: &mut Changeset,
) -> Result<Payment, Error> {
    record(cmd, true, invoice, order, customer, ctx, changes)
}

fn record(
    cmd: &RecordPayment,
    taken: bool,
    invoice: &mut Invoice,
    order: &mut Order,
    customer: &mut Customer,
    ctx: &Context<'_>,
    changes: &mut Changeset,
) -> Result<Payment, Error> {
    // Checked here, after the key's replay, so that every path recording a
    // payment refuses it and a retry of one stored before this rule still
    // returns the stored payment.
    if cmd.method == PaymentMethod::OnAccount {
        return Err(PaymentError::OnAccountIsNotAPayment.into());
    }
    // Money a capture took is recorded whatever became of the order since
    // (completed on a credit note meanwhile, say): it was taken all the same.
    let status = match transition(order.status, OrderAction::RecordPayment) {
        Ok(status) => status,
        Err(_) if taken => order.status,
        Err(e) => return Err(e.into()),
    };
    if invoice.status == InvoiceStatus::Void {
        return Err(PaymentError::InvoiceVoid(invoice.id).into());
    }
    if cmd.amount.currency() != order.currency {
        return Err(PaymentError::CurrencyMismatch {
            expected: order.currency,
            found: cmd.amount.currency(),
        }
        .into());
    }
    let outstanding = invoice.outstanding()?;
    if !outstanding.is_positive() && !taken {
        return Err(PaymentError::AlreadyPaid(invoice.id).into());
    }
    let outstanding = outstanding.max(Money::zero(outstanding.currency()))?;
    if cmd.method == PaymentMethod::CustomerCredit {
        let available = customer.history.credit;
        if cmd.amount.cmp_amount(available)?.is_gt() {
            return Err(super::CreditError::ExceedsCredit {
                available,
                requested: cmd.amount,
            }
            .into());
        }
    }
    let applied = cmd.amount.min(outstanding)?;
    let credited = cmd.amount.checked_sub(applied)?;
    if credited.is_positive() && cmd.overpayment == OverpaymentPolicy::Reject {
        return Err(PaymentError::Overpayment {
            outstanding,
            offered: cmd.amount,
        }
        .into());
    }

    let now = ctx.now;
    let payment = Payment {
        id: ctx.id(PaymentId::from_uuid),
        invoice: invoice.id,
        order: order.id,
        customer: customer.id,
        method: cmd.method,
        amount: cmd.amount,
        applied,
        credited,
        received_at: now,
        reference: cmd.reference.clone(),
        refunded: None,
    };
    invoice.paid = invoice.paid.checked_add(applied)?;
    // What was outstanding less what was applied: summing the invoice's lines
    // again would give the same.
    if outstanding.checked_sub(applied)?.is_zero() {
        invoice.status = InvoiceStatus::Paid;
    }
    order.status = status;
    order.paid = order.paid.checked_add(applied)?;
    customer.history.balance = customer.history.balance.checked_sub(applied)?;
    customer.history.credit = customer.history.credit.checked_add(credited)?;
    if cmd.method == PaymentMethod::CustomerCredit {
        // Drawn from the credit (an excess, if allowed, returns to it above).
        customer.history.credit = customer.history.credit.checked_sub(cmd.amount)?;
    }

    changes.events.push(Event::PaymentRecorded {
        payment: payment.id,
        invoice: invoice.id,
        order: order.id,
        amount: payment.amount,
        applied,
    });
    if credited.is_positive() {
        changes.events.push(Event::CustomerCredited {
            customer: customer.id,
            amount: credited,
        });
    }
    settle(order, now, changes)?;
    changes.journal.extend(
        ctx.postings
            .payment(&payment, ctx.id(EntryId::from_uuid), now)?,
    );
    changes.insert(payment.clone());
    Ok(payment)
}

#[cfg(test)]
mod tests {
    //! The payment decision, given what a command read, with no store.
    use std::sync::Arc;

    use rust_decimal::Decimal;

    use super::*;
    use crate::catalog::{Product, TaxClass, TaxTable};

    use crate::customer::{Address, CustomerHistory, NewCustomer, PaymentTerms};
    use crate::ids::Sku;

    use crate::money::Currency;
    use crate::order::{Channel, Delivery, Hold, OrderStatus, PlaceOrder, price_lines};

    use crate::ledger::fixtures::{Books, at, bill, open_order, usd};

    fn uuid(n: u128) -> uuid::Uuid {
        uuid::Uuid::from_u128(n)
    }

    /// A prepaid customer, an order of two mugs at 10.00 (+10 % tax) held until
    /// paid, and its invoice of 22.00.
    fn given() -> (Customer, Order, Invoice) {
        let address = Address::new("Ada", "1 High St", "Leeds", "LS1 1AA", "GB");
        let mut profile = NewCustomer::new("Ada", "ada@example.com", address, Currency::USD);
        profile.terms = PaymentTerms::Prepaid;
        let customer = Customer {
            id: CustomerId::from_uuid(uuid(1)),
            profile: Arc::new(profile),
            history: CustomerHistory::new(Currency::USD),
            registered_at: at(),
            overdue_since: None,
        };
        let sku = Sku::new("MUG").unwrap();
        let mug = Product::new(
            sku.clone(),
            "Mug",
            usd(1000),
            usd(400),
            TaxClass::standard(),
        );
        let tax = TaxTable::new().with_rate(TaxClass::standard(), None, Decimal::new(10, 2));
        let key = IdempotencyKey::new("o-1").unwrap();
        let cmd = PlaceOrder::new(key.clone(), customer.id, Channel::Web, Currency::USD)
            .line(sku.clone(), 2);
        let lines = price_lines(&cmd, |s| (s == &sku).then_some(&mug), &tax, "GB").unwrap();
        let delivery = Delivery::Pickup {
            location: crate::ids::LocationId::new("SHOP").unwrap(),
        };
        let mut order = open_order(&customer, key, lines, delivery);
        // Prepaid, no shipping: held until paid.
        order.shipping_charge = usd(0);
        order.status = OrderStatus::OnHold;
        order.holds = vec![Hold::AwaitingPayment];
        let invoice = bill(&mut order, &[0], true, 3);
        let mut customer = customer;
        customer.history.balance = order.invoiced;
        (customer, order, invoice)
    }

    /// Pays `amount` by `method` under `policy`.
    fn when_paid(
        amount: Money,
        method: PaymentMethod,
        policy: OverpaymentPolicy,
        (customer, order, invoice): &mut (Customer, Order, Invoice),
    ) -> (Result<Payment, Error>, Changeset) {
        let books = Books::new();
        let ctx = books.ctx();
        let mut cmd = RecordPayment::new(
            IdempotencyKey::new("p-1").unwrap(),
            invoice.id,
            amount,
            method,
        );
        cmd.overpayment = policy;
        let mut changes = Changeset::new(at());
        let paid = record_payment(&cmd, invoice, order, customer, &ctx, &mut changes);
        (paid, changes)
    }

    #[test]
    fn paying_in_full_settles_the_invoice_and_releases_the_order() {
        let mut world = given();
        let due = world.2.total().unwrap();
        let (paid, changes) = when_paid(
            due,
            PaymentMethod::Card,
            OverpaymentPolicy::Reject,
            &mut world,
        );
        let payment = paid.unwrap();
        let (customer, order, invoice) = world;
        assert_eq!((payment.applied, payment.credited), (due, usd(0)));
        assert_eq!(invoice.status, InvoiceStatus::Paid);
        assert_eq!(order.status, OrderStatus::Open);
        assert!(order.holds.is_empty());
        assert_eq!(order.paid, due);
        assert_eq!(customer.history.balance, usd(0));
        assert_eq!(
            changes.puts.len(),
            1,
            "the payment; the caller puts the rest"
        );
        assert_eq!(changes.journal.len(), 1);
        assert!(matches!(
            changes.events.as_slice(),
            [
                Event::PaymentRecorded { .. },
                Event::HoldReleased {
                    hold: Hold::AwaitingPayment,
                    ..
                }
            ]
        ));
    }

    #[test]
    fn an_excess_is_refused_or_kept_as_credit_as_the_policy_says() {
        let mut world = given();
        let over = world.2.total().unwrap().checked_add(usd(500)).unwrap();
        let (refused, changes) = when_paid(
            over,
            PaymentMethod::Card,
            OverpaymentPolicy::Reject,
            &mut world,
        );
        assert!(matches!(
            refused,
            Err(Error::Payment(PaymentError::Overpayment { .. }))
        ));
        assert!(changes.is_empty(), "a refusal decides nothing");
        assert_eq!(world.2.status, InvoiceStatus::Open);

        let (kept, _) = when_paid(
            over,
            PaymentMethod::Card,
            OverpaymentPolicy::CreditCustomer,
            &mut world,
        );
        assert_eq!(kept.unwrap().credited, usd(500));
        assert_eq!(world.0.history.credit, usd(500));
    }

    #[test]
    fn refusals_say_why() {
        let mut world = given();
        let due = world.2.total().unwrap();
        let (on_account, _) = when_paid(
            due,
            PaymentMethod::OnAccount,
            OverpaymentPolicy::Reject,
            &mut world,
        );
        assert!(matches!(
            on_account,
            Err(Error::Payment(PaymentError::OnAccountIsNotAPayment))
        ));
        let (from_credit, _) = when_paid(
            due,
            PaymentMethod::CustomerCredit,
            OverpaymentPolicy::Reject,
            &mut world,
        );
        assert!(matches!(
            from_credit,
            Err(Error::Credit(
                super::super::CreditError::ExceedsCredit { .. }
            ))
        ));
        let (euros, _) = when_paid(
            Money::from_minor(100, Currency::EUR),
            PaymentMethod::Card,
            OverpaymentPolicy::Reject,
            &mut world,
        );
        assert!(matches!(
            euros,
            Err(Error::Payment(PaymentError::CurrencyMismatch { .. }))
        ));
        world.2.status = InvoiceStatus::Void;
        let (void, _) = when_paid(
            due,
            PaymentMethod::Card,
            OverpaymentPolicy::Reject,
            &mut world,
        );
        assert!(matches!(
            void,
            Err(Error::Payment(PaymentError::InvoiceVoid(_)))
        ));
    }

    #[test]
    fn a_paid_invoice_takes_nothing_more() {
        let mut world = given();
        let due = world.2.total().unwrap();
        when_paid(
            due,
            PaymentMethod::Card,
            OverpaymentPolicy::Reject,
            &mut world,
        )
        .0
        .unwrap();
        let (again, _) = when_paid(
            usd(100),
            PaymentMethod::Card,
            OverpaymentPolicy::Reject,
            &mut world,
        );
        assert!(matches!(
            again,
            Err(Error::Payment(PaymentError::AlreadyPaid(_)))
        ));
    }
}
