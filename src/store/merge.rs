//! Changes the store makes to a record as it stands at commit time, so commands
//! making them never conflict with each other: a customer's figures moving, a line
//! joining a back-order queue.

use serde::{Deserialize, Serialize};

use super::{Changeset, Put, Record, RecordKey, StoreError, StoreResult};
use crate::customer::{Customer, CustomerDelta, FiguresError};
use crate::money::MoneyError;
use crate::purchasing::{BackOrderQueue, QueueEntry};

/// One change a commit merges into a stored record (see
/// [`Changeset::apply_merges`]).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(tag = "kind", content = "change", rename_all = "snake_case")]
pub enum Merge {
    /// Added to a customer's figures. Fails the commit with a conflict when a guard
    /// of the delta no longer holds (see [`CustomerDelta`]).
    Customer(CustomerDelta),
    /// Joins its SKU's back-order queue (made if there is none yet) behind every
    /// line of its priority or higher.
    BackOrder(QueueEntry),
}

impl Merge {
    /// The record it changes.
    pub fn key(&self) -> RecordKey {
        match self {
            Merge::Customer(delta) => RecordKey::Customer(delta.customer),
            Merge::BackOrder(entry) => RecordKey::BackOrderQueue(entry.sku.clone()),
        }
    }

    /// The record to start from when the store has none.
    fn fresh(&self) -> Option<Record> {
        match self {
            Merge::Customer(_) => None,
            Merge::BackOrder(entry) => Some(Record::BackOrderQueue(BackOrderQueue::new(
                entry.sku.clone(),
            ))),
        }
    }

    /// Changes `record`, or says why it cannot.
    fn apply(self, record: &mut Record) -> StoreResult<()> {
        let key = self.key();
        match (self, record) {
            (Merge::Customer(delta), Record::Customer(customer)) => {
                customer.history.apply(&delta).map_err(|e| match e {
                    FiguresError::Moved(_) => StoreError::Conflict {
                        key: key.clone(),
                        expected: None,
                        actual: None,
                    },
                    FiguresError::Invalid(reason) => StoreError::Invalid { reason },
                })
            }
            (Merge::BackOrder(entry), Record::BackOrderQueue(queue)) => {
                queue.join(entry);
                Ok(())
            }
            _ => Err(StoreError::Invalid {
                reason: format!("{} holds another kind of record", key.describe()),
            }),
        }
    }
}

impl Changeset {
    /// Adds what a command did to a customer — `before` as read, `after` as decided —
    /// as a [`CustomerDelta`], unless it changed nothing.
    ///
    /// # Errors
    /// [`MoneyError`] on overflow or mixed currencies.
    pub fn move_customer(&mut self, before: &Customer, after: &Customer) -> Result<(), MoneyError> {
        let delta = CustomerDelta::between(before, after)?;
        if !delta.is_empty() {
            self.merges.push(Merge::Customer(delta));
        }
        Ok(())
    }

    /// Turns the merges into puts of the records as the store holds them now
    /// (`stored` reads one, with its version, inside the commit), each changed by
    /// every merge for it and appended to the puts at the version read. A store
    /// calls this first in its commit, under the lock its writes take, so merges
    /// from concurrent commands all count and never conflict with each other.
    ///
    /// # Errors
    /// [`StoreError::NotFound`] for a customer that does not exist;
    /// [`StoreError::Conflict`] when a customer delta's guard fails (credit below
    /// zero, exposure past the limit the command judged within): the command decides
    /// again; [`StoreError::Invalid`] for a record the changeset also puts, or
    /// figures that overflow; whatever `stored` fails with.
    pub fn apply_merges(
        &mut self,
        mut stored: impl FnMut(&RecordKey) -> StoreResult<Option<(u64, Record)>>,
    ) -> StoreResult<()> {
        let first_merged = self.puts.len();
        for merge in std::mem::take(&mut self.merges) {
            let key = merge.key();
            let at = match self.puts.iter().position(|p| p.record.has_key(&key)) {
                Some(at) if at < first_merged => {
                    return Err(StoreError::Invalid {
                        reason: format!("{} is both put and merged", key.describe()),
                    });
                }
                Some(at) => at,
                None => {
                    let put = match (stored(&key)?, merge.fresh()) {
                        (Some((version, record)), _) => Put {
                            record,
                            expected: Some(version),
                        },
                        (None, Some(record)) => Put {
                            record,
                            expected: None,
                        },
                        (None, None) => {
                            return Err(StoreError::NotFound { key });
                        }
                    };
                    self.puts.push(put);
                    self.puts.len() - 1
                }
            };
            let Some(put) = self.puts.get_mut(at) else {
                return Err(StoreError::Invalid {
                    reason: format!("{} lost its place", key.describe()),
                });
            };
            merge.apply(&mut put.record)?;
        }
        Ok(())
    }
}
