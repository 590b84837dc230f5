//! The payment-provider port: authorise at checkout, capture as goods ship, void,
//! refund, and look up what a key did.

use std::fmt;
use std::future::Future;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::customer::PaymentMethod;
use crate::error::ErrorKind;
use crate::ids::OrderId;
use crate::money::Money;

/// A request to hold `amount` on the customer's stored payment method.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct AuthoriseRequest {
    /// Idempotency key: authorising twice with one key returns the first answer.
    pub key: String,
    /// The order it pays for: the merchant reference the provider echoes back in
    /// its notifications.
    pub order: OrderId,
    /// How much to hold.
    pub amount: Money,
    /// The method the customer pays by.
    pub method: PaymentMethod,
    /// The provider's reference to the customer's stored method (a card token);
    /// `None` when the customer has none on file.
    pub token: Option<String>,
}

/// Money held on a customer's method, to be captured later.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct Authorised {
    /// The provider's id for the authorisation.
    pub id: String,
    /// How much is held.
    pub amount: Money,
    /// When the hold lapses if nothing captures it.
    pub expires_at: DateTime<Utc>,
}

/// A request to take `amount` of an authorisation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct CaptureRequest {
    /// Idempotency key.
    pub key: String,
    /// The order it is for (the merchant reference the provider echoes back).
    pub order: OrderId,
    /// The provider's id for the authorisation.
    pub authorisation: String,
    /// How much to take.
    pub amount: Money,
}

/// A request to release what is left of an authorisation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct VoidRequest {
    /// Idempotency key.
    pub key: String,
    /// The order it is for (the merchant reference the provider echoes back).
    pub order: OrderId,
    /// The provider's id for the authorisation.
    pub authorisation: String,
}

/// A request to give back `amount` of a capture.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct RefundRequest {
    /// Idempotency key.
    pub key: String,
    /// The order it is for (the merchant reference the provider echoes back).
    pub order: OrderId,
    /// The provider's id for the authorisation captured.
    pub authorisation: String,
    /// The provider's id for the capture refunded.
    pub capture: String,
    /// How much to give back.
    pub amount: Money,
}

/// The provider's confirmation of a capture, void or refund.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct ProviderReceipt {
    /// The provider's id for what it did (a capture's id, a refund's id).
    pub reference: String,
}

/// What the provider knows of a key ([`PaymentProvider::status`]).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "snake_case")]
pub enum ProviderStatus {
    /// The key was never seen: the call did not reach the provider, and may be
    /// made again.
    #[serde(alias = "Unknown")]
    Unknown,
    /// An authorisation was made with the key.
    #[serde(alias = "Authorised")]
    Authorised(Authorised),
    /// A capture, void or refund was done with the key.
    #[serde(alias = "Done")]
    Done(ProviderReceipt),
    /// The call with the key was declined or refused, for good.
    #[serde(alias = "Failed")]
    Failed {
        /// Why.
        reason: String,
    },
}

/// Why a payment provider call failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ProviderError {
    /// The provider did not answer in time: the call may or may not have taken
    /// effect. Resolve it with [`PaymentProvider::status`], never by calling again
    /// blind.
    #[error("payment provider {provider} timed out")]
    Timeout {
        /// The provider.
        provider: String,
    },
    /// The customer's bank or the provider declined: insufficient funds, a lost
    /// card, no method on file. Nothing was taken.
    #[error("payment declined by {provider}: {reason}")]
    Declined {
        /// The provider.
        provider: String,
        /// Why, as the provider said.
        reason: String,
    },
    /// The provider refused the call as invalid: more than authorised, a capture
    /// after a void, an expired authorisation, a refund beyond the capture.
    #[error("payment provider {provider} refused the call: {reason}")]
    Refused {
        /// The provider.
        provider: String,
        /// Why.
        reason: String,
    },
}

impl ProviderError {
    /// This error's stable code ([`Error::code`](crate::Error::code)).
    pub fn code(&self) -> &'static str {
        match self {
            ProviderError::Timeout { .. } => "payment_provider.timeout",
            ProviderError::Declined { .. } => "payment_provider.declined",
            ProviderError::Refused { .. } => "payment_provider.refused",
        }
    }

    /// What sort of failure this is ([`Error::kind`](crate::Error::kind)).
    pub fn kind(&self) -> ErrorKind {
        match self {
            ProviderError::Timeout { .. } => ErrorKind::Unavailable,
            ProviderError::Declined { .. } | ProviderError::Refused { .. } => ErrorKind::Refused,
        }
    }

    /// The provider's reason for a definite failure; `None` for a timeout, whose
    /// outcome is unknown.
    pub fn reason(&self) -> Option<&str> {
        match self {
            ProviderError::Timeout { .. } => None,
            ProviderError::Declined { reason, .. } | ProviderError::Refused { reason, .. } => {
                Some(reason)
            }
        }
    }
}

/// A card processor (or wallet) the service authorises, captures, voids and
/// refunds through.
///
/// # Contract
/// - Every call that moves money is **idempotent by its request's key**: a second
///   call with a key returns the first call's answer and moves nothing more. The
///   service relies on this: it may send a request again after asking
///   [`status`](Self::status) found it unknown, or after a crash between its
///   commit and the provider's answer.
/// - [`ProviderError::Timeout`] means the outcome is unknown. The service resolves
///   it by asking [`status`](Self::status) with the same key.
/// - `status` answers for every key the provider has seen, whatever it did with
///   it, and [`ProviderStatus::Unknown`] for one it has not.
/// - A capture never takes more than what is left of its authorisation, a refund
///   never more than what is left of its capture, and nothing is captured after a
///   void or once the authorisation expired: the provider refuses such calls
///   ([`ProviderError::Refused`]). The service never sends them, and the audit
///   checks its own side of each bound.
/// - `void` releases what is left of an authorisation; voiding twice, or voiding
///   one that expired or is fully captured, succeeds.
/// - All methods are `Send` futures; implementations must not hold locks across
///   `.await`.
pub trait PaymentProvider: Send + Sync {
    /// The provider's name, kept on each authorisation it makes.
    fn name(&self) -> &str;

    /// True when payments by `method` go through this provider: card-like ones.
    /// Bank transfers and cash are recorded by the host
    /// ([`Oms::record_payment`](crate::Oms::record_payment)); on-account is a term,
    /// never a payment.
    fn takes(&self, method: PaymentMethod) -> bool {
        method == PaymentMethod::Card
    }

    /// Holds money on the customer's method.
    ///
    /// # Errors
    /// [`ProviderError`] as the contract says.
    fn authorise(
        &self,
        request: &AuthoriseRequest,
    ) -> impl Future<Output = Result<Authorised, ProviderError>> + Send;

    /// Takes part or all of what is left of an authorisation.
    ///
    /// # Errors
    /// [`ProviderError`] as the contract says.
    fn capture(
        &self,
        request: &CaptureRequest,
    ) -> impl Future<Output = Result<ProviderReceipt, ProviderError>> + Send;

    /// Releases what is left of an authorisation.
    ///
    /// # Errors
    /// [`ProviderError`] as the contract says.
    fn void(
        &self,
        request: &VoidRequest,
    ) -> impl Future<Output = Result<ProviderReceipt, ProviderError>> + Send;

    /// Gives back part or all of a capture.
    ///
    /// # Errors
    /// [`ProviderError`] as the contract says.
    fn refund(
        &self,
        request: &RefundRequest,
    ) -> impl Future<Output = Result<ProviderReceipt, ProviderError>> + Send;

    /// What the provider did with `key`.
    ///
    /// # Errors
    /// [`ProviderError::Timeout`] when it cannot say now.
    fn status(
        &self,
        key: &str,
    ) -> impl Future<Output = Result<ProviderStatus, ProviderError>> + Send;
}

/// No payment provider: every payment is recorded by the host
/// ([`Oms::record_payment`](crate::Oms::record_payment)), card payments
/// included, as before providers existed. What [`Oms::new`](crate::Oms::new) uses.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct NoPaymentProvider;

impl NoPaymentProvider {
    fn refused() -> ProviderError {
        ProviderError::Refused {
            provider: "none".to_owned(),
            reason: "no payment provider is configured".to_owned(),
        }
    }
}

impl PaymentProvider for NoPaymentProvider {
    fn name(&self) -> &str {
        "none"
    }

    fn takes(&self, _method: PaymentMethod) -> bool {
        false
    }

    async fn authorise(&self, _request: &AuthoriseRequest) -> Result<Authorised, ProviderError> {
        Err(Self::refused())
    }

    async fn capture(&self, _request: &CaptureRequest) -> Result<ProviderReceipt, ProviderError> {
        Err(Self::refused())
    }

    async fn void(&self, _request: &VoidRequest) -> Result<ProviderReceipt, ProviderError> {
        Err(Self::refused())
    }

    async fn refund(&self, _request: &RefundRequest) -> Result<ProviderReceipt, ProviderError> {
        Err(Self::refused())
    }

    async fn status(&self, _key: &str) -> Result<ProviderStatus, ProviderError> {
        Ok(ProviderStatus::Unknown)
    }
}

/// A shared provider is a provider: an `Oms` and a test (or a webhook handler)
/// can hold the same one.
impl<P: PaymentProvider> PaymentProvider for std::sync::Arc<P> {
    fn name(&self) -> &str {
        (**self).name()
    }
    fn takes(&self, method: PaymentMethod) -> bool {
        (**self).takes(method)
    }
    fn authorise(
        &self,
        request: &AuthoriseRequest,
    ) -> impl Future<Output = Result<Authorised, ProviderError>> + Send {
        (**self).authorise(request)
    }
    fn capture(
        &self,
        request: &CaptureRequest,
    ) -> impl Future<Output = Result<ProviderReceipt, ProviderError>> + Send {
        (**self).capture(request)
    }
    fn void(
        &self,
        request: &VoidRequest,
    ) -> impl Future<Output = Result<ProviderReceipt, ProviderError>> + Send {
        (**self).void(request)
    }
    fn refund(
        &self,
        request: &RefundRequest,
    ) -> impl Future<Output = Result<ProviderReceipt, ProviderError>> + Send {
        (**self).refund(request)
    }
    fn status(
        &self,
        key: &str,
    ) -> impl Future<Output = Result<ProviderStatus, ProviderError>> + Send {
        (**self).status(key)
    }
}

impl fmt::Display for ProviderStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ProviderStatus::Unknown => f.write_str("unknown"),
            ProviderStatus::Authorised(a) => write!(f, "authorised {} ({})", a.amount, a.id),
            ProviderStatus::Done(r) => write!(f, "done ({})", r.reference),
            ProviderStatus::Failed { reason } => write!(f, "failed: {reason}"),
        }
    }
}
