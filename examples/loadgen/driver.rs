//! The driver's memory: open invoices with what is still owed, and the latest orders.

use std::collections::VecDeque;

use crate::mix::RECENT_ORDERS;

/// An invoice the driver still expects money for.
#[derive(Debug, Clone)]
struct OpenInvoice<I> {
    invoice: I,
    outstanding_cents: i64,
}

/// The payment the driver decided to make: which open invoice, and how much.
#[derive(Debug, Clone, Copy)]
pub(crate) struct PaymentChoice<I> {
    pub(crate) index: usize,
    pub(crate) invoice: I,
    pub(crate) cents: i64,
    pub(crate) partial: bool,
}

/// What the terminal operator remembers: open invoices with what is still owed, and
/// the latest orders. The same code serves both passes, so their choices agree.
#[derive(Debug)]
pub(crate) struct Driver<O, I> {
    open: Vec<OpenInvoice<I>>,
    pub(crate) recent: VecDeque<O>,
}

impl<O, I: Copy> Driver<O, I> {
    pub(crate) fn new() -> Self {
        Self {
            open: Vec::new(),
            recent: VecDeque::with_capacity(RECENT_ORDERS + 1),
        }
    }

    /// Remembers a placed order, and its invoice while it is owed money.
    pub(crate) fn placed(&mut self, order: O, invoice: I, total_cents: i64) {
        if total_cents > 0 {
            self.open.push(OpenInvoice {
                invoice,
                outstanding_cents: total_cents,
            });
        }
        self.recent.push_back(order);
        while self.recent.len() > RECENT_ORDERS {
            self.recent.pop_front();
        }
    }

    /// The open invoice `pick` lands on, paid in full or (`half`) in half; `None`
    /// when no invoice is open.
    pub(crate) fn choose(&self, pick: u64, half: bool) -> Option<PaymentChoice<I>> {
        let len = self.open.len() as u64;
        if len == 0 {
            return None;
        }
        let index = (pick % len) as usize;
        let open = self.open.get(index)?;
        let partial = half && open.outstanding_cents >= 2;
        Some(PaymentChoice {
            index,
            invoice: open.invoice,
            cents: if partial {
                open.outstanding_cents / 2
            } else {
                open.outstanding_cents
            },
            partial,
        })
    }

    /// Books a payment the system accepted.
    pub(crate) fn settled(&mut self, choice: &PaymentChoice<I>) {
        if let Some(open) = self.open.get_mut(choice.index) {
            open.outstanding_cents -= choice.cents;
            if open.outstanding_cents <= 0 {
                self.open.swap_remove(choice.index);
            }
        }
    }

    /// Drops an invoice the system refused a payment for.
    pub(crate) fn forget(&mut self, index: usize) {
        if index < self.open.len() {
            self.open.swap_remove(index);
        }
    }
}
