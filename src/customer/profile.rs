use std::sync::Arc;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::Address;
use crate::ids::CustomerId;
use crate::money::{Currency, Money};

/// How a customer prefers to pay. Recorded payments name their method too.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "snake_case")]
pub enum PaymentMethod {
    /// Card (or wallet): authorised, captured and refunded through the service's
    /// payment provider when it has one ([`crate::payment`]); recorded by the
    /// host ([`Oms::record_payment`](crate::Oms::record_payment)) when it has none.
    #[serde(alias = "Card")]
    Card,
    /// Bank transfer.
    #[serde(alias = "BankTransfer")]
    BankTransfer,
    /// Cash at the counter.
    #[serde(alias = "Cash")]
    Cash,
    /// Paid later on the customer's account (B2B terms): a customer's preference,
    /// never a recorded payment's method, since no money arrives by it
    /// ([`PaymentError::OnAccountIsNotAPayment`](crate::ledger::PaymentError::OnAccountIsNotAPayment)).
    #[serde(alias = "OnAccount")]
    OnAccount,
    /// Paid out of the customer's credit balance (an earlier overpayment, a credit
    /// note on a paid invoice): store credit, used on a later order.
    #[serde(alias = "CustomerCredit")]
    CustomerCredit,
}

/// When a customer must pay.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "snake_case")]
pub enum PaymentTerms {
    /// Payment is required before anything ships: orders are held until paid.
    #[serde(alias = "Prepaid")]
    Prepaid,
    /// Invoices fall due this many days after issue.
    #[serde(alias = "Net")]
    Net {
        /// Days until due.
        days: u16,
    },
}

/// What the host supplies to register a customer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct NewCustomer {
    /// Display or company name.
    pub name: String,
    /// Contact e-mail.
    pub email: String,
    /// Contact phone.
    pub phone: Option<String>,
    /// Known addresses; the first is the default ship-to.
    pub addresses: Vec<Address>,
    /// The currency the customer's account and credit limit are kept in.
    pub currency: Currency,
    /// Preferred payment method.
    #[serde(default = "card")]
    pub payment_method: PaymentMethod,
    /// Payment terms.
    #[serde(default = "prepaid")]
    pub terms: PaymentTerms,
    /// Most the customer may owe; `None` for no limit.
    pub credit_limit: Option<Money>,
    /// The payment provider's reference to the customer's stored card (a token
    /// the host got from the provider's checkout); `None` when none is on file.
    /// Orders are authorised against it
    /// ([`crate::payment`]). Never card numbers: o2c keeps no card data.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub payment_token: Option<String>,
}

crate::with_setters!(NewCustomer {
    with_name => name: String,
    with_email => email: String,
    with_phone => phone: Option<String>,
    with_addresses => addresses: Vec<Address>,
    with_currency => currency: Currency,
    with_payment_method => payment_method: PaymentMethod,
    with_terms => terms: PaymentTerms,
    with_credit_limit => credit_limit: Option<Money>,
    with_payment_token => payment_token: Option<String>,
});

impl NewCustomer {
    /// A prepaying card customer with one address and no credit limit.
    pub fn new(
        name: impl Into<String>,
        email: impl Into<String>,
        address: Address,
        currency: Currency,
    ) -> Self {
        Self {
            name: name.into(),
            email: email.into(),
            phone: None,
            addresses: vec![address],
            currency,
            payment_method: PaymentMethod::Card,
            terms: PaymentTerms::Prepaid,
            credit_limit: None,
            payment_token: None,
        }
    }
}

/// A customer registered without a payment method pays by card, as
/// [`NewCustomer::new`] makes one.
fn card() -> PaymentMethod {
    PaymentMethod::Card
}

/// A customer registered without terms prepays, as [`NewCustomer::new`] makes one.
fn prepaid() -> PaymentTerms {
    PaymentTerms::Prepaid
}

/// A customer profile with its running order history.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct Customer {
    /// Identity.
    pub id: CustomerId,
    /// Contact details, addresses and terms as registered. Shared: every order reads
    /// the customer, and only the history changes.
    pub profile: Arc<NewCustomer>,
    /// Order history totals, kept in step by every order command.
    pub history: CustomerHistory,
    /// When the customer was registered.
    pub registered_at: DateTime<Utc>,
    /// Since when the customer's orders are held for an invoice past the
    /// reminder level that stops shipping
    /// ([`AutomationPolicy::hold_at_reminder`](crate::AutomationPolicy::hold_at_reminder)):
    /// set and cleared by [`Oms::run_due`](crate::Oms::run_due).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub overdue_since: Option<DateTime<Utc>>,
}

impl Customer {
    /// The default ship-to address, if any.
    pub fn default_address(&self) -> Option<&Address> {
        self.profile.addresses.first()
    }

    /// True when what the customer owes plus what their open orders will invoice
    /// exceeds their credit limit (never, without one).
    ///
    /// # Errors
    /// On overflow or a limit in another currency.
    pub fn over_credit_limit(&self) -> Result<bool, crate::money::MoneyError> {
        let Some(limit) = self.profile.credit_limit else {
            return Ok(false);
        };
        let exposure = self.history.balance.checked_add(self.history.uninvoiced)?;
        Ok(exposure.cmp_amount(limit)?.is_gt())
    }
}

/// Running order totals for one customer, in the customer's currency.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct CustomerHistory {
    /// Orders placed (cancelled ones included).
    pub orders_placed: u32,
    /// Orders cancelled.
    pub orders_cancelled: u32,
    /// Total value of orders placed and not cancelled (tax and shipping included).
    pub lifetime_value: Money,
    /// When the latest order was placed.
    pub last_order_at: Option<DateTime<Utc>>,
    /// Invoiced and not yet paid: what the customer owes (accounts receivable).
    pub balance: Money,
    /// Paid in excess or refunded to account: what the business owes the customer.
    pub credit: Money,
    /// Value of open orders not yet invoiced: with `balance`, the exposure a credit
    /// limit is checked against.
    pub uninvoiced: Money,
}

impl CustomerHistory {
    /// Empty history in `currency`.
    pub fn new(currency: Currency) -> Self {
        Self {
            orders_placed: 0,
            orders_cancelled: 0,
            lifetime_value: Money::zero(currency),
            last_order_at: None,
            balance: Money::zero(currency),
            credit: Money::zero(currency),
            uninvoiced: Money::zero(currency),
        }
    }
}
