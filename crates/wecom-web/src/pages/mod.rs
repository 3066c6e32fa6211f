//! The pages, one module each (the transcript is [`crate::transcript`]).

pub mod audit;
pub mod conversations;
pub mod login;
pub mod search;
pub mod status;
pub mod users;
