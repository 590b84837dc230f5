//! The journal and the per-account balances.
//!
//! Balances are stored as decimal text and added in Rust with [`Money::checked_add`]:
//! SQLite's own arithmetic is integer or float, and a float would lose cents. The
//! text keeps the scale too, so a balance reads back exactly as the memory store
//! holds it.

use rusqlite::{OptionalExtension, Transaction, params};
use rust_decimal::Decimal;

use super::error::db;
use crate::ledger::{AccountCode, JournalEntry};
use crate::money::{Currency, Money};
use crate::store::codec::{parse, to_json};
use crate::store::{BalanceKey, StoreError, StoreResult};

/// An account's balance in one currency before this commit (zero if it has none).
pub(super) fn stored_balance(
    tx: &Transaction<'_>,
    account: &AccountCode,
    currency: Currency,
) -> StoreResult<Money> {
    let text: Option<String> = tx
        .prepare_cached("SELECT balance FROM balances WHERE account = ?1 AND currency = ?2")
        .and_then(|mut stmt| {
            stmt.query_row(params![account.as_str(), currency.code()], |row| row.get(0))
                .optional()
        })
        .map_err(db)?;
    match text {
        Some(text) => Ok(Money::new(
            parse::<Decimal>(&text, format_args!("balance of {account} in {currency}"))?,
            currency,
        )),
        None => Ok(Money::zero(currency)),
    }
}

/// Re-checks entries that may have been deserialised rather than built.
///
/// # Errors
/// [`StoreError::Invalid`] for an entry that does not balance.
pub(super) fn validate(journal: &[JournalEntry]) -> StoreResult<()> {
    for entry in journal {
        entry.validate().map_err(|e| StoreError::Invalid {
            reason: e.to_string(),
        })?;
    }
    Ok(())
}

/// Appends the entries (numbered on from the last, gapless) and stores the balances.
///
/// # Errors
/// [`StoreError::Backend`].
pub(super) fn append(
    tx: &Transaction<'_>,
    journal: &[JournalEntry],
    balances: &[(BalanceKey, Money)],
) -> StoreResult<()> {
    if journal.is_empty() {
        return Ok(());
    }
    let mut seq: i64 = tx
        .prepare_cached("SELECT COALESCE(MAX(seq), 0) FROM journal")
        .and_then(|mut stmt| stmt.query_row([], |row| row.get(0)))
        .map_err(db)?;
    let mut insert = tx
        .prepare_cached("INSERT INTO journal (seq, body) VALUES (?1, ?2)")
        .map_err(db)?;
    for entry in journal {
        seq = seq.checked_add(1).ok_or_else(|| StoreError::Invalid {
            reason: "journal position overflows".to_owned(),
        })?;
        insert.execute(params![seq, to_json(entry)?]).map_err(db)?;
    }
    let mut upsert = tx
        .prepare_cached(
            "INSERT INTO balances (account, currency, balance) VALUES (?1, ?2, ?3)
             ON CONFLICT (account, currency) DO UPDATE SET balance = excluded.balance",
        )
        .map_err(db)?;
    for ((account, currency), balance) in balances {
        upsert
            .execute(params![
                account.as_str(),
                currency.code(),
                balance.amount().to_string()
            ])
            .map_err(db)?;
    }
    Ok(())
}
