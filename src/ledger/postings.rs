//! The posting rules: which accounts each business event debits and credits.

use chrono::{DateTime, Utc};

use super::{
    AccountCode, AccountMap, ChartOfAccounts, CreditNote, EntryBuilder, EntrySource, Invoice,
    InvoiceTotals, JournalEntry, LedgerError, Payment,
};
use crate::customer::PaymentMethod;
use crate::ids::{EntryId, OrderId, ShipmentId};
use crate::money::Money;

/// Builds the journal entries for business events, against one chart and account map.
///
/// Each rule returns `None` when every amount is zero (a free pickup, a zero-cost
/// sample): there is nothing to post, and an empty entry would not balance anything.
#[derive(Debug, Clone, Copy)]
pub struct Postings<'a> {
    chart: &'a ChartOfAccounts,
    accounts: &'a AccountMap,
}

impl<'a> Postings<'a> {
    /// Posting rules for `accounts` within `chart`.
    pub fn new(chart: &'a ChartOfAccounts, accounts: &'a AccountMap) -> Self {
        Self { chart, accounts }
    }

    /// Issuing an invoice: Dr receivables (total); Cr revenue (gross), Dr discounts,
    /// Cr tax payable, Cr shipping revenue.
    ///
    /// # Errors
    /// [`LedgerError`] if the entry cannot be built.
    pub fn invoice(
        &self,
        invoice: &Invoice,
        id: EntryId,
        at: DateTime<Utc>,
    ) -> Result<Option<JournalEntry>, LedgerError> {
        self.invoice_totalled(invoice, &invoice.totals()?, id, at)
    }

    /// [`Postings::invoice`] from the invoice's totals already summed: issuing an
    /// invoice needs them anyway, and summing the lines twice costs twice.
    pub(crate) fn invoice_totalled(
        &self,
        invoice: &Invoice,
        totals: &InvoiceTotals,
        id: EntryId,
        at: DateTime<Utc>,
    ) -> Result<Option<JournalEntry>, LedgerError> {
        let source = EntrySource::Invoice {
            invoice: invoice.id,
        };
        self.invoice_lines(invoice, totals, invoice_memo(invoice.number), source, false)?
            .build_if_any(id, at, self.chart)
    }

    /// Voiding an invoice: the exact reverse of [`Postings::invoice`].
    ///
    /// # Errors
    /// [`LedgerError`] if the entry cannot be built.
    pub fn void(
        &self,
        invoice: &Invoice,
        id: EntryId,
        at: DateTime<Utc>,
    ) -> Result<Option<JournalEntry>, LedgerError> {
        let source = EntrySource::InvoiceVoid {
            invoice: invoice.id,
        };
        self.invoice_lines(
            invoice,
            &invoice.totals()?,
            format!("void invoice {}", invoice.number),
            source,
            true,
        )?
        .build_if_any(id, at, self.chart)
    }

    fn invoice_lines(
        &self,
        invoice: &Invoice,
        totals: &InvoiceTotals,
        memo: String,
        source: EntrySource,
        reverse: bool,
    ) -> Result<EntryBuilder, LedgerError> {
        let a = self.accounts;
        let sign = |m: Money| if reverse { -m } else { m };
        Ok(EntryBuilder::new(memo, source)
            .debit(&a.receivables, sign(totals.total))
            .credit(&a.revenue, sign(totals.gross))
            .debit(&a.discounts, sign(totals.discount))
            .credit(&a.tax_payable, sign(totals.tax))
            .credit(&a.shipping_revenue, sign(invoice.shipping)))
    }

    /// Receiving a payment: Dr the method's cash account (amount); Cr receivables
    /// (applied), Cr customer credit (excess).
    ///
    /// # Errors
    /// [`LedgerError`] if the entry cannot be built.
    pub fn payment(
        &self,
        payment: &Payment,
        id: EntryId,
        at: DateTime<Utc>,
    ) -> Result<Option<JournalEntry>, LedgerError> {
        let a = self.accounts;
        let cash = self.cash_account(payment.method);
        EntryBuilder::new(
            format!("payment {}", payment.id),
            EntrySource::Payment {
                payment: payment.id,
            },
        )
        .debit(cash, payment.amount)
        .credit(&a.receivables, payment.applied)
        .credit(&a.customer_credit, payment.credited)
        .build_if_any(id, at, self.chart)
    }

    /// Where money paid by `method` lands (and a refund of it leaves from).
    fn cash_account(&self, method: PaymentMethod) -> &AccountCode {
        let a = self.accounts;
        match method {
            PaymentMethod::Cash => &a.cash,
            PaymentMethod::Card => &a.card_clearing,
            PaymentMethod::BankTransfer => &a.bank,
            // No new payment can be on account (`PaymentError::OnAccountIsNotAPayment`),
            // but payments recorded before that rule were posted to the bank, and
            // a refund of one must leave by the account it came into.
            PaymentMethod::OnAccount => &a.bank,
            PaymentMethod::CustomerCredit => &a.customer_credit,
        }
    }

    /// A refund out of the customer's credit, back the way the payment came: Dr
    /// customer credit, Cr the payment's cash account.
    ///
    /// # Errors
    /// [`LedgerError`] if the entry cannot be built.
    pub fn refund(
        &self,
        payment: &Payment,
        amount: Money,
        id: EntryId,
        at: DateTime<Utc>,
    ) -> Result<Option<JournalEntry>, LedgerError> {
        EntryBuilder::new(
            format!("refund against payment {}", payment.id),
            EntrySource::Refund {
                payment: payment.id,
            },
        )
        .debit(&self.accounts.customer_credit, amount)
        .credit(self.cash_account(payment.method), amount)
        .build_if_any(id, at, self.chart)
    }

    /// A refund the provider would not make, reversed: Dr the payment's cash
    /// account, Cr customer credit — the exact reverse of [`Postings::refund`].
    ///
    /// # Errors
    /// [`LedgerError`] if the entry cannot be built.
    pub fn refund_reversed(
        &self,
        payment: &Payment,
        amount: Money,
        id: EntryId,
        at: DateTime<Utc>,
    ) -> Result<Option<JournalEntry>, LedgerError> {
        EntryBuilder::new(
            format!("refund against payment {} not made", payment.id),
            EntrySource::RefundReversed {
                payment: payment.id,
            },
        )
        .debit(self.cash_account(payment.method), amount)
        .credit(&self.accounts.customer_credit, amount)
        .build_if_any(id, at, self.chart)
    }

    /// A provider's payout: Dr bank (what arrived), Dr provider fees, Cr card
    /// clearing (what the payout settles).
    ///
    /// # Errors
    /// [`LedgerError`] if the entry cannot be built.
    pub fn settlement(
        &self,
        settlement: &crate::payment::Settlement,
        id: EntryId,
        at: DateTime<Utc>,
    ) -> Result<Option<JournalEntry>, LedgerError> {
        let a = self.accounts;
        let net = settlement.gross.checked_sub(settlement.fee)?;
        EntryBuilder::new(
            format!("payout {} from {}", settlement.payout, settlement.provider),
            EntrySource::Settlement {
                payout: settlement.payout.clone(),
            },
        )
        .debit(&a.bank, net)
        .debit(&a.provider_fees, settlement.fee)
        .credit(&a.card_clearing, settlement.gross)
        .build_if_any(id, at, self.chart)
    }

    /// A credit note: the reverse of the invoice lines it takes back — Dr revenue
    /// (gross), Cr discounts, Dr tax payable, Dr shipping revenue — against Cr
    /// receivables for what the invoice still owed and Cr customer credit for what
    /// it had already been paid.
    ///
    /// # Errors
    /// [`LedgerError`] if the entry cannot be built.
    pub fn credit_note(
        &self,
        note: &CreditNote,
        id: EntryId,
        at: DateTime<Utc>,
    ) -> Result<Option<JournalEntry>, LedgerError> {
        let a = self.accounts;
        EntryBuilder::new(
            credit_note_memo(note.number),
            EntrySource::CreditNote {
                credit_note: note.id,
            },
        )
        .debit(&a.revenue, note.gross_total()?)
        .credit(&a.discounts, note.discount_total()?)
        .debit(&a.tax_payable, note.tax_total()?)
        .debit(&a.shipping_revenue, note.shipping)
        .credit(&a.receivables, note.applied)
        .credit(&a.customer_credit, note.to_customer_credit)
        .build_if_any(id, at, self.chart)
    }

    /// Money paid on a cancelled order becomes customer credit: Dr receivables, Cr
    /// customer credit. Follows [`Postings::void`], which left receivables short by
    /// what had been paid.
    ///
    /// # Errors
    /// [`LedgerError`] if the entry cannot be built.
    pub fn credit_on_cancel(
        &self,
        order: OrderId,
        amount: Money,
        id: EntryId,
        at: DateTime<Utc>,
    ) -> Result<Option<JournalEntry>, LedgerError> {
        EntryBuilder::new(
            format!("credit paid amount of cancelled order {order}"),
            EntrySource::Cancellation { order },
        )
        .debit(&self.accounts.receivables, amount)
        .credit(&self.accounts.customer_credit, amount)
        .build_if_any(id, at, self.chart)
    }

    /// Goods shipped: Dr cost of goods sold, Cr inventory (at cost); and what the
    /// carrier charges: Dr shipping costs, Cr carrier payable.
    ///
    /// # Errors
    /// [`LedgerError`] if the entry cannot be built.
    pub fn shipment(
        &self,
        shipment: ShipmentId,
        cost_of_goods: Money,
        carrier_charge: Money,
        id: EntryId,
        at: DateTime<Utc>,
    ) -> Result<Option<JournalEntry>, LedgerError> {
        let a = self.accounts;
        EntryBuilder::new(
            format!("shipment {shipment}"),
            EntrySource::Shipment { shipment },
        )
        .debit(&a.cogs, cost_of_goods)
        .credit(&a.inventory, cost_of_goods)
        .debit(&a.shipping_costs, carrier_charge)
        .credit(&a.carrier_payable, carrier_charge)
        .build_if_any(id, at, self.chart)
    }

    /// Goods received: Dr inventory, Cr goods received not invoiced (at cost).
    ///
    /// # Errors
    /// [`LedgerError`] if the entry cannot be built.
    pub fn receipt(
        &self,
        reference: &str,
        value: Money,
        id: EntryId,
        at: DateTime<Utc>,
    ) -> Result<Option<JournalEntry>, LedgerError> {
        EntryBuilder::new(
            format!("goods received {reference}"),
            EntrySource::StockReceipt {
                reference: reference.to_owned(),
            },
        )
        .debit(&self.accounts.inventory, value)
        .credit(&self.accounts.goods_received, value)
        .build_if_any(id, at, self.chart)
    }

    /// Returned goods: cost of goods sold reversed at the cost they shipped at (Cr
    /// cost of goods sold), against Dr inventory when they go back on the shelf, or
    /// Dr inventory adjustments (the loss) when they are written off.
    ///
    /// # Errors
    /// [`LedgerError`] if the entry cannot be built.
    pub fn returned(
        &self,
        sku: &crate::ids::Sku,
        cost: Money,
        restocked: bool,
        id: EntryId,
        at: DateTime<Utc>,
    ) -> Result<Option<JournalEntry>, LedgerError> {
        let (into, what) = if restocked {
            (&self.accounts.inventory, "restocked")
        } else {
            (&self.accounts.inventory_adjustments, "written off")
        };
        EntryBuilder::new(
            format!("returned {sku} {what}"),
            EntrySource::StockAdjustment {
                reason: format!("return of {sku}, {what}"),
            },
        )
        .debit(into, cost)
        .credit(&self.accounts.cogs, cost)
        .build_if_any(id, at, self.chart)
    }

    /// A stock count difference or revaluation: Dr inventory, Cr inventory
    /// adjustments for a gain (`value > 0`); the reverse for a loss.
    ///
    /// # Errors
    /// [`LedgerError`] if the entry cannot be built.
    pub fn adjustment(
        &self,
        reason: &str,
        value: Money,
        id: EntryId,
        at: DateTime<Utc>,
    ) -> Result<Option<JournalEntry>, LedgerError> {
        EntryBuilder::new(
            format!("stock adjustment: {reason}"),
            EntrySource::StockAdjustment {
                reason: reason.to_owned(),
            },
        )
        .debit(&self.accounts.inventory, value)
        .credit(&self.accounts.inventory_adjustments, value)
        .build_if_any(id, at, self.chart)
    }
}

/// The memo of an invoice's entry.
pub(crate) fn invoice_memo(number: super::InvoiceNumber) -> String {
    format!("invoice {number}")
}

/// The memo of a credit note's entry.
pub(crate) fn credit_note_memo(number: super::CreditNoteNumber) -> String {
    format!("credit note {number}")
}
