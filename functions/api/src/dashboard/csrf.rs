//! The dashboard's POST bodies, CSRF-checked before a handler runs.
//!
//! Every state-changing dashboard route takes its form through one of these extractors, so a
//! handler never sees a form whose `csrf` field did not match the session (see [`super::session`]
//! for how the token is bound to it): a new POST handler cannot forget the check, because the form
//! is not there to read without it.
//!
//! * [`CsrfForm`]: the request's session (cookie or bearer script, as [`Authed`]) and its checked
//!   form. No session: the login redirect of [`Authed`].
//! * [`SessionEnd`]: logout's — the cookie's live session with its checked form, or none at all
//!   (logging out without a live session just clears the cookies).
//!
//! A refusal is the dashboard's 403 page with [`refused`], before anything happens.

use super::html::Form;
use super::session::{self, Authed, Session};
use super::{error_page, store_error_page};
use crate::auth::{session_cookie, token_matches};
use crate::AppState;
use axum::body::Bytes;
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use std::sync::Arc;

/// What a refused form is told.
pub fn refused() -> &'static str {
    "This form's security token is missing or stale (CSRF check). Reload the page and try again."
}

/// A POST's session and its form, whose `csrf` field was this session's token.
pub struct CsrfForm {
    pub session: Session,
    pub form: Form,
}

impl FromRequest<Arc<AppState>> for CsrfForm {
    type Rejection = Response;
    async fn from_request(req: Request, state: &Arc<AppState>) -> Result<Self, Response> {
        let (mut parts, body) = req.into_parts();
        let Authed(session) = Authed::from_request_parts(&mut parts, state).await?;
        let form = body_form(Request::from_parts(parts, body), state).await?;
        checked(state, session, form).await
    }
}

/// `POST /dashboard/logout`'s body: the cookie's id and live session with a checked form, or
/// `None` when the request carries no live session cookie.
pub struct SessionEnd(pub Option<(String, CsrfForm)>);

impl FromRequest<Arc<AppState>> for SessionEnd {
    type Rejection = Response;
    async fn from_request(req: Request, state: &Arc<AppState>) -> Result<Self, Response> {
        let Some(id) = session_cookie(req.headers()) else {
            return Ok(SessionEnd(None));
        };
        let session = match session::lookup(state, &id).await {
            Ok(Some(s)) => s,
            Ok(None) => return Ok(SessionEnd(None)),
            Err(e) => return Err(store_error_page(state, None, e).await),
        };
        let form = body_form(req, state).await?;
        Ok(SessionEnd(Some((id, checked(state, session, form).await?))))
    }
}

/// The urlencoded body (a body the server will not read is refused as axum refuses it).
async fn body_form(req: Request, state: &Arc<AppState>) -> Result<Form, Response> {
    let body = Bytes::from_request(req, state)
        .await
        .map_err(IntoResponse::into_response)?;
    Ok(Form::parse(&body))
}

async fn checked(state: &AppState, session: Session, form: Form) -> Result<CsrfForm, Response> {
    if csrf_ok(&session, &form) {
        return Ok(CsrfForm { session, form });
    }
    Err(error_page(state, Some(&session), StatusCode::FORBIDDEN, refused()).await)
}

/// True when the form's `csrf` field is this session's token (constant-time); a bearer-token
/// script needs none.
fn csrf_ok(s: &Session, form: &Form) -> bool {
    s.bearer
        || (!s.csrf.is_empty()
            && form
                .get("csrf")
                .is_some_and(|given| token_matches(given, &s.csrf)))
}
