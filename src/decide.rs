//! What a command's decision may use besides what it read: the time, new ids and
//! the posting rules. A decision is a plain function of its reads, its command and
//! this context, so it can be tested with no store.

use chrono::{DateTime, Utc};

use crate::clock::IdGen;
use crate::ledger::Postings;

/// The time, an id source and the posting rules, for one decision.
#[derive(Clone, Copy)]
pub struct Context<'a> {
    /// The command's time.
    pub now: DateTime<Utc>,
    ids: &'a dyn IdGen,
    /// The posting rules entries are built with.
    pub postings: Postings<'a>,
}

impl<'a> Context<'a> {
    /// A context at `now`, taking ids from `ids`.
    pub fn new(now: DateTime<Utc>, ids: &'a dyn IdGen, postings: Postings<'a>) -> Self {
        Self { now, ids, postings }
    }

    /// A new id of the kind `wrap` makes.
    pub fn id<T>(&self, wrap: fn(uuid::Uuid) -> T) -> T {
        wrap(self.ids.next_uuid())
    }
}

impl std::fmt::Debug for Context<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Context")
            .field("now", &self.now)
            .finish_non_exhaustive()
    }
}
