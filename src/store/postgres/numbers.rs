//! Document numbers taken on the server, at the end of the commit's one round
//! trip, although they appear inside what the commit writes.
//!
//! A numbered document's number is in its body, in the events about it and in
//! the memo of its journal entry, all serialised by the client. So the client
//! numbers each document with a *stand-in* — a 19-digit number no series will
//! reach — serialises everything, and the SQL puts the real number in its place
//! as it writes: it takes the number from the series row (last in the
//! transaction), keeps it in a transaction-local setting, and replaces the
//! stand-in's text, first where it is printed for people (`INV-` and the digits,
//! zero-padded to the series's width as the document's `Display` pads it), then
//! where it stands bare (the JSON number).
//!
//! A stand-in's digits might occur by chance in what a user wrote (a note, a
//! name). So the client serialises everything twice, with two different
//! stand-ins, and uses the stand-ins only if the two texts differ exactly where
//! the number is; otherwise the commit takes its numbers in a round trip of
//! their own first, as before.

use crate::event::Event;
use crate::ledger::JournalEntry;
use crate::store::codec::to_json;
use crate::store::{Changeset, Series, StoreError, StoreResult};

use super::batch::{Param, int, text};

/// The first stand-in; the `k`th numbered document of a commit gets this plus `k`.
const STAND_IN: u64 = 9_137_451_209_000_000_000;
/// The stand-ins of the check serialisation.
const CHECK: u64 = 9_137_451_208_000_000_000;

/// How the `k`th numbered document's stand-in is printed, and where its real
/// number is kept during the transaction.
pub(super) struct StandIn {
    pub(super) series: Series,
    /// The stand-in's digits, as JSON holds them.
    digits: String,
    /// The stand-in as `Display` prints it (`INV-9137451209000000000`).
    printed: String,
    /// What `Display` puts before the digits (`INV-`).
    prefix: String,
    /// The width `Display` pads the digits to.
    width: i64,
    /// The transaction-local setting that holds the real number.
    pub(super) setting: String,
}

/// Numbers `changes`' documents with stand-ins and returns them, or `None` when
/// a stand-in's text also occurs where it is not the number (the commit must then
/// take its numbers first).
///
/// # Errors
/// [`StoreError::Invalid`] from [`Changeset::assign_numbers`];
/// [`StoreError::Backend`] if something does not serialise.
pub(super) fn stand_ins(changes: &mut Changeset) -> StoreResult<Option<Vec<StandIn>>> {
    let check = assign(changes, CHECK)?;
    let checked = texts(changes)?;
    let used = assign(changes, STAND_IN)?;
    let sent = texts(changes)?;
    let mut stand_ins = Vec::with_capacity(used.len());
    for (k, (series, n)) in used.into_iter().enumerate() {
        let printed = series.display(n);
        let digits = n.to_string();
        let prefix = printed
            .strip_suffix(&digits)
            .ok_or_else(|| StoreError::Invalid {
                reason: format!("{} does not end in its number", printed),
            })?
            .to_owned();
        let one = series.display(1);
        let width = i64::try_from(one.len().saturating_sub(prefix.len())).unwrap_or(0);
        stand_ins.push(StandIn {
            series,
            digits,
            printed,
            prefix,
            width,
            setting: format!("o2c.number_{k}"),
        });
    }
    // Swapping each stand-in for its check twin must give the check texts
    // exactly: then every occurrence is the number, and nothing else is.
    let swapped: Vec<String> = sent
        .iter()
        .map(|body| {
            stand_ins
                .iter()
                .zip(&check)
                .fold(body.clone(), |body, (s, (_, twin))| {
                    body.replace(&s.digits, &twin.to_string())
                })
        })
        .collect();
    Ok((swapped == checked).then_some(stand_ins))
}

/// Numbers the documents `STAND_IN + k` (or `CHECK + k`); their series and numbers.
fn assign(changes: &mut Changeset, base: u64) -> StoreResult<Vec<(Series, u64)>> {
    let mut k = 0;
    let mut given = Vec::new();
    changes.assign_numbers(|series| {
        let n = base.saturating_add(k);
        k = k.saturating_add(1);
        given.push((series, n));
        Ok(n)
    })?;
    Ok(given)
}

/// Everything a number can appear in: the numbered documents, the events, the
/// journal entries.
fn texts(changes: &Changeset) -> StoreResult<Vec<String>> {
    let mut out = Vec::new();
    for put in &changes.puts {
        if put.expected.is_none() && changes.numbered.iter().any(|k| put.record.has_key(k)) {
            out.push(to_json(&put.record)?);
        }
    }
    out.extend(
        changes
            .events
            .iter()
            .map(to_json::<Event>)
            .collect::<StoreResult<Vec<_>>>()?,
    );
    out.extend(
        changes
            .journal
            .iter()
            .map(to_json::<JournalEntry>)
            .collect::<StoreResult<Vec<_>>>()?,
    );
    Ok(out)
}

/// `expr` (an SQL text expression) with every stand-in replaced by its real
/// number, and the parameters that takes, numbered from `$first`.
pub(super) fn render(stand_ins: &[StandIn], expr: &str, first: usize) -> (String, Vec<Param>) {
    let mut sql = expr.to_owned();
    let mut params = Vec::with_capacity(stand_ins.len() * 5);
    for (k, s) in stand_ins.iter().enumerate() {
        let at = first + 5 * k;
        let (printed, prefix, width, digits, setting) = (at, at + 1, at + 2, at + 3, at + 4);
        let number = format!("current_setting(${setting})");
        sql = format!(
            "replace(replace({sql}, ${printed}, ${prefix} || CASE WHEN length({number}) < ${width}
                THEN lpad({number}, ${width}::int, '0') ELSE {number} END), ${digits}, {number})"
        );
        params.extend([
            text(s.printed.clone()),
            text(s.prefix.clone()),
            int(s.width),
            text(s.digits.clone()),
            text(s.setting.clone()),
        ]);
    }
    (sql, params)
}
