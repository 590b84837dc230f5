use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::{OrderError, OrderLine, OrderStatus};
use crate::customer::Address;
use crate::ids::{CustomerId, IdempotencyKey, InvoiceId, LocationId, OrderId, ShipmentId};
use crate::money::{Currency, Money, MoneyError};
use crate::purchasing::BackOrderPolicy;

/// Where an order came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "snake_case")]
pub enum Channel {
    /// The web shop.
    #[serde(alias = "Web")]
    Web,
    /// A store till (point of sale).
    #[serde(alias = "Store")]
    Store,
    /// A call-centre agent.
    #[serde(alias = "Phone")]
    Phone,
    /// A business customer (portal or EDI).
    #[serde(alias = "B2b")]
    B2b,
    /// A marketplace integration.
    #[serde(alias = "Marketplace")]
    Marketplace,
}

/// How fast a shipment should travel.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "snake_case")]
pub enum ServiceLevel {
    /// Slowest, cheapest.
    #[serde(alias = "Economy")]
    Economy,
    /// The usual parcel service.
    #[serde(alias = "Standard")]
    Standard,
    /// Next day.
    #[serde(alias = "Express")]
    Express,
    /// Pallets by LTL freight.
    #[serde(alias = "Freight")]
    Freight,
}

/// How goods reach the customer.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Delivery {
    /// Shipped by a carrier.
    Ship {
        /// Where to (shared: orders are read far more often than written).
        address: std::sync::Arc<Address>,
        /// How fast.
        service: ServiceLevel,
    },
    /// Collected by the customer at a store; stock is reserved there only.
    Pickup {
        /// The store.
        location: LocationId,
    },
}

/// Why an order may not ship yet.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "snake_case")]
pub enum Hold {
    /// The customer's exposure would exceed their credit limit; released by a person.
    #[serde(alias = "CreditLimit")]
    CreditLimit,
    /// Prepaid terms: released automatically when every invoice is paid.
    #[serde(alias = "AwaitingPayment")]
    AwaitingPayment,
    /// Put on hold for manual review; released by a person.
    #[serde(alias = "ManualReview")]
    ManualReview,
    /// The customer has an invoice past the reminder level that stops shipping
    /// ([`AutomationPolicy::hold_at_reminder`](crate::AutomationPolicy::hold_at_reminder));
    /// released by [`Oms::run_due`](crate::Oms::run_due) once none is left open,
    /// or by a person.
    Overdue,
    /// The customer's card was declined, or its authorisation lapsed and could
    /// not be renewed; released when
    /// [`Oms::authorise_order`](crate::Oms::authorise_order) succeeds.
    #[serde(alias = "PaymentDeclined")]
    PaymentDeclined,
}

impl Hold {
    /// True for the holds that wait for the customer's money — prepayment, or
    /// a card that was declined — which
    /// [`cancel_unpaid_after`](crate::AutomationPolicy::cancel_unpaid_after)
    /// ends.
    pub fn waits_for_payment(self) -> bool {
        matches!(self, Hold::AwaitingPayment | Hold::PaymentDeclined)
    }
}

/// Shipping progress, derived from the lines.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "snake_case")]
pub enum FulfilmentStatus {
    /// Nothing shipped.
    #[serde(alias = "Unshipped")]
    Unshipped,
    /// Some lines or units shipped.
    #[serde(alias = "PartiallyShipped")]
    PartiallyShipped,
    /// Everything not cancelled has shipped, not all delivered.
    #[serde(alias = "Shipped")]
    Shipped,
    /// Everything not cancelled has been delivered.
    #[serde(alias = "Delivered")]
    Delivered,
}

/// Payment progress, derived from what was invoiced and paid.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "snake_case")]
pub enum PaymentStatus {
    /// No invoice yet.
    #[serde(alias = "NotInvoiced")]
    NotInvoiced,
    /// Invoiced, nothing paid.
    #[serde(alias = "Unpaid")]
    Unpaid,
    /// Some paid.
    #[serde(alias = "PartiallyPaid")]
    PartiallyPaid,
    /// Everything invoiced is paid.
    #[serde(alias = "Paid")]
    Paid,
}

/// A customer's order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct Order {
    /// Identity.
    pub id: OrderId,
    /// Its number, given by the store when the order is placed (`None` only for
    /// orders placed before o2c 0.2 numbered them).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub number: Option<crate::ids::OrderNumber>,
    /// The buyer.
    pub customer: CustomerId,
    /// Where it came from.
    pub channel: Channel,
    /// The currency of every amount on it.
    pub currency: Currency,
    /// Its lines.
    pub lines: crate::lines::Lines<OrderLine>,
    /// How goods reach the customer.
    pub delivery: Delivery,
    /// Shipping charged to the customer.
    pub shipping_charge: Money,
    /// Lifecycle status.
    pub status: OrderStatus,
    /// Holds in force; non-empty exactly when the status is `OnHold`.
    pub holds: Vec<Hold>,
    /// Since when it has been held waiting for the customer's money
    /// ([`Hold::waits_for_payment`]: placed, amended to owe more, or its card
    /// declined): what [`Oms::run_due`](crate::Oms::run_due) counts the days
    /// unpaid from. `None` while not so held, and on orders stored
    /// before it was kept, whose placement stands in for it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub awaiting_payment_since: Option<chrono::DateTime<chrono::Utc>>,
    /// Invoices issued for it, oldest first.
    pub invoices: Vec<InvoiceId>,
    /// Shipments booked for it, oldest first.
    pub shipments: Vec<ShipmentId>,
    /// Σ of its invoices' totals (void ones excluded).
    pub invoiced: Money,
    /// Σ of payments applied to its invoices.
    pub paid: Money,
    /// When placed.
    pub placed_at: DateTime<Utc>,
    /// When it completed or was cancelled.
    pub closed_at: Option<DateTime<Utc>>,
    /// The key it was placed with.
    pub idempotency_key: IdempotencyKey,
    /// A free-text note from the channel.
    pub note: Option<String>,
    /// What it does about back-ordered lines: ship complete, or ship what is there.
    #[serde(default)]
    pub back_order: BackOrderPolicy,
    /// The policy the order was placed with, if it named one: amendments decide
    /// short units as placement did (`None`: the short products' strictest).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub back_order_requested: Option<BackOrderPolicy>,
    /// Σ of the credit notes against its invoices (`None`: none).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub credited: Option<Money>,
    /// Card authorisations made for it through the payment provider, oldest
    /// first, each with the requests sent against it (empty when the order is
    /// not paid through a provider).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub authorisations: Vec<crate::payment::Authorisation>,
    /// Paid by card through the payment provider: invoiced as it ships, each
    /// invoice captured from its authorisation ([`crate::payment`]).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub through_provider: bool,
}

impl Order {
    /// Σ line net amounts.
    ///
    /// # Errors
    /// On overflow.
    pub fn net_total(&self) -> Result<Money, MoneyError> {
        Money::sum(self.currency, self.lines.iter().map(|l| l.amounts.net))
    }

    /// Σ line tax.
    ///
    /// # Errors
    /// On overflow.
    pub fn tax_total(&self) -> Result<Money, MoneyError> {
        Money::sum(self.currency, self.lines.iter().map(|l| l.amounts.tax))
    }

    /// Σ line discounts.
    ///
    /// # Errors
    /// On overflow.
    pub fn discount_total(&self) -> Result<Money, MoneyError> {
        Money::sum(self.currency, self.lines.iter().map(|l| l.amounts.discount))
    }

    /// Net + tax + shipping of every line as it stands, cancelled units included;
    /// [`Order::value`] leaves those out.
    ///
    /// # Errors
    /// On overflow.
    pub fn total(&self) -> Result<Money, MoneyError> {
        self.net_total()?
            .checked_add(self.tax_total()?)?
            .checked_add(self.shipping_charge)
    }

    /// What the order is worth now: each line's money for the units still wanted
    /// (ordered less cancelled), plus shipping.
    ///
    /// # Errors
    /// On overflow.
    pub fn value(&self) -> Result<Money, MoneyError> {
        let mut value = self.shipping_charge;
        for line in &self.lines {
            let wanted = line.wanted();
            value = value.checked_add(line.billed(wanted)?.total()?)?;
        }
        Ok(value)
    }

    /// True until the order's first invoice, which bills the shipping charge.
    pub fn shipping_unbilled(&self) -> bool {
        self.invoices.is_empty()
    }

    /// What of [`Order::value`] is not on an invoice yet: the customer's expected
    /// billing for this order.
    ///
    /// # Errors
    /// On overflow.
    pub fn unbilled_value(&self) -> Result<Money, MoneyError> {
        let mut unbilled = if self.shipping_unbilled() {
            self.shipping_charge
        } else {
            Money::zero(self.currency)
        };
        for line in &self.lines {
            let wanted = line.wanted();
            let billed = line.invoiced.min(wanted);
            let rest = line.billed(wanted)?.checked_sub(&line.billed(billed)?)?;
            unbilled = unbilled.checked_add(rest.total()?)?;
        }
        Ok(unbilled)
    }

    /// Shipping progress.
    pub fn fulfilment_status(&self) -> FulfilmentStatus {
        let live = self.lines.iter().filter(|l| l.quantity > l.cancelled);
        let (mut wanted, mut shipped, mut delivered) = (0u64, 0u64, 0u64);
        for line in live {
            wanted += u64::from(line.wanted().units());
            shipped += u64::from(line.shipped.units());
            delivered += u64::from(line.delivered.units());
        }
        match () {
            () if shipped == 0 => FulfilmentStatus::Unshipped,
            () if shipped < wanted => FulfilmentStatus::PartiallyShipped,
            () if delivered < wanted => FulfilmentStatus::Shipped,
            () => FulfilmentStatus::Delivered,
        }
    }

    /// Σ of the credit notes against its invoices.
    pub fn credit_total(&self) -> Money {
        self.credited.unwrap_or_else(|| Money::zero(self.currency))
    }

    /// What its invoices no longer ask for: paid plus credited.
    pub fn settled(&self) -> Money {
        self.paid
            .checked_add(self.credit_total())
            .unwrap_or(self.paid)
    }

    /// Payment progress.
    pub fn payment_status(&self) -> PaymentStatus {
        if self.invoiced.is_zero() {
            PaymentStatus::NotInvoiced
        } else if self.settled().is_zero() {
            PaymentStatus::Unpaid
        } else if self
            .settled()
            .cmp_amount(self.invoiced)
            .is_ok_and(|o| o.is_lt())
        {
            PaymentStatus::PartiallyPaid
        } else {
            PaymentStatus::Paid
        }
    }

    /// True when the order has units reserved and nothing stops them shipping:
    /// units released to a third-party warehouse are its to ship, not o2c's,
    /// so an order whose every reserved unit is released is not ready.
    pub fn is_ready_to_ship(&self) -> bool {
        let waits_for_the_rest = self.back_order == BackOrderPolicy::BackOrder
            && self.lines.iter().any(|l| !l.backordered.is_zero());
        self.status == OrderStatus::Open
            && !waits_for_the_rest
            && self
                .lines
                .iter()
                .flat_map(|l| l.reservations.iter())
                .any(|r| !r.unreleased().is_zero())
    }

    /// Units back-ordered over all lines.
    pub fn backordered_units(&self) -> u64 {
        self.lines
            .iter()
            .map(|l| u64::from(l.backordered.units()))
            .sum()
    }

    /// True when every unit still wanted (ordered − cancelled) and the shipping
    /// charge are on an invoice.
    pub fn fully_billed(&self) -> bool {
        self.lines.iter().all(|l| l.invoiced >= l.wanted())
            && (self.shipping_charge.is_zero() || !self.shipping_unbilled())
    }

    /// True when everything is delivered, fully invoiced and paid (or credited), so
    /// it may complete.
    pub fn is_complete(&self) -> bool {
        self.status == OrderStatus::Open
            && self.fulfilment_status() == FulfilmentStatus::Delivered
            && self.fully_billed()
            && self.settled() == self.invoiced
    }

    /// Fails with [`OrderError::AtThirdParty`] while any unit is released to a
    /// third-party warehouse (see [`LineReservation::released`](super::LineReservation::released)).
    ///
    /// # Errors
    /// As described.
    pub fn ensure_not_released(&self) -> Result<(), OrderError> {
        let mut at = self.lines.iter().flat_map(|l| l.reservations.iter());
        match at.find(|r| !r.released.is_zero()) {
            None => Ok(()),
            Some(first) => Err(OrderError::AtThirdParty {
                location: first.location.clone(),
                units: self
                    .lines
                    .iter()
                    .flat_map(|l| l.reservations.iter())
                    .map(|r| u64::from(r.released.units()))
                    .sum(),
            }),
        }
    }

    /// Fails with [`OrderError::OnHold`] if any hold is in force.
    ///
    /// # Errors
    /// As described.
    pub fn ensure_not_held(&self) -> Result<(), OrderError> {
        if self.holds.is_empty() {
            Ok(())
        } else {
            Err(OrderError::OnHold {
                holds: self.holds.clone(),
            })
        }
    }
}

impl Order {
    /// Bills `portions` (line index, units) of the order, plus the shipping charge if
    /// `with_shipping`, marking them invoiced; returns the invoice lines and shipping.
    ///
    /// Each line's money is billed as the difference of
    /// [`OrderLine::billed`](super::OrderLine::billed) before and after, so however a
    /// line is split over shipments, its invoices add up to the line to the cent.
    ///
    /// # Errors
    /// [`OrderError::Money`] on overflow.
    pub fn bill(
        &mut self,
        portions: &[(usize, crate::quantity::Quantity)],
        with_shipping: bool,
    ) -> Result<(Vec<crate::ledger::InvoiceLine>, Money), OrderError> {
        // One invoice line per order line, however many picks carried it (a
        // line shipped from two locations at once): crediting finds a line by
        // its number.
        // Borrowed as given when no line repeats (the usual case, no copy).
        let repeated = portions
            .iter()
            .enumerate()
            .any(|(n, (index, _))| portions.iter().skip(n + 1).any(|(i, _)| i == index));
        let merged: std::borrow::Cow<'_, [(usize, crate::quantity::Quantity)]> = if repeated {
            let mut merged: Vec<(usize, crate::quantity::Quantity)> =
                Vec::with_capacity(portions.len());
            for (index, units) in portions {
                match merged.iter_mut().find(|(i, _)| i == index) {
                    Some((_, sum)) => *sum = sum.saturating_add(*units),
                    None => merged.push((*index, *units)),
                }
            }
            merged.into()
        } else {
            portions.into()
        };
        let mut lines = Vec::with_capacity(merged.len());
        // The order's own lines once, not a check per portion.
        let own = self.lines.to_mut();
        for (index, units) in merged.iter() {
            let Some(line) = own.get_mut(*index) else {
                continue;
            };
            let unbilled = line.wanted().saturating_sub(line.invoiced);
            let units = (*units).min(unbilled);
            if units.is_zero() {
                continue;
            }
            let billed_before = line.billed(line.invoiced)?;
            line.invoiced = line
                .invoiced
                .checked_add(units)
                .ok_or(OrderError::UnitsOverflow {
                    line: line.line_no,
                    what: "invoiced",
                })?;
            let share = line.billed(line.invoiced)?.checked_sub(&billed_before)?;
            lines.push(crate::ledger::InvoiceLine {
                line_no: line.line_no,
                sku: line.sku.clone(),
                description: line.description.clone(),
                quantity: units,
                gross: share.gross,
                discount: share.discount,
                net: share.net,
                tax_rate: line.tax_rate,
                tax: share.tax,
                credited: crate::quantity::Quantity::ZERO,
            });
        }
        let shipping = if with_shipping {
            self.shipping_charge
        } else {
            Money::zero(self.currency)
        };
        Ok((lines, shipping))
    }
}
