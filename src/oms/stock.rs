//! Receiving and correcting stock.

use serde::{Deserialize, Serialize};

use super::{Oms, fingerprint};
use crate::catalog::Product;
use crate::error::Error;
use crate::event::Event;
use crate::fulfilment::Carrier;
use crate::ids::{EntryId, IdempotencyKey, LocationId, Sku};
use crate::purchasing::{BackOrderQueue, Backlog};
use crate::stock::{Location, MovementReason, StockError, StockLevel, StockMovement};
use crate::store::{
    Changeset, Check, IdempotencyScope, IdempotentOutcome, Prefetch, RecordKey, Store,
};

/// Goods arrived at a location.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
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

/// A correction of on-hand after a count, damage or a find.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
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

impl<S: Store, C: Carrier> Oms<S, C> {
    /// Adds received goods to on-hand, and their cost to inventory (Dr inventory,
    /// Cr goods received not invoiced).
    ///
    /// # Errors
    /// [`Error::Invalid`] for a quantity that is not positive or too large;
    /// [`Error::NotFound`] for an unknown SKU or location;
    /// [`Error::IdempotencyKeyReused`] for a key used with other content.
    pub async fn receive_stock(&self, cmd: ReceiveStock) -> Result<StockLevel, Error> {
        if cmd.quantity <= 0 || cmd.quantity > i64::from(u32::MAX) {
            return Err(Error::invalid(
                "quantity",
                format!("must be between 1 and {}, got {}", u32::MAX, cmd.quantity),
            ));
        }
        let print = fingerprint(&cmd)?;
        self.change_stock(StockCommand::Receive(&cmd), print).await
    }

    /// Corrects on-hand; the value difference is posted between inventory and
    /// inventory adjustments.
    ///
    /// # Errors
    /// [`Error::Stock`] with [`StockError::ZeroChange`] for a zero delta, or
    /// [`StockError::BelowReserved`] if on-hand would drop below what is reserved;
    /// [`Error::Invalid`] for a delta of more than `u32::MAX` units either way;
    /// [`Error::NotFound`] for an unknown SKU or location;
    /// [`Error::IdempotencyKeyReused`] for a key used with other content.
    pub async fn adjust_stock(&self, cmd: AdjustStock) -> Result<StockLevel, Error> {
        if cmd.delta == 0 {
            return Err(StockError::ZeroChange.into());
        }
        // Beyond this, on-hand could overflow in the store's guard, which would be
        // retried as a lost race and end as `Contention` instead of a clear refusal.
        if cmd.delta.unsigned_abs() > u64::from(u32::MAX) {
            return Err(Error::invalid(
                "delta",
                format!(
                    "must be at most {} units either way, got {}",
                    u32::MAX,
                    cmd.delta
                ),
            ));
        }
        let print = fingerprint(&cmd)?;
        self.change_stock(StockCommand::Adjust(&cmd), print).await
    }

    async fn change_stock(&self, cmd: StockCommand<'_>, print: u64) -> Result<StockLevel, Error> {
        let changed = super::retrying!(self, self.try_change_stock(cmd, print).await);
        if changed.is_err() {
            // A twin submission may have committed after this one checked its key.
            let (scope, key) = cmd.key();
            if self.replay(scope, key, print).await?.is_some() {
                let (sku, location) = cmd.place();
                return self.stock_level(sku, location).await;
            }
        }
        changed
    }

    async fn try_change_stock(
        &self,
        cmd: StockCommand<'_>,
        print: u64,
    ) -> Result<StockLevel, Error> {
        let (scope, key) = cmd.key();
        let (sku, location) = cmd.place();
        let delta = match cmd {
            StockCommand::Receive(c) => c.quantity,
            StockCommand::Adjust(c) => c.delta,
        };
        // One read: the key, the product, the location, its stock, and the queue
        // arriving units go to first.
        let request = Prefetch::new()
            .key(scope, key)
            .record::<Product>(sku)
            .record::<Location>(location)
            .record::<BackOrderQueue>(sku)
            .stock(sku);
        let mut fetched = self.store.fetch(&request).await?;
        if super::replayed(fetched.idempotency.as_ref(), scope, key, print)?.is_some() {
            return self.stock_level(sku, location).await;
        }
        let stored = super::found::<Product>(&mut fetched, sku)?;
        let (product, product_version) = (stored.value, stored.version);
        let fulfils = fetched
            .get::<Location>(location)
            .map(|l| l.value.fulfils_orders);
        let Some(fulfils) = fulfils else {
            return Err(Error::not_found(
                <Location as crate::store::Entity>::kind(),
                location,
            ));
        };
        let level = fetched
            .stock
            .iter()
            .find(|l| &l.location == location)
            .cloned()
            .unwrap_or_else(|| StockLevel::empty(sku.clone(), location.clone()));
        if level.on_hand.saturating_add(delta) < level.reserved {
            return Err(StockError::BelowReserved {
                sku: sku.clone(),
                location: location.clone(),
                on_hand: level.on_hand,
                reserved: level.reserved,
                delta,
            }
            .into());
        }

        let now = self.now();
        let mut value = product.cost.checked_mul_qty(delta.unsigned_abs())?;
        if delta < 0 {
            value = -value;
        }
        let entry_id = self.new_id(EntryId::from_uuid);
        let mut changes = Changeset::new(now);
        let (reason, entry, event) = match cmd {
            StockCommand::Receive(ReceiveStock { reference, .. }) => (
                MovementReason::Receipt {
                    reference: reference.to_owned(),
                },
                self.postings().receipt(reference, value, entry_id, now)?,
                Event::StockReceived {
                    sku: sku.clone(),
                    location: location.clone(),
                    quantity: units(delta)?,
                    reference: reference.to_owned(),
                },
            ),
            StockCommand::Adjust(AdjustStock { reason: why, .. }) => (
                MovementReason::Adjustment {
                    reason: why.to_owned(),
                },
                self.postings().adjustment(why, value, entry_id, now)?,
                Event::StockAdjusted {
                    sku: sku.clone(),
                    location: location.clone(),
                    delta,
                    reason: why.to_owned(),
                },
            ),
        };
        changes.movements.push(StockMovement {
            sku: sku.clone(),
            location: location.clone(),
            quantity: delta,
            reason,
            at: now,
            value: matches!(cmd, StockCommand::Receive(_)).then_some(value),
        });
        changes.journal.extend(entry);
        changes.events.push(event);
        if delta > 0 {
            // Waiting back-orders take arriving units before they become free.
            let mut backlog = Backlog::default();
            backlog.adopt_queue(sku, fetched.take::<BackOrderQueue>(sku));
            self.read_waiting(&mut backlog).await?;
            backlog.fill(sku, location, fulfils, units(delta)?, &mut changes)?;
            backlog.put_into(&mut changes);
        }
        // Valued at this cost: a cost change committing first must send us back.
        changes.checks.push(Check::Version {
            key: RecordKey::Product(sku.clone()),
            version: product_version,
        });
        self.commit_keyed(changes, scope, key, print, IdempotentOutcome::Stock)
            .await?;
        self.stock_level(sku, location).await
    }

    /// Stock of `sku` at `location` (zero if it never held any).
    ///
    /// # Errors
    /// [`Error::Store`] if the store fails.
    pub async fn stock_level(&self, sku: &Sku, location: &LocationId) -> Result<StockLevel, Error> {
        let levels = self.store.stock_levels(sku).await?;
        Ok(levels
            .into_iter()
            .find(|l| &l.location == location)
            .unwrap_or_else(|| StockLevel::empty(sku.clone(), location.clone())))
    }

    /// Stock of `sku` at every location that has held it.
    ///
    /// # Errors
    /// [`Error::Store`] if the store fails.
    pub async fn stock(&self, sku: &Sku) -> Result<Vec<StockLevel>, Error> {
        Ok(self.store.stock_levels(sku).await?)
    }
}

/// The two commands that change on-hand directly share one code path.
#[derive(Debug, Clone, Copy)]
enum StockCommand<'a> {
    Receive(&'a ReceiveStock),
    Adjust(&'a AdjustStock),
}

impl StockCommand<'_> {
    fn key(&self) -> (IdempotencyScope, &IdempotencyKey) {
        match self {
            StockCommand::Receive(c) => (IdempotencyScope::ReceiveStock, &c.idempotency_key),
            StockCommand::Adjust(c) => (IdempotencyScope::AdjustStock, &c.idempotency_key),
        }
    }

    fn place(&self) -> (&Sku, &LocationId) {
        match self {
            StockCommand::Receive(c) => (&c.sku, &c.location),
            StockCommand::Adjust(c) => (&c.sku, &c.location),
        }
    }
}

/// Units received, as the event and the back-order queue count them. A receipt's
/// quantity was checked to fit when the command was built.
fn units(delta: i64) -> Result<u32, Error> {
    u32::try_from(delta).map_err(|_| {
        Error::invalid(
            "quantity",
            format!("{delta} units do not fit a receipt (at most {})", u32::MAX),
        )
    })
}
