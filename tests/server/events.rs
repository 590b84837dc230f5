//! The event stream: resumed with `Last-Event-ID`, and capped.

use std::time::{Duration, Instant};

use reqwest::Method;
use serde_json::Value;

use crate::http::{Http, place, register, start};

/// A Server-Sent Events stream, read message by message.
struct EventStream {
    response: reqwest::Response,
    buffer: String,
}

impl EventStream {
    async fn open(http: &Http, path: &str, last_event_id: Option<u64>) -> Self {
        let mut request = http.client.get(format!("{}{path}", http.base));
        if let Some(id) = last_event_id {
            request = request.header("last-event-id", id.to_string());
        }
        let response = request.send().await.unwrap();
        assert_eq!(response.status().as_u16(), 200);
        let content_type = response
            .headers()
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .unwrap_or("");
        assert!(
            content_type.starts_with("text/event-stream"),
            "{content_type}"
        );
        Self {
            response,
            buffer: String::new(),
        }
    }

    /// The next message with an id (comments and keep-alives skipped), or
    /// `None` if none comes within `wait`.
    async fn next(&mut self, wait: Duration) -> Option<(u64, Value)> {
        let deadline = Instant::now() + wait;
        loop {
            if let Some(end) = self.buffer.find("\n\n") {
                let message: String = self.buffer.drain(..end + 2).collect();
                let mut id = None;
                let mut data = String::new();
                for line in message.lines() {
                    if let Some(value) = line.strip_prefix("id:") {
                        id = Some(value.trim().parse::<u64>().unwrap());
                    } else if let Some(value) = line.strip_prefix("data:") {
                        data.push_str(value.trim_start());
                    }
                }
                if let Some(id) = id {
                    let event: Value = serde_json::from_str(&data).unwrap();
                    assert_eq!(
                        event["sequence"], id,
                        "a message's id is its event's sequence"
                    );
                    return Some((id, event));
                }
                continue;
            }
            let left = deadline.checked_duration_since(Instant::now())?;
            match tokio::time::timeout(left, self.response.chunk()).await {
                Ok(Ok(Some(chunk))) => self.buffer.push_str(&String::from_utf8_lossy(&chunk)),
                Ok(Ok(None)) => panic!("the event stream ended"),
                Ok(Err(e)) => panic!("the event stream failed: {e}"),
                Err(_) => return None,
            }
        }
    }
}

#[tokio::test]
async fn events_stream_resumes_with_last_event_id() {
    let server = start(&[]);
    let http = Http::new(&server);
    let customer = register(&http, "Streaming Buyer", "stream@buyer.example", false).await;
    let newest = http.last_event().await;

    // A new stream starts with the last few events, in order, with no gaps.
    let mut stream = EventStream::open(&http, "/events", None).await;
    let mut seen = Vec::new();
    while let Some((id, event)) = stream.next(Duration::from_millis(500)).await {
        seen.push((id, event));
        if id == newest {
            break;
        }
    }
    assert!(seen.len() >= 3, "the backlog: {seen:?}");
    assert_eq!(seen.last().unwrap().0, newest);
    for pair in seen.windows(2) {
        assert_eq!(pair[1].0, pair[0].0 + 1);
    }

    // What happens now arrives on the open stream.
    let order = place(&http, &customer, "web", &[("SOCKS-3PK", 1)]).await;
    let mut last = newest;
    let mut placed_at = None;
    while placed_at.is_none() {
        let (id, event) = stream
            .next(Duration::from_secs(10))
            .await
            .expect("the order's events arrive on the stream");
        assert_eq!(id, last + 1, "no gap, no repeat");
        last = id;
        if event["event"]["type"] == "order_placed" {
            assert_eq!(event["event"]["order"], order["id"]);
            assert_eq!(event["event"]["number"], order["number"]);
            placed_at = Some(id);
        }
    }
    let placed_at = placed_at.unwrap();
    drop(stream);

    // Reconnecting with Last-Event-ID goes on from the next event.
    let resume_from = placed_at - 1;
    let mut resumed = EventStream::open(&http, "/events", Some(resume_from)).await;
    let (id, event) = resumed.next(Duration::from_secs(5)).await.unwrap();
    assert_eq!(id, placed_at);
    assert_eq!(event["event"]["type"], "order_placed");
    assert_eq!(event["event"]["order"], order["id"]);
    let (id, _) = resumed.next(Duration::from_secs(5)).await.unwrap();
    assert_eq!(id, placed_at + 1);
    drop(resumed);

    // `after` starts there too; the header wins over it.
    let mut after = EventStream::open(&http, "/events?after=10", None).await;
    assert_eq!(after.next(Duration::from_secs(5)).await.unwrap().0, 11);
    drop(after);
    let mut both = EventStream::open(&http, "/events?after=10", Some(20)).await;
    assert_eq!(both.next(Duration::from_secs(5)).await.unwrap().0, 21);
    drop(both);

    // The event log says the same as the stream.
    let page = http
        .read(&format!("/events/log?after={resume_from}&limit=1"))
        .await;
    assert_eq!(page["items"][0]["sequence"], placed_at);
    assert_eq!(page["items"][0]["event"]["type"], "order_placed");
    assert_eq!(page["next"], placed_at);

    let bad = http
        .raw(
            Method::GET,
            "/events",
            &[("last-event-id", "yesterday")],
            None,
        )
        .await;
    bad.problem(422, "request.invalid");
    http.get("/events?after=-1")
        .await
        .problem(422, "request.invalid");
}

#[tokio::test]
async fn event_streams_are_capped() {
    let server = start(&[]);
    let client = reqwest::Client::new();
    // Every stream the server allows, held open at once...
    let mut open = Vec::new();
    for _ in 0..64 {
        let stream = client.get(server.at("/events")).send().await.unwrap();
        assert_eq!(stream.status(), 200, "{}", server.log());
        open.push(stream);
    }
    // ...and one more is turned away with a problem, not left hanging.
    let refused = client.get(server.at("/events")).send().await.unwrap();
    assert_eq!(refused.status(), 503);
    let problem: Value = refused.json().await.unwrap();
    assert_eq!(problem["code"], "events.too_many_streams");
    assert_eq!(problem["retryable"], true);
    // A stream closed gives its place back.
    open.pop();
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let again = client.get(server.at("/events")).send().await.unwrap();
        if again.status() == 200 {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "a closed stream's place never came back"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}
