//! Workspace-level end-to-end tests live in `tests/`; this library only compiles the
//! README's code so the quickstart cannot rot.

#[cfg(doctest)]
#[doc = include_str!("../README.md")]
pub struct ReadmeDoctests;
