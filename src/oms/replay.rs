//! Replays: what a keyed command returns when its key was used before — the
//! records its first run produced, read again as they are now.

use crate::payment::PaymentProvider;
use std::fmt;

use super::{Applied, Fingerprint, Oms};
use crate::customer::Customer;
use crate::error::Error;
use crate::fulfilment::{Carrier, Shipment};
use crate::ids::IdempotencyKey;
use crate::ledger::{CreditNote, Payment};
use crate::order::Order;
use crate::purchasing::PurchaseOrder;
use crate::returns::ReturnAuthorization;
use crate::store::{Entity, IdempotencyScope, IdempotentOutcome, Store};

/// A record a keyed command's outcome can name.
pub(super) trait Produced: Entity {
    /// The keys of the records of this kind `outcome` names; `None` if it names
    /// another kind.
    fn named(outcome: &IdempotentOutcome) -> Option<&[Self::Key]>;
}

macro_rules! produced {
    ($entity:ty, $one:ident) => {
        impl Produced for $entity {
            fn named(outcome: &IdempotentOutcome) -> Option<&[Self::Key]> {
                match outcome {
                    IdempotentOutcome::$one(id) => Some(std::slice::from_ref(id)),
                    _ => None,
                }
            }
        }
    };
    ($entity:ty, $one:ident, $many:ident) => {
        impl Produced for $entity {
            fn named(outcome: &IdempotentOutcome) -> Option<&[Self::Key]> {
                match outcome {
                    IdempotentOutcome::$many(ids) => Some(ids),
                    _ => None,
                }
            }
        }
    };
}

produced!(Order, Order);
produced!(Payment, Payment);
produced!(CreditNote, CreditNote);
produced!(ReturnAuthorization, Return);
produced!(Customer, Customer);
produced!(Shipment, Shipments, Shipments);
produced!(PurchaseOrder, PurchaseOrders, PurchaseOrders);

impl<S: Store, C: Carrier, P: PaymentProvider> Oms<S, C, P> {
    /// Every `E` `outcome` names, read again, as a replay; `None` if it names
    /// another kind.
    pub(super) async fn recall_all<E: Produced>(
        &self,
        outcome: &IdempotentOutcome,
    ) -> Result<Option<Applied<Vec<E>>>, Error>
    where
        E::Key: fmt::Display,
    {
        let Some(ids) = E::named(outcome) else {
            return Ok(None);
        };
        let found = super::trace::store("load_many", self.store.load_many::<E>(ids)).await?;
        let records = ids
            .iter()
            .zip(found)
            .map(|(id, record)| {
                record
                    .map(|stored| stored.value)
                    .ok_or_else(|| Error::dangling(E::kind(), id))
            })
            .collect::<Result<Vec<E>, Error>>()?;
        Ok(Some(Applied::replay(records)))
    }

    /// The one `E` `outcome` names, read again, as a replay; `None` if it names
    /// another kind.
    pub(super) async fn recall<E: Produced>(
        &self,
        outcome: &IdempotentOutcome,
    ) -> Result<Option<Applied<E>>, Error>
    where
        E::Key: fmt::Display,
    {
        match self.recall_all::<E>(outcome).await? {
            None => Ok(None),
            Some(all) => match all.value.into_iter().next() {
                Some(one) => Ok(Some(Applied::replay(one))),
                None => Ok(None),
            },
        }
    }

    /// What a keyed command's first run produced, as a replay: for an `outcome`
    /// its own entry held, which must name an `E`.
    pub(super) async fn replayed<E: Produced>(
        &self,
        outcome: &IdempotentOutcome,
    ) -> Result<Applied<E>, Error>
    where
        E::Key: fmt::Display,
    {
        self.recall::<E>(outcome)
            .await?
            .ok_or_else(|| unexpected(E::kind()))
    }

    /// As [`Oms::replayed`], for a command that produces several records.
    pub(super) async fn replayed_all<E: Produced>(
        &self,
        outcome: &IdempotentOutcome,
    ) -> Result<Applied<Vec<E>>, Error>
    where
        E::Key: fmt::Display,
    {
        self.recall_all::<E>(outcome)
            .await?
            .ok_or_else(|| unexpected(E::kind()))
    }

    /// What a twin of a keyed command (the same key, sent twice at once)
    /// committed first, if one did: for a command that failed for good, so its
    /// caller gets the twin's result instead of the error the twin's effects
    /// caused.
    pub(super) async fn twin<E: Produced>(
        &self,
        scope: IdempotencyScope,
        key: &IdempotencyKey,
        print: &Fingerprint<'_>,
    ) -> Result<Option<Applied<E>>, Error>
    where
        E::Key: fmt::Display,
    {
        match self.replay(scope, key, print).await? {
            Some(outcome) => self.recall::<E>(&outcome).await,
            None => Ok(None),
        }
    }

    /// As [`Oms::twin`], for a command that produces several records.
    pub(super) async fn twin_all<E: Produced>(
        &self,
        scope: IdempotencyScope,
        key: &IdempotencyKey,
        print: &Fingerprint<'_>,
    ) -> Result<Option<Applied<Vec<E>>>, Error>
    where
        E::Key: fmt::Display,
    {
        match self.replay(scope, key, print).await? {
            Some(outcome) => self.recall_all::<E>(&outcome).await,
            None => Ok(None),
        }
    }
}

/// An entry whose outcome names another kind than its command produces.
fn unexpected(kind: &str) -> Error {
    Error::inconsistent(
        "idempotency entry",
        format!("its outcome names no {kind}, which its command produces"),
    )
}
