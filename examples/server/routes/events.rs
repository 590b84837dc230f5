//! The event log: as a live stream (Server-Sent Events, resumable with
//! `Last-Event-ID`) and as pages.

use std::convert::Infallible;
use std::time::Duration;

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::IntoResponse;
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::routing::get;
use futures_util::stream::{self, StreamExt};
use o2c::store::Store;
use serde::{Deserialize, Serialize};

use crate::api::{Api, Op};
use crate::app::{Reply, Shared, json};
use crate::extract::Q;
use crate::problem::Problem;

/// Events a new stream starts with when it names no cursor: enough to fill a
/// dashboard's list, not the whole history.
const BACKLOG: u64 = 20;
/// Events sent per read of the log.
const BATCH: usize = 100;
/// How long one wait for new events lasts before the stream asks again.
const WAIT: Duration = Duration::from_secs(15);

pub fn add<S: Store + 'static>(api: &mut Api<Shared<S>>) {
    api.add(
        |s| {
            Op::get("/events", "streamEvents")
                .about("events", "Every event as it is recorded, as Server-Sent Events")
                .query(s.query::<StreamQuery>())
                .answers_as(
                    200,
                    "A stream: each message's `id` is the event's sequence, its `data` a RecordedEvent. \
                     Reconnect with `Last-Event-ID` to go on where it stopped.",
                    "text/event-stream",
                    serde_json::json!({"type": "string"}),
                )
        },
        get(stream_events::<S>),
    );
    api.add(
        |s| {
            Op::get("/events/log", "eventLog")
                .about("events", "The event log, a page at a time")
                .query(s.query::<LogQuery>())
                .answers(200, "A page of events", s.of::<EventPage>())
        },
        get(log::<S>),
    );
}

/// Where a stream starts.
#[derive(Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
struct StreamQuery {
    /// Start after this sequence (the `Last-Event-ID` header wins when both
    /// are sent); without either, the last few events come first.
    after: Option<u64>,
}

async fn stream_events<S: Store + 'static>(
    State(app): State<Shared<S>>,
    headers: HeaderMap,
    Q(q): Q<StreamQuery>,
) -> Reply {
    let resume = match headers.get("last-event-id") {
        Some(value) => Some(
            value
                .to_str()
                .ok()
                .and_then(|v| v.trim().parse::<u64>().ok())
                .ok_or_else(|| Problem::invalid("Last-Event-ID: not an event sequence"))?,
        ),
        None => q.after,
    };
    let permit = app.streams.clone().try_acquire_owned().map_err(|_| {
        Problem::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "events.too_many_streams",
            format!(
                "{} event streams are open, the most this server keeps; try again later",
                crate::app::MAX_STREAMS
            ),
        )
    })?;
    let cursor = match resume {
        Some(after) => after,
        None => app
            .oms
            .store()
            .last_event_sequence()
            .await
            .map_err(|e| Problem::from(o2c::Error::from(e)))?
            .saturating_sub(BACKLOG),
    };
    // The permit lives in the stream's state: it is given back when the
    // client goes away and the stream is dropped.
    let events = stream::unfold(Some((app, cursor, permit)), |state| async move {
        let (app, cursor, permit) = state?;
        match app.oms.wait_for_events(cursor, BATCH, WAIT).await {
            Ok(batch) => {
                let next = batch.last().map_or(cursor, |e| e.sequence);
                let messages: Vec<Result<Event, Infallible>> = batch
                    .iter()
                    .map(|recorded| {
                        Ok(Event::default()
                            .id(recorded.sequence.to_string())
                            .data(serde_json::to_string(recorded).unwrap_or_default()))
                    })
                    .collect();
                Some((messages, Some((app, next, permit))))
            }
            Err(error) => {
                // Tell the client, and end: it reconnects from its last id.
                let problem = Problem::from(error);
                let data = serde_json::to_string(&problem).unwrap_or_default();
                Some((vec![Ok(Event::default().event("error").data(data))], None))
            }
        }
    })
    .flat_map(stream::iter);
    Ok(Sse::new(events)
        .keep_alive(KeepAlive::new().interval(Duration::from_secs(10)))
        .into_response())
}

/// Where a page of the log starts.
#[derive(Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
struct LogQuery {
    /// The sequence to start after (0: the beginning).
    after: Option<u64>,
    /// Rows wanted, 1 to 100 (50 if absent).
    #[schemars(range(min = 1, max = 100))]
    limit: Option<usize>,
}

/// A page of the event log.
#[derive(Serialize, schemars::JsonSchema)]
struct EventPage {
    items: Vec<o2c::event::RecordedEvent>,
    /// Pass as `after` for the next page; absent on the last.
    #[serde(skip_serializing_if = "Option::is_none")]
    next: Option<u64>,
}

async fn log<S: Store>(State(app): State<Shared<S>>, Q(q): Q<LogQuery>) -> Reply {
    let limit = super::page_size(q.limit)?;
    let items = app.oms.events_after(q.after.unwrap_or(0), limit).await?;
    let next = if items.len() == limit {
        items.last().map(|e| e.sequence)
    } else {
        None
    };
    json(StatusCode::OK, &EventPage { items, next })
}
