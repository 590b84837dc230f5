//! Where an amended order goes and what it is taxed at there: new lines priced
//! for the final destination, and what has not shipped re-taxed when a new
//! ship-to crosses a border.

use super::Amending;
use super::lines::{credit, next_line_no, untouched};
use crate::catalog::{Products, TaxTable};
use crate::error::Error;
use crate::ids::Sku;
use crate::order::{
    Amendment, Delivery, LineRequest, Order, OrderError, OrderLine, PlaceOrder, price_lines,
};
use crate::quantity::Quantity;
use crate::stock::Location;
use crate::store::Entity;
use rust_decimal::Decimal;

/// Taxes what has not shipped at the rate of the country the order now goes
/// to (a new ship-to crossed a border). A line nothing of which is invoiced or
/// shipped is re-taxed in place. Any other keeps its price for what it billed or
/// shipped: its open units move, with their reservations and their place in the
/// back-order queue, to a line grown from it at the new rate, and any of them
/// already invoiced are credited (the grown line is invoiced afresh).
pub(super) fn retax(work: &mut Amending<'_>) -> Result<(), Error> {
    for at in 0..work.order.lines.len() {
        let Some(line) = work.order.lines.get(at) else {
            continue;
        };
        let open = line.wanted().saturating_sub(line.shipped);
        if open.is_zero() {
            continue;
        }
        let rate = tax_rate(work.tax(), &work.inputs.products, &line.sku, &work.country)?;
        if rate == line.tax_rate {
            continue;
        }
        let line_no = line.line_no;
        if untouched(line) {
            let retaxed = line.retaxed(rate)?;
            if let Some(slot) = work.order.lines.get_mut(at) {
                *slot = retaxed;
            }
        } else {
            move_open_units(work, at, open, rate)?;
        }
        if !work.lines.contains(&line_no) {
            work.lines.push(line_no);
        }
    }
    Ok(())
}

/// Moves line `at`'s `open` units (all it has not shipped) to a new line grown
/// from it, taxed at `rate`: the old line keeps what shipped and cancels the
/// rest, crediting what of that was invoiced.
fn move_open_units(
    work: &mut Amending<'_>,
    at: usize,
    open: Quantity,
    rate: Decimal,
) -> Result<(), Error> {
    let order_id = work.order.id;
    let to = next_line_no(&work.order)?;
    let Some(line) = work.order.lines.get_mut(at) else {
        return Ok(());
    };
    let before = line.wanted();
    let invoiced_cut = line
        .invoiced
        .min(before)
        .saturating_sub(before.saturating_sub(open));
    let mut moved = OrderLine {
        grown_from: Some(line.grown_from.unwrap_or(line.line_no)),
        unit_discount: Some(line.discount_per_unit()),
        ..OrderLine::new(
            to,
            line.sku.clone(),
            line.description.clone(),
            open,
            line.unit_price,
            line.retaxed(rate)?.repriced(open)?,
            rate,
        )
    };
    moved.reservations = std::mem::take(&mut line.reservations);
    moved.backordered = std::mem::replace(&mut line.backordered, Quantity::ZERO);
    moved.promised_on = line.promised_on.take();
    line.cancelled = line.cancelled.saturating_add(open);
    let (from, sku) = (line.line_no, line.sku.clone());
    if !moved.backordered.is_zero() {
        work.touched.queue_mut(&sku)?.move_line(order_id, from, to);
    }
    credit(work, from, invoiced_cut);
    work.moved.push((from, to, invoiced_cut));
    work.order.lines.push(moved);
    work.lines.push(to);
    Ok(())
}

/// Prices `requests` as new lines of `order` from `products`: the catalogue
/// price unless given, tax for `country`, no order discount. Checks them without
/// changing anything (an amendment's added line, an exchange's replacement).
///
/// # Errors
/// The pricing errors of [`price_lines`].
pub(crate) fn price_new_lines(
    order: &Order,
    requests: &[LineRequest],
    products: &Products,
    tax: &TaxTable,
    country: &str,
) -> Result<Vec<OrderLine>, OrderError> {
    let mut pricing = PlaceOrder::new(
        order.idempotency_key.clone(),
        order.customer,
        order.channel,
        order.currency,
    );
    pricing.lines = requests.to_vec();
    price_lines(&pricing, |sku| products.get(sku), tax, country)
}

/// The country an order's goods go to: the ship-to's, or the pickup store's
/// (among `locations`).
///
/// # Errors
/// [`Error::NotFound`] for a pickup store not among `locations`.
pub(crate) fn destination_country(
    delivery: &Delivery,
    locations: &[Location],
) -> Result<std::sync::Arc<str>, Error> {
    Ok(match delivery {
        Delivery::Ship { address, .. } => address.country.clone(),
        Delivery::Pickup { location } => locations
            .iter()
            .find(|l| &l.id == location)
            .ok_or_else(|| Error::unknown_reference(Location::kind(), location))?
            .address
            .country
            .clone(),
    })
}

/// The rate `sku` is taxed at in `country`.
pub(super) fn tax_rate(
    tax: &TaxTable,
    products: &Products,
    sku: &Sku,
    country: &str,
) -> Result<Decimal, OrderError> {
    let product = products
        .get(sku)
        .ok_or_else(|| OrderError::UnknownSku(sku.clone()))?;
    tax.rate_for(&product.tax_class, country)
        .ok_or_else(|| OrderError::NoTaxRate {
            class: product.tax_class.clone(),
            country: country.to_owned(),
        })
}

/// The country the last of `changes`' new ship-to addresses is in, if any, once
/// each is checked to name a valid one.
pub(super) fn final_country(
    delivery: &Delivery,
    changes: &[Amendment],
) -> Result<Option<std::sync::Arc<str>>, Error> {
    if matches!(delivery, Delivery::Pickup { .. }) {
        return Ok(None); // a ship-to is refused in turn
    }
    let mut last = None;
    for change in changes {
        if let Amendment::ShipTo { address } = change {
            if !address.has_valid_country() {
                return Err(OrderError::InvalidCountry(address.country.to_string()).into());
            }
            last = Some(address.country.clone());
        }
    }
    Ok(last)
}
