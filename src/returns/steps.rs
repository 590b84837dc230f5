//! The steps of a return that move no goods, decided: authorising it, and ending
//! it short — rejected before anything arrived, or closed with goods missing —
//! which gives the units that will not come back to the order to ask again.

use super::{ReturnAuthorization, ReturnError};
use crate::error::Error;
use crate::event::Event;
use crate::ids::ReturnId;
use crate::order::Order;
use crate::store::{Changeset, Versioned};

/// Authorises a requested return: the customer may send the goods. Puts it and
/// its event; returns it.
///
/// # Errors
/// [`ReturnError::InvalidTransition`] unless it is requested.
pub(crate) fn authorise(
    rma: Versioned<ReturnAuthorization>,
    changes: &mut Changeset,
) -> Result<ReturnAuthorization, Error> {
    let Versioned {
        value: mut rma,
        version,
    } = rma;
    rma.authorise()?;
    changes.events.push(Event::ReturnAuthorised { rma: rma.id });
    changes.update(rma.clone(), version);
    Ok(rma)
}

/// Rejects a return before anything arrived: its units can be asked back again.
///
/// # Errors
/// [`ReturnError::InvalidTransition`] once goods arrived.
pub(crate) fn reject(
    rma: Versioned<ReturnAuthorization>,
    order: Versioned<Order>,
    changes: &mut Changeset,
) -> Result<ReturnAuthorization, Error> {
    end(rma, order, ReturnAuthorization::reject, changes, |rma| {
        Event::ReturnRejected { rma }
    })
}

/// Closes a partly received return: what did not arrive will not be taken, and
/// can be asked back again. An exchange closed this way places no replacement.
///
/// # Errors
/// [`ReturnError::InvalidTransition`] unless partly received.
pub(crate) fn close(
    rma: Versioned<ReturnAuthorization>,
    order: Versioned<Order>,
    changes: &mut Changeset,
) -> Result<ReturnAuthorization, Error> {
    end(rma, order, ReturnAuthorization::close, changes, |rma| {
        Event::ReturnClosed { rma }
    })
}

/// Ends a return short: the step, its event, and the order no longer counting as
/// asked back the units that will not come.
fn end(
    rma: Versioned<ReturnAuthorization>,
    order: Versioned<Order>,
    step: fn(&mut ReturnAuthorization) -> Result<(), ReturnError>,
    changes: &mut Changeset,
    event: fn(ReturnId) -> Event,
) -> Result<ReturnAuthorization, Error> {
    let Versioned {
        value: mut rma,
        version,
    } = rma;
    step(&mut rma)?;
    changes.events.push(event(rma.id));
    changes.update(rma.clone(), version);
    changes.update(give_back(order.value, &rma), order.version);
    Ok(rma)
}

/// The order with the units `rma` asked for but will not receive (rejected, or
/// closed short) no longer counted as asked back.
fn give_back(mut order: Order, rma: &ReturnAuthorization) -> Order {
    for r in &rma.lines {
        if let Some(line) = order.lines.iter_mut().find(|l| l.line_no == r.line_no) {
            let not_coming = r.quantity.saturating_sub(r.received);
            line.return_requested = line.return_requested.saturating_sub(not_coming);
        }
    }
    order
}

#[cfg(test)]
mod tests {
    //! Authorising, rejecting and closing, given a return and its order, with no
    //! store.
    use super::super::fixtures::{at, requested};
    use super::super::{ReturnError, ReturnStatus};
    use super::*;
    use crate::quantity::Quantity;
    use crate::store::Record;

    fn stored<T>(value: T) -> Versioned<T> {
        Versioned { value, version: 3 }
    }

    fn order_put(changes: &Changeset) -> Order {
        changes
            .puts
            .iter()
            .find_map(|p| match &p.record {
                Record::Order(o) => Some(o.clone()),
                _ => None,
            })
            .unwrap()
    }

    #[test]
    fn a_requested_return_is_authorised_once() {
        let (_, rma) = requested();
        let mut changes = Changeset::new(at());
        let rma = authorise(stored(rma), &mut changes).unwrap();
        assert_eq!(rma.status, ReturnStatus::Authorised);
        assert_eq!(
            changes.events,
            vec![Event::ReturnAuthorised { rma: rma.id }]
        );
        assert_eq!(changes.puts[0].expected, Some(3));
        let again = authorise(stored(rma.clone()), &mut Changeset::new(at())).unwrap_err();
        assert!(matches!(
            again,
            Error::Return(ReturnError::InvalidTransition {
                status: ReturnStatus::Authorised,
                action: "authorise",
                ..
            })
        ));
    }

    #[test]
    fn rejecting_gives_the_units_back_to_ask_again() {
        // Given a return of one of two delivered mugs
        let (order, rma) = requested();
        assert_eq!(order.lines[0].return_requested, Quantity::new(1));
        // When it is rejected
        let mut changes = Changeset::new(at());
        let rma = reject(stored(rma), stored(order), &mut changes).unwrap();
        // Then the order no longer counts the mug asked back
        assert_eq!(rma.status, ReturnStatus::Rejected);
        assert_eq!(
            order_put(&changes).lines[0].return_requested,
            Quantity::ZERO
        );
        assert!(
            changes
                .events
                .contains(&Event::ReturnRejected { rma: rma.id })
        );
    }

    #[test]
    fn closing_short_gives_back_only_what_did_not_come() {
        // Given a return of two mugs, one received
        let (mut order, mut rma) = requested();
        order.lines[0].return_requested = Quantity::new(2);
        rma.lines[0].quantity = Quantity::new(2);
        rma.authorise().unwrap();
        rma.receive(1, Quantity::new(1)).unwrap();
        // When it is closed
        let mut changes = Changeset::new(at());
        let rma = close(stored(rma), stored(order), &mut changes).unwrap();
        // Then the one that did not come can be asked back again
        assert_eq!(rma.status, ReturnStatus::Closed);
        assert_eq!(
            order_put(&changes).lines[0].return_requested,
            Quantity::new(1)
        );
    }

    #[test]
    fn a_return_with_goods_in_cannot_be_rejected_nor_an_open_one_closed() {
        let (order, mut rma) = requested();
        let closing = close(
            stored(rma.clone()),
            stored(order.clone()),
            &mut Changeset::new(at()),
        );
        assert!(matches!(
            closing,
            Err(Error::Return(ReturnError::InvalidTransition {
                action: "close",
                ..
            }))
        ));
        rma.authorise().unwrap();
        rma.receive(1, Quantity::new(1)).unwrap();
        let mut changes = Changeset::new(at());
        assert!(matches!(
            reject(stored(rma), stored(order), &mut changes),
            Err(Error::Return(ReturnError::InvalidTransition {
                status: ReturnStatus::Received,
                action: "reject",
                ..
            }))
        ));
        assert!(changes.is_empty());
    }
}
