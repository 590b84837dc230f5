//! Inventory per SKU × location: value, turnover, cover, reorder points and the
//! risk of running out.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::ops::Bound;

use chrono::{Days, NaiveDate};
use rust_decimal::Decimal;
use rust_decimal::prelude::ToPrimitive;
use serde::{Deserialize, Serialize};

use super::fulfilment::Fulfilment;
use super::sales::line_costs;
use super::{DateRange, Page, PageRequest, Pager, add};
use crate::catalog::Product;
use crate::error::Error;
use crate::fulfilment::Shipment;
use crate::ids::{LocationId, PurchaseOrderId, Sku};
use crate::money::{Currency, Money};
use crate::purchasing::{PurchaseOrder, ReorderRule};
use crate::stock::StockLevel;

/// The days of shipments the demand rate is taken over (cover, risk).
pub const DEMAND_WINDOW_DAYS: u32 = 30;
/// How far ahead the stock-out risk looks, in days of demand.
pub const RISK_HORIZON_DAYS: u32 = 14;

/// Which rows of the inventory report.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "snake_case")]
pub enum StockFilter {
    /// Every SKU × location with stock or a reorder rule.
    #[default]
    All,
    /// Those whose available units are at or below their reorder point.
    AtOrBelowReorderPoint,
    /// Those whose stock and incoming units fall short of open demand.
    AtRisk,
}

/// One SKU at one location.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct InventoryRow {
    /// The SKU.
    pub sku: Sku,
    /// The location.
    pub location: LocationId,
    /// Units on hand.
    pub on_hand: i64,
    /// Units reserved for orders.
    pub reserved: i64,
    /// `on_hand − reserved`.
    pub available: i64,
    /// On hand at the product's cost now (its moving average; `None` before the
    /// product is known).
    pub value: Option<Money>,
    /// Units shipped from here in the range.
    pub shipped: i64,
    /// What they cost.
    pub cost_of_goods: Option<Money>,
    /// `cost_of_goods ÷ value`: the range's cost of goods over the stock's value
    /// now (not an average of the range's), to two decimal places.
    pub turnover: Option<Decimal>,
    /// Available units ÷ the units shipped a day over the
    /// [`DEMAND_WINDOW_DAYS`] before the range's end, to one decimal place
    /// (`None` when nothing shipped).
    pub days_of_cover: Option<Decimal>,
    /// The reorder rule's minimum, if there is a rule.
    pub reorder_point: Option<i64>,
    /// `available ≤ reorder_point`.
    pub at_or_below_reorder_point: bool,
    /// Units on open purchase orders to this location.
    pub on_order: i64,
    /// The SKU's back-ordered units, every location's.
    pub back_ordered: i64,
    /// The SKU's, over every location: back-ordered units plus
    /// [`RISK_HORIZON_DAYS`] of demand, less available and on order. More than
    /// zero means the SKU will run short.
    pub shortfall: i64,
}

type Site = (Sku, LocationId);

/// What a site's stock looks like against its demand.
struct Outlook {
    days_of_cover: Option<Decimal>,
    on_order: i64,
    back_ordered: i64,
    shortfall: i64,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Inventory {
    levels: BTreeMap<Site, (i64, i64)>,
    cost: HashMap<Sku, Money>,
    rules: BTreeMap<Site, i64>,
    purchases: HashMap<PurchaseOrderId, Vec<(Site, i64)>>,
    on_order: BTreeMap<Site, i64>,
    /// Units shipped and what they cost, per site and day.
    shipped: BTreeMap<Site, BTreeMap<NaiveDate, (i64, Decimal, Currency)>>,
    /// Every site with stock, a rule or units on order, and each SKU's sites.
    sites: BTreeSet<Site>,
    sites_of: HashMap<Sku, BTreeSet<LocationId>>,
}

impl Inventory {
    /// Which of its parts differ from `other`'s.
    pub fn differences(&self, other: &Inventory) -> Vec<&'static str> {
        [
            ("inventory.levels", self.levels == other.levels),
            ("inventory.cost", self.cost == other.cost),
            ("inventory.rules", self.rules == other.rules),
            ("inventory.purchases", self.purchases == other.purchases),
            ("inventory.on_order", self.on_order == other.on_order),
            ("inventory.shipped", self.shipped == other.shipped),
            ("inventory.sites", self.sites == other.sites),
            ("inventory.sites_of", self.sites_of == other.sites_of),
        ]
        .into_iter()
        .filter_map(|(name, same)| (!same).then_some(name))
        .collect()
    }

    fn know(&mut self, site: &Site) {
        if self.sites.insert(site.clone()) {
            self.sites_of
                .entry(site.0.clone())
                .or_default()
                .insert(site.1.clone());
        }
    }

    pub fn project_stock(&mut self, levels: &[StockLevel], all: bool) {
        if all {
            self.levels.clear();
        }
        for level in levels {
            let site = (level.sku.clone(), level.location.clone());
            self.know(&site);
            self.levels.insert(site, (level.on_hand, level.reserved));
        }
    }

    pub fn project_product(&mut self, product: &Product) {
        self.cost.insert(product.sku.clone(), product.cost);
    }

    pub fn project_rule(&mut self, rule: &ReorderRule) {
        let site = (rule.sku.clone(), rule.location.clone());
        self.know(&site);
        self.rules.insert(site, rule.min.as_i64());
    }

    pub fn project_purchase(&mut self, po: &PurchaseOrder) {
        for (site, units) in self.purchases.remove(&po.id).unwrap_or_default() {
            if let Some(open) = self.on_order.get_mut(&site) {
                *open = open.saturating_sub(units);
                if *open == 0 {
                    self.on_order.remove(&site);
                }
            }
        }
        if !po.is_open() {
            return;
        }
        let mut open = Vec::new();
        for line in &po.lines {
            let units = line.outstanding().as_i64();
            if units > 0 {
                let site = (line.sku.clone(), po.ship_to.clone());
                self.know(&site);
                let sum = self.on_order.entry(site.clone()).or_default();
                *sum = sum.saturating_add(units);
                open.push((site, units));
            }
        }
        self.purchases.insert(po.id, open);
    }

    pub fn shipped(&mut self, shipment: &Shipment) {
        let currency = shipment.cost_of_goods.currency();
        for (line, cost) in shipment.lines.iter().zip(line_costs(shipment)) {
            let day = self
                .shipped
                .entry((line.sku.clone(), shipment.location.clone()))
                .or_default()
                .entry(shipment.booked_at.date_naive())
                .or_insert((0, Decimal::ZERO, currency));
            day.0 = day.0.saturating_add(line.quantity.as_i64());
            add(&mut day.1, cost);
        }
    }

    pub fn query(
        &self,
        fulfilment: &Fulfilment,
        range: DateRange,
        filter: StockFilter,
        page: &PageRequest,
    ) -> Result<Page<InventoryRow>, Error> {
        range.check()?;
        let mut pager = Pager::<Site, InventoryRow>::new(page)?;
        let from = pager.start().cloned();
        // Every site with stock or a rule, in order, each once.
        let start = from.map_or(Bound::Unbounded, Bound::Excluded);
        let sites: Box<dyn Iterator<Item = &Site>> = match filter {
            StockFilter::AtOrBelowReorderPoint => Box::new(
                self.rules
                    .range((start, Bound::Unbounded))
                    .map(|(site, _)| site),
            ),
            _ => Box::new(self.sites.range((start, Bound::Unbounded))),
        };
        for site in sites {
            // The filters need only the stock now and the last weeks' demand:
            // the range's figures are summed for the rows kept.
            let wanted = match filter {
                StockFilter::All => true,
                StockFilter::AtOrBelowReorderPoint => self.at_or_below_reorder_point(site),
                StockFilter::AtRisk => self.outlook(fulfilment, site, range.to).shortfall > 0,
            };
            if wanted && !pager.push(site.clone(), self.row(fulfilment, site, range)) {
                break;
            }
        }
        pager.finish()
    }

    fn available(&self, site: &Site) -> i64 {
        let (on_hand, reserved) = self.levels.get(site).copied().unwrap_or((0, 0));
        on_hand.saturating_sub(reserved)
    }

    fn at_or_below_reorder_point(&self, site: &Site) -> bool {
        self.rules
            .get(site)
            .is_some_and(|min| self.available(site) <= *min)
    }

    /// Units shipped from `site` a day over the [`DEMAND_WINDOW_DAYS`] to `last`.
    fn daily_demand(&self, site: &Site, last: NaiveDate) -> Decimal {
        let window_start = last
            .checked_sub_days(Days::new(u64::from(DEMAND_WINDOW_DAYS - 1)))
            .unwrap_or(last);
        let demand: i64 = self
            .shipped
            .get(site)
            .into_iter()
            .flat_map(|d| d.range(window_start..=last))
            .map(|(_, (units, _, _))| *units)
            .sum();
        Decimal::from(demand) / Decimal::from(DEMAND_WINDOW_DAYS)
    }

    /// The site's cover, and its SKU's shortfall: back orders wait for the SKU,
    /// not for a location, so the risk is judged over every site of it.
    fn outlook(&self, fulfilment: &Fulfilment, site: &Site, last: NaiveDate) -> Outlook {
        let days_of_cover = Decimal::from(self.available(site).max(0))
            .checked_div(self.daily_demand(site, last))
            .map(|d| d.round_dp(1));
        let back_ordered = fulfilment.waiting_for(&site.0);
        let (mut available, mut on_order, mut daily) = (0i64, 0i64, Decimal::ZERO);
        for location in self.sites_of.get(&site.0).into_iter().flatten() {
            let other = (site.0.clone(), location.clone());
            available = available.saturating_add(self.available(&other).max(0));
            on_order = on_order.saturating_add(self.on_order.get(&other).copied().unwrap_or(0));
            daily = daily.saturating_add(self.daily_demand(&other, last));
        }
        let horizon = daily
            .checked_mul(Decimal::from(RISK_HORIZON_DAYS))
            .and_then(|d| d.ceil().to_i64())
            .unwrap_or(i64::MAX);
        let shortfall = back_ordered
            .saturating_add(horizon)
            .saturating_sub(available)
            .saturating_sub(on_order)
            .max(0);
        Outlook {
            days_of_cover,
            on_order: self.on_order.get(site).copied().unwrap_or(0),
            back_ordered,
            shortfall,
        }
    }

    fn row(&self, fulfilment: &Fulfilment, site: &Site, range: DateRange) -> InventoryRow {
        let (on_hand, reserved) = self.levels.get(site).copied().unwrap_or((0, 0));
        let available = on_hand.saturating_sub(reserved);
        let value = self
            .cost
            .get(&site.0)
            .and_then(|c| c.checked_mul(Decimal::from(on_hand)).ok());
        let mut shipped = 0i64;
        let mut cost: Option<(Decimal, Currency)> = None;
        for (units, c, currency) in self
            .shipped
            .get(site)
            .into_iter()
            .flat_map(|d| d.range(range.from..=range.to))
            .map(|(_, v)| v)
        {
            shipped = shipped.saturating_add(*units);
            let sum = cost.get_or_insert((Decimal::ZERO, *currency));
            add(&mut sum.0, *c);
        }
        let turnover = cost
            .zip(value)
            .and_then(|((c, _), v)| c.checked_div(v.amount()))
            .map(|t| t.round_dp(2));
        let reorder_point = self.rules.get(site).copied();
        let outlook = self.outlook(fulfilment, site, range.to);
        InventoryRow {
            sku: site.0.clone(),
            location: site.1.clone(),
            on_hand,
            reserved,
            available,
            value,
            shipped,
            cost_of_goods: cost.map(|(c, currency)| Money::new(c, currency)),
            turnover,
            days_of_cover: outlook.days_of_cover,
            reorder_point,
            at_or_below_reorder_point: reorder_point.is_some_and(|min| available <= min),
            on_order: outlook.on_order,
            back_ordered: outlook.back_ordered,
            shortfall: outlook.shortfall,
        }
    }
}
