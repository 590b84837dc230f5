//! A card processor in process, for tests, examples and the simulation: it keeps
//! its own books of authorisations, captures and refunds, honours every key,
//! enforces every bound of the contract, and misbehaves on purpose — declines,
//! calls that time out before or after taking effect, webhooks delivered twice,
//! authorisations that lapse.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};

use chrono::{DateTime, Duration, Utc};

use super::{
    AuthoriseRequest, Authorised, CaptureRequest, PaymentNotification, PaymentProvider,
    ProviderError, ProviderEvent, ProviderReceipt, ProviderStatus, RefundRequest, VoidRequest,
};
use crate::clock::Clock;
use crate::ids::OrderId;
use crate::money::{Currency, Money};

/// How often the simulator misbehaves, each in percent of calls.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CardFaults {
    /// Authorisations declined (whatever the card).
    pub decline_percent: u8,
    /// Calls that time out before reaching the provider: nothing happens.
    pub timeout_percent: u8,
    /// Calls that take effect but whose reply is lost: the caller sees a timeout.
    pub lost_reply_percent: u8,
    /// Notifications delivered twice.
    pub duplicate_percent: u8,
}

/// The token a test gives a customer whose card is always declined.
pub const DECLINED_CARD: &str = "card_declined";

/// A simulated card processor. Cheap to share behind an [`Arc`].
pub struct SimulatedCardProvider {
    name: String,
    clock: Arc<dyn Clock>,
    hold_days: i64,
    /// Fee per capture settled, in basis points of its amount.
    fee_basis_points: i64,
    state: Mutex<Books>,
}

impl std::fmt::Debug for SimulatedCardProvider {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SimulatedCardProvider")
            .field("name", &self.name)
            .finish_non_exhaustive()
    }
}

#[derive(Default)]
struct Books {
    seed: u64,
    faults: CardFaults,
    next: u64,
    /// Every key seen, with what it came to.
    keys: HashMap<String, ProviderStatus>,
    holds: HashMap<String, Hold>,
    captures: HashMap<String, Taken>,
    outbox: Vec<PaymentNotification>,
    log: Vec<String>,
    /// Per currency, captured less refunded since the last payout.
    unsettled: HashMap<Currency, Money>,
}

struct Hold {
    order: OrderId,
    amount: Money,
    captured: Money,
    released: bool,
    expires_at: DateTime<Utc>,
}

struct Taken {
    amount: Money,
    refunded: Money,
}

/// What the simulator's books say, for tests to compare with the service's.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProviderTotals {
    /// Σ authorised.
    pub authorised: Money,
    /// Σ captured.
    pub captured: Money,
    /// Σ refunded.
    pub refunded: Money,
}

impl SimulatedCardProvider {
    /// A provider called `name`, reading time from `clock`, whose authorisations
    /// hold for `hold_days`, misbehaving as `faults` say with rolls drawn from
    /// `seed`.
    pub fn new(
        name: impl Into<String>,
        clock: Arc<dyn Clock>,
        hold_days: u16,
        faults: CardFaults,
        seed: u64,
    ) -> Self {
        Self {
            name: name.into(),
            clock,
            hold_days: i64::from(hold_days),
            fee_basis_points: 290,
            state: Mutex::new(Books {
                seed: seed | 1,
                faults,
                ..Books::default()
            }),
        }
    }

    fn books(&self) -> MutexGuard<'_, Books> {
        // A poisoned lock only means a test thread panicked mid-call: the books
        // are still whole, since every call updates them before returning.
        self.state
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn timeout(&self) -> ProviderError {
        ProviderError::Timeout {
            provider: self.name.clone(),
        }
    }

    fn refused(&self, reason: impl Into<String>) -> ProviderError {
        ProviderError::Refused {
            provider: self.name.clone(),
            reason: reason.into(),
        }
    }

    /// Runs one money-moving call: a timeout before it, the effect, a reply that
    /// may be lost, and a notification of what it came to.
    fn call<T>(
        &self,
        key: &str,
        order: Option<OrderId>,
        effect: impl FnOnce(&mut Books) -> Result<T, ProviderError>,
        status: impl Fn(&T) -> ProviderStatus,
        from_seen: impl Fn(&ProviderStatus) -> Option<T>,
    ) -> Result<T, ProviderError> {
        let mut books = self.books();
        if let Some(seen) = books.keys.get(key) {
            return self.answer_replay(seen, from_seen);
        }
        if books.roll_for(|f| f.timeout_percent) {
            books.log.push(format!("{key}: timed out before arriving"));
            return Err(self.timeout());
        }
        let result = effect(&mut books);
        let seen = match &result {
            Ok(value) => status(value),
            Err(e) => ProviderStatus::Failed {
                reason: e.reason().unwrap_or("unknown").to_owned(),
            },
        };
        books.log.push(format!("{key}: {seen}"));
        books.keys.insert(key.to_owned(), seen.clone());
        if let Some(order) = order {
            let event = match seen {
                ProviderStatus::Done(receipt) => Some(ProviderEvent::RequestDone {
                    order,
                    key: key.to_owned(),
                    reference: receipt.reference,
                }),
                ProviderStatus::Failed { reason } => Some(ProviderEvent::RequestFailed {
                    order,
                    key: key.to_owned(),
                    reason,
                }),
                ProviderStatus::Authorised(_) | ProviderStatus::Unknown => None,
            };
            if let Some(event) = event {
                self.notify(&mut books, event);
            }
        }
        if books.roll_for(|f| f.lost_reply_percent) {
            books.log.push(format!("{key}: reply lost"));
            return Err(self.timeout());
        }
        result
    }

    fn notify(&self, books: &mut Books, event: ProviderEvent) {
        books.next = books.next.saturating_add(1);
        let note = PaymentNotification {
            id: format!("evt_{}", books.next),
            provider: self.name.clone(),
            event,
        };
        if books.roll_for(|f| f.duplicate_percent) {
            books.outbox.push(note.clone());
        }
        books.outbox.push(note);
    }

    /// Misbehaves as `faults` say from now on.
    pub fn set_faults(&self, faults: CardFaults) {
        self.books().faults = faults;
    }

    /// Takes every notification not yet delivered, oldest first.
    pub fn notifications(&self) -> Vec<PaymentNotification> {
        std::mem::take(&mut self.books().outbox)
    }

    /// What the provider did, one line per call, oldest first.
    pub fn log(&self) -> Vec<String> {
        self.books().log.clone()
    }

    /// Lets every authorisation past its expiry lapse, with a notification each.
    pub fn expire(&self) {
        let now = self.clock.now();
        let mut books = self.books();
        let mut lapsed: Vec<(String, OrderId)> = books
            .holds
            .iter_mut()
            .filter(|(_, h)| !h.released && h.expires_at <= now)
            .map(|(id, h)| {
                h.released = true;
                (id.clone(), h.order)
            })
            .collect();
        lapsed.sort();
        for (authorisation, order) in lapsed {
            books.log.push(format!("{authorisation}: expired"));
            self.notify(
                &mut books,
                ProviderEvent::AuthorisationExpired {
                    order,
                    authorisation,
                },
            );
        }
    }

    /// Pays out everything captured less refunded since the last payout, less a
    /// fee, with a notification per currency.
    pub fn pay_out(&self) {
        let mut books = self.books();
        let mut due: Vec<(Currency, Money)> = books.unsettled.drain().collect();
        due.sort_by_key(|(c, _)| c.code());
        for (currency, gross) in due {
            if !gross.is_positive() {
                books.unsettled.insert(currency, gross);
                continue;
            }
            let fee = gross
                .checked_mul(rust_decimal::Decimal::new(self.fee_basis_points, 4))
                .map(|f| f.round(crate::money::Rounding::HalfEven))
                .unwrap_or_else(|_| Money::zero(currency));
            books.next = books.next.saturating_add(1);
            let payout = format!("po_{}", books.next);
            books
                .log
                .push(format!("{payout}: paid out {gross} less {fee}"));
            self.notify(&mut books, ProviderEvent::Settled { payout, gross, fee });
        }
    }

    /// The provider's own totals, per currency asked.
    pub fn totals(&self, currency: Currency) -> ProviderTotals {
        let books = self.books();
        let zero = Money::zero(currency);
        let sum = |it: &mut dyn Iterator<Item = Money>| {
            it.filter(|m| m.currency() == currency)
                .fold(zero, |a, m| a.checked_add(m).unwrap_or(a))
        };
        ProviderTotals {
            authorised: sum(&mut books.holds.values().map(|h| h.amount)),
            captured: sum(&mut books.captures.values().map(|c| c.amount)),
            refunded: sum(&mut books.captures.values().map(|c| c.refunded)),
        }
    }

    fn answer_replay<T>(
        &self,
        seen: &ProviderStatus,
        pick: impl Fn(&ProviderStatus) -> Option<T>,
    ) -> Result<T, ProviderError> {
        match seen {
            ProviderStatus::Failed { reason } => Err(ProviderError::Declined {
                provider: self.name.clone(),
                reason: reason.clone(),
            }),
            other => pick(other).ok_or_else(|| self.refused("key reused for another call")),
        }
    }
}

impl Books {
    /// A roll of the fault `pick` chooses.
    fn roll_for(&mut self, pick: impl Fn(&CardFaults) -> u8) -> bool {
        let percent = pick(&self.faults);
        self.roll(percent)
    }

    /// xorshift64*: a roll of `percent` in a hundred.
    fn roll(&mut self, percent: u8) -> bool {
        if percent == 0 {
            return false;
        }
        self.seed ^= self.seed >> 12;
        self.seed ^= self.seed << 25;
        self.seed ^= self.seed >> 27;
        let draw = self.seed.wrapping_mul(0x2545_f491_4f6c_dd1d) % 100;
        draw < u64::from(percent)
    }

    /// Adds `amount` (a refund: less than nothing) to what the next payout
    /// settles in its currency.
    fn unsettle(&mut self, amount: Money) -> Result<(), ProviderError> {
        let currency = amount.currency();
        let before = self
            .unsettled
            .get(&currency)
            .copied()
            .unwrap_or_else(|| Money::zero(currency));
        self.unsettled.insert(currency, add(before, amount)?);
        Ok(())
    }

    fn id(&mut self, prefix: &str) -> String {
        self.next = self.next.saturating_add(1);
        format!("{prefix}_{}", self.next)
    }
}

fn add(a: Money, b: Money) -> Result<Money, ProviderError> {
    a.checked_add(b).map_err(|e| ProviderError::Refused {
        provider: "simulator".to_owned(),
        reason: e.to_string(),
    })
}

impl PaymentProvider for SimulatedCardProvider {
    fn name(&self) -> &str {
        &self.name
    }

    async fn authorise(&self, request: &AuthoriseRequest) -> Result<Authorised, ProviderError> {
        let expires_at = self.clock.now() + Duration::days(self.hold_days);
        let name = self.name.clone();
        self.call(
            &request.key,
            None,
            |books| {
                let declined = request.token.as_deref() == Some(DECLINED_CARD)
                    || request.token.is_none()
                    || books.roll_for(|f| f.decline_percent);
                if declined {
                    return Err(ProviderError::Declined {
                        provider: name.clone(),
                        reason: match request.token {
                            None => "no card on file".to_owned(),
                            Some(_) => "insufficient funds".to_owned(),
                        },
                    });
                }
                let id = books.id("auth");
                books.holds.insert(
                    id.clone(),
                    Hold {
                        order: request.order,
                        amount: request.amount,
                        captured: Money::zero(request.amount.currency()),
                        released: false,
                        expires_at,
                    },
                );
                Ok(Authorised {
                    id,
                    amount: request.amount,
                    expires_at,
                })
            },
            |a| ProviderStatus::Authorised(a.clone()),
            |s| match s {
                ProviderStatus::Authorised(a) => Some(a.clone()),
                _ => None,
            },
        )
    }

    async fn capture(&self, request: &CaptureRequest) -> Result<ProviderReceipt, ProviderError> {
        let order = Some(request.order);
        let name = self.name.clone();
        self.call(
            &request.key,
            order,
            |books| {
                let refuse = |reason: &str| ProviderError::Refused {
                    provider: name.clone(),
                    reason: reason.to_owned(),
                };
                let id = books.id("cap");
                let hold = books
                    .holds
                    .get_mut(&request.authorisation)
                    .ok_or_else(|| refuse("unknown authorisation"))?;
                if hold.released {
                    return Err(refuse("the authorisation was voided or expired"));
                }
                let after = add(hold.captured, request.amount)?;
                if after.cmp_amount(hold.amount).map_or(true, |o| o.is_gt()) {
                    return Err(refuse("capture exceeds what is left of the authorisation"));
                }
                hold.captured = after;
                let currency = request.amount.currency();
                books.unsettle(request.amount)?;
                books.captures.insert(
                    id.clone(),
                    Taken {
                        amount: request.amount,
                        refunded: Money::zero(currency),
                    },
                );
                Ok(ProviderReceipt { reference: id })
            },
            |r| ProviderStatus::Done(r.clone()),
            done,
        )
    }

    async fn void(&self, request: &VoidRequest) -> Result<ProviderReceipt, ProviderError> {
        let order = Some(request.order);
        let name = self.name.clone();
        self.call(
            &request.key,
            order,
            |books| {
                let id = books.id("void");
                let hold = books.holds.get_mut(&request.authorisation).ok_or_else(|| {
                    ProviderError::Refused {
                        provider: name.clone(),
                        reason: "unknown authorisation".to_owned(),
                    }
                })?;
                // Voiding what already lapsed or was voided succeeds.
                hold.released = true;
                Ok(ProviderReceipt { reference: id })
            },
            |r| ProviderStatus::Done(r.clone()),
            done,
        )
    }

    async fn refund(&self, request: &RefundRequest) -> Result<ProviderReceipt, ProviderError> {
        let order = Some(request.order);
        let name = self.name.clone();
        self.call(
            &request.key,
            order,
            |books| {
                let refuse = |reason: &str| ProviderError::Refused {
                    provider: name.clone(),
                    reason: reason.to_owned(),
                };
                let id = books.id("ref");
                let taken = books
                    .captures
                    .get_mut(&request.capture)
                    .ok_or_else(|| refuse("unknown capture"))?;
                let after = add(taken.refunded, request.amount)?;
                if after.cmp_amount(taken.amount).map_or(true, |o| o.is_gt()) {
                    return Err(refuse("refund exceeds what is left of the capture"));
                }
                taken.refunded = after;
                books.unsettle(-request.amount)?;
                Ok(ProviderReceipt { reference: id })
            },
            |r| ProviderStatus::Done(r.clone()),
            done,
        )
    }

    async fn status(&self, key: &str) -> Result<ProviderStatus, ProviderError> {
        let mut books = self.books();
        if books.roll_for(|f| f.timeout_percent) {
            return Err(self.timeout());
        }
        Ok(books
            .keys
            .get(key)
            .cloned()
            .unwrap_or(ProviderStatus::Unknown))
    }
}

fn done(status: &ProviderStatus) -> Option<ProviderReceipt> {
    match status {
        ProviderStatus::Done(receipt) => Some(receipt.clone()),
        _ => None,
    }
}
