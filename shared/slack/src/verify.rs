//! Slack request signing (v0): `X-Slack-Signature: v0=hex(HMAC-SHA256(secret, "v0:{ts}:{raw body}"))`.
//! The signature covers the raw bytes before form decoding; the timestamp must be within five
//! minutes of now, in either direction, so a captured request can't be replayed later.

use crate::error::{snippet, SlackError};
use hmac::{Hmac, Mac};
use sha2::Sha256;
use subtle::ConstantTimeEq;

/// Header carrying the `v0=…` signature.
pub const SIGNATURE_HEADER: &str = "X-Slack-Signature";
/// Header carrying the Unix timestamp (seconds) the signature was made at.
pub const TIMESTAMP_HEADER: &str = "X-Slack-Request-Timestamp";
/// Largest accepted |now − timestamp|, in seconds (Slack's SDKs use 5 minutes).
pub const MAX_CLOCK_SKEW_SECS: u64 = 300;

const VERSION_PREFIX: &str = "v0=";

fn mac(
    signing_secret: &[u8],
    timestamp: &str,
    raw_body: &[u8],
) -> Result<Hmac<Sha256>, SlackError> {
    if signing_secret.is_empty() {
        return Err(SlackError::SigningSecretMissing);
    }
    // HMAC takes keys of any length; the error arm is only there to avoid a panic path.
    let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(signing_secret)
        .map_err(|_| SlackError::SigningSecretMissing)?;
    mac.update(b"v0:");
    mac.update(timestamp.as_bytes());
    mac.update(b":");
    mac.update(raw_body);
    Ok(mac)
}

/// The `X-Slack-Signature` value Slack would send for this body at this timestamp
/// (for tests and local tools that need to sign a request). Fails only on an empty secret.
pub fn sign(signing_secret: &[u8], timestamp: i64, raw_body: &[u8]) -> Result<String, SlackError> {
    let digest = mac(signing_secret, &timestamp.to_string(), raw_body)?.finalize();
    Ok(format!(
        "{VERSION_PREFIX}{}",
        hex::encode(digest.into_bytes())
    ))
}

/// Checks a Slack request: both headers present and well formed, the timestamp within
/// [`MAX_CLOCK_SKEW_SECS`] of `now_unix`, and the signature matching `raw_body` (compared in
/// constant time). Pass the body exactly as received, before any decoding.
pub fn verify(
    signing_secret: &[u8],
    timestamp_header: Option<&str>,
    signature_header: Option<&str>,
    raw_body: &[u8],
    now_unix: i64,
) -> Result<(), SlackError> {
    if signing_secret.is_empty() {
        return Err(SlackError::SigningSecretMissing);
    }
    let timestamp = match timestamp_header {
        None => return Err(SlackError::MissingTimestamp),
        Some(t) if t.trim().is_empty() => return Err(SlackError::MissingTimestamp),
        Some(t) => t,
    };
    let signature = match signature_header {
        None => return Err(SlackError::MissingSignature),
        Some(s) if s.trim().is_empty() => return Err(SlackError::MissingSignature),
        Some(s) => s,
    };

    // Digits only (no sign, no spaces): the exact header text is part of what was signed.
    if timestamp.is_empty()
        || timestamp.len() > 18
        || !timestamp.bytes().all(|b| b.is_ascii_digit())
    {
        return Err(SlackError::MalformedTimestamp(snippet(timestamp, 40)));
    }
    let ts: i64 = timestamp
        .parse()
        .map_err(|_| SlackError::MalformedTimestamp(snippet(timestamp, 40)))?;
    let skew_secs = now_unix.abs_diff(ts);
    if skew_secs > MAX_CLOCK_SKEW_SECS {
        return Err(SlackError::StaleTimestamp {
            skew_secs,
            limit_secs: MAX_CLOCK_SKEW_SECS,
        });
    }

    let hex_part = signature
        .strip_prefix(VERSION_PREFIX)
        .ok_or(SlackError::MalformedSignature)?;
    if hex_part.len() != 64 {
        return Err(SlackError::MalformedSignature);
    }
    let given = hex::decode(hex_part).map_err(|_| SlackError::MalformedSignature)?;

    let expected = mac(signing_secret, timestamp, raw_body)?
        .finalize()
        .into_bytes();
    if bool::from(expected.as_slice().ct_eq(given.as_slice())) {
        Ok(())
    } else {
        Err(SlackError::SignatureMismatch)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // Slack's published example (api.slack.com/authentication/verifying-requests-from-slack).
    const SECRET: &[u8] = b"8f742231b10e8888abcd99yyyzzz85a5";
    const TS: &str = "1531420618";
    const TS_NUM: i64 = 1_531_420_618;
    const BODY: &str = "token=xyzz0WbapA4vBCDEFasx0q6G&team_id=T1DC2JH3J&team_domain=testteamnow&channel_id=G8PSS9T3V&channel_name=foobar&user_id=U2CERLKJA&user_name=roadrunner&command=%2Fwebhook-collect&text=&response_url=https%3A%2F%2Fhooks.slack.com%2Fcommands%2FT1DC2JH3J%2F397700885554%2F96rGlfmibIGlgcZRskXaIFfN&trigger_id=398738663015.47445629121.803a0bc887a14d10d2c447fce8b6703c";
    const SIG: &str = "v0=a2114d57b48eac39b9ad189dd8316235a7b4a8d21a10bd27519666489c69b503";

    fn check(ts: Option<&str>, sig: Option<&str>, body: &[u8], now: i64) -> Result<(), SlackError> {
        verify(SECRET, ts, sig, body, now)
    }

    #[test]
    fn slack_published_example_verifies() {
        assert_eq!(sign(SECRET, TS_NUM, BODY.as_bytes()).as_deref(), Ok(SIG));
        assert_eq!(
            sign(b"", TS_NUM, b""),
            Err(SlackError::SigningSecretMissing)
        );
        assert_eq!(check(Some(TS), Some(SIG), BODY.as_bytes(), TS_NUM), Ok(()));
        // Anywhere inside the five-minute window, both sides, inclusive.
        assert_eq!(
            check(Some(TS), Some(SIG), BODY.as_bytes(), TS_NUM + 300),
            Ok(())
        );
        assert_eq!(
            check(Some(TS), Some(SIG), BODY.as_bytes(), TS_NUM - 300),
            Ok(())
        );
    }

    #[test]
    fn upper_case_hex_is_the_same_signature() {
        let upper = format!("v0={}", SIG[3..].to_ascii_uppercase());
        assert_eq!(
            check(Some(TS), Some(&upper), BODY.as_bytes(), TS_NUM),
            Ok(())
        );
    }

    #[test]
    fn stale_timestamp_is_rejected_both_directions() {
        let old = check(Some(TS), Some(SIG), BODY.as_bytes(), TS_NUM + 301);
        assert_eq!(
            old,
            Err(SlackError::StaleTimestamp {
                skew_secs: 301,
                limit_secs: 300
            })
        );
        let future = check(Some(TS), Some(SIG), BODY.as_bytes(), TS_NUM - 301);
        assert_eq!(
            future,
            Err(SlackError::StaleTimestamp {
                skew_secs: 301,
                limit_secs: 300
            })
        );
        // A correctly signed but hours-old request (a replay) is still rejected.
        let body = b"command=%2Fotto&text=kill-switch+off";
        let sig = sign(SECRET, TS_NUM, body).expect("signs");
        assert!(matches!(
            check(Some(TS), Some(&sig), body, TS_NUM + 3 * 3600),
            Err(SlackError::StaleTimestamp { .. })
        ));
        // Extreme clocks don't overflow.
        assert!(matches!(
            check(Some(TS), Some(SIG), BODY.as_bytes(), i64::MIN),
            Err(SlackError::StaleTimestamp { .. })
        ));
        assert!(matches!(
            check(Some(TS), Some(SIG), BODY.as_bytes(), i64::MAX),
            Err(SlackError::StaleTimestamp { .. })
        ));
    }

    #[test]
    fn tampered_body_is_rejected() {
        let tampered = BODY.replace("text=", "text=kill-switch+off");
        assert_eq!(
            check(Some(TS), Some(SIG), tampered.as_bytes(), TS_NUM),
            Err(SlackError::SignatureMismatch)
        );
        // One trailing byte is enough.
        let mut longer = BODY.as_bytes().to_vec();
        longer.push(b'&');
        assert_eq!(
            check(Some(TS), Some(SIG), &longer, TS_NUM),
            Err(SlackError::SignatureMismatch)
        );
        // The timestamp is signed too: moving it breaks the signature.
        let moved = (TS_NUM + 10).to_string();
        assert_eq!(
            check(Some(&moved), Some(SIG), BODY.as_bytes(), TS_NUM),
            Err(SlackError::SignatureMismatch)
        );
    }

    #[test]
    fn wrong_secret_is_rejected() {
        assert_eq!(
            verify(
                b"8f742231b10e8888abcd99yyyzzz85a6",
                Some(TS),
                Some(SIG),
                BODY.as_bytes(),
                TS_NUM
            ),
            Err(SlackError::SignatureMismatch)
        );
        assert_eq!(
            verify(b"", Some(TS), Some(SIG), BODY.as_bytes(), TS_NUM),
            Err(SlackError::SigningSecretMissing)
        );
    }

    #[test]
    fn missing_headers_have_distinct_errors() {
        assert_eq!(
            check(None, Some(SIG), BODY.as_bytes(), TS_NUM),
            Err(SlackError::MissingTimestamp)
        );
        assert_eq!(
            check(Some(TS), None, BODY.as_bytes(), TS_NUM),
            Err(SlackError::MissingSignature)
        );
        assert_eq!(
            check(Some(""), Some(SIG), BODY.as_bytes(), TS_NUM),
            Err(SlackError::MissingTimestamp)
        );
        assert_eq!(
            check(Some(TS), Some("  "), BODY.as_bytes(), TS_NUM),
            Err(SlackError::MissingSignature)
        );
        assert_eq!(
            check(None, None, b"", TS_NUM),
            Err(SlackError::MissingTimestamp)
        );
    }

    #[test]
    fn malformed_headers_are_rejected() {
        for ts in [
            "abc",
            "-1531420618",
            "1531420618.5",
            " 1531420618",
            "+1531420618",
            "99999999999999999999999",
        ] {
            assert!(
                matches!(
                    check(Some(ts), Some(SIG), BODY.as_bytes(), TS_NUM),
                    Err(SlackError::MalformedTimestamp(_))
                ),
                "{ts}"
            );
        }
        let no_prefix = &SIG[3..];
        let v1 = SIG.replace("v0=", "v1=");
        let short = &SIG[..SIG.len() - 2];
        let not_hex = SIG.replace('a', "g");
        let multibyte = format!("v0={}", "é".repeat(32));
        for sig in [
            no_prefix,
            v1.as_str(),
            short,
            not_hex.as_str(),
            multibyte.as_str(),
            "v0=",
        ] {
            assert_eq!(
                check(Some(TS), Some(sig), BODY.as_bytes(), TS_NUM),
                Err(SlackError::MalformedSignature),
                "{sig}"
            );
        }
    }

    #[test]
    fn arbitrary_bodies_never_panic() {
        let non_utf8 = [0xff_u8, 0xfe, 0x00, b'=', 0x80];
        let sig = sign(SECRET, TS_NUM, &non_utf8).expect("signs");
        // Signature checking is over bytes: a non-UTF-8 body can be correctly signed.
        assert_eq!(check(Some(TS), Some(&sig), &non_utf8, TS_NUM), Ok(()));
        let huge = vec![b'a'; 2 * 1024 * 1024];
        assert_eq!(
            check(Some(TS), Some(SIG), &huge, TS_NUM),
            Err(SlackError::SignatureMismatch)
        );
        assert_eq!(
            check(Some(TS), Some(SIG), b"", TS_NUM),
            Err(SlackError::SignatureMismatch)
        );
    }
}
