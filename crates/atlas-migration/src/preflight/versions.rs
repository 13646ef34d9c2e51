//! The version rules of push live migration, kept as data, and the two checks that read them
//! (the feature compatibility version and the server version of the source cluster).
//!
//! Sources:
//! - "Live Migrate (Push) a Cluster Monitored by Cloud Manager into Atlas",
//!   <https://www.mongodb.com/docs/atlas/import/c2c-push-live-migration/>: the FCV of the
//!   source is at least 6.0 (and the same as the destination's); rapid releases such as 6.1
//!   or 6.2 are not supported, only major releases; the migration paths table gives the
//!   lowest server patch of each supported series.
//! - "MongoDB Versioning", <https://www.mongodb.com/docs/manual/reference/versioning/>: from
//!   5.0 on, a release series `X.Y` with `Y` other than 0 is a rapid release (5.1, 5.2, 5.3,
//!   ...). From 8.2 that page calls them minor releases and offers some on premises; the
//!   migration page still supports major releases only, so they stay refused here.
//!
//! The minimum patch versions have changed over time (the page has said 6.0.8, then 6.0.13 /
//! 7.0.8, then 6.0.17 / 7.0.13), so a server below them is a warning, not an error: Atlas's
//! validation has the last word. The FCV floor and the rapid release rule have not changed
//! and are errors.

use crate::model::Deployment;

use super::quote::quote;
use super::report::{Finding, FindingCode};

/// A release series (`major.minor`), the lowest patch of it the migration page supports.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct SeriesMinimum {
    pub(super) major: u32,
    pub(super) minor: u32,
    pub(super) patch: u32,
}

/// Everything push live migration says about versions, as data.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct VersionRules {
    /// The lowest feature compatibility version, `(major, minor)`.
    pub(super) minimum_fcv: (u32, u32),
    /// From this major version on, a minor version other than 0 is a rapid release.
    pub(super) rapid_releases_from_major: u32,
    /// The lowest server patch of each supported series; a series not listed is not checked.
    pub(super) minimum_patches: &'static [SeriesMinimum],
    /// Where these rules come from, quoted in findings.
    pub(super) source: &'static str,
}

/// The rules as the migration page states them (its migration paths table: 6.0.17, 7.0.13).
pub(super) const PUSH_LIVE_MIGRATION: VersionRules = VersionRules {
    minimum_fcv: (6, 0),
    rapid_releases_from_major: 5,
    minimum_patches: &[
        SeriesMinimum {
            major: 6,
            minor: 0,
            patch: 17,
        },
        SeriesMinimum {
            major: 7,
            minor: 0,
            patch: 13,
        },
    ],
    source: "https://www.mongodb.com/docs/atlas/import/c2c-push-live-migration/",
};

/// A version as MongoDB writes it: `major.minor` (an FCV) or `major.minor.patch` (a server),
/// optionally followed by a suffix such as `-ent` or `-rc1`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Version {
    pub(super) major: u32,
    pub(super) minor: u32,
    pub(super) patch: Option<u32>,
}

impl Version {
    /// Parses `text`; `None` for anything else (including numbers that overflow `u32`, and
    /// text longer than any real version).
    pub(super) fn parse(text: &str) -> Option<Self> {
        let text = text.trim();
        if text.len() > 32 {
            return None;
        }
        let numbers = text.split(['-', '+']).next().unwrap_or_default();
        let mut parts = numbers.split('.').map(|p| {
            if !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()) {
                p.parse::<u32>().ok()
            } else {
                None
            }
        });
        let major = parts.next()??;
        let minor = parts.next()??;
        let patch = match parts.next() {
            None => None,
            Some(patch) => Some(patch?),
        };
        if parts.next().is_some() {
            return None;
        }
        Some(Self {
            major,
            minor,
            patch,
        })
    }
}

impl VersionRules {
    fn is_rapid_release(&self, v: Version) -> bool {
        v.major >= self.rapid_releases_from_major && v.minor != 0
    }

    /// The source cluster's feature compatibility version: present, parsable, at least the
    /// minimum, and not a rapid release.
    pub(super) fn check_fcv(&self, deployment: &Deployment) -> Option<Finding> {
        let fcv = deployment.feature_compatibility_version.trim();
        let cluster = quote(&deployment.name);
        if fcv.is_empty() {
            return Some(Finding::new(
                FindingCode::FcvMissing,
                format!(
                    "Atlas did not report the feature compatibility version of cluster {cluster}; \
                     push live migration needs {}.{} or later, not a rapid release",
                    self.minimum_fcv.0, self.minimum_fcv.1
                ),
            ));
        }
        let Some(version) = Version::parse(fcv) else {
            return Some(Finding::new(
                FindingCode::FcvUnparsable,
                format!(
                    "the feature compatibility version of cluster {cluster} ({}) is not of the form \
                     major.minor; it was not checked",
                    quote(fcv)
                ),
            ));
        };
        let (major, minor) = (version.major, version.minor);
        if (major, minor) < self.minimum_fcv {
            return Some(Finding::new(
                FindingCode::FcvTooOld,
                format!(
                    "cluster {cluster} has feature compatibility version {major}.{minor}; push live \
                     migration needs {}.{} or later ({})",
                    self.minimum_fcv.0, self.minimum_fcv.1, self.source
                ),
            ));
        }
        if self.is_rapid_release(version) {
            return Some(Finding::new(
                FindingCode::FcvRapidRelease,
                format!(
                    "cluster {cluster} has feature compatibility version {major}.{minor}, a rapid \
                     release; push live migration supports major releases ({major}.0) only ({})",
                    self.source
                ),
            ));
        }
        None
    }

    /// The source cluster's server version: not a rapid release, and at least the lowest
    /// patch the page lists for its series.
    pub(super) fn check_server(&self, deployment: &Deployment) -> Option<Finding> {
        let text = deployment.mongodb_version.trim();
        let cluster = quote(&deployment.name);
        let Some(version) = Version::parse(text) else {
            let what = if text.is_empty() {
                "Atlas did not report it".to_owned()
            } else {
                format!("{} is not of the form major.minor.patch", quote(text))
            };
            return Some(Finding::new(
                FindingCode::VersionUnparsable,
                format!("the MongoDB version of cluster {cluster} was not checked: {what}"),
            ));
        };
        let (major, minor) = (version.major, version.minor);
        if self.is_rapid_release(version) {
            return Some(Finding::new(
                FindingCode::VersionRapidRelease,
                format!(
                    "cluster {cluster} runs MongoDB {}, a rapid release; push live migration \
                     supports major releases only ({})",
                    quote(text),
                    self.source
                ),
            ));
        }
        let minimum = self
            .minimum_patches
            .iter()
            .find(|m| (m.major, m.minor) == (major, minor))?;
        // A version without a patch number ("7.0") says too little to compare.
        let patch = version.patch?;
        (patch < minimum.patch).then(|| {
            Finding::new(
                FindingCode::VersionBelowDocumentedMinimum,
                format!(
                    "cluster {cluster} runs MongoDB {}; the migration page lists {}.{}.{} as the \
                     lowest supported {}.{} release ({}); Atlas's validation decides",
                    quote(text),
                    minimum.major,
                    minimum.minor,
                    minimum.patch,
                    minimum.major,
                    minimum.minor,
                    self.source
                ),
            )
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn deployment(fcv: &str, version: &str) -> Deployment {
        let mut d = Deployment::new("rs0");
        d.feature_compatibility_version = fcv.into();
        d.mongodb_version = version.into();
        d
    }

    fn fcv_code(fcv: &str) -> Option<FindingCode> {
        PUSH_LIVE_MIGRATION
            .check_fcv(&deployment(fcv, "7.0.14"))
            .map(|f| f.code)
    }

    fn server_code(version: &str) -> Option<FindingCode> {
        PUSH_LIVE_MIGRATION
            .check_server(&deployment("7.0", version))
            .map(|f| f.code)
    }

    #[test]
    fn parses_fcvs_and_server_versions_with_suffixes() {
        let v = |major, minor, patch| {
            Some(Version {
                major,
                minor,
                patch,
            })
        };
        assert_eq!(Version::parse("7.0"), v(7, 0, None));
        assert_eq!(Version::parse(" 6.0.17 "), v(6, 0, Some(17)));
        assert_eq!(Version::parse("7.0.12-ent"), v(7, 0, Some(12)));
        assert_eq!(Version::parse("8.0.0-rc3"), v(8, 0, Some(0)));
        for bad in [
            "",
            "7",
            "7.",
            ".0",
            "7.x",
            "v7.0",
            "7.0.1.2",
            "-7.0",
            "7.-1",
            "+1.0",
            "7. 0",
            "4294967296.0",
            "٧.٠",
            "7.0.99999999999999999999",
        ] {
            assert_eq!(Version::parse(bad), None, "{bad:?}");
        }
        assert_eq!(Version::parse(&"7.0".repeat(100)), None);
    }

    #[test]
    fn fcv_at_least_six_and_not_a_rapid_release() {
        for ok in ["6.0", "7.0", "8.0", "9.0", "10.0"] {
            assert_eq!(fcv_code(ok), None, "{ok}");
        }
        for old in ["5.0", "4.4", "4.2", "3.6", "5.3", "0.0"] {
            assert_eq!(fcv_code(old), Some(FindingCode::FcvTooOld), "{old}");
        }
        for rapid in [
            "6.1", "6.2", "6.3", "7.1", "7.2", "7.3", "8.1", "8.2", "12.7",
        ] {
            assert_eq!(
                fcv_code(rapid),
                Some(FindingCode::FcvRapidRelease),
                "{rapid}"
            );
        }
        assert_eq!(fcv_code(""), Some(FindingCode::FcvMissing));
        assert_eq!(fcv_code("  "), Some(FindingCode::FcvMissing));
        assert_eq!(fcv_code("seven"), Some(FindingCode::FcvUnparsable));
    }

    #[test]
    fn server_versions_against_the_table() {
        for ok in [
            "6.0.17",
            "6.0.20",
            "7.0.13",
            "7.0.14-ent",
            "8.0.0",
            "8.0.4",
            "7.0",
        ] {
            assert_eq!(server_code(ok), None, "{ok}");
        }
        for old in ["6.0.16", "6.0.8", "7.0.12", "7.0.0-rc1"] {
            assert_eq!(
                server_code(old),
                Some(FindingCode::VersionBelowDocumentedMinimum),
                "{old}"
            );
        }
        for rapid in ["6.1.0", "7.3.4", "8.2.1"] {
            assert_eq!(
                server_code(rapid),
                Some(FindingCode::VersionRapidRelease),
                "{rapid}"
            );
        }
        assert_eq!(server_code(""), Some(FindingCode::VersionUnparsable));
        assert_eq!(server_code("latest"), Some(FindingCode::VersionUnparsable));
    }

    #[test]
    fn errors_block_and_warnings_do_not() {
        let rules = PUSH_LIVE_MIGRATION;
        assert!(rules.check_fcv(&deployment("5.0", "")).unwrap().is_error());
        assert!(rules.check_fcv(&deployment("7.2", "")).unwrap().is_error());
        assert!(!rules.check_fcv(&deployment("", "")).unwrap().is_error());
        assert!(
            !rules
                .check_server(&deployment("7.0", "7.0.2"))
                .unwrap()
                .is_error()
        );
        assert!(
            rules
                .check_server(&deployment("7.0", "7.1.0"))
                .unwrap()
                .is_error()
        );
    }

    #[test]
    fn findings_cite_the_rules_and_quote_hostile_text_safely() {
        let f = PUSH_LIVE_MIGRATION
            .check_fcv(&deployment("5.0", ""))
            .unwrap();
        assert!(
            f.message.contains(PUSH_LIVE_MIGRATION.source),
            "{}",
            f.message
        );
        let mut d = deployment(&"9".repeat(10_000), "");
        d.name = "x\n".repeat(10_000);
        let f = PUSH_LIVE_MIGRATION.check_fcv(&d).unwrap();
        assert_eq!(f.code, FindingCode::FcvUnparsable);
        assert!(f.message.len() < 400, "{}", f.message.len());
        assert!(!f.message.contains('\n'));
    }
}
