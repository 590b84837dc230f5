//! Returns: a return authorisation (RMA) for delivered goods, from request to
//! authorised, (partly) received and closed — or rejected; and exchanges, whose
//! replacement is placed once the goods are back.
//!
//! Pure, like every domain: each command is a decision over what its driver
//! ([`crate::Oms`]) read first — [`request`] what an order can give back,
//! [`receive`] the goods back into stock or written off with cost of goods
//! reversed, the invoices credited and an exchange's replacement placed, and
//! [`steps`] authorising, rejecting and closing.

mod authorization;
mod error;
mod exchange;
#[cfg(test)]
mod fixtures;
mod receive;
mod request;
mod steps;

pub use authorization::{Condition, ReturnAuthorization, ReturnLine, ReturnReason, ReturnStatus};
pub use error::ReturnError;
pub use receive::ReceiveReturn;
pub(crate) use receive::{ReceiptReads, receive};
pub use request::{RequestExchange, RequestReturn};
pub(crate) use request::{RequestReads, request};
pub(crate) use steps::{authorise, close, reject};
