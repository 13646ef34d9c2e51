//! Low-level client for the MongoDB Atlas Cloud Migration Service.
pub mod hooks;
pub mod operations;
