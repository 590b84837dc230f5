//! Automation: the time-driven steps a host runs from its scheduler with
//! [`Oms::run_due`](crate::Oms::run_due), and the policy that says which run and
//! when.

use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};

use crate::error::Error;
use crate::event::Event;
use crate::ids::{InvoiceId, LocationId, OrderId, PurchaseOrderId};
use crate::ledger::Invoice;
use crate::store::Changeset;

/// What [`Oms::run_due`](crate::Oms::run_due) does, and when. The default runs
/// every step: unpaid prepaid orders cancelled after 7 days, reminders 7, 14
/// and 30 days past due (the third holding the customer's orders), holds
/// released once their cause has gone, and late purchase orders re-promised 3
/// days out; replenishment only once [`AutomationPolicy::replenish_to`] names
/// where back-orders' goods go.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct AutomationPolicy {
    /// Cancel an order still waiting for the customer's money this long after
    /// it began to wait (its stock goes to waiting back-orders): one awaiting
    /// prepayment, or one whose card was declined and never authorised since;
    /// `None`: never.
    pub cancel_unpaid_after: Option<Duration>,
    /// Days past due at which an open invoice's payment reminders go out, in
    /// increasing order: each level once per invoice. Empty: no reminders.
    pub reminder_days: Vec<u16>,
    /// At this reminder level (1 for the first) the customer's open orders are
    /// held [`Hold::Overdue`](crate::order::Hold::Overdue), and so are the orders
    /// they place until then; `None`: reminders never hold orders.
    pub hold_at_reminder: Option<u8>,
    /// Release holds whose cause has gone: an order's credit-limit hold once its
    /// customer's exposure is within their limit again (an invoice paid, an
    /// order cancelled), an overdue hold once no invoice of the customer past
    /// [`AutomationPolicy::hold_at_reminder`] is left open.
    pub release_holds: bool,
    /// A purchase order still not received the day after it was expected is
    /// taken to arrive this many days from today, and the lines waiting for it
    /// are re-promised; `None`: late purchase orders are left as they are.
    pub late_delivery_slip_days: Option<u16>,
    /// Run [`Oms::replenish`](crate::Oms::replenish) for this location (where
    /// back-ordered goods are delivered) on each call; `None`: never.
    pub replenish_to: Option<LocationId>,
    /// With a payment provider, card payments that need the service: requests
    /// whose reply was lost are resolved by asking the provider, what finished
    /// orders still hold is voided, and lapsed authorisations are renewed or
    /// their orders held ([`crate::payment`]).
    pub card_payments: bool,
    /// At most this many records of each kind of due work per call: a call that
    /// reaches it says so ([`DueReport::more`]), and the host calls again.
    pub batch: usize,
}

impl Default for AutomationPolicy {
    fn default() -> Self {
        Self {
            cancel_unpaid_after: Some(Duration::days(7)),
            reminder_days: vec![7, 14, 30],
            hold_at_reminder: Some(3),
            release_holds: true,
            late_delivery_slip_days: Some(3),
            replenish_to: None,
            card_payments: true,
            batch: 100,
        }
    }
}

crate::with_setters!(AutomationPolicy {
    with_cancel_unpaid_after => cancel_unpaid_after: Option<Duration>,
    with_reminder_days => reminder_days: Vec<u16>,
    with_hold_at_reminder => hold_at_reminder: Option<u8>,
    with_release_holds => release_holds: bool,
    with_late_delivery_slip_days => late_delivery_slip_days: Option<u16>,
    with_replenish_to => replenish_to: Option<LocationId>,
    with_card_payments => card_payments: bool,
    with_batch => batch: usize,
});

impl AutomationPolicy {
    /// Nothing runs: every step off.
    pub fn off() -> Self {
        Self {
            cancel_unpaid_after: None,
            reminder_days: Vec::new(),
            hold_at_reminder: None,
            release_holds: false,
            late_delivery_slip_days: None,
            replenish_to: None,
            card_payments: false,
            batch: 100,
        }
    }

    /// Refuses a policy `run_due` cannot follow.
    ///
    /// # Errors
    /// [`Error::Invalid`] for reminder days not in increasing order, more than 255
    /// levels, a negative cancellation delay, or a batch of 0.
    pub fn validate(&self) -> Result<(), Error> {
        if !self.reminder_days.is_sorted_by(|a, b| a < b) {
            return Err(Error::invalid(
                "automation.reminder_days",
                "must be in increasing order, each once",
            ));
        }
        if self.reminder_days.len() > usize::from(u8::MAX) {
            return Err(Error::invalid(
                "automation.reminder_days",
                "at most 255 levels",
            ));
        }
        if let Some(level) = self.hold_at_reminder
            && (level == 0 || usize::from(level) > self.reminder_days.len())
        {
            return Err(Error::invalid(
                "automation.hold_at_reminder",
                format!(
                    "level {level} is not one of the {} reminder levels",
                    self.reminder_days.len()
                ),
            ));
        }
        if self
            .cancel_unpaid_after
            .is_some_and(|d| d < Duration::zero())
        {
            return Err(Error::invalid(
                "automation.cancel_unpaid_after",
                "must not be negative",
            ));
        }
        if self.batch == 0 {
            return Err(Error::invalid("automation.batch", "must be at least 1"));
        }
        Ok(())
    }
}

/// What one call of [`Oms::run_due`](crate::Oms::run_due) did. Each action is
/// also an event in the log.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct DueReport {
    /// Orders cancelled for want of prepayment.
    pub cancelled: Vec<OrderId>,
    /// Payment reminders sent: the invoice and the level (1 for the first).
    pub reminded: Vec<(InvoiceId, u8)>,
    /// Orders held because their customer has an invoice past
    /// [`AutomationPolicy::hold_at_reminder`].
    pub held: Vec<OrderId>,
    /// Orders whose credit-limit or overdue hold was released.
    pub released: Vec<OrderId>,
    /// Late purchase orders re-promised.
    pub rescheduled: Vec<PurchaseOrderId>,
    /// Purchase orders raised by replenishment.
    pub raised: Vec<PurchaseOrderId>,
    /// Answers of the payment provider recorded for requests whose reply was
    /// lost (captures, voids, refunds), asking it what became of each.
    #[serde(default)]
    pub payments_resolved: usize,
    /// Orders whose card authorisation lapsed: renewed, or the order held, as
    /// [`PaymentPolicy::on_expiry`](crate::payment::PaymentPolicy::on_expiry) says.
    #[serde(default)]
    pub authorisations_lapsed: Vec<OrderId>,
    /// Actions another instance took first (their keys were used): done once,
    /// by it.
    pub taken_by_others: usize,
    /// Actions refused for good (an order that can no longer be cancelled, a
    /// replenishment with no valid offer): left for a person.
    pub refused: usize,
    /// A kind of due work filled its batch: call again for the rest.
    pub more: bool,
}

/// Whole days `invoice` is past due at `now` (0 before it is due).
pub(crate) fn days_overdue(invoice: &Invoice, now: DateTime<Utc>) -> i64 {
    (now - invoice.due_at).num_days().max(0)
}

/// The reminder `invoice` is due at `now` under `levels` (days past due, in
/// increasing order), if any: the highest level reached and not yet sent — the
/// ones below it are skipped, one reminder says enough — recorded on the invoice
/// with its event; and in any case when to look at it next. Returns the level
/// sent (1 for the first).
pub(crate) fn remind(
    invoice: &mut Invoice,
    levels: &[u16],
    now: DateTime<Utc>,
    changes: &mut Changeset,
) -> Result<Option<u8>, Error> {
    let overdue = days_overdue(invoice, now);
    let reached = levels
        .iter()
        .take_while(|days| i64::from(**days) <= overdue)
        .count();
    let reached = u8::try_from(reached).unwrap_or(u8::MAX);
    let sent = (reached > invoice.reminders).then_some(reached);
    if let Some(level) = sent {
        invoice.reminders = level;
        changes.events.push(Event::PaymentReminder {
            invoice: invoice.id,
            order: invoice.order,
            customer: invoice.customer,
            level,
            days_overdue: u32::try_from(overdue).unwrap_or(u32::MAX),
            outstanding: invoice.outstanding()?,
        });
    }
    invoice.next_reminder_at = levels
        .get(usize::from(invoice.reminders))
        .map(|days| invoice.due_at + Duration::days(i64::from(*days)));
    Ok(sent)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::indexing_slicing)]
    use super::*;
    use crate::ledger::fixtures::*;

    fn overdue_invoice() -> Invoice {
        let (_, _, mut invoice) = given_invoiced();
        invoice.due_at = at();
        invoice
    }

    #[test]
    fn each_level_goes_out_once_and_a_late_call_sends_only_the_highest() {
        let levels = [7, 14, 30];
        let mut invoice = overdue_invoice();
        let mut changes = Changeset::new(at());
        // Before the first level: nothing, and look again at day 7.
        assert_eq!(
            remind(
                &mut invoice,
                &levels,
                at() + Duration::days(3),
                &mut changes
            )
            .unwrap(),
            None
        );
        assert_eq!(invoice.next_reminder_at, Some(at() + Duration::days(7)));
        assert_eq!(
            remind(
                &mut invoice,
                &levels,
                at() + Duration::days(8),
                &mut changes
            )
            .unwrap(),
            Some(1)
        );
        // The same day again: nothing new.
        assert_eq!(
            remind(
                &mut invoice,
                &levels,
                at() + Duration::days(9),
                &mut changes
            )
            .unwrap(),
            None
        );
        // Missed the 14-day run: the 30-day reminder alone, and no more after.
        assert_eq!(
            remind(
                &mut invoice,
                &levels,
                at() + Duration::days(40),
                &mut changes
            )
            .unwrap(),
            Some(3)
        );
        assert_eq!(invoice.next_reminder_at, None);
        assert_eq!(invoice.reminder_due_at(), None);
        assert_eq!(changes.events.len(), 2);
    }

    proptest::proptest! {
        /// Whatever the levels and whenever the calls come: each reminder
        /// goes out at most once, levels only rise, none is sent before it is
        /// reached, and after the last call the invoice has had the highest
        /// level reached then, and waits for the next one.
        #[test]
        fn reminders_rise_once_each_whatever_the_call_times(
            levels in proptest::collection::btree_set(1_u16..60, 1..5),
            mut days in proptest::collection::vec(0_i64..100, 1..12),
        ) {
            let levels: Vec<u16> = levels.into_iter().collect();
            days.sort_unstable();
            let mut invoice = overdue_invoice();
            let mut changes = Changeset::new(at());
            let mut sent = Vec::new();
            for day in &days {
                let now = at() + Duration::days(*day);
                if let Some(level) = remind(&mut invoice, &levels, now, &mut changes).unwrap() {
                    let reached = levels.iter().filter(|d| i64::from(**d) <= *day).count();
                    proptest::prop_assert_eq!(usize::from(level), reached);
                    sent.push(level);
                }
            }
            proptest::prop_assert!(sent.windows(2).all(|w| w[0] < w[1]), "{:?}", sent);
            proptest::prop_assert_eq!(changes.events.len(), sent.len());
            let last = days.last().copied().unwrap_or(0);
            let reached = levels.iter().filter(|d| i64::from(**d) <= last).count();
            proptest::prop_assert_eq!(usize::from(invoice.reminders), reached);
            proptest::prop_assert_eq!(
                invoice.next_reminder_at,
                levels.get(reached).map(|d| at() + Duration::days(i64::from(*d)))
            );
        }
    }

    #[test]
    fn a_policy_out_of_order_is_refused() {
        let policy = AutomationPolicy::default().with_reminder_days(vec![14, 7]);
        assert!(policy.validate().is_err());
        // The default holds at the third level: two levels cannot reach it.
        let short = AutomationPolicy::default().with_reminder_days(vec![7, 14]);
        assert!(short.validate().is_err());
        assert!(short.with_hold_at_reminder(Some(2)).validate().is_ok());
        assert!(
            AutomationPolicy::default()
                .with_batch(0)
                .validate()
                .is_err()
        );
        assert!(AutomationPolicy::default().validate().is_ok());
        assert!(AutomationPolicy::off().validate().is_ok());
    }
}
