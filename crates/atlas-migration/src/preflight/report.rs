//! What a preflight check found: [`PreflightReport`], its [`Finding`]s and their
//! [`FindingCode`], which says whether each blocks.

use std::fmt;

/// Which rule a finding comes from. New rules add variants, so match with a wildcard arm.
///
/// | code | severity | what it means |
/// | --- | --- | --- |
/// | `SourceProjectNotFound` | error | the source project is not one the organization can migrate from |
/// | `ClusterNotFound` | error | the source cluster is not a deployment of that project |
/// | `MigrationHostNotOffered` | error | the migration host is not one the project offers |
/// | `FcvTooOld` | error | the source's feature compatibility version is below 6.0 |
/// | `FcvRapidRelease` | error | the source's feature compatibility version is a rapid release (6.1, 7.2, ...) |
/// | `FcvMissing` | warning | Atlas did not report the feature compatibility version |
/// | `FcvUnparsable` | warning | the feature compatibility version is not `major.minor` |
/// | `VersionRapidRelease` | error | the source runs a rapid release of MongoDB |
/// | `VersionBelowDocumentedMinimum` | warning | the source runs a patch below the one the migration page lists |
/// | `VersionUnparsable` | warning | the MongoDB version is missing or not `major.minor.patch` |
/// | `TlsMismatch` | warning | the request's `ssl` flag differs from the cluster's TLS setting |
/// | `TlsDisabled` | warning | the source cluster does not use TLS |
/// | `ManagedAuthenticationUnmanaged` | warning | managed authentication for a cluster automation does not manage |
/// | `HostSharedInFleet` | error | another request of the same fleet names the same migration host |
///
/// ```
/// use atlas_migration::preflight::FindingCode;
///
/// assert_eq!(FindingCode::ClusterNotFound.as_str(), "cluster-not-found");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[non_exhaustive]
pub enum FindingCode {
    /// The source project is not in the organization's list of projects to migrate from.
    SourceProjectNotFound,
    /// The source cluster is not a deployment of the source project.
    ClusterNotFound,
    /// The migration host is not among the source project's migration hosts.
    MigrationHostNotOffered,
    /// The source's feature compatibility version is below the minimum (6.0).
    FcvTooOld,
    /// The source's feature compatibility version is a rapid release.
    FcvRapidRelease,
    /// Atlas did not report the source's feature compatibility version.
    FcvMissing,
    /// The source's feature compatibility version could not be read.
    FcvUnparsable,
    /// The source runs a rapid release of MongoDB.
    VersionRapidRelease,
    /// The source runs a patch release below the lowest one the migration page lists.
    VersionBelowDocumentedMinimum,
    /// The source's MongoDB version is missing or could not be read.
    VersionUnparsable,
    /// The request's TLS flag (`ssl`) differs from the cluster's TLS setting.
    TlsMismatch,
    /// The source cluster does not use TLS.
    TlsDisabled,
    /// Managed authentication is asked for a cluster Cloud Manager automation does not manage.
    ManagedAuthenticationUnmanaged,
    /// Another request of the same fleet uses the same migration host.
    HostSharedInFleet,
}

impl FindingCode {
    /// A stable kebab-case name for logs and metrics.
    ///
    /// ```
    /// use atlas_migration::preflight::FindingCode;
    ///
    /// assert_eq!(FindingCode::HostSharedInFleet.as_str(), "host-shared-in-fleet");
    /// ```
    pub fn as_str(&self) -> &'static str {
        match self {
            Self::SourceProjectNotFound => "source-project-not-found",
            Self::ClusterNotFound => "cluster-not-found",
            Self::MigrationHostNotOffered => "migration-host-not-offered",
            Self::FcvTooOld => "fcv-too-old",
            Self::FcvRapidRelease => "fcv-rapid-release",
            Self::FcvMissing => "fcv-missing",
            Self::FcvUnparsable => "fcv-unparsable",
            Self::VersionRapidRelease => "version-rapid-release",
            Self::VersionBelowDocumentedMinimum => "version-below-documented-minimum",
            Self::VersionUnparsable => "version-unparsable",
            Self::TlsMismatch => "tls-mismatch",
            Self::TlsDisabled => "tls-disabled",
            Self::ManagedAuthenticationUnmanaged => "managed-authentication-unmanaged",
            Self::HostSharedInFleet => "host-shared-in-fleet",
        }
    }

    /// Whether a finding of this code blocks the migration (the table's "error"); the
    /// others are warnings.
    ///
    /// ```
    /// use atlas_migration::preflight::FindingCode;
    ///
    /// assert!(FindingCode::ClusterNotFound.is_blocking());
    /// assert!(!FindingCode::TlsDisabled.is_blocking());
    /// ```
    pub fn is_blocking(&self) -> bool {
        match self {
            Self::SourceProjectNotFound
            | Self::ClusterNotFound
            | Self::MigrationHostNotOffered
            | Self::FcvTooOld
            | Self::FcvRapidRelease
            | Self::VersionRapidRelease
            | Self::HostSharedInFleet => true,
            Self::FcvMissing
            | Self::FcvUnparsable
            | Self::VersionBelowDocumentedMinimum
            | Self::VersionUnparsable
            | Self::TlsMismatch
            | Self::TlsDisabled
            | Self::ManagedAuthenticationUnmanaged => false,
        }
    }
}

impl fmt::Display for FindingCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One thing a preflight check found: an error (it blocks) or a warning, as its code says.
///
/// ```
/// # fn show(report: &atlas_migration::preflight::PreflightReport) {
/// for finding in &report.findings {
///     // "error [cluster-not-found]: ..." or "warning [tls-disabled]: ..."
///     eprintln!("{finding}");
/// }
/// # }
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Finding {
    /// Which rule found it; [`FindingCode::is_blocking`] says whether it blocks.
    pub code: FindingCode,
    /// What is wrong and what to change, in one line; names from Atlas's reply are quoted
    /// and cut short.
    pub message: String,
}

impl Finding {
    pub(super) fn new(code: FindingCode, message: String) -> Self {
        Self { code, message }
    }

    /// Whether this finding blocks the migration (its code's [`FindingCode::is_blocking`]).
    ///
    /// ```
    /// # fn f(finding: &atlas_migration::preflight::Finding) -> bool {
    /// finding.is_error()
    /// # }
    /// ```
    pub fn is_error(&self) -> bool {
        self.code.is_blocking()
    }
}

impl fmt::Display for Finding {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let severity = if self.is_error() { "error" } else { "warning" };
        write!(f, "{severity} [{}]: {}", self.code, self.message)
    }
}

/// What a preflight check of one migration request found.
///
/// Errors block ([`is_ok`](Self::is_ok) is false); warnings do not. An empty report means no
/// rule found anything, not that Atlas's own validation will pass: it checks more than the
/// project list shows (network access, credentials, the destination).
///
/// ```
/// # fn gate(report: atlas_migration::preflight::PreflightReport) -> Result<(), String> {
/// if !report.is_ok() {
///     return Err(report.to_string());
/// }
/// for warning in report.warnings() {
///     eprintln!("{warning}");
/// }
/// # Ok(()) }
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct PreflightReport {
    /// Everything found, in the order the rules ran.
    pub findings: Vec<Finding>,
}

impl PreflightReport {
    /// Whether nothing blocks: no finding is an error.
    ///
    /// ```
    /// assert!(atlas_migration::preflight::PreflightReport::default().is_ok());
    /// ```
    pub fn is_ok(&self) -> bool {
        !self.findings.iter().any(Finding::is_error)
    }

    /// The findings that block.
    ///
    /// ```
    /// # fn f(report: &atlas_migration::preflight::PreflightReport) {
    /// let blocking = report.errors().count();
    /// # }
    /// ```
    pub fn errors(&self) -> impl Iterator<Item = &Finding> {
        self.findings.iter().filter(|f| f.is_error())
    }

    /// The findings that do not block.
    ///
    /// ```
    /// # fn f(report: &atlas_migration::preflight::PreflightReport) {
    /// let advisory = report.warnings().count();
    /// # }
    /// ```
    pub fn warnings(&self) -> impl Iterator<Item = &Finding> {
        self.findings.iter().filter(|f| !f.is_error())
    }

    /// Whether some finding has `code`.
    ///
    /// ```
    /// use atlas_migration::preflight::{FindingCode, PreflightReport};
    ///
    /// assert!(!PreflightReport::default().has(FindingCode::ClusterNotFound));
    /// ```
    pub fn has(&self, code: FindingCode) -> bool {
        self.findings.iter().any(|f| f.code == code)
    }
}

/// A summary line, then one line per finding (errors and warnings in the order found).
///
/// ```text
/// preflight: 1 error, 1 warning
///   error [cluster-not-found]: cluster "rs1" is not a deployment of source project "legacy" ...
///   warning [tls-disabled]: ...
/// ```
impl fmt::Display for PreflightReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let errors = self.errors().count();
        let warnings = self.findings.len().saturating_sub(errors);
        if self.findings.is_empty() {
            return f.write_str("preflight: no findings");
        }
        let plural = |n: usize| if n == 1 { "" } else { "s" };
        write!(
            f,
            "preflight: {errors} error{}, {warnings} warning{}",
            plural(errors),
            plural(warnings)
        )?;
        for finding in &self.findings {
            write!(f, "\n  {finding}")?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn warnings_do_not_block_and_errors_do() {
        let mut report = PreflightReport::default();
        assert!(report.is_ok());
        assert_eq!(report.to_string(), "preflight: no findings");
        report
            .findings
            .push(Finding::new(FindingCode::TlsDisabled, "no TLS".into()));
        assert!(report.is_ok());
        report
            .findings
            .push(Finding::new(FindingCode::ClusterNotFound, "no rs1".into()));
        assert!(!report.is_ok());
        assert!(report.has(FindingCode::ClusterNotFound));
        assert_eq!(report.errors().count(), 1);
        assert_eq!(report.warnings().count(), 1);
        assert_eq!(
            report.to_string(),
            "preflight: 1 error, 1 warning\n  warning [tls-disabled]: no TLS\n  error [cluster-not-found]: no rs1"
        );
    }

    #[test]
    fn codes_have_distinct_names() {
        let codes = [
            FindingCode::SourceProjectNotFound,
            FindingCode::ClusterNotFound,
            FindingCode::MigrationHostNotOffered,
            FindingCode::FcvTooOld,
            FindingCode::FcvRapidRelease,
            FindingCode::FcvMissing,
            FindingCode::FcvUnparsable,
            FindingCode::VersionRapidRelease,
            FindingCode::VersionBelowDocumentedMinimum,
            FindingCode::VersionUnparsable,
            FindingCode::TlsMismatch,
            FindingCode::TlsDisabled,
            FindingCode::ManagedAuthenticationUnmanaged,
            FindingCode::HostSharedInFleet,
        ];
        let names: std::collections::BTreeSet<_> = codes.iter().map(|c| c.as_str()).collect();
        assert_eq!(names.len(), codes.len());
    }
}
