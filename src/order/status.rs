//! The order status machine.
//!
//! | from \ action | Hold    | ReleaseHold | Ship | RecordPayment | Deliver | Complete  | Cancel    | Amend  |
//! |---------------|---------|-------------|------|---------------|---------|-----------|-----------|--------|
//! | `Open`        | OnHold  | —           | Open | Open          | Open    | Completed | Cancelled | Open   |
//! | `OnHold`      | OnHold  | Open        | —    | OnHold        | OnHold  | —         | Cancelled | OnHold |
//! | `Completed`   | —       | —           | —    | —             | —       | —         | —         | —      |
//! | `Cancelled`   | —       | —           | —    | —             | —       | —         | —         | —      |
//!
//! "—" is [`OrderError::InvalidTransition`](super::OrderError::InvalidTransition).
//! Shipping progress and payment progress are tracked separately
//! ([`FulfilmentStatus`](super::FulfilmentStatus), [`PaymentStatus`](super::PaymentStatus)):
//! they are derived from the lines and invoices, so they can never disagree with them.
//! An order completes when everything ordered is delivered and everything invoiced is
//! paid. `ReleaseHold` moves to `Open` only when the last hold is released.

use serde::{Deserialize, Serialize};

use super::OrderError;

/// Where an order is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "snake_case")]
pub enum OrderStatus {
    /// Accepted; stock reserved; being fulfilled and paid.
    #[serde(alias = "Open")]
    Open,
    /// Accepted but blocked from shipping until every hold is released.
    #[serde(alias = "OnHold")]
    OnHold,
    /// Delivered and paid in full.
    #[serde(alias = "Completed")]
    Completed,
    /// Cancelled before anything shipped; reservations released, postings reversed.
    #[serde(alias = "Cancelled")]
    Cancelled,
}

/// Something done to an order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "snake_case")]
pub enum OrderAction {
    /// Place a hold.
    #[serde(alias = "Hold")]
    Hold,
    /// Release the last hold.
    #[serde(alias = "ReleaseHold")]
    ReleaseHold,
    /// Ship goods.
    #[serde(alias = "Ship")]
    Ship,
    /// Record a payment.
    #[serde(alias = "RecordPayment")]
    RecordPayment,
    /// A shipment was delivered.
    #[serde(alias = "Deliver")]
    Deliver,
    /// Mark complete.
    #[serde(alias = "Complete")]
    Complete,
    /// Cancel.
    #[serde(alias = "Cancel")]
    Cancel,
    /// Change lines or the ship-to address.
    #[serde(alias = "Amend")]
    Amend,
}

/// The transition table, exactly as in the module docs: `(from, action, to)`.
pub const TRANSITIONS: &[(OrderStatus, OrderAction, OrderStatus)] = {
    use OrderAction as A;
    use OrderStatus::{Cancelled, Completed, OnHold, Open};
    &[
        (Open, A::Hold, OnHold),
        (Open, A::Ship, Open),
        (Open, A::RecordPayment, Open),
        (Open, A::Deliver, Open),
        (Open, A::Complete, Completed),
        (Open, A::Cancel, Cancelled),
        (Open, A::Amend, Open),
        (OnHold, A::Hold, OnHold),
        (OnHold, A::ReleaseHold, Open),
        (OnHold, A::RecordPayment, OnHold),
        (OnHold, A::Deliver, OnHold),
        (OnHold, A::Cancel, Cancelled),
        (OnHold, A::Amend, OnHold),
    ]
};

/// The status after `action`, or why it is not allowed.
///
/// # Errors
/// [`OrderError::InvalidTransition`] for any pair not in [`TRANSITIONS`].
pub fn transition(from: OrderStatus, action: OrderAction) -> Result<OrderStatus, OrderError> {
    TRANSITIONS
        .iter()
        .find(|(f, a, _)| *f == from && *a == action)
        .map(|(_, _, to)| *to)
        .ok_or(OrderError::InvalidTransition { from, action })
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    const ALL_STATUSES: [OrderStatus; 4] = [
        OrderStatus::Open,
        OrderStatus::OnHold,
        OrderStatus::Completed,
        OrderStatus::Cancelled,
    ];
    const ALL_ACTIONS: [OrderAction; 8] = [
        OrderAction::Hold,
        OrderAction::ReleaseHold,
        OrderAction::Ship,
        OrderAction::RecordPayment,
        OrderAction::Deliver,
        OrderAction::Complete,
        OrderAction::Cancel,
        OrderAction::Amend,
    ];

    #[test]
    fn table_is_total_and_matches_the_docs() {
        let mut allowed = 0;
        for from in ALL_STATUSES {
            for action in ALL_ACTIONS {
                match transition(from, action) {
                    Ok(_) => allowed += 1,
                    Err(e) => assert_eq!(e, OrderError::InvalidTransition { from, action }),
                }
            }
        }
        assert_eq!(allowed, TRANSITIONS.len());
    }

    #[test]
    fn terminal_states_allow_nothing() {
        for action in ALL_ACTIONS {
            assert!(transition(OrderStatus::Completed, action).is_err());
            assert!(transition(OrderStatus::Cancelled, action).is_err());
        }
        assert_eq!(
            transition(OrderStatus::OnHold, OrderAction::ReleaseHold).unwrap(),
            OrderStatus::Open
        );
        assert!(transition(OrderStatus::OnHold, OrderAction::Ship).is_err());
    }
}
