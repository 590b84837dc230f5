//! The names an export gives the chart's accounts.

use std::collections::{BTreeMap, BTreeSet};

use crate::ledger::{Account, AccountCode, AccountKind, ChartOfAccounts};

/// The names an export gives the chart's accounts, valid in both hledger and
/// beancount: the root of the account's kind (`Assets`, `Liabilities`, `Equity`,
/// `Income`, `Expenses`), a colon, then the code and the name with every run of
/// characters other than ASCII letters and digits turned into one dash, starting
/// with a capital or a digit (`Assets:1100-Accounts-receivable`). Two accounts
/// that would get the same name are told apart by a suffix (`-2`), in code order.
///
/// ```
/// use o2c::ledger::{AccountCode, AccountKind, AccountNames, ChartOfAccounts};
///
/// let chart = ChartOfAccounts::default().with("1030", "PayPal (clearing)", AccountKind::Asset);
/// let names = AccountNames::new(&chart);
/// assert_eq!(names.name(&AccountCode::new("1030")), Some("Assets:1030-PayPal-clearing"));
/// assert_eq!(names.name(&AccountCode::new("4000")), Some("Income:4000-Sales-revenue"));
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccountNames {
    names: BTreeMap<AccountCode, (String, AccountKind)>,
}

impl AccountNames {
    /// The names of every account in `chart`.
    pub fn new(chart: &ChartOfAccounts) -> Self {
        let mut taken: BTreeSet<String> = BTreeSet::new();
        let mut names = BTreeMap::new();
        for account in chart.accounts() {
            let base = format!("{}:{}", root(account.kind), component(account));
            let mut name = base.clone();
            let mut n = 1u32;
            while taken.contains(&name) {
                n = n.saturating_add(1);
                name = format!("{base}-{n}");
            }
            taken.insert(name.clone());
            names.insert(account.code.clone(), (name, account.kind));
        }
        Self { names }
    }

    /// The name of the account with `code`, if the chart has it.
    pub fn name(&self, code: &AccountCode) -> Option<&str> {
        self.names.get(code).map(|(name, _)| name.as_str())
    }

    /// Every account's code, name and kind, by code.
    pub fn iter(&self) -> impl Iterator<Item = (&AccountCode, &str, AccountKind)> {
        self.names
            .iter()
            .map(|(code, (name, kind))| (code, name.as_str(), *kind))
    }

    /// The longest name's length, to line amounts up.
    pub(super) fn widest(&self) -> usize {
        self.names
            .values()
            .map(|(name, _)| name.len())
            .max()
            .unwrap_or(0)
    }
}

/// The root both tools know for `kind`.
fn root(kind: AccountKind) -> &'static str {
    match kind {
        AccountKind::Asset => "Assets",
        AccountKind::Liability => "Liabilities",
        AccountKind::Equity => "Equity",
        AccountKind::Revenue => "Income",
        AccountKind::Expense => "Expenses",
    }
}

/// The account's code and name as one component: ASCII letters and digits, runs
/// of anything else as one dash, starting with a capital or a digit.
fn component(account: &Account) -> String {
    let mut out = String::with_capacity(account.code.as_str().len() + account.name.len() + 1);
    let mut gap = false;
    let text = account.code.as_str().chars().chain([' ']);
    for c in text.chain(account.name.chars()) {
        if c.is_ascii_alphanumeric() {
            if gap && !out.is_empty() {
                out.push('-');
            }
            gap = false;
            out.push(c);
        } else {
            gap = true;
        }
    }
    match out.chars().next() {
        None => "Account".to_owned(),
        Some(first) if first.is_ascii_lowercase() => {
            let rest = out.get(1..).unwrap_or_default();
            format!("{}{rest}", first.to_ascii_uppercase())
        }
        Some(_) => out,
    }
}

/// hledger's account type tag for `kind`.
pub(super) fn hledger_type(kind: AccountKind) -> &'static str {
    match kind {
        AccountKind::Asset => "A",
        AccountKind::Liability => "L",
        AccountKind::Equity => "E",
        AccountKind::Revenue => "R",
        AccountKind::Expense => "X",
    }
}
