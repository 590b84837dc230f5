//! Reading a request: the idempotency key, a JSON body, path and query
//! parameters. Every rejection is a problem+json naming what was wrong, never
//! axum's plain-text default.

use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{FromRequest, FromRequestParts, Path, Query, Request};
use axum::http::StatusCode;
use axum::http::request::Parts;
use o2c::ids::IdempotencyKey;
use serde::de::DeserializeOwned;
use serde_json::{Map, Value};

use crate::problem::Problem;

/// The header every write carries.
pub const IDEMPOTENCY_KEY: &str = "idempotency-key";

/// The `Idempotency-Key` header, as the library's key.
pub struct Key(pub IdempotencyKey);

impl<S: Send + Sync> FromRequestParts<S> for Key {
    type Rejection = Problem;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Problem> {
        let value = parts.headers.get(IDEMPOTENCY_KEY).ok_or_else(|| {
            Problem::new(
                StatusCode::BAD_REQUEST,
                "request.idempotency_key",
                "every write needs an Idempotency-Key header: the same key for a retry, a new one for a new request",
            )
        })?;
        let text = value.to_str().map_err(|_| {
            Problem::new(
                StatusCode::BAD_REQUEST,
                "request.idempotency_key",
                "the Idempotency-Key header must be visible ASCII",
            )
        })?;
        IdempotencyKey::new(text).map(Key).map_err(|e| {
            Problem::new(
                StatusCode::BAD_REQUEST,
                "request.idempotency_key",
                format!("the Idempotency-Key header is no key: {e}"),
            )
        })
    }
}

impl Key {
    /// The key as it goes into a command's JSON.
    pub fn json(&self) -> Value {
        Value::String(self.0.as_str().to_owned())
    }
}

/// A JSON object body, read whole (at most the body limit) and parsed strictly.
/// Fields the path or the header already give are put in with [`Body::decode`].
pub struct Body(pub Map<String, Value>);

impl<S: Send + Sync> FromRequest<S> for Body {
    type Rejection = Problem;

    async fn from_request(request: Request, state: &S) -> Result<Self, Problem> {
        let json = request
            .headers()
            .get(axum::http::header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| {
                let essence = v.split(';').next().unwrap_or("").trim();
                essence.eq_ignore_ascii_case("application/json")
            });
        let bytes = Bytes::from_request(request, state)
            .await
            .map_err(|e| body_problem(&e))?;
        if !json {
            return Err(Problem::new(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "request.content_type",
                "send the body as JSON, with Content-Type: application/json",
            ));
        }
        match serde_json::from_slice::<Value>(&bytes) {
            Ok(Value::Object(map)) => Ok(Body(map)),
            Ok(_) => Err(Problem::invalid("the body must be a JSON object")),
            Err(e) => Err(Problem::new(
                StatusCode::BAD_REQUEST,
                "request.malformed",
                format!("the body is not JSON: {e}"),
            )),
        }
    }
}

fn body_problem(rejection: &BytesRejection) -> Problem {
    if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
        Problem::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "request.too_large",
            format!("the body is larger than {} bytes", crate::app::BODY_LIMIT),
        )
    } else {
        Problem::new(
            StatusCode::BAD_REQUEST,
            "request.malformed",
            format!("the body could not be read: {rejection}"),
        )
    }
}

impl Body {
    /// The body as `T`, after putting in `given` fields (the key from the
    /// header, an id from the path); a dotted name (`goods_back.idempotency_key`)
    /// reaches into a nested object. A body that carries one of them itself
    /// must agree with it.
    pub fn decode<T: DeserializeOwned>(self, given: &[(&str, Value)]) -> Result<T, Problem> {
        let mut body = self.0;
        for (name, value) in given {
            let (outer, field) = match name.rsplit_once('.') {
                Some((outer, field)) => (Some(outer), field),
                None => (None, *name),
            };
            let mut map = &mut body;
            for step in outer.into_iter().flat_map(|o| o.split('.')) {
                map = match map.get_mut(step) {
                    Some(Value::Object(inner)) => inner,
                    _ => return Err(Problem::invalid(format!("`{step}` must be an object"))),
                };
            }
            match map.get(field) {
                Some(sent) if sent != value => {
                    let from = if field == "idempotency_key" {
                        "Idempotency-Key header"
                    } else {
                        "path"
                    };
                    return Err(Problem::invalid(format!(
                        "`{name}` in the body differs from the one in the {from}"
                    )));
                }
                _ => {
                    map.insert(field.to_owned(), value.clone());
                }
            }
        }
        serde_json::from_value(Value::Object(body)).map_err(|e| Problem::invalid(e.to_string()))
    }

    /// The body as `T`, as it came.
    pub fn parse<T: DeserializeOwned>(self) -> Result<T, Problem> {
        self.decode(&[])
    }
}

/// Path parameters, read with serde; a bad one is a 422 naming it.
pub struct Params<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned + Send> FromRequestParts<S> for Params<T> {
    type Rejection = Problem;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Problem> {
        Path::<T>::from_request_parts(parts, state)
            .await
            .map(|Path(p)| Params(p))
            .map_err(|e| Problem::invalid(format!("in the path: {}", e.body_text())))
    }
}

/// Query parameters, read with serde; unknown ones are refused (each query
/// type denies unknown fields), a bad one is a 422 naming it.
pub struct Q<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned + Send> FromRequestParts<S> for Q<T> {
    type Rejection = Problem;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Problem> {
        Query::<T>::from_request_parts(parts, state)
            .await
            .map(|Query(q)| Q(q))
            .map_err(|e| Problem::invalid(format!("in the query: {}", e.body_text())))
    }
}

#[cfg(test)]
mod tests {
    use serde_json::{Value, json};

    use super::Body;

    fn body(value: Value) -> Body {
        match value {
            Value::Object(map) => Body(map),
            _ => Body(serde_json::Map::new()),
        }
    }

    #[test]
    fn given_fields_go_in_at_any_depth_and_must_agree() {
        let key = json!("k-1");
        let given = [("goods_back.idempotency_key", key.clone())];
        let filled: Value = body(json!({"goods_back": {"order": 7}}))
            .decode(&given)
            .unwrap_or_default();
        assert_eq!(
            filled,
            json!({"goods_back": {"order": 7, "idempotency_key": "k-1"}})
        );
        let same: Value = body(json!({"goods_back": {"idempotency_key": "k-1"}}))
            .decode(&given)
            .unwrap_or_default();
        assert_eq!(same.pointer("/goods_back/idempotency_key"), Some(&key));
        assert!(
            body(json!({"goods_back": {"idempotency_key": "other"}}))
                .decode::<Value>(&given)
                .is_err()
        );
        assert!(
            body(json!({"goods_back": 3}))
                .decode::<Value>(&given)
                .is_err()
        );
        assert!(
            body(json!({"id": "A"}))
                .decode::<Value>(&[("id", json!("B"))])
                .is_err()
        );
    }
}
