//! [`Step`]: the steps of a push migration, named when one fails.

use std::fmt;

/// A step of the workflow, named in [`WorkflowError`](super::WorkflowError).
///
/// ```
/// assert_eq!(atlas_migration::workflow::Step::WaitReady.to_string(), "wait until ready for cutover");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Step {
    /// Taking, reading or saving the workflow's journal record.
    Journal,
    /// Starting the validation (`POST .../validate`).
    Validate,
    /// Waiting for the validation to pass.
    WaitValidation,
    /// Creating the migration (`POST .../liveMigrations`).
    Create,
    /// Waiting until the migration is ready for cutover (or, when resuming, complete).
    WaitReady,
    /// The cutover policy's `before_cutover` hook (stop writes).
    BeforeCutover,
    /// Requesting the cutover.
    Cutover,
    /// Waiting until the migration is complete.
    WaitComplete,
    /// The cutover policy's `after_complete` hook (re-point applications).
    AfterComplete,
}

impl fmt::Display for Step {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Step::Journal => "journal",
            Step::Validate => "validate",
            Step::WaitValidation => "wait for validation",
            Step::Create => "create",
            Step::WaitReady => "wait until ready for cutover",
            Step::BeforeCutover => "before cutover",
            Step::Cutover => "cutover",
            Step::WaitComplete => "wait until complete",
            Step::AfterComplete => "after complete",
        })
    }
}
