//! The brand-voice scorer port: how close a reply draft sounds to the replies an operator approved.
//!
//! * [`OfflineVoice`] (default): the word-bag cosine of `otto_core::stages::cs` — deterministic,
//!   no network.
//! * [`OpenAiEmbeddings`]: an OpenAI-compatible embeddings API.
//!   `POST {base_url}/v1/embeddings` (a `base_url` already ending in `/v1` is not doubled), bearer
//!   auth, body `{"model", "input": [approved…, drafts…]}` — one request per call. The answer's
//!   `data[i]` = `{"index", "embedding": [numbers]}`, in any order; every index must appear once
//!   and every vector must have the same, non-zero length. The centroid is the mean of the approved
//!   vectors; a draft's score is `round(cosine × 10 000)` clamped to 0..=10 000 (a zero vector
//!   scores 0). Texts that are empty after trimming are not sent (the API refuses empty input): an
//!   empty draft scores 0, an empty approved reply is left out of the centroid; with no approved
//!   reply at all every draft scores 0 and nothing is sent.
//! * Errors: 429, 5xx, timeouts and connection errors are retried with exponential backoff and
//!   jitter ([`LaneHttp`]), then `Transient`; 401/403 and other 4xx, a body that is not JSON, a
//!   missing or mistyped field, or a count/length mismatch → `Permanent` naming what was wrong.

use crate::lanes::dataforseo::LaneHttp;
use crate::ports::VendorError;
use crate::snippet;
use async_trait::async_trait;
use otto_core::stages::cs::{brand_voice_bp, centroid};
use serde_json::{json, Value};
use std::fmt;

#[async_trait]
pub trait VoiceScorer: Send + Sync {
    /// One score in basis points (0..=10_000) per draft: similarity to the centroid of the approved replies.
    async fn score(&self, approved: &[String], drafts: &[String]) -> Result<Vec<i64>, VendorError>;
    fn name(&self) -> &'static str;
}

/// The word-bag cosine of `otto_core::stages::cs` (the scorer the CS verdict uses by default).
#[derive(Debug, Clone, Copy, Default)]
pub struct OfflineVoice;

#[async_trait]
impl VoiceScorer for OfflineVoice {
    async fn score(&self, approved: &[String], drafts: &[String]) -> Result<Vec<i64>, VendorError> {
        let c = centroid(approved.iter().map(String::as_str));
        Ok(drafts.iter().map(|d| brand_voice_bp(d, &c)).collect())
    }

    fn name(&self) -> &'static str {
        "offline"
    }
}

const VENDOR: &str = "embeddings";

fn permanent(detail: impl Into<String>) -> VendorError {
    VendorError::permanent(VENDOR, detail)
}

/// An OpenAI-compatible embeddings endpoint.
pub struct OpenAiEmbeddings {
    /// `https://api.openai.com` (or any compatible server; tests: `http://127.0.0.1:port`).
    pub base_url: String,
    pub api_key: String,
    /// e.g. `text-embedding-3-small`.
    pub model: String,
    http: LaneHttp,
}

impl fmt::Debug for OpenAiEmbeddings {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OpenAiEmbeddings")
            .field("base_url", &self.base_url)
            .field("api_key", &"<redacted>")
            .field("model", &self.model)
            .finish_non_exhaustive()
    }
}

impl OpenAiEmbeddings {
    /// 60 s timeout, 3 retries, 1 s backoff base.
    pub fn new(
        base_url: impl Into<String>,
        api_key: impl Into<String>,
        model: impl Into<String>,
    ) -> Self {
        OpenAiEmbeddings {
            base_url: base_url.into(),
            api_key: api_key.into(),
            model: model.into(),
            http: LaneHttp::new(),
        }
    }

    /// Replaces the retrying HTTP helper (tests: fast backoff, recorded waits).
    pub fn with_http(mut self, http: LaneHttp) -> Self {
        self.http = http;
        self
    }

    fn url(&self) -> String {
        let base = self.base_url.trim().trim_end_matches('/');
        let base = base.strip_suffix("/v1").unwrap_or(base);
        format!("{base}/v1/embeddings")
    }

    /// One embedding per input, in input order.
    async fn embed(&self, input: &[&str]) -> Result<Vec<Vec<f64>>, VendorError> {
        let body = json!({ "model": self.model, "input": input });
        let url = self.url();
        let (status, text) = self
            .http
            .send(VENDOR, "embeddings", |c| {
                c.post(&url).bearer_auth(&self.api_key).json(&body)
            })
            .await?;
        parse_embeddings(status, &text, input.len())
    }
}

/// The response parser, public for fuzzing: an `/v1/embeddings` answer (HTTP status + body text)
/// for `inputs` inputs → one embedding per input, in input order (all of one non-zero dimension).
pub fn parse_embeddings(
    status: u16,
    text: &str,
    inputs: usize,
) -> Result<Vec<Vec<f64>>, VendorError> {
    let answer: Option<Value> = serde_json::from_str(text).ok();
    if !(200..300).contains(&status) {
        let message = answer
            .as_ref()
            .and_then(|a| a.pointer("/error/message"))
            .and_then(Value::as_str)
            .map(str::to_string)
            .unwrap_or_else(|| snippet(text));
        let what = if status == 401 || status == 403 {
            "authentication refused (check the embeddings API key)"
        } else {
            "request refused"
        };
        return Err(permanent(format!("HTTP {status}: {what}: {message}")));
    }
    let answer =
        answer.ok_or_else(|| permanent(format!("response is not JSON: {}", snippet(text))))?;
    let data = match answer.get("data") {
        Some(Value::Array(d)) => d,
        Some(_) => return Err(permanent("`data` is not a list")),
        None => return Err(permanent("response has no `data`")),
    };
    if data.len() != inputs {
        return Err(permanent(format!(
            "sent {} inputs but got {} embeddings",
            inputs,
            data.len()
        )));
    }
    let mut out: Vec<Option<Vec<f64>>> = vec![None; inputs];
    let mut dims: Option<usize> = None;
    for (i, item) in data.iter().enumerate() {
        let index = match item.get("index") {
            None | Some(Value::Null) => {
                return Err(permanent(format!("data[{i}]: missing `index`")))
            }
            Some(x) => x
                .as_u64()
                .and_then(|n| usize::try_from(n).ok())
                .ok_or_else(|| permanent(format!("data[{i}]: `index` is not an integer: {x}")))?,
        };
        let slot = out.get_mut(index).ok_or_else(|| {
            permanent(format!(
                "data[{i}]: `index` {index} is outside the {} inputs sent",
                inputs
            ))
        })?;
        if slot.is_some() {
            return Err(permanent(format!(
                "data[{i}]: `index` {index} appears twice"
            )));
        }
        let vector: Vec<f64> = match item.get("embedding") {
            Some(Value::Array(xs)) => xs
                .iter()
                .enumerate()
                .map(|(j, x)| {
                    x.as_f64().ok_or_else(|| {
                        permanent(format!("data[{i}]: `embedding[{j}]` is not a number: {x}"))
                    })
                })
                .collect::<Result<_, _>>()?,
            Some(_) => {
                return Err(permanent(format!(
                    "data[{i}]: `embedding` is not a list of numbers (base64 encoding is not supported)"
                )))
            }
            None => return Err(permanent(format!("data[{i}]: missing `embedding`"))),
        };
        match dims {
            _ if vector.is_empty() => {
                return Err(permanent(format!("data[{i}]: `embedding` is empty")))
            }
            Some(d) if d != vector.len() => {
                return Err(permanent(format!(
                    "data[{i}]: `embedding` has {} dimensions, earlier ones {d}",
                    vector.len()
                )))
            }
            _ => dims = Some(vector.len()),
        }
        *slot = Some(vector);
    }
    out.into_iter()
        .enumerate()
        .map(|(i, v)| v.ok_or_else(|| permanent(format!("no embedding for input {i}"))))
        .collect()
}

fn dot(a: &[f64], b: &[f64]) -> f64 {
    a.iter().zip(b).map(|(x, y)| x * y).sum()
}

/// Cosine similarity as basis points, rounded, clamped to 0..=10 000; 0 for a zero vector.
pub fn cosine_bp(a: &[f64], b: &[f64]) -> i64 {
    let denom = dot(a, a).sqrt() * dot(b, b).sqrt();
    if denom == 0.0 || !denom.is_finite() {
        return 0;
    }
    let bp = (dot(a, b) / denom * 10_000.0).round();
    if bp.is_nan() {
        return 0;
    }
    // A similarity score, not money: the float is only ever turned into whole basis points here.
    bp.clamp(0.0, 10_000.0) as i64
}

#[async_trait]
impl VoiceScorer for OpenAiEmbeddings {
    async fn score(&self, approved: &[String], drafts: &[String]) -> Result<Vec<i64>, VendorError> {
        let approved: Vec<&str> = approved
            .iter()
            .map(|s| s.trim())
            .filter(|s| !s.is_empty())
            .collect();
        let draft_slots: Vec<Option<usize>> = {
            let mut next = approved.len();
            drafts
                .iter()
                .map(|d| {
                    (!d.trim().is_empty()).then(|| {
                        next += 1;
                        next - 1
                    })
                })
                .collect()
        };
        if approved.is_empty() || draft_slots.iter().all(Option::is_none) {
            return Ok(vec![0; drafts.len()]);
        }
        let input: Vec<&str> = approved
            .iter()
            .copied()
            .chain(drafts.iter().map(|d| d.trim()).filter(|d| !d.is_empty()))
            .collect();
        let vectors = self.embed(&input).await?;
        let (approved_vecs, _) = vectors.split_at(approved.len());
        let dims = approved_vecs[0].len();
        let mut centroid = vec![0.0f64; dims];
        for v in approved_vecs {
            for (c, x) in centroid.iter_mut().zip(v) {
                *c += x;
            }
        }
        let n = approved_vecs.len() as f64;
        centroid.iter_mut().for_each(|c| *c /= n);
        Ok(draft_slots
            .iter()
            .map(|slot| slot.map_or(0, |i| cosine_bp(&centroid, &vectors[i])))
            .collect())
    }

    fn name(&self) -> &'static str {
        "openai"
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::shopify::Sleeper;
    use axum::extract::State;
    use axum::http::{HeaderMap, StatusCode, Uri};
    use axum::response::{IntoResponse, Response};
    use axum::Router;
    use std::collections::VecDeque;
    use std::sync::{Arc, Mutex};
    use std::time::Duration;

    #[derive(Default)]
    struct Shared {
        queue: Mutex<VecDeque<(u16, String)>>,
        seen: Mutex<Vec<(String, Option<String>, Value)>>,
    }

    async fn handle(
        State(s): State<Arc<Shared>>,
        uri: Uri,
        headers: HeaderMap,
        body: String,
    ) -> Response {
        s.seen.lock().unwrap().push((
            uri.path().to_string(),
            headers
                .get("authorization")
                .and_then(|v| v.to_str().ok())
                .map(str::to_string),
            serde_json::from_str(&body).unwrap_or(Value::Null),
        ));
        let (status, body) = s
            .queue
            .lock()
            .unwrap()
            .pop_front()
            .unwrap_or((418, "no canned response".into()));
        (
            StatusCode::from_u16(status).unwrap(),
            [("content-type", "application/json")],
            body,
        )
            .into_response()
    }

    async fn start(responses: Vec<(u16, Value)>) -> (String, Arc<Shared>) {
        let shared = Arc::new(Shared::default());
        shared.queue.lock().unwrap().extend(
            responses
                .into_iter()
                .map(|(status, body)| (status, body.to_string())),
        );
        let app = Router::new().fallback(handle).with_state(shared.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        (format!("http://{addr}"), shared)
    }

    fn scorer(base: &str) -> OpenAiEmbeddings {
        let sleeper: Sleeper = Arc::new(|_d: Duration| Box::pin(async {}));
        OpenAiEmbeddings::new(base, "sk-test", "text-embedding-3-small").with_http(
            LaneHttp::new()
                .with_sleeper(sleeper)
                .with_backoff_base(Duration::from_millis(1))
                .with_max_retries(2),
        )
    }

    fn strings(xs: &[&str]) -> Vec<String> {
        xs.iter().map(|s| s.to_string()).collect()
    }

    fn embeddings(vectors: &[(usize, Value)]) -> Value {
        let data: Vec<Value> = vectors
            .iter()
            .map(|(i, v)| json!({"object": "embedding", "index": i, "embedding": v}))
            .collect();
        json!({"object": "list", "data": data, "model": "text-embedding-3-small",
               "usage": {"prompt_tokens": 8, "total_tokens": 8}})
    }

    #[tokio::test]
    async fn offline_matches_the_core_scorer() {
        let approved = strings(&["Thank you so much for reaching out!", "Happy to help!"]);
        let drafts = strings(&["Thank you, happy to help!", "Order status: shipped.", ""]);
        let got = OfflineVoice.score(&approved, &drafts).await.unwrap();
        let c = centroid(approved.iter().map(String::as_str));
        let want: Vec<i64> = drafts.iter().map(|d| brand_voice_bp(d, &c)).collect();
        assert_eq!(got, want);
        assert!(got[0] > got[1]);
        assert_eq!(got[2], 0);
        assert_eq!(OfflineVoice.name(), "offline");
    }

    #[tokio::test]
    async fn embeddings_score_against_the_centroid() {
        // Approved [1,0,0] and [0,1,0] → centroid [0.5,0.5,0], |c| = √0.5.
        // [1,0,0]: 0.5/√0.5 = 0.70711 → 7071. [3,4,0]: 3.5/(5·√0.5) = 0.98995 → 9899 (9899.49).
        // [1,1,0]: 1 → 10000. [0,0,2]: 0 → 0. [-1,0,0]: −0.707 → clamped 0. The empty draft is not
        // sent and scores 0. Entries come back out of order.
        let (base, s) = start(vec![(
            200,
            embeddings(&[
                (6, json!([-1.0, 0.0, 0.0])),
                (0, json!([1, 0, 0])),
                (2, json!([1.0, 0.0, 0.0])),
                (1, json!([0.0, 1.0, 0.0])),
                (3, json!([3.0, 4.0, 0.0])),
                (4, json!([1.0, 1.0, 0.0])),
                (5, json!([0.0, 0.0, 2.0])),
            ]),
        )])
        .await;
        let approved = strings(&["A", "  ", "B"]);
        let drafts = strings(&["d1", "d2", "", "d3", "d4", "d5"]);
        let sc = scorer(&format!("{base}/v1/"));
        assert_eq!(sc.name(), "openai");
        let got = sc.score(&approved, &drafts).await.unwrap();
        assert_eq!(got, vec![7071, 9899, 0, 10_000, 0, 0]);
        let seen = s.seen.lock().unwrap().clone();
        assert_eq!(seen.len(), 1);
        assert_eq!(seen[0].0, "/v1/embeddings");
        assert_eq!(seen[0].1.as_deref(), Some("Bearer sk-test"));
        assert_eq!(
            seen[0].2,
            json!({"model": "text-embedding-3-small",
                   "input": ["A", "B", "d1", "d2", "d3", "d4", "d5"]})
        );
    }

    #[tokio::test]
    async fn nothing_to_compare_sends_nothing() {
        let (base, s) = start(vec![]).await;
        let sc = scorer(&base);
        assert_eq!(
            sc.score(&[], &strings(&["a", "b"])).await.unwrap(),
            vec![0, 0]
        );
        assert_eq!(
            sc.score(&strings(&["x"]), &strings(&[" "])).await.unwrap(),
            vec![0]
        );
        assert!(sc.score(&strings(&["x"]), &[]).await.unwrap().is_empty());
        assert!(s.seen.lock().unwrap().is_empty());
    }

    #[tokio::test]
    async fn malformed_answers_are_permanent_naming_the_field() {
        let cases = [
            (json!({"object": "list"}), "`data`"),
            (embeddings(&[(0, json!([1.0]))]), "sent 2 inputs but got 1"),
            (
                json!({"data": [{"index": 0, "embedding": [1.0]}, {"embedding": [1.0]}]}),
                "data[1]: missing `index`",
            ),
            (
                json!({"data": [{"index": 0, "embedding": [1.0]}, {"index": 1}]}),
                "data[1]: missing `embedding`",
            ),
            (
                embeddings(&[(0, json!([1.0, "x"])), (1, json!([1.0, 2.0]))]),
                "`embedding[1]` is not a number",
            ),
            (
                embeddings(&[(0, json!([1.0, 2.0])), (1, json!([1.0]))]),
                "dimensions",
            ),
            (
                embeddings(&[(0, json!([1.0])), (0, json!([1.0]))]),
                "appears twice",
            ),
            (
                embeddings(&[(0, json!([1.0])), (7, json!([1.0]))]),
                "outside",
            ),
        ];
        for (answer, needle) in cases {
            let (base, _) = start(vec![(200, answer)]).await;
            let err = scorer(&base)
                .score(&strings(&["a"]), &strings(&["b"]))
                .await
                .unwrap_err();
            assert!(!err.is_retryable(), "{err}");
            assert!(err.to_string().contains(needle), "{needle}: {err}");
        }
    }

    #[tokio::test]
    async fn auth_errors_are_permanent_and_overload_is_retried() {
        let (base, s) = start(vec![(
            401,
            json!({"error": {"message": "Incorrect API key provided", "type": "invalid_request_error"}}),
        )])
        .await;
        let err = scorer(&base)
            .score(&strings(&["a"]), &strings(&["b"]))
            .await
            .unwrap_err();
        assert!(!err.is_retryable());
        assert!(err.to_string().contains("Incorrect API key"), "{err}");
        assert_eq!(s.seen.lock().unwrap().len(), 1);

        let ok = embeddings(&[(0, json!([1.0, 0.0])), (1, json!([1.0, 0.0]))]);
        let (base, s) = start(vec![
            (429, json!({"error": {"message": "Rate limit reached"}})),
            (503, json!({"error": {"message": "overloaded"}})),
            (200, ok),
        ])
        .await;
        let got = scorer(&base)
            .score(&strings(&["a"]), &strings(&["b"]))
            .await
            .unwrap();
        assert_eq!(got, vec![10_000]);
        assert_eq!(s.seen.lock().unwrap().len(), 3);

        let (base, _) = start(vec![(500, json!({})), (500, json!({})), (500, json!({}))]).await;
        let err = scorer(&base)
            .score(&strings(&["a"]), &strings(&["b"]))
            .await
            .unwrap_err();
        assert!(err.is_retryable(), "{err}");
    }

    #[test]
    fn cosine_edges() {
        assert_eq!(cosine_bp(&[0.0, 0.0], &[1.0, 0.0]), 0);
        assert_eq!(cosine_bp(&[1.0, 0.0], &[2.0, 0.0]), 10_000);
        assert_eq!(cosine_bp(&[1.0, 0.0], &[-1.0, 0.0]), 0);
        assert_eq!(cosine_bp(&[1.0, 1.0], &[1.0, 0.0]), 7071);
    }
}
