//! The changes one by one: a line added, a line's units set or removed, a new
//! ship-to — applied to the working copy, with what they do to stock noted for
//! later.

use super::Amending;
use super::retax::{price_new_lines, tax_rate};
use crate::customer::Address;
use crate::error::Error;
use crate::order::{Delivery, LineRequest, MAX_LINES, Order, OrderError, OrderLine};
use crate::quantity::Quantity;

/// Where line `line_no` and the lines grown from it are, oldest first.
fn family(order: &Order, line_no: u16) -> Vec<usize> {
    order
        .lines
        .iter()
        .enumerate()
        .filter(|(_, l)| l.line_no == line_no || l.grown_from == Some(line_no))
        .map(|(at, _)| at)
        .collect()
}

/// Σ `units` over the lines at `family`.
fn sum_of(order: &Order, family: &[usize], units: fn(&OrderLine) -> Quantity) -> u32 {
    family
        .iter()
        .filter_map(|at| order.lines.get(*at))
        .map(|l| units(l).units())
        .fold(0, u32::saturating_add)
}

/// True while nothing of a line is invoiced, shipped or cancelled: its price may
/// still change in place.
pub(super) fn untouched(line: &OrderLine) -> bool {
    line.invoiced.is_zero() && line.shipped.is_zero() && line.cancelled.is_zero()
}

/// Adds a line, priced like a new order's line.
pub(super) fn add_line(work: &mut Amending<'_>, req: &LineRequest) -> Result<(), Error> {
    let line_no = next_line_no(&work.order)?;
    let priced = price_new_lines(
        &work.order,
        std::slice::from_ref(req),
        &work.inputs.products,
        work.tax(),
        &work.country,
    )
    .map_err(|e| renumber(e, line_no))?;
    let mut line = priced.into_iter().next().ok_or(OrderError::Empty)?;
    line.line_no = line_no;
    let units = line.quantity.units();
    work.order.lines.push(line);
    work.demand.push((work.order.lines.len() - 1, units));
    work.lines.push(line_no);
    Ok(())
}

/// Removes what has not shipped of line `line_no` (and the lines grown from it):
/// sets its units to what shipped.
pub(super) fn remove_line(work: &mut Amending<'_>, line_no: u16) -> Result<(), Error> {
    let family = family(&work.order, line_no);
    let shipped = sum_of(&work.order, &family, |l| l.shipped);
    set_quantity(work, line_no, i64::from(shipped))
}

/// Sets the units a line is for, counting the lines grown from it (see
/// [`OrderLine::grown_from`]): never below what they shipped. A line nothing of
/// which is invoiced or shipped is re-priced in place; units cut from one that is
/// are cancelled (and credited if invoiced), newest line first; units added to
/// one that is go to a line grown from it.
pub(super) fn set_quantity(
    work: &mut Amending<'_>,
    line_no: u16,
    quantity: i64,
) -> Result<(), Error> {
    if !work.order.lines.iter().any(|l| l.line_no == line_no) {
        return Err(OrderError::UnknownLine(line_no).into());
    }
    let asked =
        u32::try_from(quantity)
            .map(Quantity::new)
            .map_err(|_| OrderError::InvalidQuantity {
                line: line_no,
                quantity,
            })?;
    let family = family(&work.order, line_no);
    let shipped = sum_of(&work.order, &family, |l| l.shipped);
    if asked.units() < shipped {
        return Err(OrderError::AmendsShippedUnits {
            line: line_no,
            shipped: Quantity::new(shipped),
            asked: quantity,
        }
        .into());
    }
    let before = sum_of(&work.order, &family, OrderLine::wanted);
    if asked.units() > before {
        grow(work, line_no, &family, asked.units() - before)?;
    } else {
        for at in family.iter().rev() {
            let Some(line) = work.order.lines.get(*at) else {
                continue;
            };
            let kept = sum_of(&work.order, &family, OrderLine::wanted);
            let cut = kept
                .saturating_sub(asked.units())
                .min(line.wanted().saturating_sub(line.shipped).units());
            if cut > 0 {
                self::cut(work, *at, cut)?;
            }
        }
    }
    if !work.lines.contains(&line_no) {
        work.lines.push(line_no);
    }
    Ok(())
}

/// Adds `extra` units to line `line_no`'s family: in place on its newest member
/// nothing of which is invoiced or shipped, else on a new line grown from it,
/// at the same unit price and discount per unit, taxed for where it goes now.
fn grow(work: &mut Amending<'_>, line_no: u16, family: &[usize], extra: u32) -> Result<(), Error> {
    let open = family.iter().rev().copied().find(|at| {
        work.order
            .lines
            .get(*at)
            .is_some_and(|l| untouched(l) && !l.quantity.is_zero())
    });
    if let Some(at) = open {
        if let Some(line) = work.order.lines.get_mut(at) {
            let grown = line.quantity.saturating_add(Quantity::new(extra));
            line.reprice(grown)?;
            work.demand.push((at, extra));
        }
        return Ok(());
    }
    let Some(first) = family.first().and_then(|at| work.order.lines.get(*at)) else {
        return Err(OrderError::UnknownLine(line_no).into());
    };
    let rate = tax_rate(work.tax(), &work.inputs.products, &first.sku, &work.country)?;
    let extra = Quantity::new(extra);
    let grown = OrderLine {
        grown_from: Some(line_no),
        unit_discount: Some(first.discount_per_unit()),
        ..OrderLine::new(
            next_line_no(&work.order)?,
            first.sku.clone(),
            first.description.clone(),
            extra,
            first.unit_price,
            first.retaxed(rate)?.repriced(extra)?,
            rate,
        )
    };
    work.lines.push(grown.line_no);
    work.order.lines.push(grown);
    work.demand
        .push((work.order.lines.len() - 1, extra.units()));
    Ok(())
}

/// Takes `units` unshipped units off line `at`: in place while nothing of it is
/// invoiced or shipped and some remains; otherwise by cancelling them, crediting
/// those invoiced (the line's last wanted units).
fn cut(work: &mut Amending<'_>, at: usize, units: u32) -> Result<(), Error> {
    super::stock::take_units(work, at, units)?;
    let Some(line) = work.order.lines.get_mut(at) else {
        return Ok(());
    };
    let before = line.wanted();
    let after = before.saturating_sub(Quantity::new(units));
    if untouched(line) && !after.is_zero() {
        line.reprice(after)?;
        return Ok(());
    }
    let invoiced_cut = line.invoiced.min(before).saturating_sub(after);
    line.cancelled = line.cancelled.saturating_add(Quantity::new(units));
    let line_no = line.line_no;
    credit(work, line_no, invoiced_cut);
    Ok(())
}

/// Notes `units` invoiced units of line `line_no` to credit.
pub(super) fn credit(work: &mut Amending<'_>, line_no: u16, units: Quantity) {
    if units.is_zero() {
        return;
    }
    match work.credits.iter_mut().find(|(l, _)| *l == line_no) {
        Some((_, sum)) => *sum = sum.saturating_add(units),
        None => work.credits.push((line_no, units)),
    }
}

/// Points a new ship-to address at what has not shipped yet (re-taxed once every
/// change is applied).
pub(super) fn ship_to(work: &mut Amending<'_>, address: &Address) -> Result<(), Error> {
    let Delivery::Ship { service, .. } = &work.order.delivery else {
        return Err(OrderError::PickupHasNoAddress.into());
    };
    // Its country was checked with every other ship-to (`final_country`).
    if work.order.lines.iter().all(|l| l.shipped >= l.wanted()) {
        return Err(OrderError::EverythingShipped.into());
    }
    work.order.delivery = Delivery::Ship {
        address: std::sync::Arc::new(address.clone()),
        service: *service,
    };
    work.ship_to_changed = true;
    Ok(())
}

/// The number the next line of `order` gets.
pub(super) fn next_line_no(order: &Order) -> Result<u16, OrderError> {
    let last = order.lines.iter().map(|l| l.line_no).max().unwrap_or(0);
    let next = last.checked_add(1).filter(|n| usize::from(*n) <= MAX_LINES);
    next.ok_or(OrderError::TooManyLines {
        max: MAX_LINES,
        got: order.lines.len().saturating_add(1),
    })
}

/// A pricing error for a one-line order, told about the line it will become.
fn renumber(error: OrderError, line_no: u16) -> OrderError {
    match error {
        OrderError::InvalidQuantity { quantity, .. } => OrderError::InvalidQuantity {
            line: line_no,
            quantity,
        },
        OrderError::NegativePrice { .. } => OrderError::NegativePrice { line: line_no },
        OrderError::InvalidDiscount {
            line: Some(_),
            reason,
        } => OrderError::InvalidDiscount {
            line: Some(line_no),
            reason,
        },
        other => other,
    }
}
