//! Dashboard sessions and CSRF.
//!
//! * Login: a form posts the operator token (`OTTO_OPERATOR_TOKEN`, in the Lambda resolved from
//!   `OTTO_OPERATOR_TOKEN_PARAM` at cold start; at least 32 bytes). When it matches (constant
//!   time) a **session** is made: 32 random bytes, hex — the only thing the cookie carries
//!   (`otto_session=<id>`: `HttpOnly`, `SameSite=Strict`, `Path=/`, 12 h, `Secure` over HTTPS).
//!   The server keeps, through the `Settings` port under `session#<sha256(id)>` (never the id
//!   itself), who logged in (`dashboard` or `dashboard:<name>`, the optional name given at
//!   login — it is what releases, reviews and kill-switch flips record), when it expires, and a
//!   fingerprint of the operator token it was made with (rotating the token ends every session).
//! * Logout revokes the session server-side; a revoked, expired or unknown id is refused like no
//!   cookie at all. [`crate::auth`] accepts the same session on the operator routes' reads, so
//!   `/rows/...` opened in the same browser renders too.
//! * Failed logins count toward the per-source throttle of [`crate::auth`] (429 + `Retry-After`).
//! * A request without a valid session is sent (303) to the login page with `next=` (a path
//!   under `/dashboard` only, so the login cannot be used as an open redirect).
//! * CSRF: every state-changing form carries `csrf` = hex HMAC-SHA256(k, session id), with
//!   k = HMAC-SHA256(operator token, `otto-dashboard-csrf-key-v1`) a server-side key: a token per
//!   session that another site can neither read nor compute, checked in constant time before
//!   anything happens (by [`super::csrf::CsrfForm`], the only way a POST handler gets its form);
//!   SameSite=Strict keeps the cookie off cross-site requests besides.
//!   A script calling the dashboard with `Authorization: Bearer` needs no CSRF token (no browser
//!   attaches that header on its own).

use super::html::urlenc;
use crate::auth::{session_cookie, token_matches};
use crate::AppState;
use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, StatusCode, Uri};
use axum::response::{IntoResponse, Redirect, Response};
use otto_store::StoreError;
use serde_json::json;
use sha2::{Digest, Sha256};
use std::sync::Arc;

/// Lifetime of a session (and of its cookie).
pub const SESSION_MAX_AGE_S: u64 = 12 * 3600;
const CSRF_KEY_LABEL: &[u8] = b"otto-dashboard-csrf-key-v1";
const TOKEN_FP_LABEL: &[u8] = b"otto-dashboard-session-token-v1";

/// An authenticated dashboard visitor.
#[derive(Debug, Clone)]
pub struct Session {
    /// Recorded as who released / reviewed / flipped: `dashboard` or `dashboard:<name>`
    /// (`operator` for a bearer-token script).
    pub who: String,
    /// The CSRF token for this session's forms (empty for a bearer-token script).
    pub csrf: String,
    /// Authenticated by `Authorization: Bearer` rather than a session cookie.
    pub bearer: bool,
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

/// The CSRF token of the session `session_id`, under the server key derived from `token`.
pub fn csrf_for(token: &str, session_id: &str) -> String {
    let key = hmac_sha256(token.as_bytes(), CSRF_KEY_LABEL);
    hex::encode(hmac_sha256(&key, session_id.as_bytes()))
}

fn token_fingerprint(token: &str) -> String {
    hex::encode(&hmac_sha256(token.as_bytes(), TOKEN_FP_LABEL)[..16])
}

fn setting_key(session_id: &str) -> String {
    format!(
        "session#{}",
        hex::encode(Sha256::digest(session_id.as_bytes()))
    )
}

/// A new random session id: 32 bytes from the OS's CSPRNG, hex.
fn new_session_id() -> String {
    use rand::RngCore;
    let mut b = [0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut b);
    hex::encode(b)
}

/// Starts a session for `who`; returns its id (the cookie's value).
pub async fn create(state: &AppState, who: &str) -> Result<String, StoreError> {
    let token = state
        .operator_auth
        .usable_token()
        .ok_or_else(|| StoreError::Invalid("no usable operator token".into()))?;
    let id = new_session_id();
    let now = otto_core::clock::now().timestamp();
    let rec = json!({
        "who": who,
        "created_at": now,
        "expires_at": now + SESSION_MAX_AGE_S as i64,
        "token_fp": token_fingerprint(token),
        "revoked": false,
    });
    state
        .ports
        .settings
        .put_setting(&state.store_id, &setting_key(&id), &rec)
        .await?;
    Ok(id)
}

/// The live session of this id: known, not revoked, not expired, made under today's token.
pub async fn lookup(state: &AppState, session_id: &str) -> Result<Option<Session>, StoreError> {
    let Some(token) = state.operator_auth.usable_token() else {
        return Ok(None);
    };
    if session_id.len() != 64 || !session_id.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Ok(None);
    }
    let Some(rec) = state
        .ports
        .settings
        .get_setting(&state.store_id, &setting_key(session_id))
        .await?
    else {
        return Ok(None);
    };
    let now = otto_core::clock::now().timestamp();
    let live = rec["revoked"] == json!(false)
        && rec["expires_at"].as_i64().is_some_and(|e| e > now)
        && rec["token_fp"]
            .as_str()
            .is_some_and(|fp| token_matches(fp, &token_fingerprint(token)));
    Ok(match (live, rec["who"].as_str()) {
        (true, Some(who)) => Some(Session {
            who: who.to_string(),
            csrf: csrf_for(token, session_id),
            bearer: false,
        }),
        _ => None,
    })
}

/// Ends a session: its id is refused from now on, on every instance.
pub async fn revoke(state: &AppState, session_id: &str) -> Result<(), StoreError> {
    let key = setting_key(session_id);
    let Some(mut rec) = state
        .ports
        .settings
        .get_setting(&state.store_id, &key)
        .await?
    else {
        return Ok(());
    };
    rec["revoked"] = json!(true);
    rec["revoked_at"] = json!(otto_core::clock::now().timestamp());
    state
        .ports
        .settings
        .put_setting(&state.store_id, &key, &rec)
        .await
}

fn bearer(headers: &HeaderMap) -> Option<String> {
    crate::auth::bearer(headers).map(str::to_string)
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

/// The session of a request: the `otto_session` cookie's id looked up server-side, or (for
/// scripts) the operator token as a bearer header, matched in constant time — a wrong one counts
/// toward the source's throttle. `None` when there is none or it is not valid.
pub async fn session(
    state: &AppState,
    parts_headers: &HeaderMap,
    extensions: &axum::http::Extensions,
) -> Result<Option<Session>, crate::ApiError> {
    if let Some(given) = bearer(parts_headers) {
        let Some(expected) = state.operator_auth.usable_token() else {
            return Ok(None);
        };
        let src = crate::auth::source(extensions, parts_headers);
        crate::auth::check_throttle(state, &src).await?;
        if token_matches(&given, expected) {
            return Ok(Some(Session {
                who: "operator".into(),
                csrf: String::new(),
                bearer: true,
            }));
        }
        crate::auth::record_failure(state, &src, "dashboard bearer token").await?;
        return Ok(None);
    }
    match session_cookie(parts_headers) {
        Some(id) => Ok(lookup(state, &id).await?),
        None => Ok(None),
    }
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
        match session(state, &parts.headers, &parts.extensions).await {
            Ok(Some(s)) => Ok(Authed(s)),
            Ok(None) => {
                let mut res = Redirect::to(&login_url(&parts.uri)).into_response();
                *res.status_mut() = StatusCode::SEE_OTHER;
                Err(res)
            }
            Err(e) => Err(super::api_error_page(state, e).await),
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
    fn names_are_cleaned() {
        assert_eq!(clean_name("emma"), Some("emma".into()));
        assert_eq!(clean_name("<script>"), Some("script".into()));
        assert_eq!(clean_name("  "), None);
    }
}
