//! Every README and crate-level doc example of the published crates, compiled and run as
//! doctests of a crate outside the workspace, with only the dependencies in `Cargo.toml`.
//!
//! The crates include the same files (`#![doc = include_str!("../docs/crate.md")]`), so the
//! text checked here is the text users read on the registry and on docs.rs.

#[cfg(doctest)]
#[doc = include_str!("../../../README.md")]
pub struct WorkspaceReadme;

#[cfg(doctest)]
#[doc = include_str!("../../../crates/atlas-migration/README.md")]
pub struct ClientReadme;

#[cfg(doctest)]
#[doc = include_str!("../../../crates/atlas-migration/docs/crate.md")]
pub struct ClientCrateDocs;

#[cfg(doctest)]
#[doc = include_str!("../../../crates/atlas-migration-sim/README.md")]
pub struct SimulatorReadme;

#[cfg(doctest)]
#[doc = include_str!("../../../crates/atlas-migration-sim/docs/crate.md")]
pub struct SimulatorCrateDocs;

#[cfg(doctest)]
#[doc = include_str!("../../../crates/atlas-migration-httpmock/README.md")]
pub struct StubsReadme;

#[cfg(doctest)]
#[doc = include_str!("../../../crates/atlas-migration-httpmock/docs/crate.md")]
pub struct StubsCrateDocs;

#[cfg(doctest)]
#[doc = include_str!("../../../crates/atlas-migration-sys/README.md")]
pub struct SysReadme;

#[cfg(doctest)]
#[doc = include_str!("../../../crates/atlas-migration-sys/docs/crate.md")]
pub struct SysCrateDocs;
