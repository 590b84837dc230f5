//! The baseline's journal: the accounts it posts to, and balanced entries.

use rust_decimal::Decimal;

use super::Plain;
use super::money::{add, sum};
use super::records::JournalLine;

// The chart of accounts, by number.
pub(super) const RECEIVABLES: &str = "1100";
pub(super) const BANK: &str = "1010";
pub(super) const INVENTORY: &str = "1200";
pub(super) const TAX_PAYABLE: &str = "2100";
pub(super) const CUSTOMER_CREDIT: &str = "2200";
pub(super) const CARRIER_PAYABLE: &str = "2300";
pub(super) const REVENUE: &str = "4000";
pub(super) const SHIPPING_REVENUE: &str = "4100";
pub(super) const DISCOUNTS: &str = "4500";
pub(super) const COGS: &str = "5000";
pub(super) const SHIPPING_COSTS: &str = "5200";

impl Plain {
    /// Appends one balanced journal entry; zero lines are dropped, as o2c does.
    pub(super) fn post(&mut self, lines: &[(&'static str, Decimal)]) -> Result<(), String> {
        if !sum(lines.iter().map(|l| l.1))?.is_zero() {
            return Err("unbalanced entry".to_owned());
        }
        self.entries += 1;
        for &(account, amount) in lines.iter().filter(|l| !l.1.is_zero()) {
            let balance = self.balances.entry(account).or_insert(Decimal::ZERO);
            *balance = add(*balance, amount)?;
            self.journal.push(JournalLine {
                entry: self.entries,
                account,
                amount,
                posted_ms: self.now_ms,
            });
        }
        Ok(())
    }
}
