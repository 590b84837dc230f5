//! Invoices and payments in the baseline.

use rust_decimal::Decimal;

use super::Plain;
use super::ledger::{
    BANK, CUSTOMER_CREDIT, DISCOUNTS, RECEIVABLES, REVENUE, SHIPPING_REVENUE, TAX_PAYABLE,
};
use super::money::{add, sub, sum};
use super::records::{
    Event, InvoiceLine, InvoiceStatus, PlainInvoice, PlainOrder, PlainPayment, Status,
};

impl Plain {
    /// Bills the whole order on one invoice and posts it: Dr receivables; Cr
    /// revenue, Dr discounts, Cr tax, Cr shipping.
    pub(super) fn issue_invoice(
        &mut self,
        order_id: usize,
        order: &mut PlainOrder,
        events: &mut Vec<Event>,
    ) -> Result<usize, String> {
        let now = self.now_ms;
        self.invoice_counter += 1;
        let number = self.invoice_counter;
        let lines: Vec<InvoiceLine> = order
            .lines
            .iter_mut()
            .map(|l| {
                l.invoiced = l.quantity;
                l.invoiced_amounts = l.amounts;
                InvoiceLine {
                    line_no: l.line_no,
                    sku: l.sku.clone(),
                    description: l.description.clone(),
                    quantity: l.quantity,
                    amounts: l.amounts,
                    tax_rate: l.tax_rate,
                }
            })
            .collect();
        let gross = sum(lines.iter().map(|l| l.amounts.gross))?;
        let discount = sum(lines.iter().map(|l| l.amounts.discount))?;
        let tax = sum(lines.iter().map(|l| l.amounts.tax))?;
        let shipping = Decimal::ZERO;
        let total = add(
            add(sum(lines.iter().map(|l| l.amounts.net))?, tax)?,
            shipping,
        )?;
        let id = self.invoices.len();
        order.invoices.push(id);
        order.invoiced = add(order.invoiced, total)?;
        let buyer = self
            .customers
            .get_mut(order.customer)
            .ok_or("unknown customer")?;
        buyer.balance = add(buyer.balance, total)?;
        buyer.uninvoiced = sub(buyer.uninvoiced, total)?;
        self.post(&[
            (RECEIVABLES, total),
            (REVENUE, -gross),
            (DISCOUNTS, discount),
            (TAX_PAYABLE, -tax),
            (SHIPPING_REVENUE, -shipping),
        ])?;
        events.push(Event::InvoiceIssued {
            invoice: id,
            number,
            order: order_id,
            total,
        });
        self.invoices.push(PlainInvoice {
            number,
            order: order_id,
            customer: order.customer,
            issued_ms: now,
            due_ms: now + 30 * 86_400_000,
            lines,
            shipping,
            total,
            paid: Decimal::ZERO,
            status: InvoiceStatus::Open,
        });
        Ok(id)
    }

    /// Records a payment of `amount` against an invoice, once per `key`.
    pub(super) fn record_payment(
        &mut self,
        key: String,
        invoice_id: usize,
        amount: Decimal,
    ) -> Result<usize, String> {
        if amount <= Decimal::ZERO || amount.normalize().scale() > 2 {
            return Err(format!("invalid payment amount {amount}"));
        }
        if let Some(&payment) = self.payment_keys.get(&key) {
            return Ok(payment);
        }
        let invoice = self.invoices.get(invoice_id).ok_or("unknown invoice")?;
        let (order_id, customer) = (invoice.order, invoice.customer);
        let order = self.orders.get(order_id).ok_or("unknown order")?;
        if order.status != Status::Open {
            return Err("order is closed".to_owned());
        }
        let outstanding = sub(invoice.total, invoice.paid)?;
        if outstanding <= Decimal::ZERO {
            return Err("invoice already paid".to_owned());
        }
        let applied = amount.min(outstanding);
        let credited = sub(amount, applied)?;
        if credited > Decimal::ZERO {
            return Err(format!(
                "overpayment: {amount} offered, {outstanding} outstanding"
            ));
        }
        self.apply_payment(PlainPayment {
            invoice: invoice_id,
            order: order_id,
            customer,
            amount,
            applied,
            credited,
            received_ms: self.now_ms,
            key,
        })
    }

    /// Records a checked payment against its invoice, order and customer.
    fn apply_payment(&mut self, payment: PlainPayment) -> Result<usize, String> {
        let now = self.now_ms;
        let id = self.payments.len();
        let PlainPayment {
            invoice: invoice_id,
            order: order_id,
            customer,
            amount,
            applied,
            credited,
            ..
        } = payment;
        let invoice = self.invoices.get_mut(invoice_id).ok_or("unknown invoice")?;
        invoice.paid = add(invoice.paid, applied)?;
        if invoice.paid == invoice.total {
            invoice.status = InvoiceStatus::Paid;
        }
        let order = self.orders.get_mut(order_id).ok_or("unknown order")?;
        order.paid = add(order.paid, applied)?;
        if order.is_complete() {
            order.status = Status::Completed;
            order.closed_ms = Some(now);
        }
        let buyer = self.customers.get_mut(customer).ok_or("unknown customer")?;
        buyer.balance = sub(buyer.balance, applied)?;
        buyer.credit = add(buyer.credit, credited)?;
        self.post(&[
            (BANK, amount),
            (RECEIVABLES, -applied),
            (CUSTOMER_CREDIT, -credited),
        ])?;
        self.emit(vec![Event::PaymentRecorded {
            payment: id,
            invoice: invoice_id,
            order: order_id,
            amount,
            applied,
        }]);
        self.payment_keys.insert(payment.key.clone(), id);
        self.payments.push(payment);
        Ok(id)
    }
}
