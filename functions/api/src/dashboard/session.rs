//! Dashboard sessions and CSRF.
//!
//! * Login: a form posts the operator token (`OTTO_OPERATOR_TOKEN`, in the Lambda resolved from
//!   `OTTO_OPERATOR_TOKEN_PARAM` at cold start); when it matches (constant time) the response sets
//!   `otto_session=<token>` — `HttpOnly`, `SameSite=Strict`, `Path=/`, 12 h, `Secure` over HTTPS.
//!   That is the cookie [`crate::auth`] accepts on the operator routes, so `/rows/...` opened in
//!   the same browser renders too. An optional name goes into `otto_operator` and is recorded as
//!   `dashboard:<name>` on releases, reviews and kill-switch flips.
//! * A request without a valid session is sent (303) to the login page with `next=` (a path
//!   under `/dashboard` only, so the login cannot be used as an open redirect).
//! * CSRF: every state-changing form carries `csrf` = hex HMAC-SHA256(session token,
//!   `otto-dashboard-csrf-v1`), checked in constant time before anything happens; another site
//!   can neither read it nor (SameSite=Strict) make the browser send the cookie.

use super::html::{urlenc, Form};
use crate::auth::{session_cookie, token_matches};
use crate::AppState;
use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::{header, HeaderMap, HeaderValue, StatusCode, Uri};
use axum::response::{IntoResponse, Redirect, Response};
use sha2::{Digest, Sha256};
use std::sync::Arc;

/// Lifetime of the session cookie.
pub const SESSION_MAX_AGE_S: u64 = 12 * 3600;
const CSRF_LABEL: &[u8] = b"otto-dashboard-csrf-v1";

/// An authenticated dashboard visitor.
#[derive(Debug, Clone)]
pub struct Session {
    /// Recorded as who released / reviewed / flipped: `dashboard` or `dashboard:<name>`.
    pub who: String,
    /// The CSRF token for this session's forms.
    pub csrf: String,
}

/// HMAC-SHA256 (RFC 2104) over `sha2`.
pub fn hmac_sha256(key: &[u8], msg: &[u8]) -> [u8; 32] {
    let mut k = [0u8; 64];
    if key.len() > 64 {
        k[..32].copy_from_slice(&Sha256::digest(key));
    } else {
        k[..key.len()].copy_from_slice(key);
    }
    let mut inner = Sha256::new();
    inner.update(k.map(|b| b ^ 0x36));
    inner.update(msg);
    let mut outer = Sha256::new();
    outer.update(k.map(|b| b ^ 0x5c));
    outer.update(inner.finalize());
    outer.finalize().into()
}

pub fn csrf_for(token: &str) -> String {
    hex::encode(hmac_sha256(token.as_bytes(), CSRF_LABEL))
}

fn bearer(headers: &HeaderMap) -> Option<String> {
    let v = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = v.split_once(' ')?;
    scheme
        .eq_ignore_ascii_case("bearer")
        .then(|| token.trim().to_string())
}

fn cookie(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|kv| kv.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.to_string())
}

/// An operator's display name: letters, digits, `.-_@`, at most 40 characters.
pub fn clean_name(raw: &str) -> Option<String> {
    let n: String = raw
        .chars()
        .filter(|c| c.is_alphanumeric() || matches!(c, '.' | '-' | '_' | '@'))
        .take(40)
        .collect();
    (!n.is_empty()).then_some(n)
}

/// The session of a request: the operator token as the `otto_session` cookie (or a bearer
/// header, for scripts), matched in constant time. `None` when there is none or it is wrong.
pub fn session(state: &AppState, headers: &HeaderMap) -> Option<Session> {
    let expected = state.operator_auth.token.as_deref()?;
    let given = bearer(headers).or_else(|| session_cookie(headers))?;
    if !token_matches(&given, expected) {
        return None;
    }
    let who = match cookie(headers, "otto_operator").and_then(|n| clean_name(&n)) {
        Some(n) => format!("dashboard:{n}"),
        None => "dashboard".into(),
    };
    Some(Session {
        who,
        csrf: csrf_for(expected),
    })
}

/// True when the form's `csrf` field is this session's token (constant-time).
pub fn csrf_ok(s: &Session, form: &Form) -> bool {
    form.get("csrf")
        .is_some_and(|given| token_matches(given, &s.csrf))
}

/// A `next=` target that stays inside the dashboard.
pub fn safe_next(next: Option<&str>) -> String {
    match next {
        Some(n)
            if (n == "/dashboard"
                || n.starts_with("/dashboard/")
                || n.starts_with("/dashboard?"))
                && !n.contains("//")
                && !n.contains('\\')
                && n.chars().all(|c| !c.is_control()) =>
        {
            n.to_string()
        }
        _ => "/dashboard".into(),
    }
}

/// True when the browser reached us over HTTPS (directly, or through API Gateway / a proxy).
pub fn is_https(state: &AppState, headers: &HeaderMap, uri: &Uri) -> bool {
    uri.scheme_str() == Some("https")
        || headers
            .get("x-forwarded-proto")
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.eq_ignore_ascii_case("https"))
        || state.link_base.starts_with("https://")
}

/// True when `v` can be a cookie value as is (RFC 6265 cookie-octets), as the token must be:
/// the API reads the `otto_session` cookie without decoding it.
pub fn cookie_safe(v: &str) -> bool {
    !v.is_empty()
        && v.bytes()
            .all(|b| matches!(b, 0x21 | 0x23..=0x2B | 0x2D..=0x3A | 0x3C..=0x5B | 0x5D..=0x7E))
}

/// `Set-Cookie` value; `max_age` 0 clears it.
pub fn set_cookie(name: &str, value: &str, max_age: u64, secure: bool) -> HeaderValue {
    let v = format!(
        "{name}={value}; Path=/; HttpOnly; SameSite=Strict; Max-Age={max_age}{}",
        if secure { "; Secure" } else { "" }
    );
    HeaderValue::from_str(&v).unwrap_or_else(|_| HeaderValue::from_static("otto_invalid=1"))
}

/// The login page's URL that comes back to `uri` afterwards.
pub fn login_url(uri: &Uri) -> String {
    let here = uri
        .path_and_query()
        .map(|p| p.as_str())
        .unwrap_or("/dashboard");
    format!("/dashboard/login?next={}", urlenc(&safe_next(Some(here))))
}

/// Extractor: the session, or a redirect to the login page.
pub struct Authed(pub Session);

impl FromRequestParts<Arc<AppState>> for Authed {
    type Rejection = Response;
    async fn from_request_parts(
        parts: &mut Parts,
        state: &Arc<AppState>,
    ) -> Result<Self, Self::Rejection> {
        match session(state, &parts.headers) {
            Some(s) => Ok(Authed(s)),
            None => {
                let mut res = Redirect::to(&login_url(&parts.uri)).into_response();
                *res.status_mut() = StatusCode::SEE_OTHER;
                Err(res)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hmac_matches_rfc4231() {
        // RFC 4231 test cases 1 and 2.
        assert_eq!(
            hex::encode(hmac_sha256(&[0x0b; 20], b"Hi There")),
            "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7"
        );
        assert_eq!(
            hex::encode(hmac_sha256(b"Jefe", b"what do ya want for nothing?")),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
        // Case 6: a key longer than the block is hashed first.
        assert_eq!(
            hex::encode(hmac_sha256(
                &[0xaa; 131],
                b"Test Using Larger Than Block-Size Key - Hash Key First"
            )),
            "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54"
        );
    }

    #[test]
    fn next_stays_inside_the_dashboard() {
        assert_eq!(
            safe_next(Some("/dashboard/rows/decision_log/3")),
            "/dashboard/rows/decision_log/3"
        );
        assert_eq!(
            safe_next(Some("/dashboard?day=2026-11-25")),
            "/dashboard?day=2026-11-25"
        );
        for bad in [
            "https://evil.example/",
            "//evil.example",
            "/dashboard//evil.example",
            "/dashboardx",
            "/chat",
            "/dashboard/\\evil",
        ] {
            assert_eq!(safe_next(Some(bad)), "/dashboard", "{bad}");
        }
        assert_eq!(safe_next(None), "/dashboard");
    }

    #[test]
    fn tokens_must_fit_in_a_cookie() {
        assert!(cookie_safe("0f3a9c-e2e_token.~+/="));
        for bad in ["", "a b", "a;b", "a,b", "a\"b", "a\\b", "é"] {
            assert!(!cookie_safe(bad), "{bad:?}");
        }
    }

    #[test]
    fn names_are_cleaned() {
        assert_eq!(clean_name("emma"), Some("emma".into()));
        assert_eq!(clean_name("<script>"), Some("script".into()));
        assert_eq!(clean_name("  "), None);
    }
}
