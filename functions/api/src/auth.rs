//! Operator authentication for the operator routes (`/chat`, `/rows`, `/holds`, `/kill-switch`,
//! `/candidates`).
//!
//! * `otto serve` and any host with `OTTO_OPERATOR_TOKEN`: `Authorization: Bearer <token>`,
//!   compared in constant time.
//! * The API Gateway Lambda without a token: the HTTP API's JWT authorizer has already verified
//!   the caller; the handler only accepts requests that carry the authorizer's claims in their
//!   request context (so a route accidentally left without the authorizer is refused, not open).
//!   The operator's name is the JWT's `email`, `username` or `sub` claim.

use crate::{ApiError, AppState};
use axum::extract::{Request, State};
use axum::http::{HeaderMap, StatusCode};
use axum::middleware::Next;
use axum::response::Response;
use std::sync::Arc;
use subtle::ConstantTimeEq;

#[derive(Debug, Clone, Default)]
pub struct OperatorAuth {
    /// A shared bearer token (`OTTO_OPERATOR_TOKEN`), also accepted as the dashboard's session
    /// cookie.
    pub token: Option<String>,
    /// Accept requests carrying the API Gateway JWT authorizer's verified claims (the Lambda
    /// host only: `otto serve` never sees such a context).
    pub gateway_jwt: bool,
}

/// Who is calling, for audit notes ("released by …").
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Operator(pub String);

fn bearer(headers: &HeaderMap) -> Option<&str> {
    let v = headers.get("authorization")?.to_str().ok()?;
    let (scheme, token) = v.split_once(' ')?;
    scheme
        .eq_ignore_ascii_case("bearer")
        .then_some(token.trim())
}

/// A session cookie (`otto_session=<token>`) as the dashboard's login form sets it.
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

fn jwt_operator(req: &Request) -> Option<String> {
    use lambda_http::request::RequestContext;
    let ctx = req.extensions().get::<RequestContext>()?;
    let RequestContext::ApiGatewayV2(ctx) = ctx else {
        return None;
    };
    let jwt = ctx.authorizer.as_ref()?.jwt.as_ref()?;
    ["email", "username", "cognito:username", "sub"]
        .iter()
        .find_map(|k| jwt.claims.get(*k).cloned())
}

/// Identifies the operator, or refuses with 401.
pub fn operator(state: &AppState, req: &Request) -> Result<Operator, ApiError> {
    let unauthorized = |m: &str| ApiError::new(StatusCode::UNAUTHORIZED, "unauthorized", m);
    let auth = &state.operator_auth;
    if auth.gateway_jwt {
        if let Some(who) = jwt_operator(req) {
            return Ok(Operator(who));
        }
    }
    let Some(expected) = &auth.token else {
        return Err(unauthorized(if auth.gateway_jwt {
            "no verified JWT claims on this request"
        } else {
            "no operator token is configured (OTTO_OPERATOR_TOKEN): operator routes are closed"
        }));
    };
    // The dashboard's session cookie is accepted on reads only: a state-changing JSON call must
    // carry the bearer header, which no other page (same-site or not) can make a browser send.
    let safe = matches!(req.method().as_str(), "GET" | "HEAD");
    let given = bearer(req.headers())
        .map(str::to_string)
        .or_else(|| safe.then(|| session_cookie(req.headers())).flatten());
    match given {
        Some(g) if token_matches(&g, expected) => Ok(Operator("operator".into())),
        Some(_) => Err(unauthorized("wrong operator token")),
        None => Err(unauthorized(
            "missing operator token: send Authorization: Bearer <OTTO_OPERATOR_TOKEN>",
        )),
    }
}

/// Middleware for the operator routes: 401 unless authenticated; the [`Operator`] is put in the
/// request's extensions for the handlers.
pub async fn require_operator(
    State(state): State<Arc<AppState>>,
    mut req: Request,
    next: Next,
) -> Result<Response, ApiError> {
    let op = operator(&state, &req)?;
    req.extensions_mut().insert(op);
    Ok(next.run(req).await)
}
