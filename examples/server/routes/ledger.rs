//! The books: trial balance, journal, the export for an accountant, the audit,
//! and the automation that runs what falls due.

use axum::body::{Body, Bytes};
use axum::extract::State;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::IntoResponse;
use axum::routing::{get, post};
use chrono::NaiveDate;
use futures_util::stream::{self, StreamExt};
use o2c::ledger::{ExportOptions, JournalEntry, JournalFormat};
use o2c::store::Store;
use serde::{Deserialize, Serialize};
use tokio::sync::{mpsc, oneshot};

use crate::api::{Api, Op};
use crate::app::{Reply, Shared, json, ok};
use crate::extract::{Key, Q};
use crate::problem::Problem;

pub fn add<S: Store + 'static>(api: &mut Api<Shared<S>>) {
    api.add(
        |s| {
            Op::get("/ledger/trial-balance", "trialBalance")
                .about("ledger", "Every account's balance; debits equal credits")
                .answers(200, "The trial balance", s.named("TrialBalance"))
        },
        get(trial_balance::<S>),
    );
    api.add(
        |s| {
            Op::get("/ledger/journal", "journal")
                .about(
                    "ledger",
                    "Journal entries in the order they were posted, a page at a time",
                )
                .query(s.query::<JournalQuery>())
                .answers(200, "A page of entries", s.of::<JournalPage>())
        },
        get(journal::<S>),
    );
    api.add(
        |s| {
            Op::get("/ledger/export", "exportJournal")
                .about("ledger", "The books as an hledger or beancount journal")
                .query(s.query::<ExportQuery>())
                .answers_as(
                    200,
                    "The journal, as text",
                    "text/plain",
                    serde_json::json!({"type": "string"}),
                )
        },
        get(export::<S>),
    );
    api.add(
        |s| {
            Op::get("/audit", "audit")
                .about(
                    "ledger",
                    "Check every invariant: stock, books, documents, events",
                )
                .answers(
                    200,
                    "What the audit found (clean when it found nothing)",
                    s.named("AuditReport"),
                )
        },
        get(audit::<S>),
    );
    api.add(
        |s| {
            Op::post("/automation/run-due", "runDue")
                .about(
                    "automation",
                    "Run what has fallen due: reminders, expiries, releases, late purchase orders",
                )
                .answers(200, "What ran", s.named("DueReport"))
        },
        post(run_due::<S>),
    );
}

async fn trial_balance<S: Store>(State(app): State<Shared<S>>) -> Reply {
    ok(&app.oms.trial_balance().await?)
}

/// Where a page of the journal starts.
#[derive(Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
struct JournalQuery {
    /// The `next` of the page before.
    #[schemars(regex(pattern = r"^[0-9]{1,18}$"))]
    after: Option<String>,
    /// Rows wanted, 1 to 100 (50 if absent).
    #[schemars(range(min = 1, max = 100))]
    limit: Option<usize>,
}

/// A page of journal entries.
#[derive(Serialize, schemars::JsonSchema)]
struct JournalPage {
    items: Vec<JournalEntry>,
    /// Pass as `after` for the next page; absent on the last.
    #[serde(skip_serializing_if = "Option::is_none")]
    next: Option<String>,
}

async fn journal<S: Store>(State(app): State<Shared<S>>, Q(q): Q<JournalQuery>) -> Reply {
    let limit = super::page_size(q.limit)?;
    let offset = match q.after {
        Some(after) => after
            .parse::<usize>()
            .map_err(|_| Problem::invalid("after: not a cursor this server gave out"))?,
        None => 0,
    };
    let items = app.oms.journal(offset, limit).await?;
    let next = (items.len() == limit).then(|| (offset + limit).to_string());
    json(StatusCode::OK, &JournalPage { items, next })
}

/// Which journal, and which days.
#[derive(Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
struct ExportQuery {
    /// `hledger` or `beancount`.
    format: Format,
    /// The first day to include.
    from: Option<NaiveDate>,
    /// The day after the last to include.
    to: Option<NaiveDate>,
}

#[derive(Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
enum Format {
    Hledger,
    Beancount,
}

/// A `Write` that hands what is written to the response body as it comes.
struct ToBody(mpsc::UnboundedSender<Bytes>);

impl std::io::Write for ToBody {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.send(Bytes::copy_from_slice(buf)).map_err(|_| {
            std::io::Error::new(std::io::ErrorKind::BrokenPipe, "the client went away")
        })?;
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Written to the client in pieces of this size at most.
const PIECE: usize = 64 * 1024;

/// The journal, streamed as the library writes it page by page: large books
/// never sit in memory whole, and the request's timeout covers only the wait
/// for the first piece. An error before the first piece is a problem; one after
/// it cuts the connection, so a client cannot take a short journal for whole.
async fn export<S: Store + 'static>(State(app): State<Shared<S>>, Q(q): Q<ExportQuery>) -> Reply {
    let format = match q.format {
        Format::Hledger => JournalFormat::Hledger,
        Format::Beancount => JournalFormat::Beancount,
    };
    let mut options = ExportOptions::new(format);
    if let Some(from) = q.from {
        options = options.from(from);
    }
    if let Some(to) = q.to {
        options = options.to(to);
    }
    // A range that ends before it starts is refused before anything is sent.
    options
        .validate()
        .map_err(|e| Problem::from(o2c::Error::from(e)))?;
    let (pieces, mut received) = mpsc::unbounded_channel();
    let (done, mut finished) = oneshot::channel();
    tokio::spawn(async move {
        let out = std::io::BufWriter::with_capacity(PIECE, ToBody(pieces));
        let _ = done.send(app.oms.export_journal(out, &options).await);
    });
    // The first piece, or the end: whichever comes first says how to answer.
    let mut outcome = None;
    let first = tokio::select! {
        biased;
        piece = received.recv() => piece,
        result = &mut finished => {
            match result {
                Ok(Err(error)) => return Err(error.into()),
                other => outcome = Some(other.is_ok()),
            }
            received.recv().await
        }
    };
    if first.is_none() && outcome.is_none() {
        // The export ended without a piece: its result says how to answer.
        match (&mut finished).await {
            Ok(Err(error)) => return Err(error.into()),
            other => outcome = Some(other.is_ok()),
        }
    }
    let rest = stream::unfold(received, |mut received| async move {
        received.recv().await.map(|piece| (piece, received))
    });
    let end = stream::once(async move {
        let whole = match outcome {
            Some(whole) => whole,
            None => matches!(finished.await, Ok(Ok(_))),
        };
        if whole {
            None
        } else {
            tracing::error!("the journal export failed part way; the connection is cut");
            Some(Err(std::io::Error::other("the export failed part way")))
        }
    })
    .filter_map(std::future::ready);
    let body = stream::iter(first)
        .chain(rest)
        .map(Ok::<Bytes, std::io::Error>)
        .chain(end);
    let mut response = (StatusCode::OK, Body::from_stream(body)).into_response();
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    Ok(response)
}

async fn audit<S: Store>(State(app): State<Shared<S>>) -> Reply {
    ok(&app.oms.audit().await?)
}

async fn run_due<S: Store>(State(app): State<Shared<S>>, _: Key) -> Reply {
    ok(&app.oms.run_due(app.clock.now()).await?)
}
