//! Whether an amendment changed anything: judged on what it decided, the order
//! and the stock, rather than on the changes asked for.

use crate::error::Error;
use crate::order::Order;
use crate::store::Changeset;

/// True if the amendment that decided `amended` and `changes` leaves `stored` as
/// it was: the same order, and stock where it was.
pub(super) fn changes_nothing(
    amended: &Order,
    stored: &Order,
    changes: &Changeset,
) -> Result<bool, Error> {
    Ok(same_order(amended, stored) && moves_no_stock(changes)?)
}

/// True if the amended order is the stored one again. Re-pricing a line in place
/// writes down the discount per unit it scales from, which a line as placed
/// leaves to be worked out from its amounts: the same value in another form, so
/// it is compared by value.
fn same_order(amended: &Order, stored: &Order) -> bool {
    let explicit = |order: &Order| {
        let mut order = order.clone();
        for line in &mut order.lines {
            line.unit_discount = Some(line.discount_per_unit());
        }
        order
    };
    amended.lines.len() == stored.lines.len() && explicit(amended) == explicit(stored)
}

/// True if the changes leave stock as it was: whatever they released they
/// reserved again at the same place (units cut and added back). Units a cut freed
/// for another order's back-order do not net out: that order gained them.
fn moves_no_stock(changes: &Changeset) -> Result<bool, Error> {
    let deltas = changes.stock_deltas()?;
    Ok(changes.movements.is_empty() && deltas.iter().all(|d| d.on_hand == 0 && d.reserved == 0))
}
