//! Low-level client for the MongoDB Atlas Cloud Migration Service.
pub mod operations;
