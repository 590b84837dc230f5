//! Amending an order before it ships: read, let [`crate::order::amend`] decide,
//! commit.

use super::{Applied, Fingerprint, Oms, fingerprint};
use crate::customer::Customer;
use crate::error::Error;
use crate::fingerprint::canonical_amendment;
use crate::fulfilment::Carrier;
use crate::order::amend::{AmendInputs, AmendRules, Decided, admit, amend};
use crate::order::{AmendOrder, Order};
use crate::payment::PaymentProvider;
use crate::store::{Changeset, Entity, IdempotencyScope, IdempotentOutcome, Prefetch, Store};

impl<S: Store, C: Carrier, P: PaymentProvider> Oms<S, C, P> {
    /// Amends an order that has not fully shipped, in one commit: adds lines,
    /// changes a line's quantity, removes what has not shipped of a line, or
    /// changes the ship-to address. Changes apply in the order given.
    ///
    /// - **Stock** follows: units taken off a line leave its back-order queue
    ///   first, then its reservations, and freed units go to waiting back-orders;
    ///   units added are reserved like a new order's, and back-ordered when short
    ///   if the order's (or, for an order placed without one, the products')
    ///   back-order policy allows, else refused.
    /// - **Price**: a line nothing of which is invoiced or shipped is re-priced in
    ///   place, at its unit price and discount per unit (a fixed discount scales
    ///   with the units). Once part of it is invoiced or shipped, units taken off
    ///   are cancelled and units added become a line grown from it
    ///   ([`OrderLine::grown_from`](crate::order::OrderLine::grown_from)) at the same unit price and discount per unit,
    ///   so every invoice already issued stays exact; `SetQuantity` and
    ///   `RemoveLine` count a line together with the lines grown from it, cutting
    ///   the newest first. Added lines are priced from the catalogue (or their own
    ///   price); new units, added or grown, are taxed for where the order goes
    ///   once every change applies.
    /// - **A new ship-to in another country** re-taxes what has not shipped at that
    ///   country's rate (refused with `NoTaxRate` if it has none): a line nothing
    ///   of which is invoiced or shipped in place; any other line's open units move,
    ///   with their reservations and their place in the back-order queue, to a line
    ///   grown from it at the new rate, crediting those already invoiced (units a
    ///   credit note had already taken back are credited on the new line's
    ///   invoice instead, so no credit is lost). The shipping charge stays as
    ///   agreed, and reservations stay where they are (warehouses are chosen by
    ///   priority, not by distance). Each move adds a line per billed line with
    ///   units to ship, and those count towards the order's line limit.
    /// - **Billing**: an order invoiced when placed (invoice policy `OnOrder`, or a
    ///   prepaid customer) gets an invoice for what was added; invoiced units taken
    ///   off are credited, one credit note per invoice, and anything already paid
    ///   for them pays the amendment's new invoice (a `CustomerCredit` payment),
    ///   the rest becoming customer credit. A prepaid order with a new invoice
    ///   still to pay is held [`AwaitingPayment`](crate::order::Hold::AwaitingPayment);
    ///   an order on terms the amendment made dearer, whose customer is then over
    ///   their credit limit, is held [`CreditLimit`](crate::order::Hold::CreditLimit).
    /// - Only the unshipped part changes: a line never goes below what shipped.
    ///
    /// Retrying with the same key applies nothing again and returns the order as it
    /// is now. An amendment whose changes leave the order as it was is refused, not
    /// recorded, and its key stays free.
    ///
    /// # Errors
    /// [`Error::Order`]: `InvalidTransition` for a completed or cancelled order,
    /// `NothingToAmend` for no changes or changes that change nothing (a quantity
    /// set to what it is, a line removed whose units have all shipped, a cut added
    /// back, the ship-to the order already has), `UnknownLine`, `InvalidQuantity`,
    /// `AmendsShippedUnits`, `AmendmentEmptiesOrder` (cancel it instead),
    /// `PickupHasNoAddress`, `EverythingShipped`, `InvalidCountry`, `NoTaxRate`
    /// (the new country has none for a line's tax class), and the pricing errors
    /// of a new line (`UnknownSku`, `CurrencyMismatch`, ...); [`Error::Stock`]
    /// when added units cannot be reserved or back-ordered; [`Error::NotFound`]
    /// for an unknown order; [`Error::IdempotencyKeyReused`]. Nothing is written
    /// on any error.
    pub async fn amend_order(&self, cmd: AmendOrder) -> Result<Applied<Order>, Error> {
        let canonical = canonical_amendment(&cmd);
        let print = fingerprint(&canonical)?;
        let mut authorised = None;
        let amended = super::retrying!(
            self,
            "amend_order",
            key = &cmd.idempotency_key,
            self.try_amend_order(&cmd, &print, &mut authorised).await,
            // A twin submission may have committed first: return its result.
            twin = self.twin::<Order>(IdempotencyScope::AmendOrder, &cmd.idempotency_key, &print)
        );
        // A fresh authorisation no committed amendment holds is voided; the
        // void of the one it replaced is sent once the amendment commits.
        if let Some(made) = authorised {
            match &amended {
                Ok(applied) if !applied.replayed => {}
                _ => {
                    if let Ok(order) = self.order(cmd.order).await {
                        self.void_unplaced(&made, cmd.order, Some(&order)).await;
                    }
                }
            }
        }
        if amended.is_ok() && self.has_provider() {
            let _sent = self.settle_payments(cmd.order).await;
        }
        amended
    }

    async fn try_amend_order(
        &self,
        cmd: &AmendOrder,
        print: &Fingerprint<'_>,
        authorised: &mut Option<crate::payment::Authorised>,
    ) -> Result<Applied<Order>, Error> {
        let (scope, key) = (IdempotencyScope::AmendOrder, &cmd.idempotency_key);
        let first = Prefetch::new().key(scope, key).record::<Order>(&cmd.order);
        let mut fetched = super::trace::store("fetch", self.store.fetch(&first)).await?;
        if let Some(outcome) = super::earlier(fetched.idempotency.as_ref(), scope, key, print)? {
            return self.replayed(&outcome).await;
        }
        let stored = fetched.take::<Order>(&cmd.order);
        admit(cmd, stored.as_ref().map(|s| &s.value))?;
        let stored = stored.ok_or_else(|| Error::not_found(Order::kind(), cmd.order))?;
        // The read that depends on the order: everything it names.
        let request = AmendInputs::prefetch(cmd, &stored.value);
        let mut fetched = super::trace::store("fetch", self.store.fetch(&request)).await?;
        let customer = super::found::<Customer>(&mut fetched, &stored.value.customer)
            .map_err(Error::into_dangling)?;
        let mut inputs = AmendInputs::from_fetched(cmd, &stored.value, fetched);
        let rules = AmendRules {
            allocation: self.config.allocation,
            invoice_policy: self.config.invoice_policy,
        };
        let now = self.now();
        let ctx = self.context(now);
        let mut asked = false;
        let (order, buyer, changes) = loop {
            let (mut buyer, mut changes) = (customer.value.clone(), Changeset::new(now));
            let decided = amend(
                cmd,
                &stored.value,
                &mut buyer,
                &inputs,
                rules,
                &ctx,
                &mut changes,
            )?;
            match decided {
                Decided::Amended(order) => break (*order, buyer, changes),
                // A short line or freed units: the supply, or the orders waiting
                // in the queues, read once more at most.
                Decided::Needs(needs) if !asked => {
                    let request = needs.prefetch(&inputs.skus());
                    let fetched = super::trace::store("fetch", self.store.fetch(&request)).await?;
                    inputs.adopt_needs(&needs, fetched);
                    asked = true;
                }
                Decided::Needs(_) => {
                    return Err(Error::inconsistent("amendment", "undecided with its reads"));
                }
            }
        };
        let (mut order, mut changes) = (order, changes);
        if let Some(made) = self
            .cover_amendment(&mut order, &buyer, key, &mut changes)
            .await?
        {
            *authorised = Some(made);
        }
        changes.update(order.clone(), stored.version);
        changes.move_customer(&customer.value, &buyer)?;
        let outcome = IdempotentOutcome::Order(order.id);
        self.commit_keyed(changes, scope, key, print, outcome)
            .await?;
        Ok(Applied::fresh(order))
    }
}
