//! Why a return command was refused.

use super::ReturnStatus;
use crate::error::ErrorKind;
use crate::ids::ReturnId;
use crate::quantity::Quantity;

/// Why a return command was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ReturnError {
    /// No lines, a line of zero units, or a line twice.
    #[error("a return needs at least one line of at least one unit, each line once")]
    Empty,
    /// An exchange with nothing to send instead.
    #[error("an exchange needs at least one replacement line")]
    NoReplacement,
    /// A line number the order does not have.
    #[error("the order has no line {line_no}")]
    NotOnOrder {
        /// The line asked for.
        line_no: u16,
    },
    /// More units than were delivered and not yet asked back.
    #[error(
        "line {line_no}: {requested} units asked back, {returnable} can be (delivered, not yet returned)"
    )]
    NotReturnable {
        /// The line.
        line_no: u16,
        /// Units delivered and not already on a return.
        returnable: Quantity,
        /// Units asked for.
        requested: Quantity,
    },
    /// The return's status does not allow this step.
    #[error("return {id} is {status:?}: cannot {action}")]
    InvalidTransition {
        /// The return.
        id: ReturnId,
        /// Its status.
        status: ReturnStatus,
        /// What was attempted.
        action: &'static str,
    },
    /// A receipt of more than is still expected on the line, or of a line the
    /// return does not have.
    #[error("line {line_no}: receiving {received}, {outstanding} expected")]
    BeyondAuthorised {
        /// The line.
        line_no: u16,
        /// Units still expected.
        outstanding: Quantity,
        /// Units received now.
        received: Quantity,
    },
}

impl ReturnError {
    /// This error's stable code ([`Error::code`](crate::Error::code)).
    pub fn code(&self) -> &'static str {
        match self {
            ReturnError::Empty => "return.empty",
            ReturnError::NoReplacement => "return.no_replacement",
            ReturnError::NotOnOrder { .. } => "return.not_on_order",
            ReturnError::NotReturnable { .. } => "return.not_returnable",
            ReturnError::InvalidTransition { .. } => "return.invalid_transition",
            ReturnError::BeyondAuthorised { .. } => "return.beyond_authorised",
        }
    }

    /// What sort of failure this is ([`Error::kind`](crate::Error::kind)).
    pub fn kind(&self) -> ErrorKind {
        match self {
            ReturnError::Empty => ErrorKind::InvalidInput,
            ReturnError::NoReplacement => ErrorKind::InvalidInput,
            ReturnError::NotOnOrder { .. } => ErrorKind::InvalidInput,
            ReturnError::NotReturnable { .. } => ErrorKind::Refused,
            ReturnError::InvalidTransition { .. } => ErrorKind::Refused,
            ReturnError::BeyondAuthorised { .. } => ErrorKind::Refused,
        }
    }
}
