//! Returns: a return authorisation (RMA) for delivered goods, from request to
//! authorised, (partly) received and closed — or rejected; and exchanges, whose
//! replacement is placed once the goods are back.
//!
//! Pure, like every domain: each command is a decision over what its driver
//! ([`crate::Oms`]) read first, tested with no store — asking for a return
//! (what an order can give back, whether a replacement prices), receiving it
//! (goods back into stock or written off, cost of goods reversed, the invoices
//! credited, waiting back-orders filled, an exchange's replacement placed and
//! paid from the credit), and authorising, rejecting and closing it.

mod authorization;
mod error;
mod exchange;
#[cfg(test)]
mod fixtures;
mod receipt;
mod receive;
mod request;
mod steps;

pub use authorization::{Condition, ReturnAuthorization, ReturnLine, ReturnReason, ReturnStatus};
pub use error::ReturnError;
pub(crate) use receipt::ReceiptReads;
pub use receive::ReceiveReturn;
pub(crate) use receive::receive;
pub use request::{RequestExchange, RequestReturn};
pub(crate) use request::{RequestReads, request};
pub(crate) use steps::{authorise, close, reject};
