//! Vendor API versions: the defaults Otto calls, the versions it knows with their sunset dates,
//! and [`check_version`] — a pure function of (vendor, version, today) that says whether a
//! configured version is fine, close to its sunset (≤ [`WARN_DAYS`] days: a warning) or past it
//! (an error). It never reads the wall clock; callers pass "today".
//!
//! Sources (checked 2026-12-01):
//! * Google Ads: versions live about 12 months, at most four at once; "Starting on this date, all
//!   vNN API requests will begin to fail" —
//!   <https://developers.google.com/google-ads/api/docs/sunset-dates>,
//!   <https://developers.google.com/ads/blog/posts/2026/06/google-ads-api-v21-sunset-reminder> (v21:
//!   2026-08-05), <https://developers.google.com/ads/blog/posts/2026/09/google-ads-api-v22-sunset-reminder>
//!   (v22: 2026-10-07), <https://developers.google.com/ads/blog/posts/2026/04/google-ads-api-v20-sunset-reminder>
//!   (v20: 2026-06-10). The sunset dates of v23–v26 were not in the documentation we could read:
//!   they are `None` (no warning) until Google announces them — add them here then.
//! * Shopify: a version a quarter, "each stable version is supported for a minimum of 12 months"
//!   from its release on the first of its month; a request to an unsupported version falls
//!   forward to the oldest supported one — <https://shopify.dev/docs/api/usage/versioning>. The
//!   latest Admin GraphQL version is 2026-10
//!   (<https://shopify.dev/docs/api/admin-graphql/latest/enums/ProductStatus.md>, `api_version: 2026-10`).
//! * Meta Graph API (Ad Library `ads_archive`): release and expiration dates per version —
//!   <https://developers.facebook.com/docs/graph-api/changelog/versions/>; v26.0 (2026-07-29) is
//!   the current version, its expiration not yet set.

use chrono::NaiveDate;
use std::fmt;

/// Days before a sunset from which the configured version is reported as a warning.
pub const WARN_DAYS: i64 = 60;

pub const DEFAULT_GOOGLE_ADS: &str = "v26";
pub const DEFAULT_SHOPIFY: &str = "2026-10";
pub const DEFAULT_META_GRAPH: &str = "v26.0";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Vendor {
    GoogleAds,
    Shopify,
    MetaGraph,
}

impl Vendor {
    /// The environment variable that selects this vendor's version.
    pub fn env_var(self) -> &'static str {
        match self {
            Vendor::GoogleAds => "GOOGLE_ADS_API_VERSION",
            Vendor::Shopify => "SHOPIFY_API_VERSION",
            Vendor::MetaGraph => "META_API_VERSION",
        }
    }

    pub fn default_version(self) -> &'static str {
        match self {
            Vendor::GoogleAds => DEFAULT_GOOGLE_ADS,
            Vendor::Shopify => DEFAULT_SHOPIFY,
            Vendor::MetaGraph => DEFAULT_META_GRAPH,
        }
    }
}

impl fmt::Display for Vendor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Vendor::GoogleAds => "Google Ads API",
            Vendor::Shopify => "Shopify Admin API",
            Vendor::MetaGraph => "Meta Graph API",
        })
    }
}

/// One version Otto knows; `sunset` is the first day requests fail (or, for Shopify, the first
/// day it is no longer supported); `None` = not announced.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KnownVersion {
    pub vendor: Vendor,
    pub version: &'static str,
    pub sunset: Option<NaiveDate>,
}

const fn known(vendor: Vendor, version: &'static str, sunset: Option<NaiveDate>) -> KnownVersion {
    KnownVersion {
        vendor,
        version,
        sunset,
    }
}

const fn day(y: i32, m: u32, d: u32) -> Option<NaiveDate> {
    NaiveDate::from_ymd_opt(y, m, d)
}

/// The versions Otto knows, newest first per vendor. Update with docs/VENDOR-VERSIONS.md.
pub const KNOWN_VERSIONS: &[KnownVersion] = &[
    known(Vendor::GoogleAds, "v26", None),
    known(Vendor::GoogleAds, "v25", None),
    known(Vendor::GoogleAds, "v24", None),
    known(Vendor::GoogleAds, "v23", None),
    known(Vendor::GoogleAds, "v22", day(2026, 10, 7)),
    known(Vendor::GoogleAds, "v21", day(2026, 8, 5)),
    known(Vendor::GoogleAds, "v20", day(2026, 6, 10)),
    known(Vendor::GoogleAds, "v19", day(2026, 2, 11)),
    // Shopify: release date + 12 months (the documented minimum support).
    known(Vendor::Shopify, "2026-10", day(2027, 10, 1)),
    known(Vendor::Shopify, "2026-07", day(2027, 7, 1)),
    known(Vendor::Shopify, "2026-04", day(2027, 4, 1)),
    known(Vendor::Shopify, "2026-01", day(2027, 1, 1)),
    known(Vendor::Shopify, "2025-10", day(2026, 10, 1)),
    known(Vendor::Shopify, "2025-07", day(2026, 7, 1)),
    known(Vendor::Shopify, "2025-04", day(2026, 4, 1)),
    known(Vendor::MetaGraph, "v26.0", None),
    known(Vendor::MetaGraph, "v25.0", day(2028, 7, 29)),
    known(Vendor::MetaGraph, "v24.0", day(2028, 2, 18)),
    known(Vendor::MetaGraph, "v23.0", day(2027, 10, 8)),
    known(Vendor::MetaGraph, "v22.0", day(2027, 5, 20)),
    known(Vendor::MetaGraph, "v21.0", day(2027, 1, 21)),
    known(Vendor::MetaGraph, "v20.0", day(2026, 9, 24)),
];

/// What [`check_version`] found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum VersionStatus {
    /// Known, and more than [`WARN_DAYS`] from its sunset (or no sunset announced).
    Current,
    /// Known, sunset within [`WARN_DAYS`] days: a warning.
    NearSunset { sunset: NaiveDate, days_left: i64 },
    /// Known, sunset on or before today: requests fail (Shopify: unsupported) — an error.
    PastSunset { sunset: NaiveDate },
    /// Not in [`KNOWN_VERSIONS`]: Otto cannot say when it ends — a warning.
    Unknown,
}

/// The status of `version` of `vendor` on `today`. Pure: no clock, no I/O.
pub fn check_version(vendor: Vendor, version: &str, today: NaiveDate) -> VersionStatus {
    let Some(k) = KNOWN_VERSIONS
        .iter()
        .find(|k| k.vendor == vendor && k.version == version)
    else {
        return VersionStatus::Unknown;
    };
    let Some(sunset) = k.sunset else {
        return VersionStatus::Current;
    };
    let days_left = (sunset - today).num_days();
    if days_left <= 0 {
        VersionStatus::PastSunset { sunset }
    } else if days_left <= WARN_DAYS {
        VersionStatus::NearSunset { sunset, days_left }
    } else {
        VersionStatus::Current
    }
}

/// One line for the log, the dashboard or `otto doctor`; `None` when there is nothing to say.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VersionNotice {
    pub vendor: Vendor,
    pub version: String,
    pub status: VersionStatus,
    /// True for [`VersionStatus::PastSunset`]: the configuration must not start.
    pub blocker: bool,
    pub message: String,
}

/// The notice for a configured version on `today` (`None` when it is current).
pub fn notice(vendor: Vendor, version: &str, today: NaiveDate) -> Option<VersionNotice> {
    let status = check_version(vendor, version, today);
    let var = vendor.env_var();
    let newest = vendor.default_version();
    let message = match &status {
        VersionStatus::Current => return None,
        VersionStatus::NearSunset { sunset, days_left } => format!(
            "{var}: {vendor} {version} sunsets on {sunset} ({days_left} days): move to {newest} (docs/VENDOR-VERSIONS.md)"
        ),
        VersionStatus::PastSunset { sunset } => format!(
            "{var}: {vendor} {version} was sunset on {sunset}: set {var}={newest} or a newer supported version (docs/VENDOR-VERSIONS.md)"
        ),
        VersionStatus::Unknown => format!(
            "{var}: {vendor} {version} is not in Otto's version table, its sunset is unknown: use {newest} or add it to KNOWN_VERSIONS (docs/VENDOR-VERSIONS.md)"
        ),
    };
    let blocker = matches!(status, VersionStatus::PastSunset { .. });
    Some(VersionNotice {
        vendor,
        version: version.to_string(),
        status,
        blocker,
        message,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> NaiveDate {
        NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
    }

    #[test]
    fn defaults_are_current_today() {
        let today = d("2026-12-01");
        for v in [Vendor::GoogleAds, Vendor::Shopify, Vendor::MetaGraph] {
            assert_eq!(
                check_version(v, v.default_version(), today),
                VersionStatus::Current,
                "{v}"
            );
        }
    }

    #[test]
    fn the_old_defaults_are_past_their_sunset() {
        let today = d("2026-12-01");
        assert_eq!(
            check_version(Vendor::GoogleAds, "v21", today),
            VersionStatus::PastSunset {
                sunset: d("2026-08-05")
            }
        );
        assert_eq!(
            check_version(Vendor::Shopify, "2025-10", today),
            VersionStatus::PastSunset {
                sunset: d("2026-10-01")
            }
        );
        // Meta v21.0 expires 2027-01-21: 51 days from 2026-12-01.
        assert_eq!(
            check_version(Vendor::MetaGraph, "v21.0", today),
            VersionStatus::NearSunset {
                sunset: d("2027-01-21"),
                days_left: 51
            }
        );
    }

    #[test]
    fn boundaries() {
        let sunset = d("2026-10-07");
        let on = |s: &str| check_version(Vendor::GoogleAds, "v22", d(s));
        assert_eq!(on("2026-08-07"), VersionStatus::Current); // 61 days
        assert_eq!(
            on("2026-08-08"),
            VersionStatus::NearSunset {
                sunset,
                days_left: 60
            }
        );
        assert_eq!(
            on("2026-10-06"),
            VersionStatus::NearSunset {
                sunset,
                days_left: 1
            }
        );
        assert_eq!(on("2026-10-07"), VersionStatus::PastSunset { sunset });
        assert_eq!(
            check_version(Vendor::GoogleAds, "v99", d("2026-12-01")),
            VersionStatus::Unknown
        );
    }

    #[test]
    fn notices_name_the_variable_and_the_fix() {
        let today = d("2026-12-01");
        assert!(notice(Vendor::Shopify, "2026-10", today).is_none());
        let n = notice(Vendor::GoogleAds, "v21", today).unwrap();
        assert!(n.blocker);
        assert!(
            n.message.contains("GOOGLE_ADS_API_VERSION") && n.message.contains("v26"),
            "{}",
            n.message
        );
        let n = notice(Vendor::MetaGraph, "v21.0", today).unwrap();
        assert!(!n.blocker);
        assert!(n.message.contains("51 days"), "{}", n.message);
        let n = notice(Vendor::Shopify, "2027-01", today).unwrap();
        assert!(!n.blocker && n.status == VersionStatus::Unknown);
    }
}
