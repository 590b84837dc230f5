use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use super::{Channel, Delivery};
use crate::ids::{CustomerId, IdempotencyKey, Sku};
use crate::money::{Currency, Money};
use crate::purchasing::BackOrderPolicy;

/// A discount on a line or on the whole order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(tag = "kind", content = "value", rename_all = "snake_case")]
pub enum Discount {
    /// A percentage off, `0..=100` (`10` is 10 %).
    Percent(#[serde(deserialize_with = "crate::money::exact::decimal")] Decimal),
    /// A fixed amount off.
    Amount(Money),
}

/// One requested line.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct LineRequest {
    /// The SKU.
    pub sku: Sku,
    /// Units wanted. Signed so that a zero or negative quantity from a form or an API
    /// reaches validation and gets a precise error rather than a parse failure.
    pub quantity: i64,
    /// An explicit unit price (B2B contract, marketplace price); `None` uses the catalogue.
    pub unit_price: Option<Money>,
    /// A discount on this line.
    pub discount: Option<Discount>,
}

crate::with_setters!(LineRequest {
    with_sku => sku: Sku,
    with_quantity => quantity: i64,
    with_unit_price => unit_price: Option<Money>,
    with_discount => discount: Option<Discount>,
});

impl LineRequest {
    /// A line at the catalogue price, without a discount.
    pub fn new(sku: Sku, quantity: i64) -> Self {
        Self {
            sku,
            quantity,
            unit_price: None,
            discount: None,
        }
    }
}

/// The command to place an order.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct PlaceOrder {
    /// Same key, same order: a retry returns the order the first attempt placed.
    pub idempotency_key: IdempotencyKey,
    /// The buyer.
    pub customer: CustomerId,
    /// Where it came from.
    pub channel: Channel,
    /// The order's currency; must be the customer's account currency.
    pub currency: Currency,
    /// Lines.
    pub lines: Vec<LineRequest>,
    /// A discount spread over all lines in proportion to their net value.
    pub order_discount: Option<Discount>,
    /// How goods reach the customer; `None` ships standard to the customer's first address.
    pub delivery: Option<Delivery>,
    /// Shipping charged; `None` charges nothing.
    pub shipping_charge: Option<Money>,
    /// A free-text note.
    pub note: Option<String>,
    /// Overrides the products' back-order policies for this order.
    #[serde(default)]
    pub back_order: Option<BackOrderPolicy>,
    /// Back-ordered lines of a higher priority are filled first (default 0).
    #[serde(default)]
    pub back_order_priority: u8,
}

crate::with_setters!(PlaceOrder {
    with_idempotency_key => idempotency_key: IdempotencyKey,
    with_customer => customer: CustomerId,
    with_channel => channel: Channel,
    with_currency => currency: Currency,
    with_lines => lines: Vec<LineRequest>,
    with_order_discount => order_discount: Option<Discount>,
    with_delivery => delivery: Option<Delivery>,
    with_shipping_charge => shipping_charge: Option<Money>,
    with_note => note: Option<String>,
    with_back_order => back_order: Option<BackOrderPolicy>,
    with_back_order_priority => back_order_priority: u8,
});

impl PlaceOrder {
    /// An order with no lines yet; add them with [`PlaceOrder::line`].
    pub fn new(
        idempotency_key: IdempotencyKey,
        customer: CustomerId,
        channel: Channel,
        currency: Currency,
    ) -> Self {
        Self {
            idempotency_key,
            customer,
            channel,
            currency,
            lines: Vec::new(),
            order_discount: None,
            delivery: None,
            shipping_charge: None,
            note: None,
            back_order: None,
            back_order_priority: 0,
        }
    }

    /// Sets what this order does when stock is short, whatever its products say.
    #[must_use]
    pub fn back_order(mut self, policy: BackOrderPolicy) -> Self {
        self.back_order = Some(policy);
        self
    }

    /// Fills this order's back-orders ahead of lower priorities.
    #[must_use]
    pub fn back_order_priority(mut self, priority: u8) -> Self {
        self.back_order_priority = priority;
        self
    }

    /// Adds a line priced from the catalogue.
    #[must_use]
    pub fn line(mut self, sku: Sku, quantity: i64) -> Self {
        self.lines.push(LineRequest::new(sku, quantity));
        self
    }

    /// Adds a line at an explicit unit price.
    #[must_use]
    pub fn priced_line(mut self, sku: Sku, quantity: i64, unit_price: Money) -> Self {
        self.lines.push(LineRequest {
            unit_price: Some(unit_price),
            ..LineRequest::new(sku, quantity)
        });
        self
    }

    /// Sets how goods reach the customer.
    #[must_use]
    pub fn deliver(mut self, delivery: Delivery) -> Self {
        self.delivery = Some(delivery);
        self
    }

    /// Sets the shipping charge.
    #[must_use]
    pub fn shipping(mut self, charge: Money) -> Self {
        self.shipping_charge = Some(charge);
        self
    }

    /// Sets the order discount.
    #[must_use]
    pub fn discount(mut self, discount: Discount) -> Self {
        self.order_discount = Some(discount);
        self
    }
}
