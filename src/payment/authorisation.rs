//! An order's card payment as the service keeps it: the authorisations made for
//! it and every request sent to the provider against them, each with its answer.
//!
//! Pure: the service ([`crate::Oms`]) talks to the provider and commits; these
//! functions decide what a commit records. Each request is committed *before* it
//! is sent, so the bound it takes is held inside the commit and a crash between
//! the commit and the provider's answer leaves a request the service can find
//! and resolve by asking the provider ([`super::PaymentProvider::status`]).

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::Authorised;
use crate::error::Error;
use crate::event::Event;
use crate::ids::{InvoiceId, PaymentId};
use crate::ledger::PaymentError;
use crate::money::Money;
use crate::order::Order;
use crate::store::{Changeset, CounterKey, CounterKind};

/// The kind of bounded counter that keeps an authorisation's captures within
/// what it holds: the limit is what is authorised (less what was released), the
/// used part what is captured or being captured.
pub const AUTHORISATION_COUNTER: &str = "payment_authorisation";

/// Whether an authorisation may still be captured.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "snake_case")]
pub enum AuthorisationState {
    /// Holding money: captures may take what is left.
    #[serde(alias = "Active")]
    Active,
    /// What was left is released: voided, expired, or replaced by a fresh
    /// authorisation. Captures already sent may still complete.
    #[serde(alias = "Released")]
    Released,
}

/// Money held on the customer's card for an order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct Authorisation {
    /// The provider ([`super::PaymentProvider::name`]).
    pub provider: String,
    /// The provider's id for it.
    pub id: String,
    /// The key it was asked for with.
    pub key: String,
    /// Its bounded counter's id (`{order}/{n}`).
    pub counter: String,
    /// How much was authorised.
    pub amount: Money,
    /// When.
    pub authorised_at: DateTime<Utc>,
    /// When the provider lets it lapse.
    pub expires_at: DateTime<Utc>,
    /// Whether it may still be captured.
    pub state: AuthorisationState,
    /// Requests sent against it (captures, the void, refunds of its captures),
    /// oldest first.
    pub requests: Vec<PaymentRequest>,
}

/// One call to the provider, recorded before it was made.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct PaymentRequest {
    /// Its idempotency key at the provider.
    pub key: String,
    /// What it asks.
    pub kind: RequestKind,
    /// How much it moves.
    pub amount: Money,
    /// When it was recorded.
    pub requested_at: DateTime<Utc>,
    /// The provider's answer, once known.
    pub outcome: Option<RequestOutcome>,
}

/// What a request asks of the provider.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum RequestKind {
    /// Take money for what an invoice billed.
    Capture {
        /// The invoice the capture pays.
        invoice: InvoiceId,
    },
    /// Release what is left.
    Void,
    /// Give back money a capture took (the refund is already in the books).
    Refund {
        /// The payment the capture became.
        payment: PaymentId,
        /// The provider's id for the capture.
        capture: String,
    },
}

/// The provider's answer to a request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(tag = "outcome", rename_all = "snake_case")]
pub enum RequestOutcome {
    /// Done.
    Done {
        /// The provider's id for what it did.
        reference: String,
        /// When the answer was recorded.
        at: DateTime<Utc>,
    },
    /// Declined or refused for good.
    Failed {
        /// Why.
        reason: String,
        /// When the answer was recorded.
        at: DateTime<Utc>,
    },
}

impl PaymentRequest {
    /// True while the provider's answer is not known.
    pub fn is_open(&self) -> bool {
        self.outcome.is_none()
    }

    /// True once the provider did it.
    pub fn is_done(&self) -> bool {
        matches!(self.outcome, Some(RequestOutcome::Done { .. }))
    }

    /// True once the provider declined or refused it.
    pub fn failed(&self) -> bool {
        matches!(self.outcome, Some(RequestOutcome::Failed { .. }))
    }

    /// True for a capture.
    pub fn is_capture(&self) -> bool {
        matches!(self.kind, RequestKind::Capture { .. })
    }
}

impl Authorisation {
    /// The authorisation `provider` made when asked with `key`, counted by the
    /// bounded counter `counter`.
    pub fn new(
        provider: &str,
        key: String,
        counter: String,
        made: Authorised,
        at: DateTime<Utc>,
    ) -> Self {
        Self {
            provider: provider.to_owned(),
            id: made.id,
            key,
            counter,
            amount: made.amount,
            authorised_at: at,
            expires_at: made.expires_at,
            state: AuthorisationState::Active,
            requests: Vec::new(),
        }
    }

    fn sum(&self, pick: impl Fn(&PaymentRequest) -> bool) -> Result<Money, Error> {
        Ok(Money::sum(
            self.amount.currency(),
            self.requests.iter().filter(|r| pick(r)).map(|r| r.amount),
        )?)
    }

    /// What captures took.
    ///
    /// # Errors
    /// On overflow.
    pub fn captured(&self) -> Result<Money, Error> {
        self.sum(|r| r.is_capture() && r.is_done())
    }

    /// What captures sent and not yet answered will take if they succeed.
    ///
    /// # Errors
    /// On overflow.
    pub fn capturing(&self) -> Result<Money, Error> {
        self.sum(|r| r.is_capture() && r.is_open())
    }

    /// What refunds of its captures gave back or are giving back (failed ones,
    /// whose refund the books reversed, excluded).
    ///
    /// # Errors
    /// On overflow.
    pub fn refunded(&self) -> Result<Money, Error> {
        self.sum(|r| matches!(r.kind, RequestKind::Refund { .. }) && !r.failed())
    }

    /// What a capture may still take: zero once released.
    ///
    /// # Errors
    /// On overflow.
    pub fn available(&self) -> Result<Money, Error> {
        if self.state != AuthorisationState::Active {
            return Ok(Money::zero(self.amount.currency()));
        }
        let used = self.captured()?.checked_add(self.capturing()?)?;
        Ok(self
            .amount
            .checked_sub(used)?
            .max(Money::zero(self.amount.currency()))?)
    }

    /// Its bounded counter.
    ///
    /// # Errors
    /// [`Error::Invalid`] if its key is not a valid counter id.
    pub fn counter(&self) -> Result<CounterKey, Error> {
        let kind = CounterKind::new(AUTHORISATION_COUNTER)
            .map_err(|e| Error::inconsistent("payment counter", e.to_string()))?;
        CounterKey::new(kind, self.counter.clone())
            .map_err(|e| Error::invalid("authorisation key", e.to_string()))
    }

    /// The bounds its counter must hold, from its requests: `(limit, used)` in
    /// minor units.
    ///
    /// # Errors
    /// On overflow.
    pub fn expected_bounds(&self) -> Result<(i64, i64), Error> {
        let used = self.captured()?.checked_add(self.capturing()?)?;
        let limit = match self.state {
            AuthorisationState::Active => self.amount,
            AuthorisationState::Released => used,
        };
        Ok((limit.to_minor()?, used.to_minor()?))
    }

    /// The request sent under `key`, answered or not.
    pub fn request(&self, key: &str) -> Option<&PaymentRequest> {
        self.requests.iter().find(|r| r.key == key)
    }
}

/// The authorisation of `order` that may be captured now, if any.
pub fn active(order: &Order) -> Option<&Authorisation> {
    order
        .authorisations
        .iter()
        .rev()
        .find(|a| a.state == AuthorisationState::Active)
}

fn active_mut(order: &mut Order) -> Option<&mut Authorisation> {
    order
        .authorisations
        .iter_mut()
        .rev()
        .find(|a| a.state == AuthorisationState::Active)
}

/// Records a fresh authorisation on `order`: opens its counter and says so.
///
/// # Errors
/// [`Error::Payment`] with `CurrencyMismatch` for an authorisation in another
/// currency than the order's; [`Error::Invalid`] for a key no counter can take.
pub fn authorised(
    order: &mut Order,
    authorisation: Authorisation,
    changes: &mut Changeset,
) -> Result<(), Error> {
    if authorisation.amount.currency() != order.currency {
        return Err(PaymentError::CurrencyMismatch {
            expected: order.currency,
            found: authorisation.amount.currency(),
        }
        .into());
    }
    changes.move_counter(
        authorisation.counter()?,
        authorisation.amount.to_minor()?,
        0,
    );
    changes.events.push(Event::PaymentAuthorised {
        order: order.id,
        authorisation: authorisation.id.clone(),
        amount: authorisation.amount,
        expires_at: authorisation.expires_at,
    });
    order.authorisations.push(authorisation);
    Ok(())
}

/// Asks to capture `amount` for `invoice` from the order's active authorisation
/// (as much of it as is left): takes the amount from the counter inside the
/// commit. Returns the request's key, or `None` when nothing is left to take.
///
/// # Errors
/// On overflow, or an amount in another currency.
pub fn request_capture(
    order: &mut Order,
    invoice: InvoiceId,
    amount: Money,
    key: String,
    changes: &mut Changeset,
) -> Result<Option<String>, Error> {
    let at = changes.at;
    let Some(auth) = active_mut(order) else {
        return Ok(None);
    };
    let take = amount.min(auth.available()?)?;
    if !take.is_positive() {
        return Ok(None);
    }
    changes.move_counter(auth.counter()?, 0, take.to_minor()?);
    auth.requests.push(PaymentRequest {
        key: key.clone(),
        kind: RequestKind::Capture { invoice },
        amount: take,
        requested_at: at,
        outcome: None,
    });
    Ok(Some(key))
}

/// Releases what is left of the order's active authorisation, asking the
/// provider to void it: the counter's limit drops to what is used, inside the
/// commit, so no capture can take it. Returns the void's key, or `None` when no
/// authorisation is active.
///
/// # Errors
/// On overflow.
pub fn request_void(order: &mut Order, changes: &mut Changeset) -> Result<Option<String>, Error> {
    let at = changes.at;
    let order_id = order.id;
    let Some(auth) = active_mut(order) else {
        return Ok(None);
    };
    let left = auth.available()?;
    auth.state = AuthorisationState::Released;
    changes.move_counter(auth.counter()?, -left.to_minor()?, 0);
    let key = format!("{}/void", auth.key);
    auth.requests.push(PaymentRequest {
        key: key.clone(),
        kind: RequestKind::Void,
        amount: left,
        requested_at: at,
        outcome: None,
    });
    changes.events.push(Event::AuthorisationReleased {
        order: order_id,
        authorisation: auth.id.clone(),
        released: left,
    });
    Ok(Some(key))
}

/// Records a refund of `amount` of the capture `payment` came from, to be sent to
/// the provider: the caller books the refund in the same commit.
///
/// # Errors
/// [`Error::Payment`] with `UnknownRequest` when the capture is not on the order.
pub fn request_refund(
    order: &mut Order,
    payment: PaymentId,
    capture: &str,
    amount: Money,
    key: String,
    changes: &mut Changeset,
) -> Result<(), Error> {
    let at = changes.at;
    let order_id = order.id;
    let auth = order
        .authorisations
        .iter_mut()
        .find(|a| {
            a.requests.iter().any(|r| {
                r.is_capture()
                    && matches!(&r.outcome, Some(RequestOutcome::Done { reference, .. }) if reference == capture)
            })
        })
        .ok_or_else(|| PaymentError::UnknownRequest {
            order: order_id,
            key: capture.to_owned(),
        })?;
    auth.requests.push(PaymentRequest {
        key,
        kind: RequestKind::Refund {
            payment,
            capture: capture.to_owned(),
        },
        amount,
        requested_at: at,
        outcome: None,
    });
    Ok(())
}

/// Where a request sits: its authorisation's index and its own.
pub(crate) fn find(order: &Order, key: &str) -> Option<(usize, usize)> {
    order
        .authorisations
        .iter()
        .enumerate()
        .find_map(|(a, auth)| {
            auth.requests
                .iter()
                .position(|r| r.key == key)
                .map(|r| (a, r))
        })
}

/// What the service must do once a request's answer is recorded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Answered {
    /// The answer was known already: nothing to do.
    Known,
    /// A capture took money: record it as a payment of `invoice`.
    Captured {
        invoice: InvoiceId,
        amount: Money,
        reference: String,
    },
    /// A capture failed: its amount went back to the counter.
    CaptureFailed { amount: Money, reason: String },
    /// A void or a refund was done.
    Done,
    /// A refund failed: its booking must be reversed.
    RefundFailed {
        payment: PaymentId,
        amount: Money,
        reason: String,
    },
    /// A void failed: nothing is held any more either way.
    VoidFailed,
}

/// Records the provider's answer to the request `key` on `order`.
///
/// # Errors
/// [`Error::Payment`] with `UnknownRequest` for a key not on the order.
pub(crate) fn answer(
    order: &mut Order,
    key: &str,
    outcome: RequestOutcome,
    changes: &mut Changeset,
) -> Result<Answered, Error> {
    let order_id = order.id;
    let (a, r) = find(order, key).ok_or_else(|| PaymentError::UnknownRequest {
        order: order_id,
        key: key.to_owned(),
    })?;
    let Some(auth) = order.authorisations.get_mut(a) else {
        return Err(Error::inconsistent(
            "payment request",
            "lost its authorisation",
        ));
    };
    let counter = auth.counter()?;
    let released = auth.state == AuthorisationState::Released;
    let Some(request) = auth.requests.get_mut(r) else {
        return Err(Error::inconsistent("payment request", "lost its place"));
    };
    if request.outcome.is_some() {
        return Ok(Answered::Known);
    }
    request.outcome = Some(outcome.clone());
    let amount = request.amount;
    Ok(match (&request.kind, outcome) {
        (RequestKind::Capture { invoice }, RequestOutcome::Done { reference, .. }) => {
            Answered::Captured {
                invoice: *invoice,
                amount,
                reference,
            }
        }
        (RequestKind::Capture { .. }, RequestOutcome::Failed { reason, .. }) => {
            // Once released, nothing is left to take: what the capture held
            // goes from the limit too.
            let minor = amount.to_minor()?;
            let limit = if released { -minor } else { 0 };
            changes.move_counter(counter, limit, -minor);
            Answered::CaptureFailed { amount, reason }
        }
        (RequestKind::Refund { payment, .. }, RequestOutcome::Failed { reason, .. }) => {
            Answered::RefundFailed {
                payment: *payment,
                amount,
                reason,
            }
        }
        (RequestKind::Void, RequestOutcome::Failed { .. }) => Answered::VoidFailed,
        (RequestKind::Void | RequestKind::Refund { .. }, RequestOutcome::Done { .. }) => {
            Answered::Done
        }
    })
}

/// True when nothing of `order` is left to ship: every unit shipped or
/// cancelled, none open or back-ordered.
pub fn nothing_left_to_ship(order: &Order) -> bool {
    order
        .lines
        .iter()
        .all(|l| l.open().is_zero() && l.backordered.is_zero())
}

/// When `order`'s card payment next needs the service: at its oldest request
/// still unanswered; else, for an active authorisation, at once when the order
/// is finished (what is left must be voided) or when it lapses; `None` when
/// none of these.
pub fn due_at(order: &Order) -> Option<DateTime<Utc>> {
    if let Some(oldest) = open_requests(order).map(|(_, r)| r.requested_at).min() {
        return Some(oldest);
    }
    let auth = active(order)?;
    // Finished with money still held (its void was never recorded): due at
    // once, so that `run_due` voids it.
    if nothing_left_to_ship(order) || order.status == crate::order::OrderStatus::Cancelled {
        return Some(auth.authorised_at);
    }
    Some(auth.expires_at)
}

/// The requests of `order` still waiting for the provider's answer, with their
/// authorisation.
pub fn open_requests(order: &Order) -> impl Iterator<Item = (&Authorisation, &PaymentRequest)> {
    order
        .authorisations
        .iter()
        .flat_map(|a| a.requests.iter().map(move |r| (a, r)))
        .filter(|(_, r)| r.is_open())
}
