//! A provider's payout: money captured by card leaves the clearing account for the
//! bank, less the provider's fee.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::error::Error;
use crate::ledger::{PaymentError, Postings};
use crate::money::Money;

/// A payout the provider made to the business's bank account.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct Settlement {
    /// The provider's id for the payout; its key in the store.
    pub payout: String,
    /// The provider.
    pub provider: String,
    /// What the payout settles of the captures (less their refunds): what leaves
    /// card clearing.
    pub gross: Money,
    /// What the provider kept as its fee.
    pub fee: Money,
    /// When recorded.
    pub settled_at: DateTime<Utc>,
}

impl Settlement {
    /// What reached the bank: gross less fee.
    ///
    /// # Errors
    /// On overflow or mixed currencies.
    pub fn net(&self) -> Result<Money, Error> {
        Ok(self.gross.checked_sub(self.fee)?)
    }
}

/// A payout to record ([`Oms::record_settlement`](crate::Oms::record_settlement)).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct RecordSettlement {
    /// The provider's id for the payout: recording it twice records it once.
    pub payout: String,
    /// What it settles of the captures (before the fee).
    pub gross: Money,
    /// The provider's fee.
    pub fee: Money,
}

impl RecordSettlement {
    /// Refuses what no payout can be, before anything is read.
    ///
    /// # Errors
    /// [`Error::Invalid`] for an empty or over-long payout id; [`Error::Payment`]
    /// for a non-positive gross, a negative fee or one above the gross, sub-cent
    /// digits or mixed currencies.
    pub fn check(&self) -> Result<(), Error> {
        if crate::ids::IdempotencyKey::new(self.payout.clone()).is_err() {
            return Err(Error::invalid(
                "payout",
                "a payout id must be 1 to 64 characters, not blank, no control characters",
            ));
        }
        if !self.gross.is_positive() {
            return Err(PaymentError::NotPositive(self.gross).into());
        }
        for amount in [self.gross, self.fee] {
            if !amount.is_in_minor_units() {
                return Err(PaymentError::NotInMinorUnits(amount).into());
            }
        }
        if self.fee.currency() != self.gross.currency() {
            return Err(PaymentError::CurrencyMismatch {
                expected: self.gross.currency(),
                found: self.fee.currency(),
            }
            .into());
        }
        if self.fee.is_negative() || self.fee.cmp_amount(self.gross)?.is_gt() {
            return Err(Error::invalid(
                "fee",
                format!(
                    "a payout's fee must be between 0 and its gross {}, got {}",
                    self.gross, self.fee
                ),
            ));
        }
        Ok(())
    }
}

/// The settlement's journal entry: Dr bank (net), Dr provider fees, Cr card
/// clearing (gross).
///
/// # Errors
/// [`Error::Ledger`] if the entry cannot be built.
pub(crate) fn post(
    settlement: &Settlement,
    postings: &Postings<'_>,
    id: crate::ids::EntryId,
) -> Result<Option<crate::ledger::JournalEntry>, Error> {
    Ok(postings.settlement(settlement, id, settlement.settled_at)?)
}
