//! The process's one clock. Domain functions take `now` as an argument; the edges (handlers, the
//! CLI, adapters that stamp rows or leases) read it here, never from `Utc::now()` directly, so one
//! setting moves every "now" in the process together: rate-limit days and weeks, TTLs, leases,
//! hold expiry and row timestamps.
//!
//! - Unset: the wall clock.
//! - `OTTO_NOW=<RFC 3339 instant>`: the process starts at that instant and its clock runs forward
//!   from there at the wall clock's pace (so leases and timeouts still expire).
//! - [`set`]: a simulation jumps the clock to the next simulated moment (`otto simulate` runs a
//!   month of cycles in minutes this way).

use crate::error::CoreError;
use chrono::{DateTime, Utc};
use std::sync::{OnceLock, RwLock};
use std::time::Instant;

/// The environment variable that sets the process's "now".
pub const ENV: &str = "OTTO_NOW";

#[derive(Debug, Clone, Copy)]
enum Source {
    Wall,
    /// `at` when `since` was the monotonic instant; now = at + elapsed.
    From {
        at: DateTime<Utc>,
        since: Instant,
    },
}

fn cell() -> &'static RwLock<Source> {
    static CLOCK: OnceLock<RwLock<Source>> = OnceLock::new();
    CLOCK.get_or_init(|| {
        let src = match from_env() {
            Ok(Some(at)) => Source::From {
                at,
                since: Instant::now(),
            },
            Ok(None) => Source::Wall,
            // `init_from_env` reports a bad value as a clean error at start; a process that
            // skipped it must not silently run on the wall clock either.
            Err(e) => panic!("{e}"),
        };
        RwLock::new(src)
    })
}

fn from_env() -> Result<Option<DateTime<Utc>>, CoreError> {
    match std::env::var(ENV) {
        Ok(v) if !v.trim().is_empty() => parse(v.trim()).map(Some),
        _ => Ok(None),
    }
}

/// Parses an `OTTO_NOW` value (RFC 3339, e.g. `2026-11-24T06:00:00+01:00`).
pub fn parse(v: &str) -> Result<DateTime<Utc>, CoreError> {
    DateTime::parse_from_rfc3339(v)
        .map(|t| t.with_timezone(&Utc))
        .map_err(|e| {
            CoreError::invalid(
                ENV,
                format!("{v:?} is not an RFC 3339 instant like 2026-11-24T06:00:00Z ({e})"),
            )
        })
}

/// Reads `OTTO_NOW` once at start; a bad value is one clear error instead of a panic later.
pub fn init_from_env() -> Result<(), CoreError> {
    from_env()?;
    let _ = cell();
    Ok(())
}

/// The process's "now".
pub fn now() -> DateTime<Utc> {
    let src = *cell().read().unwrap_or_else(|p| p.into_inner());
    match src {
        Source::Wall => Utc::now(),
        Source::From { at, since } => {
            at + chrono::Duration::from_std(since.elapsed()).unwrap_or_default()
        }
    }
}

/// Whether "now" was set (by `OTTO_NOW` or [`set`]) rather than read from the wall clock.
pub fn is_set() -> bool {
    matches!(
        *cell().read().unwrap_or_else(|p| p.into_inner()),
        Source::From { .. }
    )
}

/// Moves the process's clock to `at` (it runs forward from there). For simulations and tests.
pub fn set(at: DateTime<Utc>) {
    *cell().write().unwrap_or_else(|p| p.into_inner()) = Source::From {
        at,
        since: Instant::now(),
    };
}

/// A new ULID stamped with the process's "now", so ids sort with simulated time too.
pub fn ulid() -> ulid::Ulid {
    let t = now();
    let ms = u64::try_from(t.timestamp_millis()).unwrap_or(0);
    ulid::Ulid::from_parts(ms, rand::random::<u128>())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn set_moves_now_and_it_runs_forward() {
        let at = parse("2030-01-01T06:00:00Z").unwrap();
        set(at);
        let a = now();
        let b = now();
        assert!(a >= at && b >= a);
        assert!(a - at < chrono::Duration::seconds(5));
        assert!(is_set());
        assert_eq!(
            ulid().timestamp_ms() / 1000,
            u64::try_from(at.timestamp()).unwrap()
        );
    }

    #[test]
    fn bad_values_name_the_variable() {
        let e = parse("yesterday").unwrap_err().to_string();
        assert!(e.contains("OTTO_NOW"), "{e}");
        assert!(parse("2026-11-24T06:00:00+01:00").is_ok());
    }
}
