//! Settling an order: the rules every command that moves money or goods runs
//! after it, so holds lift and orders complete the same way whichever came last.

use chrono::{DateTime, Utc};

use super::{Hold, Order, OrderAction, OrderError, OrderStatus, transition};
use crate::error::Error;
use crate::event::Event;
use crate::store::Changeset;

/// Removes `hold` from the order, reopening it if it was the last.
pub(crate) fn release(order: &mut Order, hold: Hold, changes: &mut Changeset) -> Result<(), Error> {
    order.holds.retain(|h| *h != hold);
    if !order.holds.iter().any(|h| h.waits_for_payment()) {
        order.awaiting_payment_since = None;
    }
    if order.holds.is_empty() && order.status == OrderStatus::OnHold {
        order.status = transition(order.status, OrderAction::ReleaseHold)?;
    }
    changes.events.push(Event::HoldReleased {
        order: order.id,
        hold,
    });
    Ok(())
}

/// A person lifts `hold` (approving a credit limit or a review, or overriding a
/// prepayment requirement): the order reopens if it was the last, and completes
/// if it is delivered and settled.
///
/// # Errors
/// [`OrderError::HoldNotFound`] if the order does not have that hold.
pub(crate) fn lift_hold(
    order: &mut Order,
    hold: Hold,
    now: DateTime<Utc>,
    changes: &mut Changeset,
) -> Result<(), Error> {
    if !order.holds.contains(&hold) {
        return Err(OrderError::HoldNotFound(hold).into());
    }
    release(order, hold, changes)?;
    complete_if_done(order, now, changes)
}

/// After money or a credit note settled part of an order: releases its
/// [`Hold::AwaitingPayment`] once everything billed is settled (paid or credited),
/// and completes it if it is also delivered.
pub(crate) fn settle(
    order: &mut Order,
    now: DateTime<Utc>,
    changes: &mut Changeset,
) -> Result<(), Error> {
    let settled = order.settled() == order.invoiced && order.fully_billed();
    if settled && order.holds.contains(&Hold::AwaitingPayment) {
        release(order, Hold::AwaitingPayment, changes)?;
    }
    complete_if_done(order, now, changes)
}

/// Completes the order if it is delivered and paid in full.
pub(crate) fn complete_if_done(
    order: &mut Order,
    now: DateTime<Utc>,
    changes: &mut Changeset,
) -> Result<(), Error> {
    if order.is_complete() {
        order.status = transition(order.status, OrderAction::Complete)?;
        order.closed_at = Some(now);
        changes
            .events
            .push(Event::OrderCompleted { order: order.id });
    }
    Ok(())
}
