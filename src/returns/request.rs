//! Asking for a return or an exchange, decided: which order lines come back, how
//! many units each may, and — for an exchange — whether the replacement can be
//! priced.

use serde::{Deserialize, Serialize};

use super::{ReturnAuthorization, ReturnError, ReturnLine, ReturnReason, ReturnStatus};
use crate::catalog::{Product, Products, TaxTable};
use crate::decide::Context;
use crate::error::Error;
use crate::event::Event;
use crate::ids::{IdempotencyKey, OrderId, ReturnId};
use crate::order::{Delivery, LineRequest, Order, OrderInputs, OrderLine, PlaceOrder, price_lines};
use crate::quantity::Quantity;
use crate::stock::Location;
use crate::store::{Changeset, Entity, Fetched, Prefetch, RecordKey, Versioned};

/// The command to ask for a return of delivered goods.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct RequestReturn {
    /// Same key, same return.
    pub idempotency_key: IdempotencyKey,
    /// The order the goods came on.
    pub order: OrderId,
    /// Units per order line, and why.
    pub lines: Vec<(u16, Quantity, ReturnReason)>,
}

crate::with_setters!(RequestReturn {
    with_idempotency_key => idempotency_key: IdempotencyKey,
    with_order => order: OrderId,
    with_lines => lines: Vec<(u16, Quantity, ReturnReason)>,
});

impl RequestReturn {
    /// A return from `order`, with nothing on it yet: add
    /// [`RequestReturn::line`]s.
    pub fn new(key: IdempotencyKey, order: OrderId) -> Self {
        Self {
            idempotency_key: key,
            order,
            lines: Vec::new(),
        }
    }

    /// Asks back `units` of order line `line_no`, for `reason`.
    #[must_use]
    pub fn line(mut self, line_no: u16, units: u32, reason: ReturnReason) -> Self {
        self.lines.push((line_no, Quantity::new(units), reason));
        self
    }

    /// An exchange of these goods, with nothing to send instead yet: add
    /// [`RequestExchange::replacement`] lines.
    pub fn exchange(self) -> RequestExchange {
        RequestExchange {
            goods_back: self,
            replacement: Vec::new(),
        }
    }
}

/// The command to exchange delivered goods: a return whose replacement is placed
/// as a new order once everything asked back is received.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct RequestExchange {
    /// The return: same key, same exchange.
    pub goods_back: RequestReturn,
    /// What to send instead (the same SKU or another), priced like a new order's
    /// lines when the replacement is placed.
    pub replacement: Vec<LineRequest>,
}

crate::with_setters!(RequestExchange {
    with_goods_back => goods_back: RequestReturn,
    with_replacement => replacement: Vec<LineRequest>,
});

impl RequestExchange {
    /// Sends `quantity` of `sku` instead.
    #[must_use]
    pub fn replacement(mut self, sku: crate::ids::Sku, quantity: i64) -> Self {
        self.replacement.push(LineRequest::new(sku, quantity));
        self
    }
}

/// What asking for a return reads before deciding.
pub(crate) struct RequestReads;

impl RequestReads {
    /// The order `cmd` names and, for an exchange, what prices its `replacement`:
    /// the products, the tax table and every location (a pickup order is taxed
    /// where its store is).
    pub(crate) fn prefetch(cmd: &RequestReturn, replacement: &[LineRequest]) -> Prefetch {
        let request = Prefetch::new().record::<Order>(&cmd.order);
        if replacement.is_empty() {
            return request;
        }
        replacement.iter().fold(
            request.record::<TaxTable>(&()).every::<Location>(),
            |request, line| request.record::<Product>(&line.sku),
        )
    }

    /// What prices `replacement`, from what [`RequestReads::prefetch`] read
    /// (nothing, for a plain return).
    pub(crate) fn prices(
        replacement: &[LineRequest],
        mut fetched: Fetched,
    ) -> OrderInputs<'static> {
        let mut products = Products::default();
        for line in replacement {
            // Unknown SKUs are left out: pricing reports them.
            if !products.contains_key(&line.sku)
                && let Some(p) = fetched.take::<Product>(&line.sku)
            {
                products.insert(p.value);
            }
        }
        OrderInputs::taking(products, &mut fetched)
    }
}

/// Decides a return of `cmd`'s lines of `order` (read at its version), with
/// `replacement` to send instead for an exchange (empty for a plain return),
/// priced against `prices` to check it. Puts the return (numbered by the store),
/// its event and the order, which now counts the units as asked back; returns
/// the return as it will be stored, before its number.
///
/// Only delivered units can come back, and never more than were delivered less
/// those already on a return that was not rejected.
///
/// # Errors
/// [`ReturnError::Empty`] for no lines, a line of no units or a line twice;
/// [`ReturnError::NotOnOrder`]; [`ReturnError::NotReturnable`]; for a
/// replacement, as [`price_replacement`].
pub(crate) fn request(
    cmd: &RequestReturn,
    replacement: &[LineRequest],
    order: Versioned<Order>,
    prices: &OrderInputs,
    ctx: &Context<'_>,
    changes: &mut Changeset,
) -> Result<ReturnAuthorization, Error> {
    let Versioned {
        value: mut order,
        version,
    } = order;
    if cmd.lines.is_empty() {
        return Err(ReturnError::Empty.into());
    }
    let mut lines = Vec::with_capacity(cmd.lines.len());
    for (n, (line_no, units, reason)) in cmd.lines.iter().enumerate() {
        if units.is_zero() || cmd.lines.iter().take(n).any(|(l, _, _)| l == line_no) {
            return Err(ReturnError::Empty.into());
        }
        let line = order
            .lines
            .iter_mut()
            .find(|l| l.line_no == *line_no)
            .ok_or(ReturnError::NotOnOrder { line_no: *line_no })?;
        let returnable = line.delivered.saturating_sub(line.return_requested);
        let refused = ReturnError::NotReturnable {
            line_no: *line_no,
            returnable,
            requested: *units,
        };
        if *units > returnable {
            return Err(refused.into());
        }
        // At most what was delivered: the sum cannot overflow, and says so if it did.
        line.return_requested = line.return_requested.checked_add(*units).ok_or(refused)?;
        lines.push(ReturnLine {
            line_no: *line_no,
            sku: line.sku.clone(),
            quantity: *units,
            received: Quantity::ZERO,
            reason: *reason,
            restocked: Quantity::ZERO,
            cost_returned: None,
            cost_written_off: None,
        });
    }
    if !replacement.is_empty() {
        price_replacement(&order, replacement, prices)?;
    }
    let rma = ReturnAuthorization {
        id: ctx.id(ReturnId::from_uuid),
        number: None,
        order: order.id,
        customer: order.customer,
        invoices: order.invoices.clone(),
        lines,
        status: ReturnStatus::Requested,
        requested_at: ctx.now,
        replacement: replacement.to_vec(),
        replacement_order: None,
        credit_given: None,
    };
    changes.events.push(Event::ReturnRequested {
        rma: rma.id,
        // The store numbers it in the commit, here too.
        number: None,
        order: order.id,
    });
    changes.insert(rma.clone());
    changes.number(RecordKey::Return(rma.id));
    changes.update(order, version);
    Ok(rma)
}

/// Prices `requests` as new lines of `order` would be: the catalogue price
/// unless given, tax for the country the order's goods go to, no order discount.
/// Checks a replacement; writes nothing.
///
/// # Errors
/// [`Error::Order`] for a line that cannot be priced (unknown or inactive SKU,
/// bad quantity, another currency, no tax rate, ...); [`Error::NotFound`] for a
/// pickup store `prices` does not hold.
pub(crate) fn price_replacement(
    order: &Order,
    requests: &[LineRequest],
    prices: &OrderInputs,
) -> Result<Vec<OrderLine>, Error> {
    let country = match &order.delivery {
        Delivery::Ship { address, .. } => address.country.clone(),
        Delivery::Pickup { location } => prices
            .locations
            .iter()
            .find(|l| &l.id == location)
            .map(|l| l.address.country.clone())
            .ok_or_else(|| Error::dangling(Location::kind(), location))?,
    };
    let mut pricing = PlaceOrder::new(
        order.idempotency_key.clone(),
        order.customer,
        order.channel,
        order.currency,
    );
    pricing.lines = requests.to_vec();
    Ok(price_lines(
        &pricing,
        |sku| prices.products.get(sku),
        &prices.tax,
        &country,
    )?)
}

#[cfg(test)]
mod tests {
    //! Asking for a return, given a delivered order, with no store.
    use super::super::fixtures::{Books, delivered, empty_prices, prices, return_of};
    use super::*;
    use crate::ids::Sku;
    use crate::order::OrderError;

    #[test]
    fn a_return_of_delivered_units_counts_them_asked_back() {
        // Given an order whose line 1 delivered two mugs
        let books = Books::new();
        let order = delivered();
        let mut changes = Changeset::new(books.ctx().now);
        // When one is asked back
        let rma = request(
            &return_of(&[(1, 1)]),
            &[],
            Versioned {
                value: order.clone(),
                version: 4,
            },
            &empty_prices(),
            &books.ctx(),
            &mut changes,
        )
        .unwrap();
        // Then the return is requested for one mug, names the order's invoices,
        // and the order counts it asked back, at the version read
        assert_eq!(rma.status, ReturnStatus::Requested);
        assert_eq!(
            (rma.lines.len(), rma.lines[0].quantity),
            (1, Quantity::new(1))
        );
        assert_eq!(rma.invoices, order.invoices);
        assert!(rma.replacement.is_empty());
        assert_eq!(changes.numbered, vec![RecordKey::Return(rma.id)]);
        let put_order = changes
            .puts
            .iter()
            .find_map(|p| match &p.record {
                crate::store::Record::Order(o) => Some((o.clone(), p.expected)),
                _ => None,
            })
            .unwrap();
        assert_eq!(put_order.0.lines[0].return_requested, Quantity::new(1));
        assert_eq!(put_order.1, Some(4));
        assert!(matches!(
            changes.events.as_slice(),
            [Event::ReturnRequested { order: o, .. }] if *o == order.id
        ));
    }

    fn refused(cmd: &RequestReturn, order: Order) -> Error {
        let books = Books::new();
        let mut changes = Changeset::new(books.ctx().now);
        let refused = request(
            cmd,
            &[],
            Versioned {
                value: order,
                version: 1,
            },
            &empty_prices(),
            &books.ctx(),
            &mut changes,
        )
        .unwrap_err();
        assert!(changes.is_empty(), "a refusal changes nothing");
        refused
    }

    #[test]
    fn more_than_was_delivered_is_refused() {
        // Given two mugs delivered, one of them already asked back
        let mut order = delivered();
        order.lines[0].return_requested = Quantity::new(1);
        // When two are asked back, then only one can be
        assert!(matches!(
            refused(&return_of(&[(1, 2)]), order),
            Error::Return(ReturnError::NotReturnable {
                line_no: 1,
                returnable,
                requested,
            }) if returnable == Quantity::new(1) && requested == Quantity::new(2)
        ));
    }

    #[test]
    fn a_line_the_order_lacks_is_refused() {
        assert!(matches!(
            refused(&return_of(&[(9, 1)]), delivered()),
            Error::Return(ReturnError::NotOnOrder { line_no: 9 })
        ));
    }

    #[test]
    fn units_not_delivered_cannot_come_back() {
        // Given an order whose cups (line 2) were never delivered
        let cups = refused(&return_of(&[(2, 1)]), delivered());
        assert!(matches!(
            cups,
            Error::Return(ReturnError::NotReturnable {
                line_no: 2,
                returnable: Quantity::ZERO,
                requested,
            }) if requested == Quantity::new(1)
        ));
    }

    #[test]
    fn no_lines_a_line_of_nothing_or_a_line_twice_is_empty() {
        for lines in [&[][..], &[(1, 0)], &[(1, 1), (1, 1)]] {
            assert!(matches!(
                refused(&return_of(lines), delivered()),
                Error::Return(ReturnError::Empty)
            ));
        }
    }

    #[test]
    fn an_exchange_keeps_a_replacement_that_prices() {
        let books = Books::new();
        let mut changes = Changeset::new(books.ctx().now);
        let swap = [LineRequest::new(Sku::new("CUP").unwrap(), 2)];
        let rma = request(
            &return_of(&[(1, 1)]),
            &swap,
            Versioned {
                value: delivered(),
                version: 1,
            },
            &prices(),
            &books.ctx(),
            &mut changes,
        )
        .unwrap();
        assert_eq!(rma.replacement, swap.to_vec());
    }

    #[test]
    fn an_exchange_whose_replacement_cannot_be_priced_is_refused() {
        let books = Books::new();
        let mut changes = Changeset::new(books.ctx().now);
        let unknown = Sku::new("HAT").unwrap();
        let refused = request(
            &return_of(&[(1, 1)]),
            &[LineRequest::new(unknown.clone(), 1)],
            Versioned {
                value: delivered(),
                version: 1,
            },
            &prices(),
            &books.ctx(),
            &mut changes,
        )
        .unwrap_err();
        assert!(matches!(refused, Error::Order(OrderError::UnknownSku(s)) if s == unknown));
    }
}
