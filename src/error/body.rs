//! An error as a host sends it to its client: the code, the kind, a message fit
//! to show, and the record a not-found names.

use serde::ser::{Serialize, SerializeStruct, Serializer};

use super::{Error, ErrorKind};
use crate::fulfilment::CarrierError;

/// Serialized as the body a host can send its client as it is:
///
/// ```json
/// {"code": "order.on_hold", "kind": "refused", "retryable": false,
///  "message": "order is on hold: [ManualReview]"}
/// ```
///
/// `entity`, `id` and `addressed` are added when a record was not found
/// (`record.not_found`, `request.unknown_reference`). For the kinds `internal`
/// and `unavailable`, and for a carrier's refusal (whose reason is the carrier's
/// own text), the message is a fixed sentence instead of the error's text:
/// the text of a corrupt record, a driver failure or a refused posting is for the
/// operator's log (the error's `Display` and `source` have it), not for a client.
impl Serialize for Error {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let not_found = match self {
            Error::NotFound {
                entity,
                id,
                addressed,
            } => Some((*entity, id.as_str(), *addressed)),
            _ => None,
        };
        let fields = if not_found.is_some() { 7 } else { 4 };
        let mut body = serializer.serialize_struct("Error", fields)?;
        body.serialize_field("code", self.code())?;
        body.serialize_field("kind", &self.kind())?;
        body.serialize_field("retryable", &self.is_retryable())?;
        body.serialize_field("message", &self.public_message())?;
        if let Some((entity, id, addressed)) = not_found {
            body.serialize_field("entity", entity)?;
            body.serialize_field("id", id)?;
            body.serialize_field("addressed", &addressed)?;
        }
        body.end()
    }
}

/// The body's schema: what [`Error`]'s `Serialize` writes.
#[cfg(feature = "schema")]
impl schemars::JsonSchema for Error {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "Error".into()
    }

    fn json_schema(generator: &mut schemars::SchemaGenerator) -> schemars::Schema {
        let kind = generator.subschema_for::<ErrorKind>();
        schemars::json_schema!({
            "description": "An error as a host sends it to its client.",
            "type": "object",
            "properties": {
                "code": {
                    "description": "A stable machine code, `area.what` (`order.on_hold`).",
                    "type": "string",
                    "pattern": "^[a-z_]+\\.[a-z_]+$"
                },
                "kind": kind,
                "retryable": {"type": "boolean"},
                "message": {"type": "string"},
                "entity": {
                    "description": "The kind of record not found.",
                    "type": "string"
                },
                "id": {"description": "Its id.", "type": "string"},
                "addressed": {
                    "description": "True for the record the call addresses; false for one the request refers to.",
                    "type": "boolean"
                }
            },
            "required": ["code", "kind", "retryable", "message"],
            "additionalProperties": false
        })
    }
}

impl Error {
    /// A message fit to show the caller: the error's text, except for the kinds
    /// whose text is for the operator ([`ErrorKind::Internal`],
    /// [`ErrorKind::Unavailable`]) and a carrier's or warehouse's refusal (its
    /// reason is its own text), which get a fixed sentence.
    pub fn public_message(&self) -> String {
        match self.kind() {
            ErrorKind::Internal => {
                "something went wrong on our side; the operator has the details".to_owned()
            }
            ErrorKind::Unavailable => match self {
                Error::Carrier(_) => "the carrier did not answer in time; try again".to_owned(),
                Error::ThirdParty(_) => {
                    "the warehouse did not answer in time; try again".to_owned()
                }
                Error::Provider(_) => {
                    "the payment provider did not answer in time; try again".to_owned()
                }
                _ => "the service is unavailable; try again later".to_owned(),
            },
            // A carrier adapter's reason is its own free text, which may quote the
            // ship-to: the code says enough.
            _ => match self {
                Error::Carrier(CarrierError::NoService { .. }) => {
                    "no carrier service fits this shipment".to_owned()
                }
                Error::Carrier(CarrierError::Rejected { .. }) => {
                    "the carrier refused the booking".to_owned()
                }
                Error::ThirdParty(crate::fulfilment::ThirdPartyError::Refused { .. }) => {
                    "the warehouse refused the release".to_owned()
                }
                Error::Provider(crate::payment::ProviderError::Declined { .. }) => {
                    "the payment was declined".to_owned()
                }
                Error::Provider(crate::payment::ProviderError::Refused { .. }) => {
                    "the payment provider refused the request".to_owned()
                }
                _ => self.to_string(),
            },
        }
    }
}
