//! An amendment's money beyond its credit notes and invoice: paying the new
//! invoice from what the credit notes freed, carrying a credit over to moved
//! lines, and the holds an amended order needs.

use crate::RecordPayment;
use crate::customer::{Customer, PaymentMethod, PaymentTerms};
use crate::error::Error;
use crate::fulfilment::Carrier;
use crate::ids::{IdempotencyKey, InvoiceId};
use crate::money::Money;
use crate::oms::Oms;
use crate::order::{Hold, Order};
use crate::store::{Changeset, Record, RecordKey, Store};

impl<S: Store, C: Carrier> Oms<S, C> {
    /// Holds an amended order: a prepaid one whose new invoice still owes until it
    /// is paid, one on terms the amendment made dearer while its customer is over
    /// their credit limit. (An older invoice still owing, whose hold an operator
    /// released, is not the amendment's business.)
    pub(super) fn hold_if_needed(
        &self,
        order: &mut Order,
        buyer: &Customer,
        dearer: bool,
        new_invoice_owes: bool,
        changes: &mut Changeset,
    ) -> Result<(), Error> {
        let hold = match buyer.profile.terms {
            PaymentTerms::Prepaid => new_invoice_owes.then_some(Hold::AwaitingPayment),
            PaymentTerms::Net { .. } => {
                (dearer && buyer.over_credit_limit()?).then_some(Hold::CreditLimit)
            }
        };
        if let Some(hold) = hold {
            crate::order::place_hold(order, hold, changes)?;
        }
        Ok(())
    }

    /// Pays the amendment's new invoice from the customer credit the amendment
    /// itself freed (money paid for units it credited): the customer's payment
    /// follows their order, and only the difference is left to pay (or stays as
    /// credit). Credit the customer had before is theirs to spend or not. Returns
    /// whether the invoice still owes.
    pub(super) fn pay_from_freed_credit(
        &self,
        order: &mut Order,
        buyer: &mut Customer,
        invoice: InvoiceId,
        freed: Money,
        key: &IdempotencyKey,
        changes: &mut Changeset,
    ) -> Result<bool, Error> {
        // The invoice as the commit holds it: a carried credit may have changed it.
        let Some(Record::Invoice(pending)) = changes.pending(&RecordKey::Invoice(invoice)) else {
            return Err(Error::invalid(
                "amendment",
                "its invoice was not in the commit",
            ));
        };
        let mut invoice = pending.clone();
        let pay = freed.min(invoice.outstanding()?)?;
        if !pay.is_positive() {
            return Ok(invoice.outstanding()?.is_positive());
        }
        let mut payment =
            RecordPayment::new(key.clone(), invoice.id, pay, PaymentMethod::CustomerCredit);
        payment.reference = Some(format!("credit freed by amendment {key}"));
        let ctx = self.context(changes.at);
        crate::ledger::record_payment(&payment, &mut invoice, order, buyer, &ctx, changes)?;
        let owes = invoice.outstanding()?.is_positive();
        if !changes.restate(invoice) {
            return Err(Error::invalid("amendment", "its invoice left the commit"));
        }
        Ok(owes)
    }

    /// Carries over to the lines moved to a new tax rate any credit their units
    /// already had: units a credit note took back (a price adjustment, say) are
    /// not credited again when they move, so the new line's invoice is credited
    /// for them instead, at its own price, and the customer pays what they paid
    /// before, taxed anew.
    pub(super) async fn carry_credit_over(
        &self,
        order: &mut Order,
        buyer: &mut Customer,
        moved: &[(u16, u16, u32)],
        asked: &[(u16, u32)],
        credited: &[(u16, u32)],
        changes: &mut Changeset,
    ) -> Result<(), Error> {
        let units = |list: &[(u16, u32)], line: u16| {
            list.iter()
                .filter(|(l, _)| *l == line)
                .map(|(_, u)| *u)
                .sum::<u32>()
        };
        let carried: Vec<(u16, u32)> = moved
            .iter()
            .map(|(from, to, invoiced)| {
                let already = units(asked, *from).saturating_sub(units(credited, *from));
                (*to, already.min(*invoiced))
            })
            .filter(|(_, units)| *units > 0)
            .collect();
        if !carried.is_empty() {
            self.credit_order_lines(
                order,
                buyer,
                &carried,
                false,
                "credit carried over to the line re-taxed",
                changes,
            )
            .await?;
        }
        Ok(())
    }
}
