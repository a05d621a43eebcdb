//! Calendar days in the store's time zone. A cycle belongs to the store's local day, not UTC's:
//! the 06:00 Amsterdam run on 30 March belongs to 30 March even though it is 04:00 UTC.

use crate::error::CoreError;
use chrono::{
    DateTime, Datelike, Duration, LocalResult, NaiveDate, NaiveTime, TimeZone, Timelike, Utc,
};
use chrono_tz::Tz;
use serde::{Deserialize, Serialize};
use std::fmt;

/// A calendar day in the store's time zone (`2026-11-24`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct StoreDay(NaiveDate);

impl StoreDay {
    pub fn new(date: NaiveDate) -> Self {
        StoreDay(date)
    }
    pub fn parse(s: &str) -> Result<Self, CoreError> {
        // The canonical form without chrono's format parser (index reads parse a day per entry).
        if let Some(d) = canonical_date(s) {
            return Ok(StoreDay(d));
        }
        NaiveDate::parse_from_str(s, "%Y-%m-%d")
            .map(StoreDay)
            .map_err(|e| CoreError::invalid("day", format!("{s:?} is not YYYY-MM-DD ({e})")))
    }
    pub fn date(&self) -> NaiveDate {
        self.0
    }
    pub fn plus_days(&self, n: i64) -> StoreDay {
        StoreDay(self.0 + Duration::days(n))
    }
    /// Days from `other` to `self` (positive when self is later).
    pub fn days_since(&self, other: StoreDay) -> i64 {
        (self.0 - other.0).num_days()
    }
    /// ISO week label, the window of weekly rate limits: `2026-W48`.
    pub fn iso_week(&self) -> String {
        let w = self.0.iso_week();
        format!("{}-W{:02}", w.year(), w.week())
    }
}

/// `YYYY-MM-DD` with four-digit year, two-digit month and day, a valid date.
fn canonical_date(s: &str) -> Option<NaiveDate> {
    let b = s.as_bytes();
    let digits = |r: std::ops::Range<usize>| -> Option<u32> {
        b[r].iter().try_fold(0u32, |n, c| {
            c.is_ascii_digit().then(|| n * 10 + u32::from(c - b'0'))
        })
    };
    if b.len() != 10 || b[4] != b'-' || b[7] != b'-' {
        return None;
    }
    NaiveDate::from_ymd_opt(digits(0..4)? as i32, digits(5..7)?, digits(8..10)?)
}

impl fmt::Display for StoreDay {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let d = self.0;
        if (0..=9999).contains(&d.year()) {
            write!(f, "{:04}-{:02}-{:02}", d.year(), d.month(), d.day())
        } else {
            write!(f, "{}", d.format("%Y-%m-%d"))
        }
    }
}
impl TryFrom<String> for StoreDay {
    type Error = CoreError;
    fn try_from(s: String) -> Result<Self, CoreError> {
        StoreDay::parse(&s)
    }
}
impl From<StoreDay> for String {
    fn from(d: StoreDay) -> String {
        d.to_string()
    }
}

/// The store's time zone, used to turn instants into store days and local wall-clock times into
/// instants.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StoreClock {
    tz: Tz,
}

impl StoreClock {
    pub fn new(tz_name: &str) -> Result<Self, CoreError> {
        tz_name
            .parse::<Tz>()
            .map(|tz| StoreClock { tz })
            .map_err(|_| {
                CoreError::invalid(
                    "time zone",
                    format!("{tz_name:?} is not an IANA time zone name (e.g. Europe/Amsterdam)"),
                )
            })
    }

    pub fn tz_name(&self) -> &'static str {
        self.tz.name()
    }

    pub fn day_of(&self, instant: DateTime<Utc>) -> StoreDay {
        StoreDay(instant.with_timezone(&self.tz).date_naive())
    }

    /// The local wall-clock time of an instant, `HH:MM`.
    pub fn local_hhmm(&self, instant: DateTime<Utc>) -> String {
        instant.with_timezone(&self.tz).format("%H:%M").to_string()
    }

    /// The local wall-clock time of an instant with the zone's abbreviation, `HH:MM:SS CET`
    /// (a zone without one shows its offset, `+03`).
    pub fn local_hms_zone(&self, instant: DateTime<Utc>) -> String {
        instant
            .with_timezone(&self.tz)
            .format("%H:%M:%S %Z")
            .to_string()
    }

    /// The local minute of the day (0 … 1439) of an instant.
    pub fn minute_of_day(&self, instant: DateTime<Utc>) -> u32 {
        let t = instant.with_timezone(&self.tz).time();
        t.hour() * 60 + t.minute()
    }

    /// The instant of a local wall-clock time on a store day. In a DST gap the time is moved
    /// forward by the gap (02:30 on a spring-forward night becomes 03:30); in a repeated hour the
    /// earlier instant is used.
    pub fn at_local(
        &self,
        day: StoreDay,
        hour: u32,
        minute: u32,
    ) -> Result<DateTime<Utc>, CoreError> {
        let t = NaiveTime::from_hms_opt(hour, minute, 0)
            .ok_or_else(|| CoreError::invalid("local time", format!("{hour:02}:{minute:02}")))?;
        let naive = day.0.and_time(t);
        for shift in 0..=3 {
            match self
                .tz
                .from_local_datetime(&(naive + Duration::hours(shift)))
            {
                LocalResult::Single(dt) => return Ok(dt.with_timezone(&Utc)),
                LocalResult::Ambiguous(a, _) => return Ok(a.with_timezone(&Utc)),
                LocalResult::None => continue,
            }
        }
        Err(CoreError::invalid(
            "local time",
            format!(
                "{day} {hour:02}:{minute:02} does not exist in {}",
                self.tz.name()
            ),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn days_parse_and_print_like_chrono() {
        for s in ["2026-11-24", "0001-01-01", "9999-12-31", "2024-02-29"] {
            let d = StoreDay::parse(s).unwrap();
            assert_eq!(d.to_string(), s);
            assert_eq!(d.date(), NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap());
        }
        for bad in [
            "2026-02-30",
            "2026-13-01",
            "2026/11/24",
            "20261124",
            "2026-11-2x",
            "",
        ] {
            assert!(StoreDay::parse(bad).is_err(), "{bad}");
        }
        // Non-canonical forms chrono accepts still parse the same way.
        assert_eq!(
            StoreDay::parse("2026-1-5").unwrap().to_string(),
            "2026-01-05"
        );
    }

    #[test]
    fn store_day_uses_store_time_zone() {
        let ams = StoreClock::new("Europe/Amsterdam").unwrap();
        let utc_late = "2026-11-23T23:30:00Z".parse::<DateTime<Utc>>().unwrap();
        assert_eq!(ams.day_of(utc_late).to_string(), "2026-11-24");
        let la = StoreClock::new("America/Los_Angeles").unwrap();
        assert_eq!(la.day_of(utc_late).to_string(), "2026-11-23");
        assert!(StoreClock::new("Mars/Olympus").is_err());
    }

    #[test]
    fn local_times_across_dst() {
        let ams = StoreClock::new("Europe/Amsterdam").unwrap();
        let spring = StoreDay::parse("2026-03-29").unwrap();
        assert_eq!(
            ams.at_local(spring, 6, 0).unwrap().to_rfc3339(),
            "2026-03-29T04:00:00+00:00"
        );
        // 02:30 does not exist that night: moved forward to 03:30 CEST.
        assert_eq!(
            ams.at_local(spring, 2, 30).unwrap().to_rfc3339(),
            "2026-03-29T01:30:00+00:00"
        );
        let autumn = StoreDay::parse("2026-10-25").unwrap();
        assert_eq!(
            ams.at_local(autumn, 2, 30).unwrap().to_rfc3339(),
            "2026-10-25T00:30:00+00:00"
        );
    }

    #[test]
    fn days_and_weeks() {
        let d = StoreDay::parse("2026-11-24").unwrap();
        assert_eq!(d.iso_week(), "2026-W48");
        assert_eq!(d.plus_days(-28).to_string(), "2026-10-27");
        assert_eq!(d.days_since(d.plus_days(-28)), 28);
        assert!(StoreDay::parse("2026-02-30").is_err());
        assert!(serde_json::from_str::<StoreDay>("\"24/11/2026\"").is_err());
    }
}
