//! Purchase orders: draft → approved (sent) → partially received → received →
//! closed, or cancelled before anything arrives.

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};

use super::PurchasingError;
use crate::ids::{LocationId, PurchaseOrderId, Sku, SupplierId};
use crate::money::{Currency, Money, MoneyError};
use crate::quantity::Quantity;

/// Where a purchase order is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "snake_case")]
pub enum PurchaseOrderStatus {
    /// Proposed; waits for approval.
    #[serde(alias = "Draft")]
    Draft,
    /// Approved and sent to the supplier; goods expected.
    #[serde(alias = "Approved")]
    Approved,
    /// Some goods arrived, some are still expected.
    #[serde(alias = "PartiallyReceived")]
    PartiallyReceived,
    /// Everything ordered arrived.
    #[serde(alias = "Received")]
    Received,
    /// Finished: nothing more will be received (a short delivery may close it early).
    #[serde(alias = "Closed")]
    Closed,
    /// Withdrawn before anything arrived.
    #[serde(alias = "Cancelled")]
    Cancelled,
}

/// What to do with a receipt of more than is outstanding.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "snake_case")]
pub enum OverReceipt {
    /// Refuse the receipt: the dock sends the extra back.
    #[default]
    #[serde(alias = "Reject")]
    Reject,
    /// Take it in, at the order's unit cost.
    #[serde(alias = "Accept")]
    Accept,
}

/// One SKU on a purchase order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct PurchaseOrderLine {
    /// The SKU.
    pub sku: Sku,
    /// Units ordered.
    pub quantity: Quantity,
    /// Agreed cost per unit, in the order's currency.
    pub unit_cost: Money,
    /// Units received so far (may exceed `quantity` when over-receipts are accepted).
    pub received: Quantity,
}

impl PurchaseOrderLine {
    /// Units still expected.
    pub fn outstanding(&self) -> Quantity {
        self.quantity.saturating_sub(self.received)
    }
}

/// An order to a supplier.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct PurchaseOrder {
    /// Its identity.
    pub id: PurchaseOrderId,
    /// Its number, given by the store when the purchase order is raised (`None`
    /// only for purchase orders raised before o2c 0.2 numbered them).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub number: Option<crate::ids::PurchaseOrderNumber>,
    /// Who supplies it.
    pub supplier: SupplierId,
    /// The supplier's currency.
    pub currency: Currency,
    /// The location the goods are delivered to.
    pub ship_to: LocationId,
    /// One line per SKU.
    pub lines: Vec<PurchaseOrderLine>,
    /// Where it is in its life.
    pub status: PurchaseOrderStatus,
    /// When the goods are expected; back-orders are promised from it.
    pub expected_on: NaiveDate,
    /// When it was raised.
    pub created_at: DateTime<Utc>,
}

/// What one receipt brought in for one SKU.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Received {
    /// Units taken in.
    pub units: Quantity,
    /// Their cost per unit.
    pub unit_cost: Money,
}

impl PurchaseOrder {
    /// A draft with the given lines.
    ///
    /// # Errors
    /// [`PurchasingError::EmptyOrder`] for no lines, a zero quantity or a SKU twice;
    /// [`PurchasingError::CurrencyMismatch`] for a line in another currency;
    /// [`PurchasingError::InvalidCost`] for a negative or sub-minor-unit cost.
    #[allow(clippy::too_many_arguments)]
    pub fn draft(
        id: PurchaseOrderId,
        supplier: SupplierId,
        currency: Currency,
        ship_to: LocationId,
        lines: Vec<(Sku, Quantity, Money)>,
        expected_on: NaiveDate,
        created_at: DateTime<Utc>,
    ) -> Result<Self, PurchasingError> {
        if lines.is_empty() {
            return Err(PurchasingError::EmptyOrder);
        }
        let mut out: Vec<PurchaseOrderLine> = Vec::with_capacity(lines.len());
        for (sku, quantity, unit_cost) in lines {
            if quantity.is_zero() || out.iter().any(|l| l.sku == sku) {
                return Err(PurchasingError::EmptyOrder);
            }
            if unit_cost.currency() != currency {
                return Err(PurchasingError::CurrencyMismatch {
                    sku,
                    expected: currency,
                    found: unit_cost.currency(),
                });
            }
            if unit_cost.is_negative() || !unit_cost.is_in_minor_units() {
                return Err(PurchasingError::InvalidCost {
                    sku,
                    reason: "negative or finer than the currency's minor unit",
                });
            }
            out.push(PurchaseOrderLine {
                sku,
                quantity,
                unit_cost,
                received: Quantity::ZERO,
            });
        }
        Ok(Self {
            id,
            number: None,
            supplier,
            currency,
            ship_to,
            lines: out,
            status: PurchaseOrderStatus::Draft,
            expected_on,
            created_at,
        })
    }

    /// The order's value: Σ quantity × unit cost.
    ///
    /// # Errors
    /// [`MoneyError`] on overflow.
    pub fn total(&self) -> Result<Money, MoneyError> {
        self.lines
            .iter()
            .try_fold(Money::zero(self.currency), |sum, l| {
                sum.checked_add(l.unit_cost.checked_mul_qty(u64::from(l.quantity.units()))?)
            })
    }

    /// True while goods may still arrive on it (draft, approved, partly received).
    pub fn is_open(&self) -> bool {
        matches!(
            self.status,
            PurchaseOrderStatus::Draft
                | PurchaseOrderStatus::Approved
                | PurchaseOrderStatus::PartiallyReceived
        )
    }

    /// True once sent and until everything arrived (approved or partly received):
    /// goods are on their way, and waiting back-orders are promised its date.
    pub fn is_sent(&self) -> bool {
        matches!(
            self.status,
            PurchaseOrderStatus::Approved | PurchaseOrderStatus::PartiallyReceived
        )
    }

    /// Units of `sku` still expected (0 unless open).
    pub fn outstanding(&self, sku: &Sku) -> Quantity {
        if !self.is_open() {
            return Quantity::ZERO;
        }
        // One line per SKU (see `draft`): the sum never has more than one term.
        self.lines
            .iter()
            .filter(|l| &l.sku == sku)
            .map(PurchaseOrderLine::outstanding)
            .fold(Quantity::ZERO, Quantity::saturating_add)
    }

    fn refuse(&self, action: &'static str) -> PurchasingError {
        PurchasingError::InvalidTransition {
            id: self.id,
            status: self.status,
            action,
        }
    }

    /// Draft → approved (and sent).
    ///
    /// # Errors
    /// [`PurchasingError::InvalidTransition`] unless it is a draft.
    pub fn approve(&mut self) -> Result<(), PurchasingError> {
        if self.status != PurchaseOrderStatus::Draft {
            return Err(self.refuse("approve"));
        }
        self.status = PurchaseOrderStatus::Approved;
        Ok(())
    }

    /// Draft or approved → cancelled; nothing may have arrived.
    ///
    /// # Errors
    /// [`PurchasingError::InvalidTransition`] otherwise.
    pub fn cancel(&mut self) -> Result<(), PurchasingError> {
        if !matches!(
            self.status,
            PurchaseOrderStatus::Draft | PurchaseOrderStatus::Approved
        ) {
            return Err(self.refuse("cancel"));
        }
        self.status = PurchaseOrderStatus::Cancelled;
        Ok(())
    }

    /// Partly or fully received → closed: nothing more is expected.
    ///
    /// # Errors
    /// [`PurchasingError::InvalidTransition`] otherwise.
    pub fn close(&mut self) -> Result<(), PurchasingError> {
        if !matches!(
            self.status,
            PurchaseOrderStatus::PartiallyReceived | PurchaseOrderStatus::Received
        ) {
            return Err(self.refuse("close"));
        }
        self.status = PurchaseOrderStatus::Closed;
        Ok(())
    }

    /// Expects the sent order on `day` instead of the day it was expected.
    ///
    /// # Errors
    /// [`PurchasingError::InvalidTransition`] unless approved or partly
    /// received, or for the day it is expected already.
    pub fn reschedule(&mut self, day: NaiveDate) -> Result<(), PurchasingError> {
        if !self.is_sent() || day == self.expected_on {
            return Err(self.refuse("reschedule"));
        }
        self.expected_on = day;
        Ok(())
    }

    /// Takes in `units` of `sku`, moving the status on.
    ///
    /// # Errors
    /// [`PurchasingError::InvalidTransition`] unless approved or partly received;
    /// [`PurchasingError::EmptyReceipt`], [`PurchasingError::NotOnOrder`],
    /// [`PurchasingError::OverReceipt`] (under [`OverReceipt::Reject`]).
    pub fn receive(
        &mut self,
        sku: &Sku,
        units: Quantity,
        policy: OverReceipt,
    ) -> Result<Received, PurchasingError> {
        if !matches!(
            self.status,
            PurchaseOrderStatus::Approved | PurchaseOrderStatus::PartiallyReceived
        ) {
            return Err(self.refuse("receive"));
        }
        if units.is_zero() {
            return Err(PurchasingError::EmptyReceipt);
        }
        let id = self.id;
        let line = self
            .lines
            .iter_mut()
            .find(|l| &l.sku == sku)
            .ok_or_else(|| PurchasingError::NotOnOrder {
                id,
                sku: sku.clone(),
            })?;
        let outstanding = line.outstanding();
        if units > outstanding && policy == OverReceipt::Reject {
            return Err(PurchasingError::OverReceipt {
                id,
                sku: sku.clone(),
                outstanding,
                received: units,
            });
        }
        line.received = line
            .received
            .checked_add(units)
            .ok_or(PurchasingError::OverReceipt {
                id,
                sku: sku.clone(),
                outstanding,
                received: units,
            })?;
        let received = Received {
            units,
            unit_cost: line.unit_cost,
        };
        self.status = if self.lines.iter().all(|l| l.outstanding().is_zero()) {
            PurchaseOrderStatus::Received
        } else {
            PurchaseOrderStatus::PartiallyReceived
        };
        Ok(received)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn q(units: u32) -> Quantity {
        Quantity::new(units)
    }

    fn po() -> PurchaseOrder {
        let usd = |c| Money::from_minor(c, Currency::USD);
        PurchaseOrder::draft(
            PurchaseOrderId::from_uuid(uuid::Uuid::from_u128(1)),
            SupplierId::from_uuid(uuid::Uuid::from_u128(2)),
            Currency::USD,
            LocationId::new("DC").unwrap(),
            vec![
                (Sku::new("A").unwrap(), q(10), usd(250)),
                (Sku::new("B").unwrap(), q(4), usd(1000)),
            ],
            NaiveDate::from_ymd_opt(2026, 12, 10).unwrap(),
            DateTime::UNIX_EPOCH,
        )
        .unwrap()
    }

    #[test]
    fn walks_its_lifecycle() {
        let mut po = po();
        assert_eq!(po.total().unwrap(), Money::from_minor(6500, Currency::USD));
        let a = Sku::new("A").unwrap();
        assert!(
            po.receive(&a, q(1), OverReceipt::Reject).is_err(),
            "a draft receives nothing"
        );
        po.approve().unwrap();
        assert!(po.approve().is_err());
        po.receive(&a, q(6), OverReceipt::Reject).unwrap();
        assert_eq!(po.status, PurchaseOrderStatus::PartiallyReceived);
        assert!(po.cancel().is_err(), "goods arrived: close it instead");
        assert_eq!(po.outstanding(&a), q(4));
        let over = po.receive(&a, q(5), OverReceipt::Reject);
        assert!(matches!(
            over,
            Err(PurchasingError::OverReceipt { outstanding, received, .. })
                if outstanding == q(4) && received == q(5)
        ));
        assert_eq!(
            po.outstanding(&a),
            q(4),
            "a refused receipt changes nothing"
        );
        po.receive(&a, q(5), OverReceipt::Accept).unwrap();
        po.receive(&Sku::new("B").unwrap(), q(4), OverReceipt::Reject)
            .unwrap();
        assert_eq!(po.status, PurchaseOrderStatus::Received);
        po.close().unwrap();
        assert_eq!(po.outstanding(&a), Quantity::ZERO);
    }

    #[test]
    fn refuses_bad_drafts_and_receipts() {
        let mut po = po();
        po.cancel().unwrap();
        assert!(matches!(
            po.receive(&Sku::new("A").unwrap(), q(1), OverReceipt::Accept),
            Err(PurchasingError::InvalidTransition {
                status: PurchaseOrderStatus::Cancelled,
                ..
            })
        ));
        let euro = PurchaseOrder::draft(
            po.id,
            po.supplier,
            Currency::USD,
            po.ship_to.clone(),
            vec![(
                Sku::new("A").unwrap(),
                q(1),
                Money::from_minor(1, Currency::EUR),
            )],
            po.expected_on,
            po.created_at,
        );
        assert!(matches!(
            euro,
            Err(PurchasingError::CurrencyMismatch { .. })
        ));
        let mut open = self::po();
        open.approve().unwrap();
        assert!(matches!(
            open.receive(&Sku::new("Z").unwrap(), q(1), OverReceipt::Accept),
            Err(PurchasingError::NotOnOrder { .. })
        ));
        assert!(matches!(
            open.receive(&Sku::new("A").unwrap(), q(0), OverReceipt::Accept),
            Err(PurchasingError::EmptyReceipt)
        ));
    }
}
