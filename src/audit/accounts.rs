//! Every account against what its documents imply.

use std::collections::BTreeMap;

use super::{Audit, Sums, Violation, add, add_to, differences};
use crate::ledger::AccountCode;
use crate::money::{Currency, Money};

impl Audit<'_> {
    /// Compares every account's balance with what the documents imply (see the
    /// [module docs](super)): every account the documents post to, and every
    /// account with a balance, so a posting no document explains shows up on both
    /// of its sides.
    pub(super) fn accounts_against_documents(&mut self, balances: &Sums) {
        let a = self.accounts;
        // Inventory is what is on hand at cost. What receipts, shipments and returns
        // do not explain of it was revalued, rounded or counted: inventory
        // adjustments took the other side.
        let mut explained: BTreeMap<Currency, Money> = BTreeMap::new();
        for ((account, c), amount) in &self.expected.0 {
            if account == &a.inventory {
                add_to(&mut explained, *c, *amount);
            }
        }
        let mut currencies: Vec<Currency> = explained
            .keys()
            .chain(self.stock.inventory.keys())
            .copied()
            .collect();
        currencies.sort();
        currencies.dedup();
        for c in currencies {
            let zero = Money::zero(c);
            let on_hand = self.stock.inventory.get(&c).copied().unwrap_or(zero);
            let unexplained = on_hand
                .checked_sub(explained.get(&c).copied().unwrap_or(zero))
                .unwrap_or(zero);
            self.expected.0.insert((a.inventory.clone(), c), on_hand);
            add(
                self.expected
                    .0
                    .entry((a.inventory_adjustments.clone(), c))
                    .or_insert(zero),
                -unexplained,
            );
        }

        let mut unverifiable: Vec<(&AccountCode, String)> = Vec::new();
        if self.stock.legacy_receipts > 0 {
            let why = format!(
                "{} receipts recorded before 0.2 carry no value",
                self.stock.legacy_receipts
            );
            unverifiable.push((&a.goods_received, why.clone()));
            unverifiable.push((&a.inventory_adjustments, why));
        }
        if !self.stock.legacy_returns.is_empty() {
            let why = format!(
                "{} returns received before 0.2 carry no cost",
                self.stock.legacy_returns.len()
            );
            unverifiable.push((&a.cogs, why.clone()));
            unverifiable.push((&a.inventory_adjustments, why));
        }
        // One line per account, however many kinds of old document keep it out.
        let mut accounts: Vec<&AccountCode> = unverifiable.iter().map(|(a, _)| *a).collect();
        accounts.sort();
        accounts.dedup();
        for account in accounts {
            let why: Vec<&str> = unverifiable
                .iter()
                .filter(|(a, _)| *a == account)
                .map(|(_, why)| why.as_str())
                .collect();
            self.report
                .not_checked
                .push(format!("account {account}: {}", why.join("; ")));
        }

        for (account, balance, expected) in differences(balances, &self.expected.0) {
            if !unverifiable.iter().any(|(skip, _)| **skip == account) {
                self.report.violations.push(Violation::AccountMismatch {
                    account,
                    balance,
                    expected,
                });
            }
        }
    }
}
