//! The answer engine: intent → typed queries over the audit plane (indexed access paths only:
//! by ref, by natural key, by day + action, by status, by subject, the catalog's budget and
//! window lists) → an answer rendered only from the returned rows → the citation guard.

use crate::guard::Support;
use crate::question::{parse, Days, Intent, MAX_QUESTION_CHARS};
use chrono::{DateTime, Utc};
use otto_core::audit::{AuditRow, AuditTable, RowBody, RowRef};
use otto_core::cycle::CycleKind;
use otto_core::{RowStatus, StoreClock, StoreDay, StoreId};
use otto_store::{PageReq, Ports, StoreError};
use serde::Serialize;
use serde_json::Value;
use std::sync::atomic::{AtomicU32, Ordering};

/// The answer when no row supports one.
pub const NO_ROW: &str = "I don't have a row for that.";

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Citation {
    #[serde(rename = "ref")]
    pub row_ref: String,
    pub url: String,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Answer {
    pub answer: String,
    pub citations: Vec<Citation>,
    /// What the question was taken to ask.
    pub intent: &'static str,
    /// False when the answer is "I don't have a row for that." (possibly with nearest rows).
    pub grounded: bool,
    /// Held rows in the answer that an operator may release.
    pub releasable: Vec<String>,
    /// Audit-plane / catalog queries the answer took.
    pub queries: u32,
    /// True when the optional LLM's wording (checked by the guard) replaced the text.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub worded_by_llm: bool,
}

#[derive(Debug, thiserror::Error)]
pub enum AnswerError {
    #[error("question: {0}")]
    BadQuestion(String),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// The URL of a row's page: `{base}/rows/{table}/{seq}`.
pub fn row_url(base: &str, r: &RowRef) -> String {
    format!("{}/rows/{}/{}", base.trim_end_matches('/'), r.table, r.seq)
}

pub struct Engine<'a> {
    ports: &'a Ports,
    store: StoreId,
    clock: StoreClock,
    /// Prefix of citation URLs ("" for relative links, or the API's public URL).
    link_base: String,
    queries: AtomicU32,
    llm: Option<std::sync::Arc<dyn crate::llm::Llm>>,
}

/// An answer before the guard: lines of text and the rows they lean on.
#[derive(Default)]
struct Draft {
    lines: Vec<String>,
    rows: Vec<AuditRow>,
    releasable: Vec<String>,
}

impl Draft {
    fn cite(&mut self, row: &AuditRow) {
        if !self.rows.iter().any(|r| r.row_ref == row.row_ref) {
            self.rows.push(row.clone());
        }
    }
    fn line(&mut self, s: impl Into<String>) {
        self.lines.push(s.into());
    }
}

fn money(v: &Option<otto_core::Money>) -> String {
    v.map(|m| m.to_string()).unwrap_or_else(|| "—".into())
}

fn counts(v: &Value) -> String {
    v.as_object()
        .map(|o| {
            o.iter()
                .map(|(k, n)| format!("{k} {n}"))
                .collect::<Vec<_>>()
                .join(", ")
        })
        .filter(|s| !s.is_empty())
        .unwrap_or_else(|| "none".into())
}

/// One line about one row, only from its fields.
pub fn row_line(row: &AuditRow) -> String {
    let r = &row.row_ref;
    match &row.body {
        RowBody::Decision(d) => {
            let mut s = format!(
                "{r} {} {} {} on {}: {}",
                d.sku, d.action, row.status, row.cycle_id.day, d.reasoning
            );
            if let Some(w) = &d.window {
                s.push_str(&format!(
                    "; window {}bp from {} to {}",
                    w.percent_bp, w.starts_on, w.ends_on
                ));
            }
            if let Some(t) = &d.trigger {
                s.push_str(&format!("; trigger {t}"));
            }
            if let Some(h) = &d.hold_reason {
                s.push_str(&format!("; held: {h}"));
            }
            if d.reversal_op.is_some() {
                s.push_str("; reversal op stored");
            }
            s
        }
        RowBody::AdDecision(a) => {
            let mut s = format!(
                "{r} {} ({}) {} judge {} {} on {}",
                a.campaign, a.channel, a.action, a.verdict, row.status, row.cycle_id.day
            );
            if a.budget_before.is_some() || a.budget_after.is_some() {
                s.push_str(&format!(
                    ": budget {} → {}",
                    money(&a.budget_before),
                    money(&a.budget_after)
                ));
            }
            if let Some((n, of)) = a.rate_limit_position {
                s.push_str(&format!("; budget change {n} of {of} allowed this week"));
            }
            s.push_str(&format!("; {}", a.reasoning));
            if let Some(h) = &a.hold_reason {
                s.push_str(&format!("; held: {h}"));
            }
            if a.reversal_op.is_some() {
                s.push_str("; reversal op stored");
            }
            s
        }
        RowBody::CsEvaluation(c) => {
            let mut s = format!(
                "{r} thread {} {} {} on {}: {}",
                c.thread_id, c.verdict, row.status, row.cycle_id.day, c.reason
            );
            if let Some(a) = &c.amount {
                s.push_str(&format!("; amount {a}"));
            }
            if let Some(l) = &c.language {
                s.push_str(&format!("; language {l}"));
            }
            s
        }
        RowBody::ResearchCandidate(c) => {
            let mut s = format!(
                "{r} {} via {}{}, {}",
                c.title,
                c.lane,
                c.score_bp
                    .map(|b| format!(", score {b}bp"))
                    .unwrap_or_default(),
                row.status
            );
            if !c.review.eq_ignore_ascii_case(row.status.as_str()) {
                s.push_str(&format!(" ({})", c.review));
            }
            s
        }
        RowBody::CycleRun(c) => {
            let mut s = format!("{r} {} cycle {} {}", c.kind, row.cycle_id, row.status);
            if let Some(e) = &c.error {
                s.push_str(&format!(": {e}"));
            }
            s
        }
        RowBody::StageRun(st) => {
            let mut s = format!("{r} stage {} of {} {}", st.stage, row.cycle_id, row.status);
            if let Some(e) = &st.error {
                s.push_str(&format!(": {e}"));
            }
            s
        }
        RowBody::Operator(o) => {
            let mut s = format!(
                "{r} {} by {} from the {:?} on {}",
                o.act.as_str(),
                o.by,
                o.surface,
                row.cycle_id.day
            );
            if let Some(why) = &o.reason {
                s.push_str(&format!(": {why}"));
            }
            s
        }
    }
}

impl<'a> Engine<'a> {
    pub fn new(ports: &'a Ports, store: StoreId, clock: StoreClock, link_base: &str) -> Self {
        Engine {
            ports,
            store,
            clock,
            link_base: link_base.trim_end_matches('/').to_string(),
            queries: AtomicU32::new(0),
            llm: None,
        }
    }

    /// Turns the optional LLM on (intent mapping for unplaced questions, wording behind the guard).
    pub fn with_llm(mut self, llm: Option<std::sync::Arc<dyn crate::llm::Llm>>) -> Self {
        self.llm = llm;
        self
    }

    fn q(&self) {
        self.queries.fetch_add(1, Ordering::Relaxed);
    }

    /// Answers one question. `now` fixes "today" (in the store's time zone).
    pub async fn ask(&self, question: &str, now: DateTime<Utc>) -> Result<Answer, AnswerError> {
        let question = question.trim();
        if question.chars().count() > MAX_QUESTION_CHARS {
            return Err(AnswerError::BadQuestion(format!(
                "longer than {MAX_QUESTION_CHARS} characters"
            )));
        }
        let today = self.clock.day_of(now);
        let mut intent = parse(question, today);
        if let (Intent::Unknown, Some(llm)) = (&intent, &self.llm) {
            match llm.map_intent(question, today).await {
                Ok(Some(i)) => intent = i,
                Ok(None) => {}
                Err(e) => {
                    tracing::warn!(error = %e, "llm intent mapping failed; answering without it")
                }
            }
        }
        let mut answer = self.answer(&intent, today).await?;
        if let (true, Some(llm)) = (answer.grounded, &self.llm) {
            self.reword(llm.as_ref(), question, &mut answer).await;
        }
        Ok(answer)
    }

    /// The LLM's wording replaces the text only if it passes the guard against the same cited rows.
    async fn reword(&self, llm: &dyn crate::llm::Llm, question: &str, answer: &mut Answer) {
        let worded = match llm.reword(question, &answer.answer).await {
            Ok(w) => w,
            Err(e) => {
                tracing::warn!(error = %e, "llm wording failed; the deterministic text stands");
                return;
            }
        };
        let refs: Vec<RowRef> = answer
            .citations
            .iter()
            .filter_map(|c| RowRef::parse(&c.row_ref).ok())
            .collect();
        let rows = match self.ports.audit.get_many(&refs).await {
            Ok(r) => r.into_iter().flatten().collect::<Vec<_>>(),
            Err(_) => return,
        };
        let bad = Support::from_rows(&rows).unsupported(&worded);
        if bad.is_empty() {
            answer.answer = worded;
            answer.worded_by_llm = true;
        } else {
            tracing::warn!(unsupported = ?bad, "llm wording added figures no cited row has; the deterministic text stands");
        }
    }

    /// Answers a parsed intent (the LLM mapper, when on, lands here too).
    pub async fn answer(&self, intent: &Intent, today: StoreDay) -> Result<Answer, AnswerError> {
        self.queries.store(0, Ordering::Relaxed);
        let draft = match intent {
            Intent::Help => Some(help()),
            Intent::ShowRow { row_ref } => self.show_row(*row_ref).await?,
            Intent::CycleSummary { kind, days } => self.cycle_summary(*kind, days).await?,
            Intent::CatalogMoves { days } => self.catalog_moves(days).await?,
            Intent::Campaign { name } => self.campaign(name).await?,
            Intent::CustomerService { days } => self.customer_service(days).await?,
            Intent::Holds => self.holds().await?,
            Intent::DiscountWindows => self.discount_windows(today).await?,
            Intent::Research => self.research().await?,
            Intent::SkuHistory { sku } => self.sku_history(sku).await?,
            Intent::Future { .. } | Intent::Unknown => None,
        };
        Ok(self.finish(intent, draft))
    }

    /// The guard: the draft leaves only if every figure in it is in a cited row.
    fn finish(&self, intent: &Intent, draft: Option<Draft>) -> Answer {
        let queries = self.queries.load(Ordering::Relaxed);
        let cite = |rows: &[AuditRow]| {
            rows.iter()
                .map(|r| Citation {
                    row_ref: r.row_ref.to_string(),
                    url: row_url(&self.link_base, &r.row_ref),
                })
                .collect::<Vec<_>>()
        };
        let Some(d) = draft.filter(|d| !d.lines.is_empty()) else {
            return Answer {
                answer: NO_ROW.into(),
                citations: vec![],
                intent: intent.name(),
                grounded: false,
                releasable: vec![],
                queries,
                worded_by_llm: false,
            };
        };
        let text = d.lines.join("\n");
        let bad = Support::from_rows(&d.rows).unsupported(&text);
        if bad.is_empty() {
            return Answer {
                answer: text,
                citations: cite(&d.rows),
                intent: intent.name(),
                grounded: true,
                releasable: d.releasable,
                queries,
                worded_by_llm: false,
            };
        }
        tracing::warn!(intent = intent.name(), unsupported = ?bad, "citation guard replaced an answer");
        let nearest: Vec<AuditRow> = d.rows.into_iter().take(5).collect();
        let mut answer = NO_ROW.to_string();
        if !nearest.is_empty() {
            answer.push_str(" Nearest rows: ");
            answer.push_str(
                &nearest
                    .iter()
                    .map(|r| r.row_ref.to_string())
                    .collect::<Vec<_>>()
                    .join(", "),
            );
        }
        Answer {
            answer,
            citations: cite(&nearest),
            intent: intent.name(),
            grounded: false,
            releasable: vec![],
            queries,
            worded_by_llm: false,
        }
    }

    async fn show_row(&self, r: RowRef) -> Result<Option<Draft>, AnswerError> {
        self.q();
        let Some(row) = self.ports.audit.get(r).await? else {
            return Ok(None);
        };
        if row.store() != &self.store {
            return Ok(None);
        }
        let mut d = Draft::default();
        d.line(row_line(&row));
        if let RowBody::CycleRun(c) = &row.body {
            if let Some(s) = c.figures.get("summary") {
                d.line(format!("summary: {}", summary_text(c.kind, s)));
            }
        }
        if row.status == RowStatus::Held {
            d.releasable.push(r.to_string());
        }
        d.cite(&row);
        Ok(Some(d))
    }

    async fn held_in(&self, table: AuditTable) -> Result<Vec<AuditRow>, AnswerError> {
        self.q();
        Ok(self
            .ports
            .audit
            .by_status(table, &self.store, RowStatus::Held, PageReq::first(50))
            .await?
            .items)
    }

    async fn cycle_summary(
        &self,
        kind: CycleKind,
        days: &Days,
    ) -> Result<Option<Draft>, AnswerError> {
        let mut d = Draft::default();
        let mut held_refs = Vec::new();
        for day in days.newest_first() {
            self.q();
            let runs = self
                .ports
                .audit
                .by_day_action(
                    AuditTable::CycleRuns,
                    &self.store,
                    day,
                    Some(kind.as_str()),
                    PageReq::first(100),
                )
                .await?
                .items;
            for run in &runs {
                let RowBody::CycleRun(c) = &run.body else {
                    continue;
                };
                d.line(row_line(run));
                if let Some(s) = c.figures.get("summary") {
                    d.line(format!("  {}", summary_text(kind, s)));
                    if let Some(h) = s.get("held_rows").and_then(Value::as_array) {
                        held_refs.extend(
                            h.iter()
                                .filter_map(Value::as_str)
                                .filter_map(|r| RowRef::parse(r).ok()),
                        );
                    }
                }
                d.cite(run);
            }
        }
        if d.lines.is_empty() {
            return Ok(None);
        }
        if !held_refs.is_empty() {
            held_refs.truncate(20);
            self.q();
            for row in self
                .ports
                .audit
                .get_many(&held_refs)
                .await?
                .into_iter()
                .flatten()
            {
                d.line(format!("  held: {}", row_line(&row)));
                if row.status == RowStatus::Held {
                    d.releasable.push(row.row_ref.to_string());
                }
                d.cite(&row);
            }
        }
        Ok(Some(d))
    }

    async fn catalog_moves(&self, days: &Days) -> Result<Option<Draft>, AnswerError> {
        let mut d = Draft::default();
        for day in days.newest_first() {
            let mut applied_refs: Vec<RowRef> = Vec::new();
            self.q();
            let runs = self
                .ports
                .audit
                .by_day_action(
                    AuditTable::CycleRuns,
                    &self.store,
                    day,
                    None,
                    PageReq::first(100),
                )
                .await?
                .items;
            for run in &runs {
                let RowBody::CycleRun(c) = &run.body else {
                    continue;
                };
                if !matches!(c.kind, CycleKind::Morning | CycleKind::Discount) {
                    continue;
                }
                if let Some(s) = c.figures.get("summary") {
                    applied_refs.extend(
                        s.get("applied_refs")
                            .and_then(Value::as_array)
                            .into_iter()
                            .flatten()
                            .filter_map(Value::as_str)
                            .filter_map(|r| RowRef::parse(r).ok()),
                    );
                    d.line(format!(
                        "{} cycle {} ({}): {}",
                        c.kind,
                        run.cycle_id,
                        run.row_ref,
                        summary_text(c.kind, s)
                    ));
                    d.cite(run);
                }
            }
            // The largest single move among the discounts applied that day (the discount cycle's
            // summary lists their refs): one batched read, however many rows were only planned.
            let refs: Vec<RowRef> = std::mem::take(&mut applied_refs);
            let mut largest: Option<(u32, AuditRow)> = None;
            if !refs.is_empty() {
                self.q();
                for r in self
                    .ports
                    .audit
                    .get_many(&refs)
                    .await?
                    .into_iter()
                    .flatten()
                {
                    if !matches!(r.status, RowStatus::Applied | RowStatus::Reverted) {
                        continue;
                    }
                    let pct = match &r.body {
                        RowBody::Decision(x) => x.window.as_ref().map(|w| w.percent_bp),
                        _ => None,
                    };
                    if let Some(pct) = pct {
                        if largest.as_ref().is_none_or(|(b, _)| pct > *b) {
                            largest = Some((pct, r));
                        }
                    }
                }
            }
            let largest = largest.as_ref().map(|(p, r)| (*p, r));
            if let Some((_, row)) = largest {
                d.line(format!("largest single move: {}", row_line(row)));
                d.cite(row);
            }
        }
        Ok(Some(d).filter(|d| !d.lines.is_empty()))
    }

    async fn campaign(&self, name: &str) -> Result<Option<Draft>, AnswerError> {
        self.q();
        let budgets = self.ports.catalog.budgets(&self.store).await?;
        let Some(b) = budgets
            .iter()
            .find(|b| b.campaign.eq_ignore_ascii_case(name) || b.campaign_id == name)
        else {
            return Ok(None);
        };
        self.q();
        let rows = self
            .ports
            .audit
            .by_subject(
                AuditTable::AdDecisionLog,
                &self.store,
                &b.campaign_id,
                PageReq::first(5),
            )
            .await?
            .items;
        let mut d = Draft::default();
        let latest_budget = rows
            .iter()
            .find(|r| matches!(&r.body, RowBody::AdDecision(a) if a.budget_after.is_some()));
        if let Some(row) = latest_budget.or(rows.first()) {
            d.line(format!("latest: {}", row_line(row)));
            if let RowBody::AdDecision(a) = &row.body {
                let f = |k: &str| a.figures.get(k).map(|v| v.to_string());
                let mut facts = Vec::new();
                for (label, key) in [
                    ("ROAS", "roas_bp"),
                    ("target ROAS", "target_roas_bp"),
                    ("search impression share", "search_impression_share_bp"),
                    ("impression share lost to budget", "budget_lost_is_bp"),
                    ("step", "step_bp"),
                ] {
                    if let Some(v) = f(key) {
                        facts.push(format!("{label} {v}bp"));
                    }
                }
                if let Some(Value::Object(sp)) = a.figures.get("spend") {
                    if let (Some(amt), Some(cur)) = (sp.get("amount"), sp.get("currency")) {
                        facts.push(format!(
                            "spend {} {} over the window",
                            amt.as_str().unwrap_or(""),
                            cur.as_str().unwrap_or("")
                        ));
                    }
                }
                if !facts.is_empty() {
                    d.line(format!("  figures: {}", facts.join(", ")));
                }
            }
            if row.status == RowStatus::Held {
                d.releasable.push(row.row_ref.to_string());
            }
            d.cite(row);
            for older in rows.iter().filter(|r| r.row_ref != row.row_ref).take(3) {
                d.line(format!("earlier: {}", row_line(older)));
                d.cite(older);
            }
        }
        Ok(Some(d).filter(|d| !d.lines.is_empty()))
    }

    async fn customer_service(&self, days: &Days) -> Result<Option<Draft>, AnswerError> {
        let mut d = Draft::default();
        let wanted: Vec<StoreDay> = days.newest_first();
        for day in &wanted {
            self.q();
            let esc = self
                .ports
                .audit
                .by_day_action(
                    AuditTable::CsThreadEvaluations,
                    &self.store,
                    *day,
                    Some("ESCALATED_REFUND"),
                    PageReq::first(100),
                )
                .await?
                .items;
            for row in &esc {
                d.line(format!("escalated: {}", row_line(row)));
                d.cite(row);
            }
        }
        for row in self
            .held_in(AuditTable::CsThreadEvaluations)
            .await?
            .iter()
            .filter(|r| wanted.contains(&r.cycle_id.day))
        {
            d.line(format!("held: {}", row_line(row)));
            d.releasable.push(row.row_ref.to_string());
            d.cite(row);
        }
        Ok(Some(d).filter(|d| !d.lines.is_empty()))
    }

    async fn holds(&self) -> Result<Option<Draft>, AnswerError> {
        let mut d = Draft::default();
        for table in [
            AuditTable::DecisionLog,
            AuditTable::AdDecisionLog,
            AuditTable::CsThreadEvaluations,
        ] {
            for row in self.held_in(table).await? {
                d.line(format!("held: {}", row_line(&row)));
                d.releasable.push(row.row_ref.to_string());
                d.cite(&row);
            }
        }
        if !d.lines.is_empty() {
            d.line(
                "Release one with `otto holds release <ref>`, `/otto release <ref>` in Slack, or POST /holds/<ref>/release; the executor re-checks policy before it applies.",
            );
        }
        Ok(Some(d).filter(|d| !d.rows.is_empty()))
    }

    async fn discount_windows(&self, today: StoreDay) -> Result<Option<Draft>, AnswerError> {
        self.q();
        let mut windows = self.ports.catalog.open_windows(&self.store).await?;
        windows.sort_by(|a, b| a.ends_on.cmp(&b.ends_on).then(a.sku.cmp(&b.sku)));
        windows.truncate(50);
        let refs: Vec<RowRef> = windows
            .iter()
            .filter_map(|w| RowRef::parse(&w.row_ref).ok())
            .collect();
        if refs.is_empty() {
            return Ok(None);
        }
        self.q();
        let rows = self.ports.audit.get_many(&refs).await?;
        let mut d = Draft::default();
        for row in rows.into_iter().flatten() {
            let RowBody::Decision(x) = &row.body else {
                continue;
            };
            let Some(w) = &x.window else { continue };
            let state = if w.ends_on < today {
                "past its end, restore due"
            } else {
                "open"
            };
            d.line(format!(
                "{} {} {}bp off from {} to {} ({state}), {}",
                row.row_ref,
                x.sku,
                w.percent_bp,
                w.starts_on,
                w.ends_on,
                if x.reversal_op.is_some() {
                    "reversal op stored"
                } else {
                    "no reversal op yet"
                }
            ));
            d.cite(&row);
        }
        Ok(Some(d).filter(|d| !d.lines.is_empty()))
    }

    async fn research(&self) -> Result<Option<Draft>, AnswerError> {
        self.q();
        let mut rows = self
            .ports
            .audit
            .by_status(
                AuditTable::ResearchCandidates,
                &self.store,
                RowStatus::Queued,
                PageReq::first(200),
            )
            .await?
            .items;
        let score = |r: &AuditRow| match &r.body {
            RowBody::ResearchCandidate(c) => c.score_bp.unwrap_or(0),
            _ => 0,
        };
        rows.sort_by(|a, b| {
            score(b)
                .cmp(&score(a))
                .then(a.row_ref.seq.cmp(&b.row_ref.seq))
        });
        let mut d = Draft::default();
        for row in rows.iter().take(10) {
            d.line(format!("queued: {}", row_line(row)));
            d.cite(row);
        }
        if rows.len() > 10 {
            d.line("(best ten shown; `otto candidates list` has the rest)");
        }
        Ok(Some(d).filter(|d| !d.rows.is_empty()))
    }

    async fn sku_history(&self, sku: &otto_core::Sku) -> Result<Option<Draft>, AnswerError> {
        self.q();
        let rows = self
            .ports
            .audit
            .by_subject(
                AuditTable::DecisionLog,
                &self.store,
                sku.as_str(),
                PageReq::first(10),
            )
            .await?
            .items;
        let mut d = Draft::default();
        for row in &rows {
            d.line(row_line(row));
            if row.status == RowStatus::Held {
                d.releasable.push(row.row_ref.to_string());
            }
            d.cite(row);
        }
        Ok(Some(d).filter(|d| !d.lines.is_empty()))
    }
}

/// A cycle run's summary figures as text, only from the summary object.
fn summary_text(kind: CycleKind, s: &Value) -> String {
    match kind {
        CycleKind::Morning => {
            let mut out = format!(
                "{} decision rows; by action: {}; by status: {}",
                s["decision_rows"],
                counts(&s["by_action"]),
                counts(&s["by_status"])
            );
            if s.get("ad_proposals").is_some() {
                let pct = s["judge_agreement_bp"].as_i64().map(|bp| {
                    let a = bp.unsigned_abs();
                    format!(" ({}.{:02}%)", a / 100, a % 100)
                });
                out.push_str(&format!(
                    "; ad proposals {}, judge agreed {}{}, ad moves applied {}, ad held {}",
                    s["ad_proposals"],
                    s["ad_agreed"],
                    pct.unwrap_or_default(),
                    s["ad_moves"],
                    s["ad_held"]
                ));
            }
            out
        }
        _ => s
            .as_object()
            .map(|o| {
                o.iter()
                    .map(|(k, v)| match v {
                        Value::Object(_) => format!("{k}: {}", counts(v)),
                        Value::Array(a) => format!(
                            "{k}: {}",
                            a.iter()
                                .map(|x| x.as_str().map(str::to_string).unwrap_or(x.to_string()))
                                .collect::<Vec<_>>()
                                .join(", ")
                        ),
                        other => format!("{k} {other}"),
                    })
                    .collect::<Vec<_>>()
                    .join("; ")
            })
            .unwrap_or_default(),
    }
}

fn help() -> Draft {
    let mut d = Draft::default();
    d.line("Ask me about the rows: how did this morning go · what moved on the catalog yesterday · why is spend on <campaign> what it is · what's escalated in CS today · what's held · which discount windows are open · what research candidates are queued · what happened to <SKU> · show me <table>#<id>. Every answer cites its rows; where there is none I say so.");
    d
}
