//! Customer profiles: who buys, where goods go, how and when they pay.

mod address;
mod figures;
mod profile;
mod register;

pub use address::Address;
pub use figures::{CustomerDelta, FiguresError};
pub use profile::{Customer, CustomerHistory, NewCustomer, PaymentMethod, PaymentTerms};
pub use register::register_customer;
