//! A third-party warehouse's stock: its counts reconciled into adjustments, and
//! shipments reported after a count that already saw them put back.

use super::{CountResult, CountedStock, Late, ThirdPartyFeed, reconcile};
use crate::catalog::Product;
use crate::decide::Context;
use crate::error::Error;
use crate::event::Event;
use crate::ids::{IdempotencyKey, LocationId};
use crate::purchasing::Backlog;
use crate::stock::{
    AdjustStock, Location, StockCommand, StockLevel, change_stock, record_correction,
};
use crate::store::{Changeset, Entity, Fetched};

/// Compares a count (`message`, taken `as_of`) with o2c's on-hand (`levels`)
/// and moves `feed` on to it; the adjustments are posted by [`post_count`].
pub(crate) fn count(
    feed: &mut ThirdPartyFeed,
    as_of: u64,
    counts: &[CountedStock],
    levels: &[StockLevel],
    changes: &mut Changeset,
) -> CountResult {
    let differences = reconcile(feed, as_of, counts, levels);
    let applied = differences.is_some();
    let differences = differences.unwrap_or_default();
    changes.events.push(Event::StockCounted {
        location: feed.location.clone(),
        as_of,
        applied,
        differences: u32::try_from(differences.len()).unwrap_or(u32::MAX),
    });
    CountResult {
        as_of,
        applied,
        differences,
    }
}

/// The reason a count's adjustments give.
fn count_reason(message: &str, as_of: u64) -> String {
    format!("third-party count {message} as of {as_of}")
}

/// Posts each of `counted`'s adjustments at `site` as a stock correction valued
/// at cost, with the message in its reason: units found go to the lines waiting
/// in `backlog` first (it holds the queues of the SKUs found, and their orders).
///
/// # Errors
/// [`Error::NotFound`] for a counted SKU with no product; as
/// [`change_stock`] otherwise.
pub(crate) fn post_count(
    message: &str,
    site: &Location,
    counted: &CountResult,
    fetched: &mut Fetched,
    backlog: &mut Backlog,
    ctx: &Context<'_>,
    changes: &mut Changeset,
) -> Result<(), Error> {
    let reason = count_reason(message, counted.as_of);
    for d in counted.differences.iter().filter(|d| d.adjusted != 0) {
        let product = fetched
            .take::<Product>(&d.sku)
            .ok_or_else(|| Error::not_found(Product::kind(), &d.sku).into_reference())?;
        let level = fetched
            .stock
            .iter()
            .find(|l| l.sku == d.sku && l.location == site.id)
            .cloned()
            .unwrap_or_else(|| StockLevel::empty(d.sku.clone(), site.id.clone()));
        // The key is the message's: `change_stock` does not use it.
        let correction = AdjustStock::new(
            IdempotencyKey::new("third-party-count")?,
            d.sku.clone(),
            site.id.clone(),
            d.adjusted,
            reason.as_str(),
        );
        change_stock(
            StockCommand::Adjust(&correction),
            &product,
            site,
            &level,
            backlog,
            ctx,
            changes,
        )?;
    }
    Ok(())
}

/// Puts back on hand at `location` what a count wrote off for a shipment it
/// already saw, reported late (`message`, at `sequence`): valued at the
/// product's cost, between inventory adjustments and inventory, so the count's
/// loss becomes the shipment's cost of goods. The caller checks the product's
/// version (it read it for the shipment).
///
/// # Errors
/// [`Error::Money`] on overflow; [`Error::Ledger`] if the posting is refused.
pub(crate) fn put_back(
    product: &Product,
    location: &LocationId,
    late: &Late,
    message: &str,
    sequence: u64,
    ctx: &Context<'_>,
    changes: &mut Changeset,
) -> Result<(), Error> {
    let reason = format!("third-party report {message} (sequence {sequence}) already counted");
    let mut value = product.cost.checked_mul_qty(late.units.unsigned_abs())?;
    if late.units < 0 {
        value = -value;
    }
    record_correction(
        &late.sku, location, late.units, &reason, value, ctx, changes,
    )
}
