//! The journal written out for an accountant's own tools: an
//! [hledger](https://hledger.org) journal or a [beancount](https://beancount.github.io)
//! file, checked there with `hledger -f books.journal check -s` and
//! `bean-check books.beancount`.
//!
//! [`Oms::export_journal`](crate::Oms::export_journal) is the call a host makes;
//! [`JournalWriter`] is what it drives, for a host that reads entries some other way.
//!
//! What the files hold:
//! - **Accounts** from the chart, under the root their [`AccountKind`] maps to
//!   (`Assets`, `Liabilities`, `Equity`, `Income`, `Expenses`), each named by its
//!   code and name made safe for both tools ([`AccountNames`]): `Assets:1100-Accounts-receivable`.
//!   Every account is declared first (`account` in hledger, `open` in beancount).
//! - **Commodities**: the ISO code (`USD`), declared with its minor units before
//!   the first entry that uses it.
//! - **Entries**: dated by the UTC date they were posted, described by the document
//!   numbers their source points to (`payment on invoice INV-000042, order SO-000042`),
//!   tagged with the entry's id (`entry:` in hledger, `entry:` metadata in
//!   beancount) so each can be traced back, and each amount written exactly, to the
//!   currency's minor units, never through a float. An entry in several
//!   currencies balances in each of them, which is what both tools ask.

mod accounts;
mod text;

use std::io::{self, BufWriter, Write};

use chrono::NaiveDate;

pub use accounts::AccountNames;
pub use text::DocumentNumbers;

use super::{AccountCode, ChartOfAccounts, JournalEntry};
use crate::error::ErrorKind;
use crate::ids::EntryId;
use crate::money::{Currency, Money};
use accounts::hledger_type;
use text::{Amount, Sample, description, hledger_text, one_line, quoted, tags};

/// Which tool the journal is written for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum JournalFormat {
    /// An hledger journal (`books.journal`): `hledger -f books.journal balance`.
    Hledger,
    /// A beancount file (`books.beancount`): `bean-check books.beancount`.
    Beancount,
}

/// What to export: the format, and the entries posted in `[from, to)` by their UTC
/// date (either end may be left open; neither means the whole ledger).
///
/// ```
/// use chrono::NaiveDate;
/// use o2c::ledger::{ExportOptions, JournalFormat};
///
/// let january = ExportOptions::new(JournalFormat::Hledger)
///     .from(NaiveDate::from_ymd_opt(2026, 1, 1).unwrap())
///     .to(NaiveDate::from_ymd_opt(2026, 2, 1).unwrap());
/// assert!(january.validate().is_ok());
/// assert_eq!(january.format(), JournalFormat::Hledger);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ExportOptions {
    format: JournalFormat,
    from: Option<NaiveDate>,
    to: Option<NaiveDate>,
}

impl ExportOptions {
    /// The whole ledger, in `format`.
    pub fn new(format: JournalFormat) -> Self {
        Self {
            format,
            from: None,
            to: None,
        }
    }

    /// Only entries posted on `date` or later.
    #[must_use]
    pub fn from(mut self, date: NaiveDate) -> Self {
        self.from = Some(date);
        self
    }

    /// Only entries posted before `date`.
    #[must_use]
    pub fn to(mut self, date: NaiveDate) -> Self {
        self.to = Some(date);
        self
    }

    /// The format.
    pub fn format(&self) -> JournalFormat {
        self.format
    }

    /// The range's first day and the day after its last, where given.
    pub fn range(&self) -> (Option<NaiveDate>, Option<NaiveDate>) {
        (self.from, self.to)
    }

    /// True if an entry posted on `date` (UTC) is in the range.
    pub fn includes(&self, date: NaiveDate) -> bool {
        self.from.is_none_or(|from| date >= from) && self.to.is_none_or(|to| date < to)
    }

    /// Checks the range. An empty range (`from == to`) is allowed: it exports the
    /// accounts and no entry.
    ///
    /// # Errors
    /// [`ExportError::BadRange`] if it starts after it ends.
    pub fn validate(&self) -> Result<(), ExportError> {
        match (self.from, self.to) {
            (Some(from), Some(to)) if from > to => Err(ExportError::BadRange { from, to }),
            _ => Ok(()),
        }
    }
}

/// Why an export failed. Whatever was written before the failure is incomplete:
/// discard it.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ExportError {
    /// The range starts after it ends: the request is wrong.
    #[error("the export range starts on {from}, after it ends on {to}")]
    BadRange {
        /// The first day asked for.
        from: NaiveDate,
        /// The day after the last day asked for.
        to: NaiveDate,
    },
    /// An entry posts to an account the chart of accounts no longer has, so the
    /// export cannot tell which root it belongs under: put the account back in the
    /// chart ([`ChartOfAccounts::with`]) and export again.
    #[error("entry {entry} posts to account {account}, which is not in the chart of accounts")]
    UnknownAccount {
        /// The entry.
        entry: EntryId,
        /// The account.
        account: AccountCode,
    },
    /// The writer failed (disk full, a closed pipe): the I/O error is the source.
    #[error("writing the journal failed")]
    Write(#[source] io::Error),
}

impl ExportError {
    /// This error's stable code ([`Error::code`](crate::Error::code)).
    pub fn code(&self) -> &'static str {
        match self {
            ExportError::BadRange { .. } => "ledger.export_range",
            ExportError::UnknownAccount { .. } => "ledger.unknown_account",
            ExportError::Write(..) => "ledger.export_write",
        }
    }

    /// What sort of failure this is ([`Error::kind`](crate::Error::kind)).
    pub fn kind(&self) -> ErrorKind {
        match self {
            ExportError::BadRange { .. } => ErrorKind::InvalidInput,
            ExportError::UnknownAccount { .. } => ErrorKind::Internal,
            ExportError::Write(..) => ErrorKind::Unavailable,
        }
    }
}

impl From<io::Error> for ExportError {
    fn from(e: io::Error) -> Self {
        ExportError::Write(e)
    }
}

/// What an export wrote ([`Oms::export_journal`](crate::Oms::export_journal)).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct ExportSummary {
    /// Journal entries read.
    pub read: u64,
    /// Entries written: those posted in the range.
    pub written: u64,
}

/// Where beancount opens every account when the export has no start date: before
/// any entry, whatever order the store posted them in.
const EPOCH: NaiveDate = match NaiveDate::from_ymd_opt(1970, 1, 1) {
    Some(date) => date,
    None => NaiveDate::MIN,
};

/// Writes a journal, entry by entry, in one format: the accounts first, then each
/// entry in the range as it is given (commodities declared as they first appear),
/// then [`JournalWriter::finish`] flushes it. Output is buffered.
///
/// ```
/// use chrono::{TimeZone, Utc};
/// use o2c::ids::EntryId;
/// use o2c::ledger::{AccountCode, ChartOfAccounts, DocumentNumbers, EntryBuilder, EntrySource};
/// use o2c::ledger::{ExportOptions, JournalFormat, JournalWriter};
/// use o2c::money::{Currency, Money};
///
/// # fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let chart = ChartOfAccounts::default();
/// let usd = |cents| Money::from_minor(cents, Currency::USD);
/// let entry = EntryBuilder::new("stock adjustment: count", EntrySource::StockAdjustment {
///         reason: "count".into(),
///     })
///     .debit(&AccountCode::new("1200"), usd(1250))
///     .credit(&AccountCode::new("5100"), usd(1250))
///     .build(EntryId::from_uuid(uuid::Uuid::nil()), Utc.with_ymd_and_hms(2026, 3, 2, 9, 0, 0).unwrap(), &chart)?;
///
/// let mut books = Vec::new();
/// let mut writer = JournalWriter::new(&mut books, &chart, &ExportOptions::new(JournalFormat::Beancount))?;
/// assert!(writer.write(&entry, &DocumentNumbers::new())?);
/// writer.finish()?;
/// let text = String::from_utf8(books)?;
/// assert!(text.contains("2026-03-02 * \"stock adjustment: count\""));
/// let posting = ["Assets:1200-Inventory", "12.50", "USD"];
/// assert!(text.lines().any(|line| line.split_whitespace().eq(posting)));
/// // Then, in a shell: bean-check books.beancount
/// # Ok(())
/// # }
/// ```
#[derive(Debug)]
pub struct JournalWriter<W: Write> {
    out: BufWriter<W>,
    options: ExportOptions,
    names: AccountNames,
    width: usize,
    opened_on: NaiveDate,
    declared: Vec<Currency>,
    written: u64,
}

impl<W: Write> JournalWriter<W> {
    /// Starts a journal of `chart`'s accounts on `out`, as `options` say, and
    /// writes its head: a comment saying how to check it, and every account.
    ///
    /// # Errors
    /// [`ExportError::BadRange`] if the range starts after it ends (nothing is
    /// written); [`ExportError::Write`] if writing fails.
    pub fn new(
        out: W,
        chart: &ChartOfAccounts,
        options: &ExportOptions,
    ) -> Result<Self, ExportError> {
        options.validate()?;
        let names = AccountNames::new(chart);
        let mut writer = Self {
            out: BufWriter::new(out),
            options: *options,
            width: names.widest(),
            names,
            opened_on: options.from.unwrap_or(EPOCH),
            declared: Vec::new(),
            written: 0,
        };
        writer.head(chart)?;
        Ok(writer)
    }

    fn head(&mut self, chart: &ChartOfAccounts) -> Result<(), ExportError> {
        let out = &mut self.out;
        let range = match self.options.range() {
            (None, None) => "every entry".to_owned(),
            (Some(from), None) => format!("the entries posted on or after {from}"),
            (None, Some(to)) => format!("the entries posted before {to}"),
            (Some(from), Some(to)) => {
                format!("the entries posted on or after {from} and before {to}")
            }
        };
        match self.options.format {
            JournalFormat::Hledger => {
                writeln!(out, "; The o2c journal: {range} (dates in UTC).")?;
                writeln!(
                    out,
                    "; Check it: hledger -f FILE check -s; balances: hledger -f FILE balance"
                )?;
                writeln!(out, "decimal-mark .")?;
                writeln!(out)?;
                for (code, name, kind) in self.names.iter() {
                    let what = chart.account(code).map_or("", |a| a.name.as_str());
                    writeln!(out, "account {name}  ; type: {}", hledger_type(kind))?;
                    writeln!(
                        out,
                        "  ; o2c account {}: {}",
                        one_line(code.as_str()),
                        one_line(what)
                    )?;
                }
            }
            JournalFormat::Beancount => {
                writeln!(out, "; The o2c journal: {range} (dates in UTC).")?;
                writeln!(out, "; Check it: bean-check FILE")?;
                writeln!(out, "option \"title\" \"o2c journal\"")?;
                writeln!(out)?;
                for (code, name, _) in self.names.iter() {
                    let what = chart.account(code).map_or("", |a| a.name.as_str());
                    writeln!(out, "{} open {name}", self.opened_on)?;
                    writeln!(out, "  code: \"{}\"", quoted(code.as_str()))?;
                    writeln!(out, "  name: \"{}\"", quoted(what))?;
                }
            }
        }
        writeln!(out)?;
        Ok(())
    }

    /// Writes `entry`, described by `numbers`, if it was posted in the range;
    /// returns whether it was.
    ///
    /// # Errors
    /// [`ExportError::UnknownAccount`] for a line on an account the chart does not
    /// have (nothing of the entry is written); [`ExportError::Write`] if writing
    /// fails.
    pub fn write(
        &mut self,
        entry: &JournalEntry,
        numbers: &DocumentNumbers,
    ) -> Result<bool, ExportError> {
        let date = entry.posted_at().date_naive();
        if !self.options.includes(date) {
            return Ok(false);
        }
        let mut lines: Vec<(&str, Money)> = Vec::with_capacity(entry.lines().len());
        for line in entry.lines() {
            let name =
                self.names
                    .name(&line.account)
                    .ok_or_else(|| ExportError::UnknownAccount {
                        entry: entry.id(),
                        account: line.account.clone(),
                    })?;
            lines.push((name, line.amount));
        }
        // Each currency declared before the first entry in it, as both tools
        // want, without knowing the currencies up front.
        let mut new = false;
        for (_, amount) in &lines {
            let currency = amount.currency();
            if self.declared.contains(&currency) {
                continue;
            }
            self.declared.push(currency);
            new = true;
            let code = currency.code();
            match self.options.format {
                JournalFormat::Hledger => {
                    writeln!(self.out, "commodity {} {code}", Sample(currency))?
                }
                JournalFormat::Beancount => {
                    writeln!(self.out, "{} commodity {code}", self.opened_on)?
                }
            }
        }
        if new {
            writeln!(self.out)?;
        }
        let description = description(entry, numbers);
        let tags = tags(entry, numbers);
        let out = &mut self.out;
        let width = self.width;
        match self.options.format {
            JournalFormat::Hledger => {
                let tags: Vec<String> = tags.iter().map(|(k, v)| format!("{k}:{v}")).collect();
                writeln!(
                    out,
                    "{date} * {}  ; {}",
                    hledger_text(&description),
                    tags.join(", ")
                )?;
                for (name, amount) in lines {
                    writeln!(out, "    {name:<width$}  {}", Amount(amount))?;
                }
            }
            JournalFormat::Beancount => {
                writeln!(out, "{date} * \"{}\"", quoted(&description))?;
                for (key, value) in tags {
                    writeln!(out, "  {key}: \"{}\"", quoted(&value))?;
                }
                for (name, amount) in lines {
                    writeln!(out, "  {name:<width$}  {}", Amount(amount))?;
                }
            }
        }
        writeln!(out)?;
        self.written = self.written.saturating_add(1);
        Ok(true)
    }

    /// How many entries were written so far.
    pub fn written(&self) -> u64 {
        self.written
    }

    /// Flushes what is buffered and hands the writer back.
    ///
    /// # Errors
    /// [`ExportError::Write`] if flushing fails.
    pub fn finish(self) -> Result<W, ExportError> {
        self.out
            .into_inner()
            .map_err(|e| ExportError::Write(e.into_error()))
    }
}

#[cfg(test)]
mod tests;
