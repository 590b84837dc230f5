//! Third-party warehouses: releasing orders to them, and applying what they
//! report back.

use super::{Applied, Fingerprint, Oms, fingerprint};
use crate::catalog::Product;
use crate::customer::Customer;
use crate::error::Error;
use crate::event::Event;
use crate::fulfilment::ship::{Booked, Pick, cost_of_goods, rate_request, record_shipment};
use crate::fulfilment::third_party::{orders, stock};
use crate::fulfilment::{
    Booking, Carrier, RateQuote, Release, Shipment, ThirdPartyError, ThirdPartyFeed,
    ThirdPartyMessage, ThirdPartyOutcome, ThirdPartyReport, ThirdPartyWarehouse,
};
use crate::ids::{IdempotencyKey, LocationId, OrderId, ShipmentId};
use crate::ledger::InvoicePolicy;
use crate::money::MoneyError;
use crate::order::{Order, OrderAction, OrderStatus, transition};
use crate::payment::PaymentProvider;
use crate::purchasing::{BackOrderQueue, Backlog};
use crate::stock::{Location, LocationKind};
use crate::store::{
    Changeset, Entity, Fetched, IdempotencyScope, IdempotentOutcome, Prefetch, Put, Store,
};

impl<S: Store, C: Carrier, P: PaymentProvider> Oms<S, C, P> {
    /// Releases every unit of the order reserved at the third-party warehouse
    /// `location` and not released yet to `warehouse`, under the release key
    /// `key`: the units become the warehouse's to ship. `ship` leaves them
    /// alone, and the order can be neither cancelled nor amended until the
    /// warehouse reports them shipped or rejected
    /// ([`Oms::apply_third_party_message`]).
    ///
    /// The release is committed first and sent after, so a release is never
    /// lost: when the warehouse does not answer, the call fails with
    /// `Unavailable` and the release stays recorded; calling again with the
    /// same `key` sends the recorded release again (the warehouse takes a key
    /// it has once) and answers with it as a replay. When the warehouse refuses
    /// it, the units are taken back at once (a `ReleaseRejected` event) and the
    /// call fails with `Refused`: release them again later with a new key.
    ///
    /// # Errors
    /// [`Error::ThirdParty`] with `NotThirdParty`, `NothingToRelease`,
    /// `Unavailable` or `Refused`; [`Error::Order`] with `OnHold`,
    /// `AwaitingBackOrder` or `InvalidTransition`, as `ship` would refuse;
    /// [`Error::NotFound`] for an unknown order or location;
    /// [`Error::IdempotencyKeyReused`] for a key used for another release.
    pub async fn release_to_third_party<W: ThirdPartyWarehouse>(
        &self,
        warehouse: &W,
        order: OrderId,
        location: &LocationId,
        key: IdempotencyKey,
    ) -> Result<Applied<Release>, Error> {
        let scope = IdempotencyScope::ReleaseToThirdParty;
        let command = (order, location);
        let print = fingerprint(&command)?;
        let released = super::retrying!(
            self,
            "release_to_third_party",
            key = &key,
            id = &order,
            self.try_release(order, location, &key, &print).await,
            twin = async {
                match self.replay(scope, &key, &print).await? {
                    Some(IdempotentOutcome::Released(release)) => {
                        Ok(Some(Applied::replay(release)))
                    }
                    _ => Ok(None),
                }
            }
        )?;
        match warehouse.release(&released.value).await {
            Ok(()) => Ok(released),
            // A refusal is final: the units are o2c's again, as if rejected.
            Err(ThirdPartyError::Refused { site, reason }) => {
                self.take_back_refused(&released.value, &reason).await?;
                Err(ThirdPartyError::Refused { site, reason }.into())
            }
            Err(e) => Err(e.into()),
        }
    }

    /// Takes back the units of a release the warehouse refused, with a
    /// `ReleaseRejected` event; nothing if they were taken back already (a
    /// retried release refused again).
    async fn take_back_refused(&self, release: &Release, reason: &str) -> Result<(), Error> {
        super::retrying!(self, "take_back_release", id = &release.order, {
            let request = Prefetch::new().record::<Order>(&release.order);
            let mut fetched = super::trace::store("fetch", self.store.fetch(&request)).await?;
            let stored = super::found::<Order>(&mut fetched, &release.order)?;
            let mut order = stored.value;
            match orders::take_back(&mut order, &release.location, &release.lines) {
                Ok(_) => {}
                Err(ThirdPartyError::NotReleased { .. }) => return Ok(()),
                Err(e) => return Err(e.into()),
            }
            let mut changes = Changeset::new(self.now());
            changes.events.push(Event::ReleaseRejected {
                order: release.order,
                location: release.location.clone(),
                release: release.key.clone(),
                lines: release.lines.clone(),
                reason: format!("refused: {reason}"),
            });
            changes.update(order, stored.version);
            super::trace::store("commit", self.store.commit(changes)).await?;
            Ok::<_, Error>(())
        })
    }

    async fn try_release(
        &self,
        id: OrderId,
        location: &LocationId,
        key: &IdempotencyKey,
        print: &Fingerprint<'_>,
    ) -> Result<Applied<Release>, Error> {
        // One read: the key, the order and the warehouse.
        let scope = IdempotencyScope::ReleaseToThirdParty;
        let request = Prefetch::new()
            .key(scope, key)
            .record::<Order>(&id)
            .record::<Location>(location);
        let mut fetched = super::trace::store("fetch", self.store.fetch(&request)).await?;
        if let Some(outcome) = super::earlier(fetched.idempotency.as_ref(), scope, key, print)? {
            return match outcome {
                IdempotentOutcome::Released(release) => Ok(Applied::replay(release)),
                _ => Err(Error::inconsistent(
                    "release_to_third_party",
                    "its key holds another command's outcome",
                )),
            };
        }
        let stored = super::found::<Order>(&mut fetched, &id)?;
        let site = super::lent::<Location>(&fetched, location).map_err(Error::into_reference)?;
        let mut order = stored.value;
        let mut changes = Changeset::new(self.now());
        let release = orders::release(&mut order, site, key, changes.at, &mut changes)?;
        changes.update(order, stored.version);
        drop(fetched);
        let outcome = IdempotentOutcome::Released(release.clone());
        self.commit_keyed(changes, scope, key, print, outcome)
            .await?;
        Ok(Applied::fresh(release))
    }

    /// Applies a message from a third-party warehouse, once per message id
    /// however often it is delivered (a repeat answers with the first result,
    /// as a replay):
    /// - **shipped**: the released units leave stock as a shipment, with the
    ///   warehouse's carrier, tracking number and charge — cost of goods posted,
    ///   and invoiced under invoicing on shipment, as `ship` would — whatever
    ///   hold the order is under now: the goods have left. A shipment
    ///   reported after a count that already saw it (its sequence at or before
    ///   the count's `as_of`) is not taken from stock twice: what the count
    ///   wrote off for it is put back.
    /// - **rejected**: the units are o2c's again, still reserved at the
    ///   warehouse: release them again once it has stock, or cancel them.
    /// - **counted**: each counted SKU is compared with o2c's on-hand as of the
    ///   count's position (movements reported after it are not differences);
    ///   each difference is a stock adjustment, posted to the ledger, whose
    ///   reason names the message, and units found go to waiting back-orders
    ///   first. Units found missing that orders still hold reserved are not
    ///   written off ([`ThirdPartyFeed::unresolved`]). A count at or before the
    ///   last one applied changes nothing.
    ///
    /// # Errors
    /// [`Error::ThirdParty`] with `Malformed` for a message that can never be
    /// applied, `NotThirdParty`, or `NotReleased` for a report of units the
    /// warehouse was not given; [`Error::NotFound`] for an unknown order,
    /// location or SKU; [`Error::Money`] for a charge in another currency than
    /// the order's; [`Error::IdempotencyKeyReused`] for a message id sent again
    /// with other content. Nothing is changed on an error.
    pub async fn apply_third_party_message(
        &self,
        message: &ThirdPartyMessage,
    ) -> Result<Applied<ThirdPartyOutcome>, Error> {
        let key = message.check()?;
        let print = fingerprint(message)?;
        let applied = super::retrying!(
            self,
            "apply_third_party_message",
            key = &key,
            self.try_apply(message, &key, &print).await,
            twin = async {
                match self
                    .replay(IdempotencyScope::ThirdPartyMessage, &key, &print)
                    .await?
                {
                    Some(outcome) => self.recalled(&outcome).await.map(Some),
                    None => Ok(None),
                }
            }
        );
        if let Ok(Applied {
            value: ThirdPartyOutcome::Shipped(shipment),
            ..
        }) = &applied
            && self.has_provider()
        {
            // The capture the shipment recorded, if the order is paid through
            // the provider; left open for `run_due` if the provider is silent.
            let _captured = self.settle_payments(shipment.order).await;
        }
        applied
    }

    /// What an applied message produced, read again, as a replay.
    async fn recalled(
        &self,
        outcome: &IdempotentOutcome,
    ) -> Result<Applied<ThirdPartyOutcome>, Error> {
        if let IdempotentOutcome::StockCounted(result) = outcome {
            return Ok(Applied::replay(ThirdPartyOutcome::Counted(result.clone())));
        }
        if let Some(shipped) = self.recall::<Shipment>(outcome).await? {
            return Ok(shipped.map(ThirdPartyOutcome::Shipped));
        }
        let order = self.replayed::<Order>(outcome).await?;
        Ok(order.map(ThirdPartyOutcome::Rejected))
    }

    async fn try_apply(
        &self,
        message: &ThirdPartyMessage,
        key: &IdempotencyKey,
        print: &Fingerprint<'_>,
    ) -> Result<Applied<ThirdPartyOutcome>, Error> {
        // One read: the key, the warehouse and its feed, and what the report
        // is about — the order (with its products, and its customer when
        // shipping invoices), or the counted SKUs' products, queues and stock.
        let scope = IdempotencyScope::ThirdPartyMessage;
        let site = &message.location;
        let mut request = Prefetch::new()
            .key(scope, key)
            .record::<Location>(site)
            .record::<ThirdPartyFeed>(site);
        match &message.report {
            ThirdPartyReport::Shipped { order, .. } => {
                let kinds: &[&'static str] = match self.config.invoice_policy
                    == InvoicePolicy::OnShipment
                    || self.has_provider()
                {
                    true => &[Product::kind(), Customer::kind()],
                    false => &[Product::kind()],
                };
                request = request.follow::<Order>(order, kinds);
            }
            ThirdPartyReport::Rejected { order, .. } => request = request.record::<Order>(order),
            ThirdPartyReport::Counted { counts, .. } => {
                for c in counts {
                    request = request
                        .record::<Product>(&c.sku)
                        .record::<BackOrderQueue>(&c.sku)
                        .stock(&c.sku);
                }
            }
        }
        let mut fetched = super::trace::store("fetch", self.store.fetch(&request)).await?;
        if let Some(outcome) = super::earlier(fetched.idempotency.as_ref(), scope, key, print)? {
            return self.recalled(&outcome).await;
        }
        let location = super::found::<Location>(&mut fetched, site)
            .map_err(Error::into_reference)?
            .value;
        if location.kind != LocationKind::ThirdParty {
            return Err(ThirdPartyError::NotThirdParty {
                location: site.clone(),
            }
            .into());
        }
        let (mut feed, feed_version) = match fetched.take::<ThirdPartyFeed>(site) {
            Some(stored) => (stored.value, Some(stored.version)),
            None => (ThirdPartyFeed::new(site.clone()), None),
        };
        let mut changes = Changeset::new(self.now());
        let (outcome, result) = match &message.report {
            ThirdPartyReport::Shipped { .. } => {
                let (outcome, shipment) =
                    self.shipped(message, &location, &mut feed, fetched, &mut changes)?;
                changes.puts.push(Put::upsert(feed, feed_version));
                (outcome, ThirdPartyOutcome::Shipped(shipment))
            }
            ThirdPartyReport::Rejected {
                order,
                release,
                lines,
                reason,
            } => {
                let stored = super::found::<Order>(&mut fetched, order)?;
                let mut rejected = stored.value;
                orders::take_back(&mut rejected, site, lines)?;
                changes.events.push(Event::ReleaseRejected {
                    order: *order,
                    location: site.clone(),
                    release: release.clone(),
                    lines: lines.clone(),
                    reason: reason.clone(),
                });
                changes.update(rejected.clone(), stored.version);
                (
                    IdempotentOutcome::Order(*order),
                    ThirdPartyOutcome::Rejected(rejected),
                )
            }
            ThirdPartyReport::Counted { as_of, counts, .. } => {
                let counted = stock::count(&mut feed, *as_of, counts, &fetched.stock, &mut changes);
                if counted.applied {
                    // Units found go to the lines waiting for them first.
                    let mut backlog = Backlog::default();
                    for found in counted.differences.iter().filter(|d| d.adjusted > 0) {
                        let queue = fetched.take::<BackOrderQueue>(&found.sku);
                        backlog.adopt_queue(&found.sku, queue);
                    }
                    self.read_waiting(&mut backlog).await?;
                    stock::post_count(
                        &message.id,
                        &location,
                        &counted,
                        &mut fetched,
                        &mut backlog,
                        &self.context(changes.at),
                        &mut changes,
                    )?;
                    backlog.put_into(&mut changes);
                    changes.puts.push(Put::upsert(feed, feed_version));
                }
                (
                    IdempotentOutcome::StockCounted(counted.clone()),
                    ThirdPartyOutcome::Counted(counted),
                )
            }
        };
        self.commit_keyed(changes, scope, key, print, outcome)
            .await?;
        Ok(Applied::fresh(result))
    }

    /// A shipment report, decided: the units taken back from the release and
    /// recorded as a shipment (invoiced under invoicing on shipment), and the
    /// feed told of the movement — a late one putting back what a count wrote
    /// off for it.
    fn shipped(
        &self,
        message: &ThirdPartyMessage,
        location: &Location,
        feed: &mut ThirdPartyFeed,
        mut fetched: Fetched,
        changes: &mut Changeset,
    ) -> Result<(IdempotentOutcome, Shipment), Error> {
        let ThirdPartyReport::Shipped {
            sequence,
            order: id,
            release,
            lines,
            carrier,
            service,
            tracking,
            charge,
            ..
        } = &message.report
        else {
            return Err(Error::inconsistent(
                "third-party shipment",
                "not a shipment",
            ));
        };
        let stored = super::found::<Order>(&mut fetched, id)?;
        let mut order = stored.value;
        if charge.currency() != order.currency {
            return Err(MoneyError::CurrencyMismatch {
                expected: order.currency,
                found: charge.currency(),
            }
            .into());
        }
        // What left the warehouse left it: a hold placed since the release
        // stays, and the report applies all the same.
        let status = match order.status {
            OrderStatus::OnHold => OrderStatus::OnHold,
            status => transition(status, OrderAction::Ship)?,
        };
        let products =
            super::shipping::products_at_cost(fetched.lend_every(), order.lines.len(), changes);
        let picked = orders::take_back(&mut order, &location.id, lines)?;
        let (cost_of_goods, line_costs) = cost_of_goods(&order, &picked, &products)?;
        let pick = Pick {
            location,
            request: rate_request(&order, location, &picked, &products, false),
            lines: picked,
            cost_of_goods,
            line_costs,
            split_freight: false,
        };
        let ctx = self.context(changes.at);
        let shipment_id = self.new_id(ShipmentId::from_uuid);
        let booked = Booked {
            pick: &pick,
            quote: RateQuote {
                carrier: carrier.clone(),
                service: service.clone(),
                price: *charge,
                transit_days: 0,
            },
            booking: Booking {
                tracking: tracking.clone(),
                label: String::new(),
                price: *charge,
            },
            shipment: shipment_id,
            key: release.to_string(),
        };
        let shipment = record_shipment(&mut order, booked, &ctx, changes)?;
        self.invoice_shipped(
            &mut order,
            status,
            std::slice::from_ref(&pick),
            &fetched,
            false,
            &ctx,
            changes,
        )?;
        let moves: Vec<_> = lines
            .iter()
            .map(|l| (l.sku.clone(), -l.quantity.as_i64()))
            .collect();
        for late in feed.moved(*sequence, &moves) {
            let product = products
                .get(&late.sku)
                .ok_or_else(|| Error::dangling(Product::kind(), &late.sku))?;
            stock::put_back(
                product,
                &location.id,
                &late,
                &message.id,
                *sequence,
                &ctx,
                changes,
            )?;
        }
        changes.update(order, stored.version);
        Ok((IdempotentOutcome::Shipments(vec![shipment_id]), shipment))
    }
}
