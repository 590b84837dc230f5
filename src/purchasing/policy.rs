//! How purchasing behaves: the deadline back-orders set, what is approved as it is
//! raised, and what a receipt of too much does.

use super::OverReceipt;
use crate::money::Money;

/// How purchasing behaves. Start from the default and change what differs
/// (`PurchasingPolicy::default().with_auto_approve_up_to(..)`): fields are added
/// as o2c grows, so it cannot be written out whole.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct PurchasingPolicy {
    /// Back-ordered units are wanted within this many days: offers arriving later
    /// rank behind those in time ([`rank_offers`](super::rank_offers)). 14 by
    /// default. Reorder-point requisitions have no deadline, so the cheapest offer
    /// wins.
    pub back_orders_wanted_within_days: u16,
    /// Purchase orders worth at most this (in its currency) are approved as they are
    /// raised; the rest, and any in another currency, wait for
    /// [`Oms::approve_purchase_order`](crate::Oms::approve_purchase_order). `None`:
    /// everything waits.
    pub auto_approve_up_to: Option<Money>,
    /// What a receipt of more than is outstanding does.
    pub over_receipt: OverReceipt,
}

impl Default for PurchasingPolicy {
    fn default() -> Self {
        Self {
            back_orders_wanted_within_days: 14,
            auto_approve_up_to: None,
            over_receipt: OverReceipt::Reject,
        }
    }
}

impl PurchasingPolicy {
    /// Back-ordered units are wanted within `days`.
    #[must_use]
    pub fn with_back_orders_wanted_within_days(mut self, days: u16) -> Self {
        self.back_orders_wanted_within_days = days;
        self
    }

    /// Purchase orders worth at most `limit` are approved as they are raised
    /// (`None`: every one waits for approval).
    #[must_use]
    pub fn with_auto_approve_up_to(mut self, limit: Option<Money>) -> Self {
        self.auto_approve_up_to = limit;
        self
    }

    /// What a receipt of more than is outstanding does.
    #[must_use]
    pub fn with_over_receipt(mut self, over_receipt: OverReceipt) -> Self {
        self.over_receipt = over_receipt;
        self
    }

    /// True if a purchase order worth `total` is approved as it is raised.
    pub fn approves_at_once(&self, total: Money) -> bool {
        self.auto_approve_up_to
            .is_some_and(|limit| total.cmp_amount(limit).is_ok_and(|o| o.is_le()))
    }
}
