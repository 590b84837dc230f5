//! The ledger against itself: positions, balanced entries, balances = Σ journal,
//! a zero trial balance; and the event log's sequence.

use super::{Audit, Sums, Violation, add_to, differences};
use crate::ledger::TrialBalance;
use crate::store::{ReadResult, Snapshot};

impl Audit<'_> {
    /// Walks the journal by position: every entry balanced, no position missing.
    pub(super) fn journal(&mut self, snapshot: &dyn Snapshot) -> ReadResult<Sums> {
        let mut sums = Sums::new();
        let mut next: u64 = 1;
        let mut problems = Vec::new();
        snapshot.each_journal_entry(&mut |position, entry| {
            if position != next {
                problems.push(Violation::JournalGap {
                    expected: next,
                    found: position,
                });
            }
            next = position.saturating_add(1);
            if let Err(e) = entry.validate() {
                problems.push(Violation::UnbalancedEntry {
                    index: usize::try_from(position).unwrap_or(usize::MAX),
                    reason: e.to_string(),
                });
            }
            for line in entry.lines() {
                add_to(
                    &mut sums,
                    (line.account.clone(), line.amount.currency()),
                    line.amount,
                );
            }
        })?;
        self.report.journal_entries = usize::try_from(next.saturating_sub(1)).unwrap_or(usize::MAX);
        self.report.violations.extend(problems);
        Ok(sums)
    }

    /// Every stored balance equals the sum of its journal lines (a balance the
    /// journal never touched counts as zero, and the other way round); and the
    /// balances sum to zero in every currency.
    pub(super) fn balances_against_journal(
        &mut self,
        trial: &TrialBalance,
        balances: &Sums,
        journal: &Sums,
    ) {
        for (account, balance, journal) in differences(balances, journal) {
            self.violation(Violation::BalanceNotJournal {
                account,
                balance,
                journal,
            });
        }
        // A sum that overflows is no total: the journal comparison above still holds.
        for total in trial.totals().into_iter().flatten().map(|(_, t)| t) {
            if !total.is_zero() {
                self.violation(Violation::TrialBalanceNotZero { total });
            }
        }
    }

    /// Event sequences are 1, 2, 3, ...
    pub(super) fn events(&mut self, snapshot: &dyn Snapshot) -> ReadResult<()> {
        let mut cursor: u64 = 0;
        let mut problems = Vec::new();
        snapshot.each_event(&mut |event| {
            if event.sequence != cursor.saturating_add(1) {
                problems.push(Violation::EventGap {
                    expected: cursor.saturating_add(1),
                    found: event.sequence,
                });
            }
            cursor = event.sequence;
        })?;
        self.report.events = cursor;
        self.report.violations.extend(problems);
        Ok(())
    }
}
