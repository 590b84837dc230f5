//! Listing orders a page at a time: which ones ([`OrderQuery`]), in what order,
//! and where the last page ended ([`OrderCursor`]).

use std::fmt;
use std::str::FromStr;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use super::{Channel, Order, OrderStatus};
use crate::error::Error;
use crate::ids::{CustomerId, OrderId};

/// Which orders a listing shows, and from where: every filter left `None`
/// matches everything. Orders come by placement time, then id (oldest first, or
/// newest first).
///
/// Build it with the methods, or take it from a query string or JSON
/// (unknown fields are refused):
/// ```
/// # use o2c::order::{Channel, OrderQuery, OrderStatus};
/// let open_web = OrderQuery::all()
///     .status(OrderStatus::Open)
///     .channel(Channel::Web)
///     .newest_first();
/// # assert!(open_web.newest_first);
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(default, deny_unknown_fields)]
#[non_exhaustive]
pub struct OrderQuery {
    /// Only orders in this status.
    pub status: Option<OrderStatus>,
    /// Only this customer's orders.
    pub customer: Option<CustomerId>,
    /// Only orders from this channel.
    pub channel: Option<Channel>,
    /// Only orders placed at or after this time.
    pub placed_from: Option<DateTime<Utc>>,
    /// Only orders placed before this time.
    pub placed_before: Option<DateTime<Utc>>,
    /// Newest first instead of oldest first.
    pub newest_first: bool,
    /// Where the previous page ended ([`Page::next`]): the listing goes on after it.
    pub after: Option<OrderCursor>,
}

impl OrderQuery {
    /// Every order, oldest first.
    pub fn all() -> Self {
        Self::default()
    }

    /// Only orders in `status`.
    #[must_use]
    pub fn status(mut self, status: OrderStatus) -> Self {
        self.status = Some(status);
        self
    }

    /// Only `customer`'s orders.
    #[must_use]
    pub fn customer(mut self, customer: CustomerId) -> Self {
        self.customer = Some(customer);
        self
    }

    /// Only orders from `channel`.
    #[must_use]
    pub fn channel(mut self, channel: Channel) -> Self {
        self.channel = Some(channel);
        self
    }

    /// Only orders placed at or after `from` and before `before`.
    #[must_use]
    pub fn placed_between(mut self, from: DateTime<Utc>, before: DateTime<Utc>) -> Self {
        self.placed_from = Some(from);
        self.placed_before = Some(before);
        self
    }

    /// Newest first.
    #[must_use]
    pub fn newest_first(mut self) -> Self {
        self.newest_first = true;
        self
    }

    /// The page after the one that ended at `cursor`.
    #[must_use]
    pub fn after(mut self, cursor: OrderCursor) -> Self {
        self.after = Some(cursor);
        self
    }

    /// Whether `order` passes the filters (the cursor and the order of the
    /// listing aside).
    pub fn matches(&self, order: &Order) -> bool {
        self.status.is_none_or(|s| order.status == s)
            && self.customer.is_none_or(|c| order.customer == c)
            && self.channel.is_none_or(|c| order.channel == c)
            && self.placed_from.is_none_or(|t| order.placed_at >= t)
            && self.placed_before.is_none_or(|t| order.placed_at < t)
    }

    /// Whether `order` comes after the cursor, in the listing's direction (every
    /// order does when there is none).
    pub fn is_past_cursor(&self, order: &Order) -> bool {
        self.after.as_ref().is_none_or(|cursor| {
            let here = (order.placed_at, order.id);
            let there = (cursor.placed_at, cursor.order);
            if self.newest_first {
                here < there
            } else {
                here > there
            }
        })
    }
}

/// Where a page of orders ended: the placement time and id of its last order.
/// Opaque to a client (it prints as one token: pass it back as it came).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct OrderCursor {
    /// When the last order of the page was placed.
    pub placed_at: DateTime<Utc>,
    /// Its id.
    pub order: OrderId,
}

impl OrderCursor {
    /// The cursor just past `order`.
    pub fn at(order: &Order) -> Self {
        Self {
            placed_at: order.placed_at,
            order: order.id,
        }
    }
}

impl fmt::Display for OrderCursor {
    /// Nanoseconds since the epoch, `.`, the order id: one URL-safe token.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let nanos = i128::from(self.placed_at.timestamp()) * 1_000_000_000
            + i128::from(self.placed_at.timestamp_subsec_nanos());
        write!(f, "{nanos}.{}", self.order)
    }
}

impl FromStr for OrderCursor {
    type Err = Error;

    fn from_str(text: &str) -> Result<Self, Error> {
        let bad = || Error::invalid("cursor", format!("`{text}` is not a cursor o2c gave out"));
        let (nanos, id) = text.split_once('.').ok_or_else(bad)?;
        let nanos: i128 = nanos.parse().map_err(|_| bad())?;
        let secs = i64::try_from(nanos.div_euclid(1_000_000_000)).map_err(|_| bad())?;
        let sub = u32::try_from(nanos.rem_euclid(1_000_000_000)).map_err(|_| bad())?;
        let placed_at = DateTime::from_timestamp(secs, sub).ok_or_else(bad)?;
        let order = OrderId::from_uuid(uuid::Uuid::parse_str(id).map_err(|_| bad())?);
        Ok(Self { placed_at, order })
    }
}

impl Serialize for OrderCursor {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for OrderCursor {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        text.parse().map_err(serde::de::Error::custom)
    }
}

#[cfg(feature = "schema")]
impl schemars::JsonSchema for OrderCursor {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "OrderCursor".into()
    }

    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        schemars::json_schema!({
            "description": "Where a page of orders ended: pass it back as it came.",
            "type": "string",
            "pattern": "^-?[0-9]+\\.[0-9a-fA-F-]{32,36}$"
        })
    }
}

/// One page of a listing, and where the next one starts: `None` when this page
/// reached the end.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct Page<T, C> {
    /// The items, in the listing's order.
    pub items: Vec<T>,
    /// Pass it back ([`OrderQuery::after`], or the listing's own) for the next page.
    pub next: Option<C>,
}

impl<T, C> Page<T, C> {
    /// The page of at most `limit` items out of `read`, which a store was asked
    /// for one more of than `limit`: that one says there is a next page, whose
    /// cursor `cursor` takes from the page's last item.
    pub(crate) fn of<R>(
        read: Vec<R>,
        limit: usize,
        item: impl Fn(R) -> T,
        cursor: impl Fn(&T) -> C,
    ) -> Self {
        let more = read.len() > limit;
        let items: Vec<T> = read.into_iter().take(limit).map(item).collect();
        let next = items.last().filter(|_| more).map(cursor);
        Page { items, next }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_cursor_prints_as_one_token_and_reads_back() {
        let cursor = OrderCursor {
            placed_at: DateTime::from_timestamp(1_764_990_000, 123_456_789).unwrap_or_default(),
            order: OrderId::from_uuid(uuid::Uuid::from_u128(42)),
        };
        let text = cursor.to_string();
        assert_eq!(text.parse::<OrderCursor>().ok(), Some(cursor));
        let json = serde_json::to_string(&cursor).unwrap_or_default();
        assert_eq!(
            serde_json::from_str::<OrderCursor>(&json).ok(),
            Some(cursor)
        );
        for bad in [
            "",
            "12",
            "x.y",
            "1.not-a-uuid",
            "999999999999999999999999999999.0",
        ] {
            assert!(bad.parse::<OrderCursor>().is_err(), "{bad}");
        }
    }

    #[test]
    fn a_query_refuses_unknown_fields() {
        let err = serde_json::from_str::<OrderQuery>(r#"{"stauts":"open"}"#);
        assert!(err.is_err());
        let ok = serde_json::from_str::<OrderQuery>(r#"{"status":"open"}"#).ok();
        assert_eq!(ok, Some(OrderQuery::all().status(OrderStatus::Open)));
    }
}
