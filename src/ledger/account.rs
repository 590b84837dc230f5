use std::collections::BTreeMap;
use std::fmt;
use std::sync::Arc;

use serde::{Deserialize, Serialize};

/// An account's code in the chart (`"1100"`). Shared text: clones do not allocate.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(transparent)]
pub struct AccountCode(Arc<str>);

impl AccountCode {
    /// An account code.
    pub fn new(code: impl Into<Arc<str>>) -> Self {
        Self(code.into())
    }

    /// The code as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for AccountCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// The five kinds of account; they decide which side a balance normally sits on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "snake_case")]
pub enum AccountKind {
    /// Things owned (cash, receivables, inventory): debit balance.
    #[serde(alias = "Asset")]
    Asset,
    /// Things owed (tax payable, customer credit): credit balance.
    #[serde(alias = "Liability")]
    Liability,
    /// Owners' stake: credit balance.
    #[serde(alias = "Equity")]
    Equity,
    /// Income (sales, shipping charged): credit balance.
    #[serde(alias = "Revenue")]
    Revenue,
    /// Costs (cost of goods sold, write-offs): debit balance.
    #[serde(alias = "Expense")]
    Expense,
}

/// An account in the chart.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct Account {
    /// Code.
    pub code: AccountCode,
    /// Name.
    pub name: String,
    /// Kind.
    pub kind: AccountKind,
}

/// The chart of accounts: which accounts entries may post to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct ChartOfAccounts {
    accounts: BTreeMap<AccountCode, Account>,
}

impl ChartOfAccounts {
    /// An empty chart.
    pub fn empty() -> Self {
        Self {
            accounts: BTreeMap::new(),
        }
    }

    /// Adds or replaces an account; hosts extend the default chart this way.
    #[must_use]
    pub fn with(mut self, code: &str, name: &str, kind: AccountKind) -> Self {
        let code = AccountCode::new(code);
        self.accounts.insert(
            code.clone(),
            Account {
                code,
                name: name.to_owned(),
                kind,
            },
        );
        self
    }

    /// The account with `code`.
    pub fn account(&self, code: &AccountCode) -> Option<&Account> {
        self.accounts.get(code)
    }

    /// True if the chart has `code`.
    pub fn contains(&self, code: &AccountCode) -> bool {
        self.accounts.contains_key(code)
    }

    /// All accounts, by code.
    pub fn accounts(&self) -> impl Iterator<Item = &Account> {
        self.accounts.values()
    }
}

impl Default for ChartOfAccounts {
    /// The default chart, matching [`AccountMap::default`].
    fn default() -> Self {
        use AccountKind::{Asset, Expense, Liability, Revenue};
        Self::empty()
            .with("1000", "Cash", Asset)
            .with("1010", "Bank", Asset)
            .with("1020", "Card clearing", Asset)
            .with("1100", "Accounts receivable", Asset)
            .with("1200", "Inventory", Asset)
            .with("2000", "Goods received not invoiced", Liability)
            .with("2100", "Sales tax payable", Liability)
            .with("2200", "Customer credit", Liability)
            .with("2300", "Carrier charges payable", Liability)
            .with("4000", "Sales revenue", Revenue)
            .with("4100", "Shipping revenue", Revenue)
            .with("4500", "Sales discounts", Revenue)
            .with("5000", "Cost of goods sold", Expense)
            .with("5100", "Inventory adjustments", Expense)
            .with("5200", "Shipping costs", Expense)
            .with("5300", "Payment provider fees", Expense)
    }
}

/// Which account each posting rule uses. Hosts with their own chart remap these.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct AccountMap {
    /// Cash taken at the counter.
    pub cash: AccountCode,
    /// Bank transfers and on-account settlements.
    pub bank: AccountCode,
    /// Card payments awaiting settlement.
    pub card_clearing: AccountCode,
    /// Accounts receivable (the control account for customer balances).
    pub receivables: AccountCode,
    /// Inventory at cost.
    pub inventory: AccountCode,
    /// Goods received, supplier invoice not yet booked.
    pub goods_received: AccountCode,
    /// Sales tax collected.
    pub tax_payable: AccountCode,
    /// Money held for customers (overpayments, cancelled paid orders).
    pub customer_credit: AccountCode,
    /// Carrier charges owed.
    pub carrier_payable: AccountCode,
    /// Sales of goods, before discounts.
    pub revenue: AccountCode,
    /// Shipping charged to customers.
    pub shipping_revenue: AccountCode,
    /// Discounts given (contra-revenue, debit balance).
    pub discounts: AccountCode,
    /// Cost of goods sold.
    pub cogs: AccountCode,
    /// Stock count differences.
    pub inventory_adjustments: AccountCode,
    /// What carriers charge us.
    pub shipping_costs: AccountCode,
    /// What payment providers keep of their payouts. Maps written before it
    /// existed read as `5300`.
    #[serde(default = "provider_fees")]
    pub provider_fees: AccountCode,
}

/// The default account for payment provider fees.
fn provider_fees() -> AccountCode {
    AccountCode::new("5300")
}

impl Default for AccountMap {
    fn default() -> Self {
        let a = AccountCode::new;
        Self {
            cash: a("1000"),
            bank: a("1010"),
            card_clearing: a("1020"),
            receivables: a("1100"),
            inventory: a("1200"),
            goods_received: a("2000"),
            tax_payable: a("2100"),
            customer_credit: a("2200"),
            carrier_payable: a("2300"),
            revenue: a("4000"),
            shipping_revenue: a("4100"),
            discounts: a("4500"),
            cogs: a("5000"),
            inventory_adjustments: a("5100"),
            shipping_costs: a("5200"),
            provider_fees: provider_fees(),
        }
    }
}

impl AccountMap {
    /// Every account the map names, for checking it against a chart.
    pub fn all(&self) -> [&AccountCode; 16] {
        [
            &self.cash,
            &self.bank,
            &self.card_clearing,
            &self.receivables,
            &self.inventory,
            &self.goods_received,
            &self.tax_payable,
            &self.customer_credit,
            &self.carrier_payable,
            &self.revenue,
            &self.shipping_revenue,
            &self.discounts,
            &self.cogs,
            &self.inventory_adjustments,
            &self.shipping_costs,
            &self.provider_fees,
        ]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_map_fits_default_chart_and_chart_extends() {
        let chart = ChartOfAccounts::default();
        assert!(
            AccountMap::default()
                .all()
                .iter()
                .all(|code| chart.contains(code))
        );
        let chart = chart.with("1030", "PayPal clearing", AccountKind::Asset);
        assert_eq!(
            chart.account(&AccountCode::new("1030")).map(|a| a.kind),
            Some(AccountKind::Asset)
        );
    }
}
