#![doc = include_str!("../docs/crate.md")]

mod generated;
pub mod hooks;
pub mod operations;

pub use generated::*;
