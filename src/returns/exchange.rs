//! An exchange's replacement, decided: placed as a new order the way the original
//! shipped, invoiced at once and paid from the credit the return gave.

use super::ReturnAuthorization;
use super::receipt::ReceiptReads;
use crate::customer::{Customer, PaymentMethod};
use crate::decide::Context;
use crate::error::Error;
use crate::event::Event;
use crate::ids::{IdempotencyKey, OrderId};
use crate::ledger::{RecordPayment, record_payment};
use crate::money::Money;
use crate::order::{Hold, Order, PlaceOrder, Placing, compose, distinct_skus};
use crate::purchasing::{BackOrderPolicy, Backlog, Supply};
use crate::store::{Changeset, RecordKey};

/// Places `rma`'s replacement for `original` into `changes` ([`compose`], from
/// `reads.catalogue`), invoiced at once and paid from `credit` (what the return
/// gave) as far as it goes: a dearer replacement leaves the difference to pay, a
/// cheaper one leaves the rest as customer credit. A replacement short of stock is
/// back-ordered, promised a date from `reads.supply`; without one read, returns
/// `None` having changed nothing, for the caller to read it and decide again.
/// Returns the replacement's id; puts it.
///
/// # Errors
/// As [`compose`] and [`record_payment`]; [`Error::Invalid`] if the exchange's
/// key cannot be made from the return's id.
#[allow(clippy::too_many_arguments)]
pub(super) fn place_replacement(
    rma: &ReturnAuthorization,
    original: &Order,
    customer: &mut Customer,
    credit: Money,
    reads: &ReceiptReads,
    rules: Placing,
    backlog: &mut Backlog,
    ctx: &Context<'_>,
    changes: &mut Changeset,
) -> Result<Option<OrderId>, Error> {
    let key = IdempotencyKey::new(format!("exchange-{}", rma.id))
        .map_err(|e| Error::invalid("exchange", e.to_string()))?;
    let mut cmd = PlaceOrder::new(
        key.clone(),
        original.customer,
        original.channel,
        original.currency,
    )
    .back_order(BackOrderPolicy::BackOrder)
    .deliver(original.delivery.clone());
    cmd.lines = rma.replacement.clone();
    cmd.note = Some(format!("exchange for return {}", rma.id));
    let rules = Placing {
        invoice_now: true,
        ..rules
    };
    let inputs = &reads.catalogue;
    let placed = match compose(&cmd, customer, inputs, rules, backlog, None, ctx, changes)? {
        Some(placed) => placed,
        None => {
            // Short: it joins its SKUs' queues, promised a date from the supply.
            let Some(read) = &reads.supply else {
                return Ok(None);
            };
            for sku in distinct_skus(&cmd) {
                let queue = read
                    .queues
                    .iter()
                    .find(|(s, _)| *s == sku)
                    .map(|(_, q)| q.clone())
                    .ok_or_else(|| Error::NotPrefetched {
                        key: RecordKey::BackOrderQueue(sku.clone()),
                    })?;
                backlog.adopt_queue(&sku, queue);
            }
            let supply = Supply {
                suppliers: &read.suppliers,
                sent: &read.sent,
            };
            compose(
                &cmd,
                customer,
                inputs,
                rules,
                backlog,
                Some(supply),
                ctx,
                changes,
            )?
            .ok_or_else(|| Error::invalid("order", "could not be placed with its supply read"))?
        }
    };
    let (mut order, invoice) = placed;
    let mut paid = Money::zero(order.currency);
    if let Some(mut invoice) = invoice {
        let outstanding = invoice.outstanding()?;
        paid = credit.min(outstanding)?;
        if paid.is_positive() {
            let mut payment =
                RecordPayment::new(key, invoice.id, paid, PaymentMethod::CustomerCredit);
            payment.reference = Some(format!("credit from return {}", rma.id));
            record_payment(&payment, &mut invoice, &mut order, customer, ctx, changes)?;
            if !changes.restate(invoice) {
                return Err(Error::invalid(
                    "exchange",
                    "its invoice was not in the commit",
                ));
            }
        }
    }
    // Judged before the return's credit paid it: judge again.
    if order.holds.contains(&Hold::CreditLimit) && !customer.over_credit_limit()? {
        crate::order::settle::release(&mut order, Hold::CreditLimit, changes)?;
    }
    changes.events.push(Event::ExchangePlaced {
        rma: rma.id,
        order: original.id,
        replacement: order.id,
        paid_from_credit: paid,
    });
    let id = order.id;
    changes.insert(order);
    Ok(Some(id))
}
