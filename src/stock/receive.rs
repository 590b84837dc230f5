//! Receiving goods at a location and correcting on-hand after a count: the two
//! commands that change on-hand directly.

use serde::{Deserialize, Serialize};

use super::{Location, MovementReason, StockError, StockLevel, StockMovement};
use crate::catalog::Product;
use crate::decide::Context;
use crate::error::Error;
use crate::event::Event;
use crate::ids::{EntryId, IdempotencyKey, LocationId, Sku};
use crate::purchasing::Backlog;
use crate::quantity::Quantity;
use crate::store::{Changeset, IdempotencyScope, RecordKey, Versioned};

/// Goods arrived at a location.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct ReceiveStock {
    /// Same key, same receipt: a retried delivery note is counted once.
    pub idempotency_key: IdempotencyKey,
    /// The SKU.
    pub sku: Sku,
    /// Where.
    pub location: LocationId,
    /// Units received (positive).
    pub quantity: i64,
    /// The delivery note or purchase order.
    pub reference: String,
}

crate::with_setters!(ReceiveStock {
    with_idempotency_key => idempotency_key: IdempotencyKey,
    with_sku => sku: Sku,
    with_location => location: LocationId,
    with_quantity => quantity: i64,
    with_reference => reference: String,
});

impl ReceiveStock {
    /// `quantity` units of `sku` received at `location`, with no reference.
    pub fn new(key: IdempotencyKey, sku: Sku, location: LocationId, quantity: i64) -> Self {
        Self {
            idempotency_key: key,
            sku,
            location,
            quantity,
            reference: String::new(),
        }
    }

    /// The delivery note or purchase order it came on.
    #[must_use]
    pub fn reference(mut self, reference: impl Into<String>) -> Self {
        self.reference = reference.into();
        self
    }
}

/// A correction of on-hand after a count, damage or a find.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct AdjustStock {
    /// Same key, same adjustment.
    pub idempotency_key: IdempotencyKey,
    /// The SKU.
    pub sku: Sku,
    /// Where.
    pub location: LocationId,
    /// Signed change of on-hand (not zero).
    pub delta: i64,
    /// Why.
    pub reason: String,
}

crate::with_setters!(AdjustStock {
    with_idempotency_key => idempotency_key: IdempotencyKey,
    with_sku => sku: Sku,
    with_location => location: LocationId,
    with_delta => delta: i64,
    with_reason => reason: String,
});

impl AdjustStock {
    /// On-hand of `sku` at `location` changed by `delta`, for `reason`.
    pub fn new(
        key: IdempotencyKey,
        sku: Sku,
        location: LocationId,
        delta: i64,
        reason: impl Into<String>,
    ) -> Self {
        Self {
            idempotency_key: key,
            sku,
            location,
            delta,
            reason: reason.into(),
        }
    }
}

/// The two commands that change on-hand directly share one decision.
#[derive(Debug, Clone, Copy)]
pub(crate) enum StockCommand<'a> {
    /// Goods in.
    Receive(&'a ReceiveStock),
    /// A correction.
    Adjust(&'a AdjustStock),
}

impl StockCommand<'_> {
    /// Refuses a command no stock could ever satisfy, before anything is read.
    ///
    /// # Errors
    /// [`Error::Invalid`] for a receipt that is not positive or more than
    /// `u32::MAX` units, or a correction of more than `u32::MAX` units either way;
    /// [`Error::Stock`] with [`StockError::ZeroChange`] for a zero correction.
    pub(crate) fn check(&self) -> Result<(), Error> {
        match self {
            StockCommand::Receive(c) => {
                if c.quantity <= 0 || c.quantity > i64::from(u32::MAX) {
                    return Err(Error::invalid(
                        "quantity",
                        format!("must be between 1 and {}, got {}", u32::MAX, c.quantity),
                    ));
                }
            }
            StockCommand::Adjust(c) => {
                if c.delta == 0 {
                    return Err(StockError::ZeroChange.into());
                }
                // Beyond this, on-hand could overflow in the store's guard, which
                // would be retried as a lost race and end as `Contention` instead
                // of a clear refusal.
                if c.delta.unsigned_abs() > u64::from(u32::MAX) {
                    return Err(Error::invalid(
                        "delta",
                        format!(
                            "must be at most {} units either way, got {}",
                            u32::MAX,
                            c.delta
                        ),
                    ));
                }
            }
        }
        Ok(())
    }

    /// The command's idempotency scope and key.
    /// The command's name, for its trace.
    pub(crate) fn name(&self) -> &'static str {
        match self {
            StockCommand::Receive(_) => "receive_stock",
            StockCommand::Adjust(_) => "adjust_stock",
        }
    }

    pub(crate) fn key(&self) -> (IdempotencyScope, &IdempotencyKey) {
        match self {
            StockCommand::Receive(c) => (IdempotencyScope::ReceiveStock, &c.idempotency_key),
            StockCommand::Adjust(c) => (IdempotencyScope::AdjustStock, &c.idempotency_key),
        }
    }

    /// The SKU and location it changes.
    pub(crate) fn place(&self) -> (&Sku, &LocationId) {
        match self {
            StockCommand::Receive(c) => (&c.sku, &c.location),
            StockCommand::Adjust(c) => (&c.sku, &c.location),
        }
    }

    /// The signed change of on-hand.
    pub(crate) fn delta(&self) -> i64 {
        match self {
            StockCommand::Receive(c) => c.quantity,
            StockCommand::Adjust(c) => c.delta,
        }
    }
}

/// Changes on-hand of `product` at `location` (its stock as read: `level`) as
/// `cmd` says, valued at the product's cost: a receipt debits inventory and
/// credits goods received not invoiced, a correction posts the difference
/// between inventory and inventory adjustments. Units that arrive go to the lines
/// waiting in `backlog` (which holds the SKU's queue and its orders) before they
/// become free. The cost is checked at commit: a cost change committing first
/// sends the command back.
///
/// # Errors
/// [`Error::Stock`] with [`StockError::BelowReserved`] if on-hand would drop below
/// what is reserved; [`Error::Invalid`] for a receipt too large for a back-order
/// fill; [`Error::Money`] on overflow; [`Error::Ledger`] if a posting is refused.
pub(crate) fn change_stock(
    cmd: StockCommand<'_>,
    product: &Versioned<Product>,
    location: &Location,
    level: &StockLevel,
    backlog: &mut Backlog,
    ctx: &Context<'_>,
    changes: &mut Changeset,
) -> Result<(), Error> {
    let delta = cmd.delta();
    let sku = &product.value.sku;
    if level.on_hand.saturating_add(delta) < level.reserved {
        return Err(StockError::BelowReserved {
            sku: sku.clone(),
            location: location.id.clone(),
            on_hand: level.on_hand,
            reserved: level.reserved,
            delta,
        }
        .into());
    }
    let now = ctx.now;
    let mut value = product.value.cost.checked_mul_qty(delta.unsigned_abs())?;
    if delta < 0 {
        value = -value;
    }
    match cmd {
        StockCommand::Receive(ReceiveStock { reference, .. }) => {
            changes.movements.push(StockMovement {
                sku: sku.clone(),
                location: location.id.clone(),
                quantity: delta,
                reason: MovementReason::Receipt {
                    reference: reference.to_owned(),
                },
                at: now,
                value: Some(value),
            });
            changes.journal.extend(ctx.postings.receipt(
                reference,
                value,
                ctx.id(EntryId::from_uuid),
                now,
            )?);
            changes.events.push(Event::StockReceived {
                sku: sku.clone(),
                location: location.id.clone(),
                quantity: units(delta)?,
                reference: reference.to_owned(),
            });
        }
        StockCommand::Adjust(AdjustStock { reason: why, .. }) => {
            record_correction(sku, &location.id, delta, why, value, ctx, changes)?;
        }
    }
    if delta > 0 {
        // Waiting back-orders take arriving units before they become free.
        backlog.fill(
            sku,
            &location.id,
            location.fulfils_orders,
            units(delta)?,
            changes,
        )?;
    }
    // Valued at this cost: a cost change committing first must send us back.
    changes.check_version(RecordKey::Product(sku.clone()), product.version);
    Ok(())
}

/// A correction of on-hand of `sku` at `location` by `delta` for `why`, worth
/// `value` at cost (negative for units lost): its movement, its posting between
/// inventory and inventory adjustments, and its event. What `adjust_stock` and a
/// third-party warehouse's counts write.
///
/// # Errors
/// [`Error::Ledger`] if the posting is refused.
pub(crate) fn record_correction(
    sku: &Sku,
    location: &LocationId,
    delta: i64,
    why: &str,
    value: crate::money::Money,
    ctx: &Context<'_>,
    changes: &mut Changeset,
) -> Result<(), Error> {
    changes.movements.push(StockMovement {
        sku: sku.clone(),
        location: location.clone(),
        quantity: delta,
        reason: MovementReason::Adjustment {
            reason: why.to_owned(),
        },
        at: ctx.now,
        value: None,
    });
    changes.journal.extend(ctx.postings.adjustment(
        why,
        value,
        ctx.id(EntryId::from_uuid),
        ctx.now,
    )?);
    changes.events.push(Event::StockAdjusted {
        sku: sku.clone(),
        location: location.clone(),
        delta,
        reason: why.to_owned(),
    });
    Ok(())
}

/// Units received, as the event and the back-order queue count them. A receipt's
/// quantity was checked to fit when the command was built.
fn units(delta: i64) -> Result<Quantity, Error> {
    u32::try_from(delta).map(Quantity::new).map_err(|_| {
        Error::invalid(
            "quantity",
            format!("{delta} units do not fit a receipt (at most {})", u32::MAX),
        )
    })
}

#[cfg(test)]
mod tests {
    //! Receiving and correcting stock, given what the command read, with no store.
    use super::*;
    use crate::money::Money;
    use crate::purchasing::fixtures::*;
    use crate::store::Check;
    use crate::store::Record;

    fn receipt(units: i64) -> ReceiveStock {
        ReceiveStock {
            idempotency_key: IdempotencyKey::new("in-1").unwrap(),
            sku: sku("MUG"),
            location: dc(),
            quantity: units,
            reference: "delivery note 7".into(),
        }
    }

    fn correction(delta: i64) -> AdjustStock {
        AdjustStock {
            idempotency_key: IdempotencyKey::new("adj-1").unwrap(),
            sku: sku("MUG"),
            location: dc(),
            delta,
            reason: "count".into(),
        }
    }

    fn when_changed(
        cmd: StockCommand<'_>,
        stock: &StockLevel,
        backlog: &mut Backlog,
    ) -> (Result<(), Error>, Changeset) {
        let books = Books::new();
        let mut changes = Changeset::new(at());
        let changed = change_stock(
            cmd,
            &mug(usd(400)),
            &warehouse(),
            stock,
            backlog,
            &books.ctx(),
            &mut changes,
        );
        (changed, changes)
    }

    #[test]
    fn a_receipt_goes_to_the_waiting_lines_first_valued_at_cost() {
        let (order, queue) = waiting_for_mugs(20, 4);
        let mut backlog = Backlog::default();
        backlog.adopt_queue(&sku("MUG"), Some(queue));
        backlog.adopt(order.value, order.version);
        let cmd = receipt(10);
        let (changed, mut changes) = when_changed(
            StockCommand::Receive(&cmd),
            &level("MUG", 0, 0),
            &mut backlog,
        );
        changed.unwrap();
        backlog.put_into(&mut changes);
        assert!(matches!(
            changes.movements.as_slice(),
            [StockMovement { quantity: 10, value: Some(v), .. }] if *v == usd(4000)
        ));
        assert!(matches!(
            changes.reservations.as_slice(),
            [r] if r.quantity == 4
        ));
        assert_eq!(changes.journal.len(), 1);
        assert!(matches!(
            changes.events.as_slice(),
            [
                Event::StockReceived { quantity: received, .. },
                Event::BackOrderAllocated { quantity: allocated, .. }
            ] if *received == Quantity::new(10) && *allocated == Quantity::new(4)
        ));
        assert!(changes.checks.contains(&Check::Version {
            key: RecordKey::Product(sku("MUG")),
            version: 3
        }));
        assert!(
            changes
                .puts
                .iter()
                .any(|p| matches!(&p.record, Record::Order(o) if o.lines[0].backordered.is_zero()))
        );
    }

    #[test]
    fn a_correction_is_valued_at_cost_either_way() {
        let cmd = correction(-2);
        let (changed, changes) = when_changed(
            StockCommand::Adjust(&cmd),
            &level("MUG", 5, 1),
            &mut Backlog::default(),
        );
        changed.unwrap();
        assert!(matches!(
            changes.movements.as_slice(),
            [StockMovement {
                quantity: -2,
                value: None,
                ..
            }]
        ));
        let lines: Vec<Money> = changes.journal[0]
            .lines()
            .iter()
            .map(|l| l.amount)
            .collect();
        assert!(
            lines.contains(&usd(-800)) && lines.contains(&usd(800)),
            "{lines:?}"
        );
    }

    #[test]
    fn on_hand_never_drops_below_what_is_reserved() {
        let cmd = correction(-3);
        let (refused, changes) = when_changed(
            StockCommand::Adjust(&cmd),
            &level("MUG", 5, 4),
            &mut Backlog::default(),
        );
        assert!(matches!(
            refused,
            Err(Error::Stock(StockError::BelowReserved {
                on_hand: 5,
                reserved: 4,
                delta: -3,
                ..
            }))
        ));
        assert!(changes.is_empty());
    }

    #[test]
    fn commands_no_stock_could_satisfy_are_refused_before_reading() {
        assert!(matches!(
            StockCommand::Adjust(&correction(0)).check(),
            Err(Error::Stock(StockError::ZeroChange))
        ));
        assert!(matches!(
            StockCommand::Adjust(&correction(i64::from(u32::MAX) + 1)).check(),
            Err(Error::Invalid { field: "delta", .. })
        ));
        for units in [0, -1, i64::from(u32::MAX) + 1] {
            assert!(matches!(
                StockCommand::Receive(&receipt(units)).check(),
                Err(Error::Invalid {
                    field: "quantity",
                    ..
                })
            ));
        }
        assert!(StockCommand::Receive(&receipt(1)).check().is_ok());
    }
}
