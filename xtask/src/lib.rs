//! The pieces of `cargo xtask regen`, each in its own module so that every step can be
//! unit-tested on a small hand-written fixture.

pub mod api;
pub mod bench;
pub mod bench_build;
pub mod compile;
pub mod document;
pub mod error;
pub mod gate;
pub mod generate;
pub mod lock;
pub mod msrv;
pub mod names;
pub mod normalize;
pub mod outputs;
pub mod pins;
pub mod regen;
pub mod source;
pub mod summary;
pub mod trim;
pub mod walk;
pub mod workspace;

pub use error::{Error, Result};
