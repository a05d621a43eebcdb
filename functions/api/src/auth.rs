//! Operator authentication for the operator routes (`/chat`, `/rows`, `/holds`, `/kill-switch`,
//! `/candidates`), and the throttle on failed credentials.
//!
//! * `otto serve` and any host with `OTTO_OPERATOR_TOKEN`: `Authorization: Bearer <token>`,
//!   compared in constant time; the operator is `operator`. On `GET`/`HEAD` a dashboard session
//!   cookie is accepted too ([`crate::dashboard::session`]: a random id looked up server-side,
//!   never the token), and the operator is the session's name.
//! * The API Gateway Lambda without a token: the HTTP API's JWT authorizer has already verified
//!   the caller; the handler only accepts requests that carry the authorizer's claims in their
//!   request context (so a route accidentally left without the authorizer is refused, not open).
//!   The operator's name is the JWT's `email`, `username` or `sub` claim.
//! * A token shorter than [`MIN_TOKEN_BYTES`] is never accepted (the host refuses to start with
//!   one; a state built with one keeps the routes closed).
//! * Throttle: every wrong operator token (bearer or dashboard login) and every wrong
//!   `X-Worker-Token` is counted per source address in a [`FAIL_WINDOW_S`] window through the
//!   `Counters` port (so the count is shared by every Lambda instance); from the
//!   [`FAIL_LIMIT`]th on, the source gets 429 with `Retry-After` until the window ends — before
//!   its credential is even compared.

use crate::{ApiError, AppState};
use axum::extract::{ConnectInfo, Request, State};
use axum::http::request::Parts;
use axum::http::{Extensions, HeaderMap, StatusCode};
use axum::middleware::Next;
use axum::response::Response;
use otto_store::CounterAdd;
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use subtle::ConstantTimeEq;

pub use otto_runtime::config::MIN_TOKEN_BYTES;

/// Length of a throttle window, in seconds.
pub const FAIL_WINDOW_S: i64 = 60;
/// Failed credentials a source may present per window; the next attempt is refused with 429.
pub const FAIL_LIMIT: i64 = 10;

#[derive(Debug, Clone, Default)]
pub struct OperatorAuth {
    /// A shared bearer token (`OTTO_OPERATOR_TOKEN`); also what the dashboard's login form
    /// takes (the session cookie it sets is a random id, not this token).
    pub token: Option<String>,
    /// Accept requests carrying the API Gateway JWT authorizer's verified claims (the Lambda
    /// host only: `otto serve` never sees such a context).
    pub gateway_jwt: bool,
}

impl OperatorAuth {
    /// The configured token, if it is long enough to be one.
    pub fn usable_token(&self) -> Option<&str> {
        match self.token.as_deref() {
            Some(t) if t.len() >= MIN_TOKEN_BYTES => Some(t),
            Some(_) => {
                tracing::error!(
                    "OTTO_OPERATOR_TOKEN is shorter than {MIN_TOKEN_BYTES} bytes: operator token auth is closed"
                );
                None
            }
            None => None,
        }
    }
}

/// Who is calling, for audit notes ("released by …").
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Operator(pub String);

pub fn bearer(headers: &HeaderMap) -> Option<&str> {
    let v = headers.get("authorization")?.to_str().ok()?;
    let (scheme, token) = v.split_once(' ')?;
    scheme
        .eq_ignore_ascii_case("bearer")
        .then_some(token.trim())
}

/// The dashboard's session cookie (`otto_session=<session id>`).
pub fn session_cookie(headers: &HeaderMap) -> Option<String> {
    headers
        .get_all("cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|kv| kv.trim().split_once('='))
        .find(|(k, _)| *k == "otto_session")
        .map(|(_, v)| v.to_string())
}

pub fn token_matches(given: &str, expected: &str) -> bool {
    bool::from(given.as_bytes().ct_eq(expected.as_bytes()))
}

// ---------------------------------------------------------------------------------------------
// Where a request comes from

/// The address a request comes from, as far as it can be trusted:
/// * in the Lambda, the API Gateway request context's `sourceIp` (set by API Gateway from the
///   TCP connection; a client's `X-Forwarded-For` is not used);
/// * under `otto serve`, the peer address of the connection — and, only when that peer is a
///   loopback address (a reverse proxy on the same host), the **last** `X-Forwarded-For` entry,
///   the one the proxy itself appended (entries before it are whatever the client sent);
/// * `unknown` otherwise (one shared bucket).
///
/// IPv6 addresses are cut to their /64, which one client typically holds whole.
pub fn source(extensions: &Extensions, headers: &HeaderMap) -> String {
    if let Some(lambda_http::request::RequestContext::ApiGatewayV2(ctx)) =
        extensions.get::<lambda_http::request::RequestContext>()
    {
        if let Some(ip) = ctx.http.source_ip.as_deref() {
            return match ip.parse::<IpAddr>() {
                Ok(ip) => bucket(ip),
                Err(_) => "unknown".into(),
            };
        }
    }
    if let Some(ConnectInfo(peer)) = extensions.get::<ConnectInfo<SocketAddr>>() {
        let peer = peer.ip();
        if peer.is_loopback() {
            let forwarded = headers
                .get_all("x-forwarded-for")
                .iter()
                .filter_map(|v| v.to_str().ok())
                .flat_map(|v| v.split(','))
                .last()
                .and_then(|v| v.trim().parse::<IpAddr>().ok());
            if let Some(ip) = forwarded {
                return bucket(ip);
            }
        }
        return bucket(peer);
    }
    "unknown".into()
}

fn bucket(ip: IpAddr) -> String {
    match ip {
        IpAddr::V4(v4) => v4.to_string(),
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => v4.to_string(),
            None => {
                let s = v6.segments();
                format!("{:x}:{:x}:{:x}:{:x}::/64", s[0], s[1], s[2], s[3])
            }
        },
    }
}

// ---------------------------------------------------------------------------------------------
// The throttle

fn window(now_s: i64) -> (String, i64) {
    let start = now_s - now_s.rem_euclid(FAIL_WINDOW_S);
    (start.to_string(), start + FAIL_WINDOW_S)
}

fn counter_name(state: &AppState, source: &str, now_s: i64) -> (String, i64) {
    let (w, end) = window(now_s);
    (format!("authfail#{}#{source}#{w}", state.store_id), end)
}

fn retry_after(end: i64, now_s: i64) -> u64 {
    (end - now_s).max(1) as u64
}

/// Refuses (429) a source that has used up its failures for this window — called before a
/// credential is compared, so a throttled source learns nothing about its guesses.
pub async fn check_throttle(state: &AppState, source: &str) -> Result<(), ApiError> {
    let now = otto_core::clock::now().timestamp();
    let (name, end) = counter_name(state, source, now);
    if state.ports.counters.value(&name).await? >= FAIL_LIMIT {
        tracing::warn!(source, "throttled: too many failed credentials");
        return Err(ApiError::throttled(retry_after(end, now)));
    }
    Ok(())
}

/// Counts one failed credential of `what` from `source`; 429 once the window's limit is reached.
pub async fn record_failure(state: &AppState, source: &str, what: &str) -> Result<(), ApiError> {
    let now = otto_core::clock::now().timestamp();
    let (name, end) = counter_name(state, source, now);
    let out = state
        .ports
        .counters
        .add(&name, 1, Some(FAIL_LIMIT), None, Some(end + FAIL_WINDOW_S))
        .await?;
    tracing::warn!(source, what, "failed credential");
    match out {
        CounterAdd::LimitReached(_) => {
            tracing::warn!(source, what, "throttled: too many failed credentials");
            Err(ApiError::throttled(retry_after(end, now)))
        }
        _ => Ok(()),
    }
}

// ---------------------------------------------------------------------------------------------
// Operators

fn jwt_operator(req: &Parts) -> Option<String> {
    use lambda_http::request::RequestContext;
    let ctx = req.extensions.get::<RequestContext>()?;
    let RequestContext::ApiGatewayV2(ctx) = ctx else {
        return None;
    };
    let jwt = ctx.authorizer.as_ref()?.jwt.as_ref()?;
    ["email", "username", "cognito:username", "sub"]
        .iter()
        .find_map(|k| jwt.claims.get(*k).cloned())
}

/// Identifies the operator, or refuses with 401 (429 for a throttled source).
pub async fn operator(state: &AppState, req: &Parts) -> Result<Operator, ApiError> {
    let unauthorized = |m: &str| ApiError::new(StatusCode::UNAUTHORIZED, "unauthorized", m);
    let auth = &state.operator_auth;
    if auth.gateway_jwt {
        if let Some(who) = jwt_operator(req) {
            return Ok(Operator(who));
        }
    }
    let Some(expected) = auth.usable_token() else {
        return Err(unauthorized(if auth.gateway_jwt {
            "no verified JWT claims on this request"
        } else {
            "no usable operator token is configured (OTTO_OPERATOR_TOKEN, at least 32 bytes): operator routes are closed"
        }));
    };
    if let Some(given) = bearer(&req.headers) {
        let src = source(&req.extensions, &req.headers);
        check_throttle(state, &src).await?;
        if token_matches(given, expected) {
            return Ok(Operator("operator".into()));
        }
        record_failure(state, &src, "operator bearer token").await?;
        return Err(unauthorized("wrong operator token"));
    }
    // The dashboard's session cookie is accepted on reads only: a state-changing JSON call must
    // carry the bearer header, which no other page (same-site or not) can make a browser send.
    if matches!(req.method.as_str(), "GET" | "HEAD") {
        if let Some(id) = session_cookie(&req.headers) {
            return match crate::dashboard::session::lookup(state, &id).await? {
                Some(s) => Ok(Operator(s.who)),
                None => Err(unauthorized(
                    "the dashboard session is expired or logged out: log in again",
                )),
            };
        }
    }
    Err(unauthorized(
        "missing operator token: send Authorization: Bearer <OTTO_OPERATOR_TOKEN>",
    ))
}

/// Middleware for the operator routes: 401 unless authenticated; the [`Operator`] is put in the
/// request's extensions for the handlers.
pub async fn require_operator(
    State(state): State<Arc<AppState>>,
    req: Request,
    next: Next,
) -> Result<Response, ApiError> {
    let (mut parts, body) = req.into_parts();
    let op = operator(&state, &parts).await?;
    parts.extensions.insert(op);
    Ok(next.run(Request::from_parts(parts, body)).await)
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// Waits out the last seconds of a throttle window, so a test's attempts fall in one.
    pub(crate) async fn away_from_a_window_edge() {
        let into = otto_core::clock::now()
            .timestamp()
            .rem_euclid(FAIL_WINDOW_S);
        if into > FAIL_WINDOW_S - 10 {
            tokio::time::sleep(std::time::Duration::from_secs(
                (FAIL_WINDOW_S - into + 1) as u64,
            ))
            .await;
        }
    }

    #[test]
    fn sources_trust_only_what_they_should() {
        let mut ext = Extensions::new();
        let mut h = HeaderMap::new();
        h.insert("x-forwarded-for", "1.2.3.4".parse().unwrap());
        assert_eq!(
            source(&ext, &h),
            "unknown",
            "no peer, no gateway: one bucket"
        );
        ext.insert(ConnectInfo::<SocketAddr>(
            "203.0.113.9:5555".parse().unwrap(),
        ));
        assert_eq!(
            source(&ext, &h),
            "203.0.113.9",
            "a remote peer's X-Forwarded-For is ignored"
        );
        let mut local = Extensions::new();
        local.insert(ConnectInfo::<SocketAddr>("127.0.0.1:5555".parse().unwrap()));
        h.insert("x-forwarded-for", "6.6.6.6, 198.51.100.7".parse().unwrap());
        assert_eq!(
            source(&local, &h),
            "198.51.100.7",
            "behind a local proxy: the entry the proxy appended"
        );
        assert_eq!(source(&local, &HeaderMap::new()), "127.0.0.1");
        let mut v6 = Extensions::new();
        v6.insert(ConnectInfo::<SocketAddr>(
            "[2001:db8:1:2:3:4:5:6]:443".parse().unwrap(),
        ));
        assert_eq!(source(&v6, &HeaderMap::new()), "2001:db8:1:2::/64");
    }

    #[test]
    fn windows_are_fixed_and_retry_after_points_at_their_end() {
        assert_eq!(window(120), ("120".into(), 180));
        assert_eq!(window(179), ("120".into(), 180));
        assert_eq!(retry_after(180, 179), 1);
        assert_eq!(retry_after(180, 120), 60);
    }
}
