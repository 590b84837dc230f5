//! An order's side of a third-party warehouse: units released to it, and units
//! it reports shipped or gives back.

use chrono::{DateTime, Utc};

use super::{Release, ReleaseLine, ThirdPartyError};
use crate::error::Error;
use crate::event::Event;
use crate::ids::{IdempotencyKey, LocationId};
use crate::order::{Order, OrderAction, OrderError, transition};
use crate::purchasing::BackOrderPolicy;
use crate::quantity::Quantity;
use crate::stock::{Location, LocationKind};
use crate::store::Changeset;

/// Releases every unit of `order` reserved at `site` and not released yet, as
/// the release `key`: the units become the warehouse's to ship. Refused as
/// `ship` would refuse it (a hold, an order that ships whole still waiting, a
/// cancelled or completed order), and for a site that is no third-party
/// warehouse or holds nothing more to release.
///
/// # Errors
/// [`Error::ThirdParty`] with `NotThirdParty` or `NothingToRelease`;
/// [`Error::Order`] with `OnHold`, `AwaitingBackOrder` or `InvalidTransition`.
pub(crate) fn release(
    order: &mut Order,
    site: &Location,
    key: &IdempotencyKey,
    now: DateTime<Utc>,
    changes: &mut Changeset,
) -> Result<Release, Error> {
    if site.kind != LocationKind::ThirdParty {
        return Err(ThirdPartyError::NotThirdParty {
            location: site.id.clone(),
        }
        .into());
    }
    order.ensure_not_held()?;
    transition(order.status, OrderAction::Ship)?;
    if order.back_order == BackOrderPolicy::BackOrder && order.backordered_units() > 0 {
        return Err(OrderError::AwaitingBackOrder {
            units: order.backordered_units(),
        }
        .into());
    }
    let mut lines = Vec::new();
    for line in order.lines.to_mut() {
        let Some(held) = line.reservations.iter_mut().find(|r| r.location == site.id) else {
            continue;
        };
        let units = held.unreleased();
        if units.is_zero() {
            continue;
        }
        held.released = held.quantity;
        lines.push(ReleaseLine {
            line_no: line.line_no,
            sku: line.sku.clone(),
            quantity: units,
        });
    }
    if lines.is_empty() {
        return Err(ThirdPartyError::NothingToRelease {
            order: order.id,
            location: site.id.clone(),
        }
        .into());
    }
    changes.events.push(Event::OrderReleased {
        order: order.id,
        location: site.id.clone(),
        release: key.clone(),
        lines: lines.clone(),
    });
    Ok(Release {
        key: key.clone(),
        order: order.id,
        location: site.id.clone(),
        lines,
        delivery: order.delivery.clone(),
        released_at: now,
    })
}

/// Takes the units a report names back from what `order` released at
/// `location`: they are no longer the warehouse's to ship. Returns each as
/// (line index, units), in the report's order.
///
/// # Errors
/// [`ThirdPartyError::NotReleased`] for a line the order does not have, of
/// another SKU, or with fewer units released there than reported: nothing of
/// the order is changed then.
pub(crate) fn take_back(
    order: &mut Order,
    location: &LocationId,
    reported: &[ReleaseLine],
) -> Result<Vec<(usize, Quantity)>, ThirdPartyError> {
    let not_released =
        |line_no: u16, released: Quantity, units: Quantity| ThirdPartyError::NotReleased {
            order: order.id,
            location: location.clone(),
            line_no,
            released: u64::from(released.units()),
            reported: u64::from(units.units()),
        };
    // Checked whole before anything changes.
    let mut taken = Vec::with_capacity(reported.len());
    for r in reported {
        let found = order
            .lines
            .iter()
            .enumerate()
            .find(|(_, l)| l.line_no == r.line_no && l.sku == r.sku);
        let released = found
            .and_then(|(_, l)| l.reservations.iter().find(|h| &h.location == location))
            .map_or(Quantity::ZERO, |h| h.released);
        match found {
            Some((index, _)) if released >= r.quantity => taken.push((index, r.quantity)),
            _ => return Err(not_released(r.line_no, released, r.quantity)),
        }
    }
    let lines = order.lines.to_mut();
    for (index, units) in &taken {
        let held = lines
            .get_mut(*index)
            .and_then(|l| l.reservations.iter_mut().find(|h| &h.location == location));
        if let Some(held) = held {
            held.released = held.released.saturating_sub(*units);
        }
    }
    Ok(taken)
}
