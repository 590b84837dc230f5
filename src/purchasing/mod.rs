//! Purchasing: suppliers and their offers, the best-offer rule, purchase orders, and
//! the queue of back-orders that receipts fill first-come-first-served.
//!
//! Everything here is pure: [`crate::Oms`] loads, calls these functions, and commits.
//! Each purchasing command's decision lives beside its domain: receiving against a
//! purchase order and the moving-average cost ([`average_in`]), raising one and
//! each step of its life, replenishment and its requisitions, saving a supplier
//! ([`save_supplier`]) and setting a reorder rule ([`set_reorder_rule`]).

mod backlog;
mod backorder;
#[cfg(test)]
pub(crate) mod fixtures;
pub(crate) mod lifecycle;
mod offer;
mod policy;
mod purchase_order;
mod receive;
mod reorder;
pub(crate) mod replenish;
mod supplier;

pub(crate) use backlog::{Backlog, Supply, reserve, supply_to_read};
pub use backorder::{BackOrderPolicy, BackOrderQueue, Fill, QueueEntry, Waiting, promise_date};
pub use offer::{ExcludedOffer, OfferRanking, RankedOffer, order_quantity, rank_offers};
pub use policy::PurchasingPolicy;
pub use purchase_order::{
    OverReceipt, PurchaseOrder, PurchaseOrderLine, PurchaseOrderStatus, Received,
};
pub use receive::{ReceivePurchaseOrder, average_in};
pub(crate) use receive::{Receiving, on_hand_everywhere, receive_purchase_order};
pub use reorder::{ReorderRule, Requisition, set_reorder_rule};
pub use supplier::{Offer, Supplier, save_supplier};

use crate::error::ErrorKind;
use crate::ids::{PurchaseOrderId, Sku};
use crate::money::Currency;
use crate::quantity::Quantity;

/// Why a purchasing command was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum PurchasingError {
    /// An offer's lead time is zero: goods never arrive the day they are ordered.
    #[error("the offer for {sku} has a lead time of zero days")]
    ZeroLeadTime {
        /// The SKU offered.
        sku: Sku,
    },
    /// An offer's pack size is zero.
    #[error("the offer for {sku} has a pack size of zero")]
    ZeroPackSize {
        /// The SKU offered.
        sku: Sku,
    },
    /// An offer's cost is negative, or finer than the currency's minor unit.
    #[error("the offer for {sku} has an invalid unit cost: {reason}")]
    InvalidCost {
        /// The SKU offered.
        sku: Sku,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// An offer's validity ends before it starts.
    #[error("the offer for {sku} ends before it starts")]
    EmptyValidity {
        /// The SKU offered.
        sku: Sku,
    },
    /// An offer is priced in another currency than its supplier (and its orders).
    #[error("the offer for {sku} is in {found}, but the supplier buys in {expected}")]
    CurrencyMismatch {
        /// The SKU offered.
        sku: Sku,
        /// The supplier's currency.
        expected: Currency,
        /// The offer's.
        found: Currency,
    },
    /// No valid offer for a SKU on the date in question.
    #[error("no valid offer for {sku}")]
    NoOffer {
        /// The SKU.
        sku: Sku,
    },
    /// A purchase order with no lines, or a line of zero units.
    #[error("a purchase order needs at least one line of at least one unit")]
    EmptyOrder,
    /// The purchase order's status does not allow this step.
    #[error("purchase order {id} is {status:?}: cannot {action}")]
    InvalidTransition {
        /// The purchase order.
        id: PurchaseOrderId,
        /// Its status.
        status: PurchaseOrderStatus,
        /// What was attempted.
        action: &'static str,
    },
    /// A receipt names a SKU the purchase order does not have.
    #[error("purchase order {id} has no line for {sku}")]
    NotOnOrder {
        /// The purchase order.
        id: PurchaseOrderId,
        /// The SKU received.
        sku: Sku,
    },
    /// A receipt brings more than is still expected, and the policy refuses it.
    #[error(
        "receiving {received} of {sku} on purchase order {id}, but only {outstanding} are outstanding"
    )]
    OverReceipt {
        /// The purchase order.
        id: PurchaseOrderId,
        /// The SKU.
        sku: Sku,
        /// Units still expected.
        outstanding: Quantity,
        /// Units in this receipt.
        received: Quantity,
    },
    /// A reorder rule whose maximum is zero or below its minimum.
    #[error("the reorder rule for {sku} is invalid: min {min}, max {max}")]
    InvalidReorderRule {
        /// The SKU.
        sku: Sku,
        /// Its reorder point.
        min: Quantity,
        /// Its order-up-to level.
        max: Quantity,
    },
    /// A receipt of zero units.
    #[error("a receipt needs at least one unit")]
    EmptyReceipt,
    /// A requirement for more units of a SKU than one purchase order line holds
    /// (`u32::MAX`, the most a [`Quantity`] counts): a back-log or position that
    /// large is a data problem to look at, not an order to place.
    #[error("{units} units of {sku} do not fit one purchase order line")]
    TooManyUnits {
        /// The SKU.
        sku: Sku,
        /// The units wanted (more than a [`Quantity`] holds, so counted wider).
        units: u64,
    },
}

impl PurchasingError {
    /// This error's stable code ([`Error::code`](crate::Error::code)).
    pub fn code(&self) -> &'static str {
        match self {
            PurchasingError::ZeroLeadTime { .. } => "purchasing.zero_lead_time",
            PurchasingError::ZeroPackSize { .. } => "purchasing.zero_pack_size",
            PurchasingError::InvalidCost { .. } => "purchasing.invalid_cost",
            PurchasingError::EmptyValidity { .. } => "purchasing.empty_validity",
            PurchasingError::CurrencyMismatch { .. } => "purchasing.currency_mismatch",
            PurchasingError::NoOffer { .. } => "purchasing.no_offer",
            PurchasingError::EmptyOrder => "purchasing.empty_order",
            PurchasingError::InvalidTransition { .. } => "purchasing.invalid_transition",
            PurchasingError::NotOnOrder { .. } => "purchasing.not_on_order",
            PurchasingError::OverReceipt { .. } => "purchasing.over_receipt",
            PurchasingError::InvalidReorderRule { .. } => "purchasing.invalid_reorder_rule",
            PurchasingError::EmptyReceipt => "purchasing.empty_receipt",
            PurchasingError::TooManyUnits { .. } => "purchasing.too_many_units",
        }
    }

    /// What sort of failure this is ([`Error::kind`](crate::Error::kind)).
    pub fn kind(&self) -> ErrorKind {
        match self {
            PurchasingError::ZeroLeadTime { .. } => ErrorKind::InvalidInput,
            PurchasingError::ZeroPackSize { .. } => ErrorKind::InvalidInput,
            PurchasingError::InvalidCost { .. } => ErrorKind::InvalidInput,
            PurchasingError::EmptyValidity { .. } => ErrorKind::InvalidInput,
            PurchasingError::CurrencyMismatch { .. } => ErrorKind::InvalidInput,
            PurchasingError::NoOffer { .. } => ErrorKind::Refused,
            PurchasingError::EmptyOrder => ErrorKind::InvalidInput,
            PurchasingError::InvalidTransition { .. } => ErrorKind::Refused,
            PurchasingError::NotOnOrder { .. } => ErrorKind::InvalidInput,
            PurchasingError::OverReceipt { .. } => ErrorKind::Refused,
            PurchasingError::InvalidReorderRule { .. } => ErrorKind::InvalidInput,
            PurchasingError::EmptyReceipt => ErrorKind::InvalidInput,
            PurchasingError::TooManyUnits { .. } => ErrorKind::InvalidInput,
        }
    }
}
