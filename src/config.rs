//! How an [`Oms`](crate::Oms) behaves: its policies, its chart of accounts, and how
//! it retries a command that lost a race.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use crate::automation::AutomationPolicy;
use crate::error::Error;
use crate::fulfilment::FreightRule;
use crate::ledger::{AccountMap, ChartOfAccounts, InvoicePolicy};
use crate::purchasing::PurchasingPolicy;
use crate::sleep::Sleep;
use crate::stock::AllocationStrategy;

/// How an [`Oms`](crate::Oms) behaves. Start from the default and change what
/// differs (`OmsConfig::default().with_invoice_policy(InvoicePolicy::OnShipment)`):
/// fields are added as o2c grows, so it cannot be written out whole.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct OmsConfig {
    /// When invoices are issued.
    pub invoice_policy: InvoicePolicy,
    /// How order lines are spread over locations.
    pub allocation: AllocationStrategy,
    /// The accounts entries may post to.
    pub chart: ChartOfAccounts,
    /// Which account each posting rule uses.
    pub accounts: AccountMap,
    /// How many times a command is tried when other writers keep winning.
    pub max_attempts: u32,
    /// How long a command waits after losing a race before it tries again.
    pub backoff: Backoff,
    /// Approval and receiving rules for purchase orders.
    pub purchasing: PurchasingPolicy,
    /// When one location's goods are split into parcel and freight shipments
    /// (see [`FreightRule`]); `None` (the default): each location ships as one.
    pub freight: Option<FreightRule>,
    /// What [`Oms::run_due`](crate::Oms::run_due) does, and when.
    pub automation: AutomationPolicy,
    /// How card payments through the payment provider treat declines and
    /// lapsed authorisations.
    pub payments: crate::payment::PaymentPolicy,
}

impl Default for OmsConfig {
    fn default() -> Self {
        Self {
            invoice_policy: InvoicePolicy::default(),
            allocation: AllocationStrategy::default(),
            chart: ChartOfAccounts::default(),
            accounts: AccountMap::default(),
            max_attempts: 32,
            backoff: Backoff::default(),
            purchasing: PurchasingPolicy::default(),
            freight: None,
            automation: AutomationPolicy::default(),
            payments: crate::payment::PaymentPolicy::default(),
        }
    }
}

impl OmsConfig {
    /// When invoices are issued.
    #[must_use]
    pub fn with_invoice_policy(mut self, policy: InvoicePolicy) -> Self {
        self.invoice_policy = policy;
        self
    }

    /// How order lines are spread over locations.
    #[must_use]
    pub fn with_allocation(mut self, allocation: AllocationStrategy) -> Self {
        self.allocation = allocation;
        self
    }

    /// The accounts entries may post to.
    #[must_use]
    pub fn with_chart(mut self, chart: ChartOfAccounts) -> Self {
        self.chart = chart;
        self
    }

    /// Which account each posting rule uses.
    #[must_use]
    pub fn with_accounts(mut self, accounts: AccountMap) -> Self {
        self.accounts = accounts;
        self
    }

    /// How many times a command is tried when other writers keep winning.
    #[must_use]
    pub fn with_max_attempts(mut self, attempts: u32) -> Self {
        self.max_attempts = attempts;
        self
    }

    /// How long a command waits after losing a race.
    #[must_use]
    pub fn with_backoff(mut self, backoff: Backoff) -> Self {
        self.backoff = backoff;
        self
    }

    /// Approval and receiving rules for purchase orders.
    #[must_use]
    pub fn with_purchasing(mut self, purchasing: PurchasingPolicy) -> Self {
        self.purchasing = purchasing;
        self
    }

    /// Splits each location's goods into parcel and freight shipments by `rule`.
    #[must_use]
    pub fn with_freight(mut self, rule: FreightRule) -> Self {
        self.freight = Some(rule);
        self
    }

    /// How card payments through the payment provider treat declines and lapsed
    /// authorisations.
    #[must_use]
    pub fn with_payments(mut self, policy: crate::payment::PaymentPolicy) -> Self {
        self.payments = policy;
        self
    }

    /// What [`Oms::run_due`](crate::Oms::run_due) does, and when.
    #[must_use]
    pub fn with_automation(mut self, policy: AutomationPolicy) -> Self {
        self.automation = policy;
        self
    }

    /// Refuses a configuration a service cannot run with.
    ///
    /// # Errors
    /// [`Error::Invalid`] if the account map names an account missing from the
    /// chart, `max_attempts` is zero, or the automation policy is refused
    /// ([`AutomationPolicy::validate`]).
    pub fn validate(&self) -> Result<(), Error> {
        if let Some(missing) = self
            .accounts
            .all()
            .into_iter()
            .find(|a| !self.chart.contains(a))
        {
            return Err(Error::invalid(
                "config.accounts",
                format!("account {missing} is not in the chart"),
            ));
        }
        if self.max_attempts == 0 {
            return Err(Error::invalid("config.max_attempts", "must be at least 1"));
        }
        self.automation.validate()
    }
}

/// How long a command waits after losing a race before it reads and decides again:
/// a random time up to `first × 2^(tries − 1)`, never more than `cap` ("full
/// jitter"), so callers that collided spread out instead of colliding again.
/// [`Backoff::none`] retries at once.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Backoff {
    /// The longest wait after the first lost race.
    pub first: Duration,
    /// The longest wait ever.
    pub cap: Duration,
}

impl Default for Backoff {
    /// Up to 1 ms after the first lost race, doubling to at most 50 ms: with the
    /// default 32 attempts a command gives up after about a second of losing.
    fn default() -> Self {
        Self {
            first: Duration::from_millis(1),
            cap: Duration::from_millis(50),
        }
    }
}

impl Backoff {
    /// Retry at once (a deterministic test, a store that never conflicts).
    pub const fn none() -> Self {
        Self {
            first: Duration::ZERO,
            cap: Duration::ZERO,
        }
    }

    /// The wait after the `tries`-th lost race in a row: uniform in `[0, ceiling]`.
    pub(crate) fn wait(self, tries: u32, jitter: u64) -> Duration {
        let doubled = self
            .first
            .checked_mul(
                1u32.checked_shl(tries.saturating_sub(1))
                    .unwrap_or(u32::MAX),
            )
            .unwrap_or(self.cap);
        let ceiling = doubled.min(self.cap);
        let nanos = u64::try_from(ceiling.as_nanos()).unwrap_or(u64::MAX);
        Duration::from_nanos(jitter.checked_rem(nanos.saturating_add(1)).unwrap_or(0))
    }

    /// Waits before the next try, after `tries` lost races.
    pub(crate) fn pause(self, tries: u32) -> Sleep {
        Sleep::new(self.wait(tries, jitter()))
    }
}

/// A random-enough number for spreading retries: a Weyl sequence through a
/// SplitMix64 finaliser. Not for anything that must be unpredictable.
fn jitter() -> u64 {
    static STATE: AtomicU64 = AtomicU64::new(0x853c_49e6_748f_ea9b);
    let mut z = STATE.fetch_add(0x9e37_79b9_7f4a_7c15, Ordering::Relaxed);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn waits_grow_to_the_cap_and_never_pass_it() {
        let b = Backoff {
            first: Duration::from_millis(1),
            cap: Duration::from_millis(50),
        };
        let most = |tries| b.wait(tries, u64::MAX - 1).max(b.wait(tries, 999_999));
        assert!(b.wait(1, 5_000_000) <= Duration::from_millis(1));
        assert_eq!(b.wait(1, 1_000_000), Duration::from_millis(1));
        assert_eq!(b.wait(3, 4_000_000), Duration::from_millis(4));
        for tries in [6, 7, 32, 1_000] {
            assert!(most(tries) <= Duration::from_millis(50), "{tries}");
        }
        assert_eq!(b.wait(7, 50_000_000), Duration::from_millis(50));
        assert_eq!(Backoff::none().wait(9, u64::MAX), Duration::ZERO);
    }

    #[test]
    fn jitter_spreads() {
        let b = Backoff::default();
        let waits: std::collections::BTreeSet<Duration> =
            (0..64).map(|_| b.wait(6, jitter())).collect();
        assert!(waits.len() > 32, "{waits:?}");
    }
}
