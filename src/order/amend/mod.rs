//! Amending an order before it ships, decided: lines added, re-priced or cut, a
//! new ship-to, and what follows for stock, tax and billing — from what the
//! command read, with no store.
//!
//! The changes apply one after another to a working copy ([`Amending`]); then,
//! once, what has not shipped is re-taxed if the order now goes to another
//! country, added units are reserved or back-ordered, freed units go to the lines
//! waiting for them, and the billing follows (see [`amend`]).

mod billing;
mod command;
mod inputs;
mod lines;
mod reprice;
mod retax;
mod stock;
mod unchanged;

#[cfg(test)]
mod fixtures;
#[cfg(test)]
mod tests;

pub use command::{AmendOrder, Amendment};
pub(crate) use inputs::{AmendInputs, Needs};
use retax::destination_country;

use crate::catalog::TaxTable;
use crate::customer::Customer;
use crate::decide::Context;
use crate::error::Error;
use crate::event::Event;
use crate::ids::{LocationId, Sku};
use crate::ledger::InvoicePolicy;
use crate::order::settle::settle;
use crate::order::{Order, OrderAction, OrderError, transition};
use crate::purchasing::Backlog;
use crate::quantity::Quantity;
use crate::stock::{AllocationStrategy, StockLevel};
use crate::store::{Changeset, Entity};

/// The service's rules an amendment follows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct AmendRules {
    /// How added units are spread over locations.
    pub allocation: AllocationStrategy,
    /// When invoices are issued: an order invoiced when placed is invoiced for
    /// what an amendment adds.
    pub invoice_policy: InvoicePolicy,
}

/// What an amendment decided.
#[derive(Debug)]
pub(crate) enum Decided {
    /// The order as amended, which the caller puts; the changes and the
    /// customer's figures are in the `changes` and `buyer` it was given.
    Amended(Box<Order>),
    /// The decision needs more reads first: drop what it put in `changes` and
    /// `buyer`, read, and decide again on fresh ones.
    Needs(Needs),
}

/// An amendment in progress: the order as changed so far and what the changes
/// did to stock, held in memory until the one commit.
struct Amending<'a> {
    order: Order,
    /// What the amendment read.
    inputs: &'a AmendInputs,
    /// Stock as read, kept in step with the reservations released and made here,
    /// so a later change sees the units an earlier one freed.
    levels: Vec<StockLevel>,
    /// Units released, by SKU and location, for the back-order queues.
    released: Vec<(Sku, LocationId, u32)>,
    /// Units to reserve: (line index, units).
    demand: Vec<(usize, u32)>,
    /// Invoiced units cut, to credit: (line, units).
    credits: Vec<(u16, Quantity)>,
    /// Lines whose open units moved to a line at another tax rate: (from, to,
    /// invoiced units moved).
    moved: Vec<(u16, u16, Quantity)>,
    /// Where the order goes once every change applies: new units are taxed for
    /// there, whatever ship-to the changes pass through.
    country: std::sync::Arc<str>,
    /// Lines added or changed, for the event.
    lines: Vec<u16>,
    ship_to_changed: bool,
    touched: Backlog,
    changes: &'a mut Changeset,
}

impl Amending<'_> {
    fn tax(&self) -> &TaxTable {
        &self.inputs.tax
    }
}

/// Whether an amendment of the order (`None`: there is none) may go ahead at all,
/// before anything else is read: refused with `NothingToAmend` when it asks for no
/// change, `NotFound` for an unknown order, `InvalidTransition` for a completed or
/// cancelled one, `AtThirdParty` for one with units released to a third-party
/// warehouse — in that order.
///
/// # Errors
/// As above.
pub(crate) fn admit(cmd: &AmendOrder, stored: Option<&Order>) -> Result<(), Error> {
    if cmd.changes.is_empty() {
        return Err(OrderError::NothingToAmend.into());
    }
    let stored = stored.ok_or_else(|| Error::not_found(Order::kind(), cmd.order))?;
    transition(stored.status, OrderAction::Amend)?;
    stored.ensure_not_released()?;
    Ok(())
}

/// Amends `stored` as `cmd` asks, for its customer `buyer`, from `inputs`: the
/// changes in order, then re-tax, reservations and back-orders, freed units to
/// waiting lines, and the billing (see [`crate::Oms::amend_order`] for the rules).
/// Returns the amended order, which the caller puts with `buyer`'s figures — or
/// [`Decided::Needs`] when a line is short and the supply was not read, or freed
/// units may go to orders waiting in a queue that were not read: the caller drops
/// `changes` and `buyer`, reads what it needs into `inputs` and asks again. Both
/// are foreseen at once, so one more read is always enough.
///
/// # Errors
/// The errors of [`crate::Oms::amend_order`], as plain data: nothing of
/// `changes` or `buyer` is to be committed on an error.
pub(crate) fn amend(
    cmd: &AmendOrder,
    stored: &Order,
    buyer: &mut Customer,
    inputs: &AmendInputs,
    rules: AmendRules,
    ctx: &Context<'_>,
    changes: &mut Changeset,
) -> Result<Decided, Error> {
    admit(cmd, Some(stored))?;
    let country_before = destination_country(&stored.delivery, &inputs.locations)?;
    let country = retax::final_country(&stored.delivery, &cmd.changes)?
        .unwrap_or_else(|| country_before.clone());
    let first_event = changes.events.len();
    let mut work = Amending {
        order: stored.clone(),
        inputs,
        levels: inputs.levels.clone(),
        released: Vec::new(),
        demand: Vec::new(),
        credits: Vec::new(),
        moved: Vec::new(),
        country,
        lines: Vec::new(),
        ship_to_changed: false,
        touched: inputs.backlog(),
        changes,
    };
    for change in &cmd.changes {
        match change {
            Amendment::AddLine(req) => lines::add_line(&mut work, req)?,
            Amendment::SetQuantity { line_no, quantity } => {
                lines::set_quantity(&mut work, *line_no, *quantity)?;
            }
            Amendment::RemoveLine { line_no } => lines::remove_line(&mut work, *line_no)?,
            Amendment::ShipTo { address } => lines::ship_to(&mut work, address)?,
        }
    }
    if work.order.lines.iter().all(|l| l.wanted().is_zero()) {
        return Err(OrderError::AmendmentEmptiesOrder.into());
    }
    if work.country != country_before {
        retax::retax(&mut work)?;
    }
    if let Some(needs) = stock::reserve_added(&mut work, rules.allocation)? {
        return Ok(Decided::Needs(needs));
    }
    if let Some(needs) = stock::free_released(&mut work)? {
        return Ok(Decided::Needs(needs));
    }
    let Amending {
        mut order,
        credits,
        moved,
        lines,
        ship_to_changed,
        touched,
        changes,
        ..
    } = work;
    // Judged on the outcome, not on the request, so no list of special cases
    // can miss one: a quantity set to what it is, a line removed whose units
    // all shipped, a cut then undone, the ship-to the order already has.
    // Recording it would spend the caller's key on an event that says nothing
    // happened, and nothing billing does below (an invoice, a hold) may come
    // from an amendment that changed nothing.
    if unchanged::changes_nothing(&order, stored, changes)? {
        return Err(OrderError::NothingToAmend.into());
    }
    touched.put_into(changes);

    let settled = billing::Settled {
        credits: &credits,
        moved: &moved,
        invoices: &inputs.invoices,
        bills_on_order: rules.invoice_policy == InvoicePolicy::OnOrder,
        key: &cmd.idempotency_key,
    };
    billing::bill(stored, &mut order, buyer, &settled, ctx, changes)?;
    settle(&mut order, changes.at, changes)?;

    changes.events.insert(
        first_event,
        Event::OrderAmended {
            order: order.id,
            lines,
            ship_to_changed,
            value: order.value()?,
        },
    );
    Ok(Decided::Amended(Box::new(order)))
}
