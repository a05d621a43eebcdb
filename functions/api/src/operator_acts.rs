//! The operator's undo, review-then-apply and policy routes — each one call of the use-case the
//! CLI, the dashboard and Slack share. Behind [`crate::auth::require_operator`] like every
//! operator route (a POST needs the bearer token: the dashboard's cookie is for GETs and its own
//! CSRF-checked forms), and an `Idempotency-Key` makes a repeated request answer as the first.

use crate::auth::Operator;
use crate::jobs::keyed;
use crate::operator::json_body;
use crate::{ApiError, AppState};
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::{Extension, Json};
use otto_core::audit::Surface;
use otto_core::cycle::CycleId;
use otto_engine::executor::At;
use otto_engine::review::ApplyError;
use otto_engine::undo::{Actor, RevertError};
use otto_runtime::HandlerError;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use std::future::Future;
use std::sync::Arc;

/// A use case that failed in the executor: 503 when a retry may succeed, else 422 `code`.
fn failed(h: &HandlerError, code: &'static str) -> (StatusCode, &'static str) {
    if h.is_retryable() {
        (StatusCode::SERVICE_UNAVAILABLE, "unavailable")
    } else {
        (StatusCode::UNPROCESSABLE_ENTITY, code)
    }
}

impl From<RevertError> for ApiError {
    fn from(e: RevertError) -> Self {
        let (status, code) = match &e {
            RevertError::NotFound(_) => (StatusCode::NOT_FOUND, "not_found"),
            RevertError::NotRevertible(..) => (StatusCode::CONFLICT, "not_revertible"),
            RevertError::Failed(h) => failed(h, "revert_failed"),
        };
        ApiError::new(status, code, e.to_string())
    }
}

impl From<ApplyError> for ApiError {
    fn from(e: ApplyError) -> Self {
        let (status, code) = match &e {
            ApplyError::NotFound(_) => (StatusCode::NOT_FOUND, "not_found"),
            ApplyError::OtherDay { .. } => (StatusCode::CONFLICT, "other_day"),
            ApplyError::NotDryRun(_) => (StatusCode::CONFLICT, "not_dry_run"),
            ApplyError::NotFinished(..) => (StatusCode::CONFLICT, "not_finished"),
            ApplyError::Failed(h) => failed(h, "apply_failed"),
        };
        ApiError::new(status, code, e.to_string())
    }
}

/// One operator act behind an `Idempotency-Key` (scope `ops`, keyed on `path` and the body):
/// `act` gets the state, the acting operator (the authenticated identity, from the API) and the
/// instant on the store's clock, and its answer is the response's JSON.
async fn keyed_act<T, E, F, Fut>(
    state: Arc<AppState>,
    op: Operator,
    path: &str,
    headers: &HeaderMap,
    body: &Bytes,
    act: F,
) -> Result<(StatusCode, Json<Value>), ApiError>
where
    T: Serialize,
    ApiError: From<E>,
    F: FnOnce(Arc<AppState>, Actor, At) -> Fut,
    Fut: Future<Output = Result<T, E>>,
{
    let st = state.clone();
    keyed(
        &state,
        headers,
        "ops",
        path,
        body,
        StatusCode::OK,
        move || async move {
            let at = At::new(otto_core::clock::now(), st.clock);
            let actor = Actor {
                by: op.0,
                surface: Surface::Api,
            };
            let out = act(st, actor, at).await?;
            Ok(serde_json::to_value(out).unwrap_or(Value::Null))
        },
    )
    .await
}

/// `POST /rows/{table}/{id}/revert`: the undo row, `reverted_now: false` on a repeat.
pub async fn revert_row(
    State(state): State<Arc<AppState>>,
    Extension(op): Extension<Operator>,
    Path((table, id)): Path<(String, String)>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    let r = crate::operator::parse_ref(&table, &id)?;
    let path = format!("/rows/{table}/{id}/revert");
    keyed_act(
        state,
        op,
        &path,
        &headers,
        &body,
        move |st, actor, at| async move {
            otto_engine::undo::revert(&st.ports, &st.executors, &st.store_id, r, &actor, at).await
        },
    )
    .await
}

/// `POST /cycles/{id}/apply`: the dry run's moves applied after review, with the report.
pub async fn apply_cycle(
    State(state): State<Arc<AppState>>,
    Extension(op): Extension<Operator>,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    let cycle = CycleId::parse(&id)
        .map_err(|e| ApiError::new(StatusCode::BAD_REQUEST, "invalid", e.to_string()))?;
    let path = format!("/cycles/{id}/apply");
    keyed_act(
        state,
        op,
        &path,
        &headers,
        &body,
        move |st, actor, at| async move {
            let (ports, exec, store) = (&st.ports, &st.executors, &st.store_id);
            otto_engine::review::apply_cycle(ports, exec, store, &cycle, &actor, at).await
        },
    )
    .await
}

/// `GET /policy`: every limit with its value, default and unit.
pub async fn get_policy(State(state): State<Arc<AppState>>) -> Result<Json<Value>, ApiError> {
    let limits =
        otto_store::policy_settings::show(state.ports.settings.as_ref(), &state.store_id).await?;
    Ok(Json(json!({ "limits": limits })))
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct SetRequest {
    /// As a person types it: "12.5%", "14", "on" … (a JSON number is taken as written).
    value: Option<Value>,
}

/// `PUT /policy/{name} {"value": …}`: one limit changed, recorded as an operator_log row.
pub async fn put_policy(
    State(state): State<Arc<AppState>>,
    Extension(op): Extension<Operator>,
    Path(name): Path<String>,
    body: Bytes,
) -> Result<Json<Value>, ApiError> {
    let req: SetRequest = json_body(&body, false)?;
    let value = match req.value {
        Some(Value::String(s)) => s,
        Some(v @ (Value::Number(_) | Value::Bool(_) | Value::Array(_) | Value::Object(_))) => {
            v.to_string()
        }
        _ => {
            return Err(ApiError::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "invalid",
                "`value` is required, e.g. {\"value\": \"12.5%\"}",
            ))
        }
    };
    let now = otto_core::clock::now();
    let change = otto_store::policy_settings::Change {
        name,
        value,
        by: op.0,
        surface: Surface::Api,
    };
    let out = otto_store::policy_settings::set(
        state.ports.audit.as_ref(),
        state.ports.settings.as_ref(),
        &state.store_id,
        state.clock.day_of(now),
        change,
        now,
    )
    .await
    .map_err(|e| match e {
        otto_store::StoreError::Invalid(m) => {
            ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, "invalid", m)
        }
        e => e.into(),
    })?;
    Ok(Json(serde_json::to_value(out).unwrap_or(Value::Null)))
}

#[cfg(test)]
mod tests {
    use crate::router;
    use crate::tests::{test_state, OP_TOKEN};
    use axum::body::Body;
    use axum::http::{Request, StatusCode};
    use axum::Router;
    use http_body_util::BodyExt;
    use otto_core::audit::{DecisionRow, NewRow, ReversalOp, RowBody, RowRef};
    use otto_core::cycle::{CycleId, Stage};
    use otto_core::metrics::ProductStatus;
    use otto_core::{Action, Move, RowStatus, Sku};
    use otto_store::embedded::{EmbeddedQueue, EmbeddedStore};
    use otto_store::Ports;
    use serde_json::Value;
    use std::sync::Arc;
    use tower::ServiceExt;

    fn ports(dir: &tempfile::TempDir) -> Ports {
        let store = EmbeddedStore::open(dir.path()).unwrap();
        let queue = Arc::new(EmbeddedQueue::new(store.clone(), 5));
        Ports::from_adapter(Arc::new(store), queue)
    }

    async fn send(
        app: &Router,
        method: &str,
        uri: &str,
        key: Option<&str>,
        body: &str,
    ) -> (StatusCode, Value) {
        let mut req = Request::builder()
            .method(method)
            .uri(uri)
            .header("authorization", format!("Bearer {OP_TOKEN}"));
        if let Some(k) = key {
            req = req.header("idempotency-key", k);
        }
        let res = app
            .clone()
            .oneshot(req.body(Body::from(body.to_string())).unwrap())
            .await
            .unwrap();
        let status = res.status();
        let bytes = res.into_body().collect().await.unwrap().to_bytes();
        (
            status,
            serde_json::from_slice(&bytes).unwrap_or(Value::Null),
        )
    }

    /// An APPLIED DRAFT with its stored reversal op, in today's morning cycle.
    async fn applied_draft(ports: &Ports) -> RowRef {
        let sku = Sku::new("SKU-1").unwrap();
        let day = test_state(ports.clone())
            .clock
            .day_of(otto_core::clock::now());
        let row = NewRow::for_stage(
            CycleId::parse(&format!("brevard:morning:{day}")).unwrap(),
            Stage::Decide,
            RowStatus::Applied,
            otto_core::clock::now(),
            RowBody::Decision(DecisionRow {
                sku: sku.clone(),
                action: Action::Draft,
                trigger: None,
                classification: None,
                reasoning: "t".into(),
                figures: Default::default(),
                window: None,
                r#move: Some(Move::ProductStatus {
                    sku,
                    to: ProductStatus::Draft,
                }),
                reversal_op: Some(ReversalOp::ProductStatus {
                    product_id: "p1".into(),
                    status: "ACTIVE".into(),
                }),
                hold_reason: None,
                result: None,
            }),
        );
        ports.audit.append(vec![row], None).await.unwrap()[0].row_ref
    }

    #[tokio::test]
    async fn revert_is_one_undo_row_and_honours_idempotency_keys() {
        let dir = tempfile::tempdir().unwrap();
        let ports = ports(&dir);
        let r = applied_draft(&ports).await;
        let app = router(test_state(ports.clone()));
        let uri = format!("/rows/decision_log/{}/revert", r.seq);
        let (s, first) = send(&app, "POST", &uri, Some("k1"), "").await;
        assert_eq!(s, StatusCode::OK, "{first}");
        assert_eq!(first["reverted_now"], true);
        assert_eq!(first["reverts"], r.to_string());
        assert_eq!(first["row"]["body"]["action"], "REVERT");
        assert_eq!(first["row"]["body"]["figures"]["asked"]["by"], "operator");
        assert_eq!(first["row"]["body"]["figures"]["asked"]["surface"], "api");
        let (_, replay) = send(&app, "POST", &uri, Some("k1"), "").await;
        assert_eq!(replay, first, "same key: the stored answer");
        let (_, again) = send(&app, "POST", &uri, None, "").await;
        assert_eq!(again["reverted_now"], false, "{again}");
        assert_eq!(
            again["row"]["ref"], first["row"]["ref"],
            "the first undo row"
        );
        let (s, v) = send(&app, "POST", "/rows/decision_log/999/revert", None, "").await;
        assert_eq!(s, StatusCode::NOT_FOUND, "{v}");
        let (s, v) = send(&app, "POST", "/rows/cycle_runs/1/revert", None, "").await;
        assert_eq!(s, StatusCode::CONFLICT, "{v}");
        assert_eq!(v["error"]["code"], "not_revertible");
        let res = app
            .oneshot(Request::post(&uri).body(Body::empty()).unwrap())
            .await
            .unwrap();
        assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
    }

    #[tokio::test]
    async fn cycle_apply_refuses_what_it_cannot_apply() {
        let dir = tempfile::tempdir().unwrap();
        let app = router(test_state(ports(&dir)));
        let (s, v) = send(
            &app,
            "POST",
            "/cycles/brevard:morning:2026-11-24/apply",
            None,
            "",
        )
        .await;
        assert_eq!(s, StatusCode::NOT_FOUND, "{v}");
        assert!(v["error"]["message"]
            .as_str()
            .unwrap()
            .contains("has not run"));
        let (s, v) = send(
            &app,
            "POST",
            "/cycles/brevard:lunch:2026-11-24/apply",
            None,
            "",
        )
        .await;
        assert_eq!(s, StatusCode::BAD_REQUEST, "{v}");
    }

    #[tokio::test]
    async fn policy_is_read_and_set_one_limit_at_a_time() {
        let dir = tempfile::tempdir().unwrap();
        let ports = ports(&dir);
        let app = router(test_state(ports.clone()));
        let (s, v) = send(&app, "GET", "/policy", None, "").await;
        assert_eq!(s, StatusCode::OK);
        let limits = v["limits"].as_array().unwrap();
        let pct = limits
            .iter()
            .find(|l| l["name"] == "discount_percent_bp")
            .unwrap();
        assert_eq!(
            (pct["shown"].as_str(), pct["unit"].as_str()),
            (Some("15%"), Some("percent"))
        );
        let (s, v) = send(
            &app,
            "PUT",
            "/policy/discount_window_days",
            None,
            r#"{"value":"three"}"#,
        )
        .await;
        assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{v}");
        assert!(v["error"]["message"]
            .as_str()
            .unwrap()
            .contains("discount_window_days"));
        let (s, v) = send(
            &app,
            "PUT",
            "/policy/discount_window_days",
            None,
            r#"{"value":21}"#,
        )
        .await;
        assert_eq!(s, StatusCode::OK, "{v}");
        assert_eq!(v["limit"]["shown"], "21 days");
        let r = RowRef::parse(v["row"].as_str().unwrap()).unwrap();
        let row = ports.audit.get(r).await.unwrap().unwrap();
        let RowBody::Operator(o) = &row.body else {
            panic!("operator row")
        };
        assert_eq!(
            (o.by.as_str(), o.surface),
            ("operator", otto_core::audit::Surface::Api)
        );
        let (s, _) = send(&app, "PUT", "/policy/warp_factor", None, r#"{"value":9}"#).await;
        assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    }
}
