//! A return authorisation (RMA) and its lifecycle: requested, authorised, (partly)
//! received and closed — or rejected.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::ReturnError;
use crate::ids::InvoiceId;
use crate::ids::{CustomerId, LocationId, OrderId, ReturnId, Sku};
use crate::money::{Money, MoneyError};
use crate::quantity::Quantity;

/// Why a customer sends goods back.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "snake_case")]
pub enum ReturnReason {
    /// Arrived damaged.
    #[serde(alias = "Damaged")]
    Damaged,
    /// Does not work.
    #[serde(alias = "Defective")]
    Defective,
    /// Not what was ordered.
    #[serde(alias = "WrongItem")]
    WrongItem,
    /// Not as described.
    #[serde(alias = "NotAsDescribed")]
    NotAsDescribed,
    /// Changed their mind.
    #[serde(alias = "NoLongerWanted")]
    NoLongerWanted,
}

/// The state a returned unit arrives in.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "snake_case")]
pub enum Condition {
    /// Fit to sell again: back into stock at this location.
    #[serde(alias = "Resellable")]
    Resellable {
        /// Where it goes back on the shelf.
        location: LocationId,
    },
    /// Not fit to sell: written off.
    #[serde(alias = "Damaged")]
    Damaged,
}

/// Where a return stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "snake_case")]
pub enum ReturnStatus {
    /// Asked for; waits for authorisation.
    #[serde(alias = "Requested")]
    Requested,
    /// Authorised: the customer may send the goods.
    #[serde(alias = "Authorised")]
    Authorised,
    /// Some goods arrived.
    #[serde(alias = "PartiallyReceived")]
    PartiallyReceived,
    /// Everything authorised arrived.
    #[serde(alias = "Received")]
    Received,
    /// Closed before everything arrived: the rest will not be taken.
    #[serde(alias = "Closed")]
    Closed,
    /// Refused.
    #[serde(alias = "Rejected")]
    Rejected,
}

/// One order line's units on a return.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct ReturnLine {
    /// The order line.
    pub line_no: u16,
    /// Its SKU.
    pub sku: Sku,
    /// Units asked back.
    pub quantity: Quantity,
    /// Units received so far.
    pub received: Quantity,
    /// Why.
    pub reason: ReturnReason,
    /// Of the units received, those put back on the shelf (the rest were written off).
    #[serde(default)]
    pub restocked: Quantity,
    /// Cost of goods reversed for the units received: the document behind the
    /// return's postings. `None` until something is received (and on returns
    /// received before 0.2, which did not record it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cost_returned: Option<Money>,
    /// The part of `cost_returned` written off as a loss (damaged goods).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cost_written_off: Option<Money>,
}

impl ReturnLine {
    /// Records what receiving `units` of this line cost: `cost` of goods reversed,
    /// restocked or written off. Call it after the units are counted in `received`.
    ///
    /// # Errors
    /// On overflow or a currency other than the line's earlier costs.
    pub fn book_cost(
        &mut self,
        units: Quantity,
        cost: Money,
        restocked: bool,
    ) -> Result<(), MoneyError> {
        if self.cost_returned.is_none() && self.received > units {
            // Units were received before 0.2 without their cost: the line stays
            // as 0.1 left it, so the audit counts it among what it cannot check
            // rather than comparing a cost that misses those units.
            return Ok(());
        }
        let zero = Money::zero(cost.currency());
        self.cost_returned = Some(self.cost_returned.unwrap_or(zero).checked_add(cost)?);
        let written_off = self.cost_written_off.unwrap_or(zero);
        if restocked {
            self.restocked = self.restocked.saturating_add(units);
            self.cost_written_off = Some(written_off);
        } else {
            self.cost_written_off = Some(written_off.checked_add(cost)?);
        }
        Ok(())
    }
}

/// A return authorisation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct ReturnAuthorization {
    /// Its identity.
    pub id: ReturnId,
    /// Its number, given by the store when the return is requested (`None` only
    /// for returns requested before o2c 0.2 numbered them).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub number: Option<crate::ids::ReturnNumber>,
    /// The order the goods came on.
    pub order: OrderId,
    /// The customer.
    pub customer: CustomerId,
    /// The order's invoices when the return was asked for: what a receipt credits,
    /// read with the order in one round trip (an invoice issued since is read
    /// after it). Empty on returns asked for before o2c 0.2 recorded them.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub invoices: Vec<InvoiceId>,
    /// What comes back.
    pub lines: Vec<ReturnLine>,
    /// Where it stands.
    pub status: ReturnStatus,
    /// When asked for.
    pub requested_at: DateTime<Utc>,
    /// For an exchange, what to send instead: placed as a new order, paid from the
    /// credit the return gives, once everything asked back is received. Empty for
    /// a plain return.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub replacement: Vec<crate::order::LineRequest>,
    /// The replacement order, once placed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub replacement_order: Option<OrderId>,
    /// Customer credit the receipts gave so far (what had been paid for the units
    /// returned; units not yet paid for reduce the invoice instead).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub credit_given: Option<crate::money::Money>,
}

impl ReturnAuthorization {
    fn refuse(&self, action: &'static str) -> ReturnError {
        ReturnError::InvalidTransition {
            id: self.id,
            status: self.status,
            action,
        }
    }

    /// Requested → authorised.
    ///
    /// # Errors
    /// [`ReturnError::InvalidTransition`] unless requested.
    pub fn authorise(&mut self) -> Result<(), ReturnError> {
        if self.status != ReturnStatus::Requested {
            return Err(self.refuse("authorise"));
        }
        self.status = ReturnStatus::Authorised;
        Ok(())
    }

    /// Requested or authorised → rejected (nothing may have arrived).
    ///
    /// # Errors
    /// [`ReturnError::InvalidTransition`] otherwise.
    pub fn reject(&mut self) -> Result<(), ReturnError> {
        if !matches!(
            self.status,
            ReturnStatus::Requested | ReturnStatus::Authorised
        ) {
            return Err(self.refuse("reject"));
        }
        self.status = ReturnStatus::Rejected;
        Ok(())
    }

    /// Partly received → closed: what did not arrive will not be taken.
    ///
    /// # Errors
    /// [`ReturnError::InvalidTransition`] otherwise.
    pub fn close(&mut self) -> Result<(), ReturnError> {
        if self.status != ReturnStatus::PartiallyReceived {
            return Err(self.refuse("close"));
        }
        self.status = ReturnStatus::Closed;
        Ok(())
    }

    /// Takes in `units` of line `line_no`, moving the status on.
    ///
    /// # Errors
    /// [`ReturnError::InvalidTransition`] unless authorised or partly received;
    /// [`ReturnError::BeyondAuthorised`] for more than expected or an unknown line.
    pub fn receive(&mut self, line_no: u16, units: Quantity) -> Result<(), ReturnError> {
        if !matches!(
            self.status,
            ReturnStatus::Authorised | ReturnStatus::PartiallyReceived
        ) {
            return Err(self.refuse("receive"));
        }
        let line = self.lines.iter_mut().find(|l| l.line_no == line_no).ok_or(
            ReturnError::BeyondAuthorised {
                line_no,
                outstanding: Quantity::ZERO,
                received: units,
            },
        )?;
        let outstanding = line.quantity.saturating_sub(line.received);
        if units.is_zero() || units > outstanding {
            return Err(ReturnError::BeyondAuthorised {
                line_no,
                outstanding,
                received: units,
            });
        }
        // At most what is outstanding: the sum stays within `quantity`.
        line.received = line.received.saturating_add(units);
        self.status = if self.lines.iter().all(|l| l.received == l.quantity) {
            ReturnStatus::Received
        } else {
            ReturnStatus::PartiallyReceived
        };
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn q(units: u32) -> Quantity {
        Quantity::new(units)
    }

    #[test]
    fn a_line_partly_received_before_0_2_keeps_no_cost() {
        let usd = |cents| Money::from_minor(cents, crate::money::Currency::USD);
        let mut line = rma().lines.remove(0);
        // 0.1 received one unit and recorded no cost; 0.2 receives the next.
        line.received = q(2);
        line.book_cost(q(1), usd(800), true).unwrap();
        assert_eq!((line.cost_returned, line.restocked), (None, Quantity::ZERO));
        // A line received only under 0.2 records every unit's cost.
        let mut line = rma().lines.remove(0);
        line.received = q(1);
        line.book_cost(q(1), usd(800), true).unwrap();
        line.received = q(2);
        line.book_cost(q(1), usd(700), false).unwrap();
        assert_eq!(
            (line.cost_returned, line.cost_written_off, line.restocked),
            (Some(usd(1500)), Some(usd(700)), q(1))
        );
    }

    fn rma() -> ReturnAuthorization {
        ReturnAuthorization {
            id: ReturnId::from_uuid(uuid::Uuid::from_u128(1)),
            number: None,
            order: OrderId::from_uuid(uuid::Uuid::from_u128(2)),
            customer: CustomerId::from_uuid(uuid::Uuid::from_u128(3)),
            invoices: Vec::new(),
            lines: vec![ReturnLine {
                line_no: 1,
                sku: Sku::new("A").unwrap(),
                quantity: q(3),
                received: Quantity::ZERO,
                reason: ReturnReason::Defective,
                restocked: Quantity::ZERO,
                cost_returned: None,
                cost_written_off: None,
            }],
            status: ReturnStatus::Requested,
            requested_at: DateTime::UNIX_EPOCH,
            replacement: Vec::new(),
            replacement_order: None,
            credit_given: None,
        }
    }

    #[test]
    fn walks_its_lifecycle() {
        let mut r = rma();
        assert!(r.receive(1, q(1)).is_err(), "not authorised yet");
        r.authorise().unwrap();
        r.receive(1, q(2)).unwrap();
        assert_eq!(r.status, ReturnStatus::PartiallyReceived);
        assert!(r.reject().is_err(), "goods arrived");
        assert!(matches!(
            r.receive(1, q(2)),
            Err(ReturnError::BeyondAuthorised { outstanding, .. }) if outstanding == q(1)
        ));
        r.receive(1, q(1)).unwrap();
        assert_eq!(r.status, ReturnStatus::Received);
        let mut short = rma();
        short.authorise().unwrap();
        short.receive(1, q(1)).unwrap();
        short.close().unwrap();
        assert_eq!(short.status, ReturnStatus::Closed);
        let mut no = rma();
        no.reject().unwrap();
        assert!(no.authorise().is_err());
    }
}
