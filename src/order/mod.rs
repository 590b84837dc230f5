//! Orders: capture from any channel, pricing, the status machine, holds.

pub(crate) mod amend;
mod cancel;
mod compose;
mod line;
mod listing;
mod model;
mod place;
mod pricing;
mod reservations;
pub(crate) mod settle;
mod status;
mod view;

pub use amend::{AmendOrder, Amendment};
pub(crate) use cancel::{CancelInputs, cancel_order, queues_touched};
pub(crate) use compose::{
    OrderInputs, Placing, back_order_policy, compose, distinct_skus, place_hold, sites_among,
};
pub use line::{LineAmounts, LineReservation, OrderLine};
pub use listing::{OrderCursor, OrderQuery, Page};
pub use model::{Channel, Delivery, FulfilmentStatus, Hold, Order, PaymentStatus, ServiceLevel};
pub use place::{Discount, LineRequest, PlaceOrder};
pub use pricing::{MAX_LINES, PRICE_ROUNDING, TAX_ROUNDING, price_lines};
pub use reservations::Reservations;
pub use status::{OrderAction, OrderStatus, TRANSITIONS, transition};
pub use view::OrderView;

use crate::catalog::TaxClass;
use crate::error::ErrorKind;
use crate::ids::Sku;
use crate::money::{Currency, MoneyError};
use crate::quantity::Quantity;

/// Why an order command was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum OrderError {
    /// The order has no lines.
    #[error("an order needs at least one line")]
    Empty,
    /// More lines than [`MAX_LINES`].
    #[error("an order may have at most {max} lines, got {got}")]
    TooManyLines {
        /// The limit.
        max: usize,
        /// Lines submitted.
        got: usize,
    },
    /// A line's quantity is zero, negative or absurdly large.
    #[error("line {line}: quantity must be between 1 and {max}, got {quantity}", max = u32::MAX)]
    InvalidQuantity {
        /// Line number (1-based).
        line: u16,
        /// What was asked for.
        quantity: i64,
    },
    /// The SKU is not in the catalogue.
    #[error("unknown SKU {0}")]
    UnknownSku(Sku),
    /// The product exists but is no longer sold.
    #[error("SKU {0} is inactive")]
    InactiveSku(Sku),
    /// An amount is in a different currency from the order.
    #[error("currency mismatch: the order is in {expected}, got {found}")]
    CurrencyMismatch {
        /// The order's currency.
        expected: Currency,
        /// The currency found.
        found: Currency,
    },
    /// A unit price below zero.
    #[error("line {line}: unit price must not be negative")]
    NegativePrice {
        /// Line number.
        line: u16,
    },
    /// A discount that is negative, over 100 % or larger than what it discounts.
    #[error("invalid discount{}: {reason}", line.map(|l| format!(" on line {l}")).unwrap_or_default())]
    InvalidDiscount {
        /// The line, or `None` for the order discount.
        line: Option<u16>,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// No tax rate is configured for a product's class and the destination.
    #[error("no tax rate for class {class} in {country}")]
    NoTaxRate {
        /// The tax class.
        class: TaxClass,
        /// The destination country.
        country: String,
    },
    /// No ship-to address was given and the customer has none on file.
    #[error("no ship-to address: give one or add one to the customer")]
    NoShipToAddress,
    /// The address's country is not an ISO 3166 alpha-2 code.
    #[error("ship-to country {0:?} is not a two-letter ISO code")]
    InvalidCountry(String),
    /// The shipping charge is negative.
    #[error("the shipping charge must not be negative")]
    NegativeShipping,
    /// The action is not allowed in the order's current status.
    #[error("cannot {action:?} an order that is {from:?}")]
    InvalidTransition {
        /// Status now.
        from: OrderStatus,
        /// What was attempted.
        action: OrderAction,
    },
    /// The order is held; release the holds first.
    #[error("order is on hold: {holds:?}")]
    OnHold {
        /// The holds in force.
        holds: Vec<Hold>,
    },
    /// Everything on the order has shipped or was cancelled: nothing is left to cancel.
    #[error("nothing is left to cancel: everything shipped or was cancelled")]
    NothingToCancel,
    /// Everything reserved has already shipped.
    #[error("nothing left to ship")]
    NothingToShip,
    /// The order ships complete and some units are still back-ordered.
    #[error("the order ships complete and {units} units are still back-ordered")]
    AwaitingBackOrder {
        /// Units still waiting for stock.
        units: u64,
    },
    /// An amendment with no changes, or whose changes leave the order exactly as
    /// it was (a quantity set to what it is, a line removed whose units have all
    /// shipped, units cut and added back, the ship-to it already has). Nothing was
    /// recorded and the key is still free: send the change actually meant.
    #[error("the amendment changes nothing")]
    NothingToAmend,
    /// An amendment names a line the order does not have.
    #[error("the order has no line {0}")]
    UnknownLine(u16),
    /// An amendment would take a line below what has shipped.
    #[error("line {line}: {shipped} units have shipped, so it cannot be set to {asked}")]
    AmendsShippedUnits {
        /// The line.
        line: u16,
        /// Units shipped.
        shipped: Quantity,
        /// Units asked for.
        asked: i64,
    },
    /// An amendment would leave nothing on the order: cancel it instead.
    #[error("the amendment leaves nothing on the order: cancel it instead")]
    AmendmentEmptiesOrder,
    /// A new ship-to address for an order collected at a store.
    #[error("a pickup order has no ship-to address")]
    PickupHasNoAddress,
    /// A new ship-to address once everything has shipped.
    #[error("everything has shipped: the ship-to address can no longer change")]
    EverythingShipped,
    /// Releasing a hold the order does not have.
    #[error("order has no {0:?} hold")]
    HoldNotFound(Hold),
    /// A line's counted units (invoiced, shipped, delivered) would pass what a
    /// quantity holds: the order's figures are inconsistent.
    #[error("line {line}: its {what} units would overflow")]
    UnitsOverflow {
        /// The line.
        line: u16,
        /// Which count.
        what: &'static str,
    },
    /// Units of the order are released to a third-party warehouse: they are its
    /// to ship, so the order cannot be cancelled or amended until it reports them
    /// shipped or rejected.
    #[error("{units} units are released to the third-party warehouse at {location}")]
    AtThirdParty {
        /// The warehouse.
        location: crate::ids::LocationId,
        /// Units released there and not yet reported.
        units: u64,
    },
    /// Amount arithmetic failed (overflow).
    #[error(transparent)]
    Money(#[from] MoneyError),
}

impl OrderError {
    /// This error's stable code ([`Error::code`](crate::Error::code)).
    pub fn code(&self) -> &'static str {
        match self {
            OrderError::Empty => "order.empty",
            OrderError::TooManyLines { .. } => "order.too_many_lines",
            OrderError::InvalidQuantity { .. } => "order.invalid_quantity",
            OrderError::UnknownSku(..) => "order.unknown_sku",
            OrderError::InactiveSku(..) => "order.inactive_sku",
            OrderError::CurrencyMismatch { .. } => "order.currency_mismatch",
            OrderError::NegativePrice { .. } => "order.negative_price",
            OrderError::InvalidDiscount { .. } => "order.invalid_discount",
            OrderError::NoTaxRate { .. } => "order.no_tax_rate",
            OrderError::NoShipToAddress => "order.no_ship_to_address",
            OrderError::InvalidCountry(..) => "order.invalid_country",
            OrderError::NegativeShipping => "order.negative_shipping",
            OrderError::InvalidTransition { .. } => "order.invalid_transition",
            OrderError::OnHold { .. } => "order.on_hold",
            OrderError::NothingToCancel => "order.nothing_to_cancel",
            OrderError::NothingToShip => "order.nothing_to_ship",
            OrderError::AwaitingBackOrder { .. } => "order.awaiting_back_order",
            OrderError::NothingToAmend => "order.nothing_to_amend",
            OrderError::UnknownLine(..) => "order.unknown_line",
            OrderError::AmendsShippedUnits { .. } => "order.amends_shipped_units",
            OrderError::AmendmentEmptiesOrder => "order.amendment_empties_order",
            OrderError::PickupHasNoAddress => "order.pickup_has_no_address",
            OrderError::EverythingShipped => "order.everything_shipped",
            OrderError::HoldNotFound(..) => "order.hold_not_found",
            OrderError::UnitsOverflow { .. } => "order.units_overflow",
            OrderError::AtThirdParty { .. } => "order.at_third_party",
            OrderError::Money(e) => e.code(),
        }
    }

    /// What sort of failure this is ([`Error::kind`](crate::Error::kind)).
    pub fn kind(&self) -> ErrorKind {
        match self {
            OrderError::Empty => ErrorKind::InvalidInput,
            OrderError::TooManyLines { .. } => ErrorKind::InvalidInput,
            OrderError::InvalidQuantity { .. } => ErrorKind::InvalidInput,
            OrderError::UnknownSku(..) => ErrorKind::InvalidInput,
            OrderError::InactiveSku(..) => ErrorKind::Refused,
            OrderError::CurrencyMismatch { .. } => ErrorKind::InvalidInput,
            OrderError::NegativePrice { .. } => ErrorKind::InvalidInput,
            OrderError::InvalidDiscount { .. } => ErrorKind::InvalidInput,
            OrderError::NoTaxRate { .. } => ErrorKind::Refused,
            OrderError::NoShipToAddress => ErrorKind::InvalidInput,
            OrderError::InvalidCountry(..) => ErrorKind::InvalidInput,
            OrderError::NegativeShipping => ErrorKind::InvalidInput,
            OrderError::InvalidTransition { .. } => ErrorKind::Refused,
            OrderError::OnHold { .. } => ErrorKind::Refused,
            OrderError::NothingToCancel => ErrorKind::Refused,
            OrderError::NothingToShip => ErrorKind::Refused,
            OrderError::AwaitingBackOrder { .. } => ErrorKind::Refused,
            OrderError::NothingToAmend => ErrorKind::InvalidInput,
            OrderError::UnknownLine(..) => ErrorKind::InvalidInput,
            OrderError::AmendsShippedUnits { .. } => ErrorKind::Refused,
            OrderError::AmendmentEmptiesOrder => ErrorKind::Refused,
            OrderError::PickupHasNoAddress => ErrorKind::InvalidInput,
            OrderError::EverythingShipped => ErrorKind::Refused,
            OrderError::HoldNotFound(..) => ErrorKind::Refused,
            OrderError::UnitsOverflow { .. } => ErrorKind::Internal,
            OrderError::AtThirdParty { .. } => ErrorKind::Refused,
            OrderError::Money(e) => e.kind(),
        }
    }
}
