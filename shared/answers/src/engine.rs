//! The answer engine: a plan ([`Intent`]) → typed queries over the audit plane only (by ref, by
//! subject, by day + action, by status — never the catalog-side tables, so the same question
//! gives the same answer after export → import into an empty store) → an answer written for
//! people from the returned rows → the citation guard.

use crate::campaign_period;
use crate::guard::{Support, PAGE};
use crate::human::{self, pct, ratio};
use crate::question::{parse, Aggregate, Days, Intent, RowQuery, SwitchAsk, MAX_QUESTION_CHARS};
use crate::summary::summary_text;
use chrono::{DateTime, Utc};
use otto_core::audit::{AuditRow, AuditTable, OperatorAct, RowBody, RowRef, Surface};
use otto_core::cycle::CycleKind;
use otto_core::{Action, RowKey, RowStatus, StoreClock, StoreDay, StoreId};
use otto_store::{ActionFilter, DayKeys, PageReq, Ports, StoreError};
use serde::Serialize;
use serde_json::Value;
use std::collections::{BTreeMap, HashSet};
use std::sync::atomic::{AtomicI64, AtomicU32, Ordering};

/// The answer when no row supports one.
pub const NO_ROW: &str = "I don't have a row for that.";

/// What Otto can answer, said with every refusal.
pub const CAN_ANSWER: &str = "I can answer from the audit plane: how a cycle went (a day, a date, a weekday, last week) and whether one is stuck, who flipped the kill switch and whether it is on, what moved on the catalog, a campaign's budget story, how many moves of a kind in a period, what's escalated in CS or a thread's verdicts, what's held and how to release it, the self_calibrator's thresholds, open discount windows, queued research candidates, a SKU's history, or a row by its ref.";

/// How far back questions without a date look (days).
pub const LOOKBACK_DAYS: i64 = 42;

/// A RUNNING cycle with no stage activity for longer than this is STALLED: every stage renews
/// the cycle's store_lock lease for this long (the scheduler's `CYCLE_LEASE`), so past it no
/// worker holds the cycle any more.
pub const STALL_AFTER_HOURS: i64 = 2;

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
    /// Audit-plane queries the answer took.
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
    // Built by hand: an answer over a month cites thousands of rows.
    let base = base.trim_end_matches('/');
    let mut s = String::with_capacity(base.len() + 40);
    s.push_str(base);
    s.push_str("/rows/");
    s.push_str(r.table.as_str());
    s.push('/');
    s.push_str(&r.seq.to_string());
    s
}

pub struct Engine<'a> {
    ports: &'a Ports,
    store: StoreId,
    clock: StoreClock,
    /// Prefix of citation URLs ("" for relative links, or the API's public URL).
    link_base: String,
    queries: AtomicU32,
    llm: Option<std::sync::Arc<dyn crate::llm::Llm>>,
    /// The instant `ask` was given (epoch ms; `i64::MIN`: unset, read `otto_core::clock::now()`).
    now_ms: AtomicI64,
}

/// An answer before the guard: lines of text and the rows they lean on.
#[derive(Default)]
struct Draft {
    lines: Vec<String>,
    /// The cited rows read whole: their figures support the text.
    rows: Vec<AuditRow>,
    /// Every cited row's index entry, in citation order (the read rows' included): their
    /// refs, days and counts support the text.
    keys: Vec<RowKey>,
    cited: HashSet<RowRef>,
    read: HashSet<RowRef>,
    releasable: Vec<String>,
    /// Days and numbers the question named (its period), allowed in the text.
    allow: Vec<String>,
}

impl Draft {
    /// Cites a row read whole.
    fn cite(&mut self, row: &AuditRow) {
        if self.cited.insert(row.row_ref) {
            self.keys.push(row.key());
        }
        if self.read.insert(row.row_ref) {
            self.rows.push(row.clone());
        }
    }
    fn cite_all<'r>(&mut self, rows: impl IntoIterator<Item = &'r AuditRow>) {
        rows.into_iter().for_each(|r| self.cite(r));
    }
    /// Cites rows by their index entries — their counts, days and refs, none of their
    /// figures — taking them (no copies of a period's worth of entries).
    fn cite_keys(&mut self, keys: Vec<RowKey>) {
        for k in keys {
            if self.cited.insert(k.row_ref) {
                self.keys.push(k);
            }
        }
    }
    fn is_cited(&self, r: RowRef) -> bool {
        self.cited.contains(&r)
    }
    fn line(&mut self, s: impl Into<String>) {
        self.lines.push(s.into());
    }
    fn allow_days(&mut self, days: &Days) {
        self.allow.push(days.first().to_string());
        self.allow.push(days.last().to_string());
    }
    fn release(&mut self, row: &AuditRow) {
        let r = row.row_ref.to_string();
        if row.status == RowStatus::Held && !self.releasable.contains(&r) {
            self.releasable.push(r);
        }
    }
}

/// What the engine found: an answer, or a refusal naming the nearest rows that do exist.
enum Found {
    Answer(Draft),
    Refuse(Vec<AuditRow>),
}

impl From<Option<Draft>> for Found {
    fn from(d: Option<Draft>) -> Self {
        match d {
            Some(d) if !d.lines.is_empty() && !d.keys.is_empty() => Found::Answer(d),
            _ => Found::Refuse(vec![]),
        }
    }
}

const RELEASE_HOW: &str = "Resolve to release: `otto holds release <ref>`, `/otto release <ref>` in Slack, or the Release button on the row; the executor re-checks policy before it applies.";

fn plural(n: usize, one: &str, many: &str) -> String {
    if n == 1 {
        format!("1 {one}")
    } else {
        format!("{n} {many}")
    }
}

fn held_why(row: &AuditRow) -> Option<&str> {
    match &row.body {
        RowBody::Decision(d) => d.hold_reason.as_deref(),
        RowBody::AdDecision(a) => a.hold_reason.as_deref(),
        RowBody::CsEvaluation(c) => c.hold_reason.as_deref().or(Some(c.reason.as_str())),
        _ => None,
    }
}

fn window_of(row: &AuditRow) -> Option<&otto_core::audit::DiscountWindow> {
    match &row.body {
        RowBody::Decision(d) => d.window.as_ref(),
        _ => None,
    }
}

fn reversal_stored(row: &AuditRow) -> bool {
    match &row.body {
        RowBody::Decision(d) => d.reversal_op.is_some(),
        RowBody::AdDecision(a) => a.reversal_op.is_some(),
        _ => false,
    }
}

/// The figures of a row people read, by name: ratios for ROAS/MER, percentages for shares.
fn figure_text(figures: &BTreeMap<String, Value>) -> Vec<String> {
    let bp = |k: &str| figures.get(k).and_then(Value::as_i64);
    let mut out = Vec::new();
    // Rows before the account's ROAS was named for what it is stored it as `mer_*`.
    let account =
        |k: &str| bp(&format!("account_roas_{k}_bp")).or_else(|| bp(&format!("mer_{k}_bp")));
    if let (Some(a), Some(b)) = (account("before"), account("after")) {
        out.push(format!(
            "ad ROAS {} → {} over the window",
            ratio(a),
            ratio(b)
        ));
    }
    if let (Some(a), Some(t)) = (bp("roas_bp"), bp("target_roas_bp")) {
        out.push(format!(
            "ROAS {} against a target of {}",
            ratio(a),
            ratio(t)
        ));
    } else if let Some(a) = bp("roas_bp") {
        out.push(format!("ROAS {}", ratio(a)));
    }
    for (key, label) in [
        ("search_impression_share_bp", "search impression share"),
        (
            "search_impr_share_headroom_bp",
            "search-impr-share headroom",
        ),
        ("budget_lost_is_bp", "of search impressions lost to budget"),
        ("competitor_overlap_delta_bp", "competitor-overlap delta"),
    ] {
        if let Some(v) = bp(key) {
            out.push(format!("{} {label}", pct(v)));
        }
    }
    if let Some(Value::Object(sp)) = figures.get("spend") {
        if let Ok(m) = serde_json::from_value::<otto_core::Money>(Value::Object(sp.clone())) {
            out.push(format!("spend {} over the window", human::money(&m)));
        }
    }
    out
}

/// One line about one row, for people: no basis points, money with its currency.
pub fn row_line(row: &AuditRow) -> String {
    let r = &row.row_ref;
    let day = human::date(row.day());
    match &row.body {
        RowBody::Decision(d) => {
            let mut s = format!("{} {} on {day} ({}, {r})", d.action, d.sku, row.status);
            if let Some(w) = &d.window {
                s.push_str(&format!(
                    ": −{} from {} to {}",
                    pct(i64::from(w.percent_bp)),
                    human::date(w.starts_on),
                    human::date(w.ends_on)
                ));
            }
            s.push_str(&format!(" — {}", human::humanise(&d.reasoning)));
            if let Some(t) = &d.trigger {
                s.push_str(&format!("; trigger {t}"));
            }
            if let Some(h) = &d.hold_reason {
                s.push_str(&format!("; {}: {}", why_label(row), human::humanise(h)));
            }
            if d.reversal_op.is_some() {
                s.push_str("; reversal pre-stored");
            }
            s
        }
        RowBody::AdDecision(a) => {
            let mut s = format!(
                "{} on {} ({}) on {day}, judge {} ({}, {r})",
                a.action, a.campaign, a.channel, a.verdict, row.status
            );
            if let (Some(b), Some(x)) = (&a.budget_before, &a.budget_after) {
                s.push_str(&format!(": budget {b} → {x}"));
                if let Some(p) = human::change_pct(b, x) {
                    s.push_str(&format!(" ({})", human::signed_pct(p)));
                }
            }
            s.push_str(&format!(" — {}", human::humanise(&a.reasoning)));
            // A judge's refusal is in the reasoning already; it is not said twice.
            if let Some(h) = a.hold_reason.as_ref().filter(|h| !a.reasoning.contains(*h)) {
                s.push_str(&format!("; {}: {}", why_label(row), human::humanise(h)));
            }
            if a.reversal_op.is_some() {
                s.push_str("; reversal pre-stored");
            }
            s
        }
        RowBody::CsEvaluation(c) => {
            let mut s = format!(
                "thread {} {} on {day} ({}, {r}) — {}",
                c.thread_id,
                c.verdict,
                row.status,
                human::humanise(&c.reason)
            );
            if let Some(a) = &c.amount {
                s.push_str(&format!("; amount {a}"));
            }
            if let Some(l) = &c.language {
                s.push_str(&format!("; language {l}"));
            }
            if let Some(h) = &c.hold_reason {
                s.push_str(&format!("; {}: {}", why_label(row), human::humanise(h)));
            }
            s
        }
        RowBody::ResearchCandidate(c) => {
            let score = c
                .score_bp
                .map(|b| format!(", score {}", pct(i64::from(b))))
                .unwrap_or_default();
            let supplier = c
                .supplier_match
                .as_ref()
                .map(|m| format!("; {}", m.summary()))
                .unwrap_or_default();
            format!(
                "{} via {}{score}{supplier}, {} ({r})",
                c.title, c.lane, row.status
            )
        }
        RowBody::CycleRun(c) => {
            let mut s = format!("{} cycle on {day} {} ({r})", c.kind, row.status);
            if let Some(e) = &c.error {
                s.push_str(&format!(": {}", human::humanise(e)));
            }
            s
        }
        RowBody::StageRun(st) => {
            let mut s = format!("stage {} on {day} {} ({r})", st.stage, row.status);
            if let Some(e) = &st.error {
                s.push_str(&format!(": {e}"));
            }
            s
        }
        RowBody::Operator(o) => {
            let mut s = format!(
                "{} by {} from {} on {day} ({}, {r})",
                o.act.as_str(),
                o.by,
                surface_text(o.surface),
                row.status
            );
            if let Some(why) = &o.reason {
                s.push_str(&format!(": {why}"));
            }
            s
        }
    }
}

/// Where an operator acted from, for people.
pub fn surface_text(s: Surface) -> &'static str {
    match s {
        Surface::Cli => "the CLI",
        Surface::Api => "the API",
        Surface::Dashboard => "the dashboard",
        Surface::Slack => "Slack",
    }
}

fn switch_word(act: OperatorAct) -> &'static str {
    match act {
        OperatorAct::KillSwitchOn => "on",
        OperatorAct::KillSwitchOff => "off",
        // Not a flip; the kill-switch answers read flips only.
        OperatorAct::PolicySet => "changed",
    }
}

/// "held" for a held row's reason, "why" for a refused or skipped one.
fn why_label(row: &AuditRow) -> &'static str {
    if row.status == RowStatus::Held {
        "held"
    } else {
        "why"
    }
}

/// A subject as written, upper-cased and lower-cased, each once (subjects match any case).
fn case_variants(subject: &str) -> Vec<String> {
    let mut out: Vec<String> = Vec::with_capacity(3);
    for s in [
        subject.to_string(),
        subject.to_uppercase(),
        subject.to_lowercase(),
    ] {
        if !out.contains(&s) {
            out.push(s);
        }
    }
    out
}

/// The action of a row that moved nothing.
const KEEP: &str = "KEEP";

fn is_move(action: &str) -> bool {
    action != KEEP
}

fn counts_by_action(keys: &[RowKey]) -> String {
    let mut by: BTreeMap<&str, usize> = BTreeMap::new();
    for k in keys {
        *by.entry(k.action.as_str()).or_default() += 1;
    }
    let mut v: Vec<(&str, usize)> = by.into_iter().collect();
    v.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(b.0)));
    v.iter()
        .map(|(a, n)| format!("{n} {a}"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// The thresholds of one calibration, for people: ratios, percentiles, the window in dates.
fn threshold_lines(t: &otto_core::stages::calibrate::Thresholds, row: &AuditRow) -> Vec<String> {
    let rules = &t.rules;
    let nth = |bp: u32| human::ordinal(bp / 100);
    let head = format!(
        "Thresholds of the morning cycle on {} (self_calibrator, {}):",
        human::date(row.day()),
        row.row_ref
    );
    let Some((win, lose)) = t.winner_floor_roas_bp.zip(t.loser_ceiling_roas_bp) else {
        return vec![
            head,
            format!(
                "none set: no SKU had enough data in the {} days from {} to {} ({} SKUs left out for too little data).",
                rules.window_days,
                human::date(t.window_from),
                human::date(t.window_to),
                t.insufficient
            ),
        ];
    };
    let median = t
        .median_roas_bp
        .map(|m| format!("; median ROAS {}", human::ratio(m)))
        .unwrap_or_default();
    vec![
        head,
        format!(
            "— a WINNER needs ROAS ≥ {} (the {} percentile); a LOSER has ROAS ≤ {} (the {} percentile){median}.",
            human::ratio(win),
            nth(rules.winner_percentile_bp),
            human::ratio(lose),
            nth(rules.loser_percentile_bp),
        ),
        format!(
            "— over {} SKUs with enough data (at least {} impressions and {} active days) in the {} days from {} to {}; {} SKUs left out for too little data, {} provisional metric rows left out.",
            t.n,
            rules.min_impressions,
            rules.min_days,
            rules.window_days,
            human::date(t.window_from),
            human::date(t.window_to),
            t.insufficient,
            t.provisional_rows_excluded
        ),
    ]
}

fn counts_by_status(keys: &[RowKey]) -> String {
    let mut by: BTreeMap<String, usize> = BTreeMap::new();
    for k in keys {
        *by.entry(k.status.to_string()).or_default() += 1;
    }
    by.iter()
        .map(|(s, n)| format!("{n} {s}"))
        .collect::<Vec<_>>()
        .join(", ")
}

fn days_text(days: &Days) -> String {
    match days {
        Days::One(d) => format!("on {}", human::date(*d)),
        Days::Range(a, b) => format!("from {} to {}", human::date(*a), human::date(*b)),
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
            now_ms: AtomicI64::new(i64::MIN),
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

    pub(crate) fn set_now(&self, now: DateTime<Utc>) {
        self.now_ms.store(now.timestamp_millis(), Ordering::Relaxed);
    }
    pub(crate) fn clock(&self) -> StoreClock {
        self.clock
    }
    pub(crate) fn ports(&self) -> &Ports {
        self.ports
    }
    pub(crate) fn store(&self) -> &StoreId {
        &self.store
    }

    /// One run's answer (its digest), through the guard.
    pub(crate) async fn answer_run(
        &self,
        intent: &Intent,
        run: &AuditRow,
        _today: StoreDay,
    ) -> Result<Answer, AnswerError> {
        self.queries.store(0, Ordering::Relaxed);
        let kind = match &run.body {
            RowBody::CycleRun(c) => c.kind,
            _ => return Ok(self.finish(intent, Found::Refuse(vec![]))),
        };
        let mut d = Draft::default();
        self.render_run(&mut d, run, kind).await?;
        Ok(self.finish(intent, Some(d).into()))
    }

    /// The runs (latest of each kind, today or yesterday) that are STALLED.
    pub(crate) async fn stalled_runs(&self, today: StoreDay) -> Result<Vec<AuditRow>, AnswerError> {
        let mut out = Vec::new();
        for run in self.latest_per_kind(None, today).await?.into_values() {
            if self.liveness(&run).await?.is_some_and(|l| l.stalled) {
                out.push(run);
            }
        }
        Ok(out)
    }

    /// The latest run of each cycle kind (or of `kind`), today or yesterday.
    async fn latest_per_kind(
        &self,
        kind: Option<CycleKind>,
        today: StoreDay,
    ) -> Result<BTreeMap<CycleKind, AuditRow>, AnswerError> {
        let mut latest: BTreeMap<CycleKind, AuditRow> = BTreeMap::new();
        for back in 0..2 {
            let rows = self
                .day_rows(
                    AuditTable::CycleRuns,
                    today.plus_days(-back),
                    kind.map(|k| k.as_str()),
                )
                .await?;
            for r in rows {
                let RowBody::CycleRun(c) = &r.body else {
                    continue;
                };
                let newer = latest
                    .get(&c.kind)
                    .is_none_or(|x| (r.created_at, r.row_ref.seq) > (x.created_at, x.row_ref.seq));
                if newer {
                    latest.insert(c.kind, r);
                }
            }
        }
        Ok(latest)
    }

    /// "Now" for this answer: the instant `ask` was given, else the process clock.
    fn now(&self) -> DateTime<Utc> {
        match self.now_ms.load(Ordering::Relaxed) {
            i64::MIN => otto_core::clock::now(),
            ms => DateTime::from_timestamp_millis(ms).unwrap_or_else(otto_core::clock::now),
        }
    }

    /// Answers one question. `now` fixes "today" (in the store's time zone).
    pub async fn ask(&self, question: &str, now: DateTime<Utc>) -> Result<Answer, AnswerError> {
        let question = question.trim();
        if question.chars().count() > MAX_QUESTION_CHARS {
            return Err(AnswerError::BadQuestion(format!(
                "longer than {MAX_QUESTION_CHARS} characters"
            )));
        }
        self.now_ms.store(now.timestamp_millis(), Ordering::Relaxed);
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
        let bad = Support::from_rows_in(&rows, self.clock).unsupported(&worded);
        if bad.is_empty() {
            answer.answer = worded;
            answer.worded_by_llm = true;
        } else {
            tracing::warn!(unsupported = ?bad, "llm wording added figures no cited row has; the deterministic text stands");
        }
    }

    /// Answers a plan (the LLM mapper, when on, lands here too).
    pub async fn answer(&self, intent: &Intent, today: StoreDay) -> Result<Answer, AnswerError> {
        self.queries.store(0, Ordering::Relaxed);
        let found = match intent {
            Intent::Help => Found::Answer(help()),
            Intent::Greeting => self.greeting(today).await?,
            Intent::ShowRow { row_ref } => self.show_row(*row_ref).await?,
            Intent::CycleSummary { kind, days } => self.cycle_summary(*kind, days, today).await?,
            Intent::CatalogMoves { days } => self.catalog_moves(days).await?,
            Intent::Campaign { name, days } => self.campaign(name, days.as_ref(), today).await?,
            Intent::CampaignPerformance { name, days } => {
                self.campaign_performance(name, days.as_ref(), today)
                    .await?
            }
            Intent::CustomerService { days, thread } => {
                self.customer_service(days, thread.as_deref()).await?
            }
            Intent::Holds => self.holds().await?.into(),
            Intent::DiscountWindows => self.discount_windows(today).await?.into(),
            Intent::Research => self.research().await?.into(),
            Intent::SkuHistory { sku } => self.sku_history(sku, today).await?,
            Intent::Rows(q) => self.rows(q, today).await?,
            Intent::KillSwitch { ask, days } => self.kill_switch(*ask, days.as_ref()).await?,
            Intent::CycleHealth { kind } => self.cycle_health(*kind, today).await?,
            Intent::Thresholds { days } => self.thresholds(days.as_ref()).await?,
            Intent::Future { .. } => Found::Refuse(self.latest_runs(today).await?),
            Intent::Unknown => Found::Refuse(vec![]),
        };
        Ok(self.finish(intent, found))
    }

    fn cite(&self, refs: impl IntoIterator<Item = RowRef>) -> Vec<Citation> {
        refs.into_iter()
            .map(|r| Citation {
                row_ref: r.to_string(),
                url: row_url(&self.link_base, &r),
            })
            .collect()
    }

    fn answer_of(
        &self,
        intent: &Intent,
        text: String,
        refs: impl IntoIterator<Item = RowRef>,
    ) -> Answer {
        Answer {
            answer: text,
            citations: self.cite(refs),
            intent: intent.name(),
            grounded: false,
            releasable: vec![],
            queries: self.queries.load(Ordering::Relaxed),
            worded_by_llm: false,
        }
    }

    /// The guard: the draft leaves only if every figure in it is in a cited row; a refusal says
    /// what Otto can answer and names the nearest rows that exist.
    fn finish(&self, intent: &Intent, found: Found) -> Answer {
        let nearest = match found {
            Found::Answer(d) => {
                let text = d.lines.join("\n");
                let mut support = Support::from_cited(&d.rows, &d.keys, self.clock);
                d.allow.iter().for_each(|t| support.allow(t));
                let bad = support.unsupported(&text);
                if bad.is_empty() {
                    let mut a = self.answer_of(intent, text, d.keys.iter().map(|k| k.row_ref));
                    a.grounded = true;
                    a.releasable = d.releasable;
                    return a;
                }
                tracing::warn!(intent = intent.name(), unsupported = ?bad, "citation guard replaced an answer");
                d.rows.into_iter().take(3).collect()
            }
            Found::Refuse(rows) => rows,
        };
        self.refusal(intent, nearest)
    }

    fn refusal(&self, intent: &Intent, nearest: Vec<AuditRow>) -> Answer {
        let mut text = format!("{NO_ROW} {CAN_ANSWER}");
        let nearest: Vec<AuditRow> = nearest.into_iter().take(5).collect();
        if !nearest.is_empty() {
            let lines: Vec<String> = nearest.iter().map(row_line).collect();
            let candidate = format!("{text}\nNearest rows that exist:\n{}", lines.join("\n"));
            if Support::from_rows_in(&nearest, self.clock)
                .unsupported(&candidate)
                .is_empty()
            {
                text = candidate;
            } else {
                let refs: Vec<String> = nearest.iter().map(|r| r.row_ref.to_string()).collect();
                text = format!("{text}\nNearest rows that exist: {}", refs.join(", "));
            }
        }
        self.answer_of(intent, text, nearest.iter().map(|r| r.row_ref))
    }

    // ---- access paths (every one an indexed query on the audit plane) ----

    async fn day_rows(
        &self,
        table: AuditTable,
        day: StoreDay,
        action: Option<&str>,
    ) -> Result<Vec<AuditRow>, AnswerError> {
        let mut out = Vec::new();
        let mut page = PageReq::first(500);
        loop {
            self.q();
            let p = self
                .ports
                .audit
                .by_day_action(table, &self.store, day, action, page)
                .await?;
            out.extend(p.items);
            match p.next {
                Some(c) => {
                    page = PageReq {
                        limit: 500,
                        cursor: Some(c),
                    }
                }
                None => return Ok(out),
            }
        }
    }

    async fn subject_rows(
        &self,
        table: AuditTable,
        subject: &str,
    ) -> Result<Vec<AuditRow>, AnswerError> {
        let mut out = Vec::new();
        let mut page = PageReq::first(500);
        loop {
            self.q();
            let p = self
                .ports
                .audit
                .by_subject(table, &self.store, subject, page)
                .await?;
            out.extend(p.items);
            match p.next {
                Some(c) => {
                    page = PageReq {
                        limit: 500,
                        cursor: Some(c),
                    }
                }
                None => return Ok(out),
            }
        }
    }

    /// A subject's rows, matched case-insensitively (as written, upper, lower).
    async fn subject_any_case(
        &self,
        table: AuditTable,
        subject: &str,
    ) -> Result<Vec<AuditRow>, AnswerError> {
        for s in case_variants(subject) {
            let rows = self.subject_rows(table, &s).await?;
            if !rows.is_empty() {
                return Ok(rows);
            }
        }
        Ok(vec![])
    }

    async fn held(&self, table: AuditTable) -> Result<Vec<AuditRow>, AnswerError> {
        self.q();
        Ok(self
            .ports
            .audit
            .by_status(table, &self.store, RowStatus::Held, PageReq::first(1000))
            .await?
            .items)
    }

    /// Index entries of a table's rows over days whose action `actions` admits (one keys read:
    /// no bodies), by day, then action, then ref.
    async fn keys(
        &self,
        table: AuditTable,
        days: &Days,
        actions: ActionFilter,
    ) -> Result<Vec<RowKey>, AnswerError> {
        self.keys_of(table, &DayKeys::new(days.first(), days.last(), actions))
            .await
    }

    async fn keys_of(&self, table: AuditTable, q: &DayKeys) -> Result<Vec<RowKey>, AnswerError> {
        self.q();
        Ok(self
            .ports
            .audit
            .keys_by_day_action(table, &self.store, q)
            .await?)
    }

    /// The moves of a table over days: every action but KEEP.
    async fn move_keys(&self, table: AuditTable, days: &Days) -> Result<Vec<RowKey>, AnswerError> {
        self.keys(table, days, ActionFilter::AllBut(vec![KEEP.into()]))
            .await
    }

    /// A subject's index entries, newest first.
    async fn subject_keys(
        &self,
        table: AuditTable,
        subject: &str,
    ) -> Result<Vec<RowKey>, AnswerError> {
        self.q();
        Ok(self
            .ports
            .audit
            .keys_by_subject(table, &self.store, subject)
            .await?)
    }

    /// The rows of some index entries, read whole (one batched read), in the entries' order.
    async fn read<'k>(
        &self,
        keys: impl IntoIterator<Item = &'k RowKey>,
    ) -> Result<Vec<AuditRow>, AnswerError> {
        let refs: Vec<RowRef> = keys.into_iter().map(|k| k.row_ref).collect();
        if refs.is_empty() {
            return Ok(vec![]);
        }
        self.q();
        Ok(self
            .ports
            .audit
            .get_many(&refs)
            .await?
            .into_iter()
            .flatten()
            .filter(|r| r.store() == &self.store)
            .collect())
    }

    fn lookback(today: StoreDay) -> Days {
        Days::Range(today.plus_days(1 - LOOKBACK_DAYS), today)
    }

    /// The most recent cycle runs up to today (for refusals and greetings).
    async fn latest_runs(&self, today: StoreDay) -> Result<Vec<AuditRow>, AnswerError> {
        for back in 0..7 {
            let rows = self
                .day_rows(AuditTable::CycleRuns, today.plus_days(-back), None)
                .await?;
            if !rows.is_empty() {
                return Ok(rows);
            }
        }
        Ok(vec![])
    }

    // ---- intents ----

    async fn greeting(&self, today: StoreDay) -> Result<Found, AnswerError> {
        let runs = self.latest_runs(today).await?;
        let Some(run) = runs
            .iter()
            .rev()
            .find(|r| matches!(&r.body, RowBody::CycleRun(c) if c.kind == CycleKind::Morning))
            .or(runs.last())
        else {
            return Ok(Found::Refuse(vec![]));
        };
        let kind = match &run.body {
            RowBody::CycleRun(c) => c.kind,
            _ => CycleKind::Morning,
        };
        let mut d = Draft::default();
        d.line("Hi. The latest cycle:");
        self.render_run(&mut d, run, kind).await?;
        d.line("Ask me what moved, what's held, what's escalated, or about a campaign or a SKU.");
        Ok(Found::Answer(d))
    }

    async fn show_row(&self, r: RowRef) -> Result<Found, AnswerError> {
        self.q();
        let row = self
            .ports
            .audit
            .get(r)
            .await?
            .filter(|x| x.store() == &self.store);
        let Some(row) = row else {
            let near: Vec<RowRef> = (1..=3)
                .filter_map(|k| r.seq.checked_sub(k).filter(|s| *s > 0))
                .map(|s| RowRef::new(r.table, s))
                .collect();
            self.q();
            let rows = self.ports.audit.get_many(&near).await?;
            return Ok(Found::Refuse(
                rows.into_iter()
                    .flatten()
                    .filter(|x| x.store() == &self.store)
                    .collect(),
            ));
        };
        let mut d = Draft::default();
        d.line(row_line(&row));
        d.line(format!(
            "Written at {} ({}).",
            human::local_time(&self.clock, row.created_at),
            self.clock.tz_name()
        ));
        if let RowBody::CycleRun(c) = &row.body {
            if let Some(s) = &c.summary {
                d.line(summary_text(s));
            }
        }
        if row.status == RowStatus::Held {
            d.line(RELEASE_HOW);
        }
        d.release(&row);
        d.cite(&row);
        Ok(Found::Answer(d))
    }

    async fn render_run(
        &self,
        d: &mut Draft,
        run: &AuditRow,
        kind: CycleKind,
    ) -> Result<(), AnswerError> {
        let RowBody::CycleRun(c) = &run.body else {
            return Ok(());
        };
        let start = c
            .scheduled_time
            .map(|t| format!(" (scheduled {})", human::local_time(&self.clock, t)))
            .unwrap_or_default();
        let summary = c.summary.as_ref();
        let held: Vec<RowRef> = summary.map(|s| s.held_rows().to_vec()).unwrap_or_default();
        if let Some(live) = self.liveness(run).await? {
            self.running_lines(d, run, kind, &start, &live);
            return Ok(());
        }
        let clean = run.status == RowStatus::Completed && c.error.is_none() && held.is_empty();
        let head = match (&c.error, clean) {
            (Some(e), _) => format!(
                "The {kind} cycle on {}{start} {}: {e}.",
                human::date(run.day()),
                run.status
            ),
            (None, true) => format!(
                "Clean run — {kind} cycle on {}{start}.",
                human::date(run.day())
            ),
            (None, false) => format!(
                "The {kind} cycle on {}{start} {}.",
                human::date(run.day()),
                run.status
            ),
        };
        d.line(head);
        if let Some(s) = summary {
            d.line(summary_text(s));
        }
        d.cite(run);
        if !held.is_empty() {
            self.q();
            let rows: Vec<AuditRow> = self
                .ports
                .audit
                .get_many(&held)
                .await?
                .into_iter()
                .flatten()
                .collect();
            self.held_lines(d, &rows);
        }
        Ok(())
    }

    fn held_lines(&self, d: &mut Draft, rows: &[AuditRow]) {
        if rows.is_empty() {
            return;
        }
        let n = rows.len();
        d.line(if n == 1 {
            "One held row:".to_string()
        } else {
            format!("{n} held rows:")
        });
        for row in rows {
            let what = match &row.body {
                RowBody::Decision(x) => format!("{} on {}", x.action, x.sku),
                RowBody::AdDecision(a) => format!("{} on {}", a.action, a.campaign),
                RowBody::CsEvaluation(c) => format!("{} on thread {}", c.verdict, c.thread_id),
                _ => row.action_key(),
            };
            let why = human::humanise(held_why(row).unwrap_or("no reason recorded"));
            let status = if row.status == RowStatus::Held {
                "held".to_string()
            } else {
                format!("now {}", row.status)
            };
            d.line(format!(
                "— {what} ({}, {status} since {}) — {why}",
                row.row_ref,
                human::local_time(&self.clock, row.updated_at)
            ));
            d.release(row);
            d.cite(row);
        }
        if rows.iter().any(|r| r.status == RowStatus::Held) {
            d.line(RELEASE_HOW);
        }
    }

    async fn cycle_summary(
        &self,
        kind: CycleKind,
        days: &Days,
        today: StoreDay,
    ) -> Result<Found, AnswerError> {
        let mut d = Draft::default();
        for day in days.newest_first().into_iter().take(31) {
            let runs = self
                .day_rows(AuditTable::CycleRuns, day, Some(kind.as_str()))
                .await?;
            for run in &runs {
                self.render_run(&mut d, run, kind).await?;
            }
        }
        if d.keys.is_empty() {
            return Ok(Found::Refuse(self.runs_near(kind, days, today).await?));
        }
        Ok(Found::Answer(d))
    }

    /// Runs of that kind on the days closest to `days` (a week either side).
    async fn runs_near(
        &self,
        kind: CycleKind,
        days: &Days,
        today: StoreDay,
    ) -> Result<Vec<AuditRow>, AnswerError> {
        for k in 1..=7 {
            for day in [days.first().plus_days(-k), days.last().plus_days(k)] {
                if day > today {
                    continue;
                }
                let rows = self
                    .day_rows(AuditTable::CycleRuns, day, Some(kind.as_str()))
                    .await?;
                if !rows.is_empty() {
                    return Ok(rows);
                }
            }
        }
        Ok(vec![])
    }

    /// A RUNNING run's last sign of life (its newest stage run, or the run row itself); `None`
    /// for a run that is not RUNNING.
    async fn liveness(&self, run: &AuditRow) -> Result<Option<Liveness>, AnswerError> {
        if run.status != RowStatus::Running {
            return Ok(None);
        }
        let mut stages = Vec::new();
        let mut page = PageReq::first(500);
        loop {
            self.q();
            let p = self
                .ports
                .audit
                .by_cycle(AuditTable::StageRuns, &run.cycle_id, page.clone())
                .await?;
            stages.extend(p.items);
            match p.next {
                Some(c) => page.cursor = Some(c),
                None => break,
            }
        }
        let last_stage = stages
            .into_iter()
            .max_by_key(|r| (r.updated_at, r.row_ref.seq));
        let last_at = last_stage
            .as_ref()
            .map(|r| r.updated_at)
            .filter(|t| *t > run.updated_at)
            .unwrap_or(run.updated_at);
        let idle_minutes = (self.now() - last_at).num_minutes().max(0);
        Ok(Some(Liveness {
            last_at,
            last_stage,
            idle_minutes,
            stalled: idle_minutes >= STALL_AFTER_HOURS * 60,
        }))
    }

    /// A RUNNING run: STALLED past its lease, else running with its last activity.
    fn running_lines(
        &self,
        d: &mut Draft,
        run: &AuditRow,
        kind: CycleKind,
        start: &str,
        live: &Liveness,
    ) {
        let since = human::local_time(&self.clock, live.last_at);
        let ago = duration_text(live.idle_minutes);
        d.allow.extend(duration_numbers(live.idle_minutes));
        d.allow.push(STALL_AFTER_HOURS.to_string());
        let tz = self.clock.tz_name();
        let on = human::date(run.day());
        if live.stalled {
            d.line(format!(
                "STALLED — the {kind} cycle on {on}{start} is still RUNNING with no stage activity since {since} ({tz}), {ago} ago: longer than its {STALL_AFTER_HOURS} h lease, so no worker holds it ({}).",
                run.row_ref
            ));
        } else {
            d.line(format!(
                "The {kind} cycle on {on}{start} is RUNNING — last stage activity at {since} ({tz}), {ago} ago, within its {STALL_AFTER_HOURS} h lease ({}).",
                run.row_ref
            ));
        }
        d.cite(run);
        match &live.last_stage {
            Some(st) => {
                let RowBody::StageRun(x) = &st.body else {
                    return;
                };
                let chunk = if x.chunks > 1 {
                    format!(" (chunk {} of {})", x.chunk + 1, x.chunks)
                } else {
                    String::new()
                };
                d.allow.push((x.chunk + 1).to_string());
                d.line(format!(
                    "Last stage: {}{chunk} {} at {} ({}).",
                    x.stage,
                    st.status,
                    human::local_time(&self.clock, st.updated_at),
                    st.row_ref
                ));
                d.cite(st);
            }
            None => d.line("No stage of it has finished yet."),
        }
        if live.stalled {
            d.line("Running the same cycle for that day again resumes it; until then it holds no lock and moves nothing.");
        }
    }

    /// "Is a cycle stuck?": the latest run of each cycle kind (today or yesterday).
    async fn cycle_health(
        &self,
        kind: Option<CycleKind>,
        today: StoreDay,
    ) -> Result<Found, AnswerError> {
        let latest = self.latest_per_kind(kind, today).await?;
        if latest.is_empty() {
            return Ok(Found::Refuse(self.latest_runs(today).await?));
        }
        let mut stalled = Vec::new();
        let mut others = Vec::new();
        for run in latest.values() {
            match self.liveness(run).await? {
                Some(l) if l.stalled => stalled.push((run, l)),
                l => others.push((run, l)),
            }
        }
        let mut d = Draft::default();
        if stalled.is_empty() {
            d.line(format!(
                "No — no cycle is stalled. Latest {}:",
                if latest.len() == 1 { "run" } else { "runs" }
            ));
        } else {
            d.line(format!(
                "Yes — {} stalled:",
                plural(stalled.len(), "cycle is", "cycles are")
            ));
        }
        for (run, live) in &stalled {
            let RowBody::CycleRun(c) = &run.body else {
                continue;
            };
            let start = c
                .scheduled_time
                .map(|t| format!(" (scheduled {})", human::local_time(&self.clock, t)))
                .unwrap_or_default();
            self.running_lines(&mut d, run, c.kind, &start, live);
        }
        if !stalled.is_empty() && !others.is_empty() {
            d.line("The other cycles:");
        }
        for (run, live) in &others {
            let mut s = format!("— {}", row_line(run));
            if let Some(l) = live {
                d.allow.extend(duration_numbers(l.idle_minutes));
                s.push_str(&format!(
                    "; last stage activity at {}, {} ago",
                    human::local_time(&self.clock, l.last_at),
                    duration_text(l.idle_minutes)
                ));
                if let Some(st) = &l.last_stage {
                    d.cite(st);
                }
            }
            d.line(s);
            d.cite(run);
        }
        Ok(Found::Answer(d))
    }

    /// "Who turned the kill switch on?", "is it on?": the operator_log flips (one indexed query,
    /// newest first) — who, when in store time, from which surface, why.
    async fn kill_switch(&self, ask: SwitchAsk, days: Option<&Days>) -> Result<Found, AnswerError> {
        let mut flips: Vec<AuditRow> = self
            .subject_rows(AuditTable::OperatorLog, "kill_switch")
            .await?
            .into_iter()
            .filter(|r| {
                matches!(&r.body, RowBody::Operator(o)
                    if matches!(o.act, OperatorAct::KillSwitchOn | OperatorAct::KillSwitchOff))
            })
            .collect();
        flips.sort_by_key(|r| std::cmp::Reverse((r.created_at, r.row_ref.seq)));
        let local_day = |r: &AuditRow| self.clock.day_of(r.created_at);
        let act_of = |r: &AuditRow| match &r.body {
            RowBody::Operator(o) => Some(o.act),
            _ => None,
        };
        // The switch's state now, and at the end of the period asked about: the newest flip
        // that took.
        let state = flips.iter().find(|r| r.status == RowStatus::Applied);
        let state_then = flips.iter().find(|r| {
            r.status == RowStatus::Applied && days.is_none_or(|d| local_day(r) <= d.last())
        });
        let target = match ask {
            SwitchAsk::State => state_then,
            SwitchAsk::Flip(act) => flips
                .iter()
                .filter(|r| days.is_none_or(|d| d.contains(local_day(r))))
                .find(|r| act.is_none_or(|a| act_of(r) == Some(a))),
        };
        let Some(target) = target else {
            return Ok(Found::Refuse(flips.into_iter().take(3).collect()));
        };
        let mut d = Draft::default();
        if let Some(p) = days {
            d.allow_days(p);
        }
        let RowBody::Operator(o) = &target.body else {
            return Ok(Found::Refuse(vec![]));
        };
        let x = switch_word(o.act);
        match ask {
            SwitchAsk::State => {
                let when = match days {
                    Some(p) => format!("was {x} at the end of {}", human::date(p.last())),
                    None => format!("is {x}"),
                };
                d.line(format!(
                    "The kill switch {when} — {} turned it {x} from {} on {}{} ({}).",
                    o.by,
                    surface_text(o.surface),
                    self.when_text(target),
                    why_text(o.reason.as_deref()),
                    target.row_ref
                ));
            }
            SwitchAsk::Flip(_) => {
                let mut line = format!(
                    "{} turned the kill switch {x} from {} on {}{} ({}).",
                    o.by,
                    surface_text(o.surface),
                    self.when_text(target),
                    why_text(o.reason.as_deref()),
                    target.row_ref
                );
                if target.status != RowStatus::Applied {
                    line.push_str(&format!(
                        " That flip is {}: the switch's setting was not written by it.",
                        target.status
                    ));
                }
                d.line(line);
                match state {
                    Some(s) if s.row_ref == target.row_ref => {
                        d.line(format!("It is still {x}."));
                    }
                    Some(s) => {
                        if let RowBody::Operator(so) = &s.body {
                            d.line(format!(
                                "It is {} now: {} turned it {} from {} on {} ({}).",
                                switch_word(so.act),
                                so.by,
                                switch_word(so.act),
                                surface_text(so.surface),
                                self.when_text(s),
                                s.row_ref
                            ));
                            d.cite(s);
                        }
                    }
                    None => d.line(
                        "No flip has taken effect, so the switch is in its default state: off.",
                    ),
                }
            }
        }
        d.cite(target);
        let earlier: Vec<&AuditRow> = flips
            .iter()
            .filter(|r| !d.is_cited(r.row_ref))
            .filter(|r| (r.created_at, r.row_ref.seq) < (target.created_at, target.row_ref.seq))
            .filter(|r| days.is_none_or(|p| p.contains(local_day(r))))
            .take(3)
            .collect();
        if !earlier.is_empty() {
            d.line("Earlier flips:");
            for r in earlier {
                if let RowBody::Operator(e) = &r.body {
                    d.line(format!(
                        "— {} by {} from {} on {}{} ({}, {})",
                        switch_word(e.act),
                        e.by,
                        surface_text(e.surface),
                        self.when_text(r),
                        why_text(e.reason.as_deref()),
                        r.status,
                        r.row_ref
                    ));
                }
                d.cite(r);
            }
        }
        Ok(Found::Answer(d))
    }

    /// "Tue 24 Nov at 05:40 (Europe/Amsterdam)": a row's creation in store time.
    fn when_text(&self, r: &AuditRow) -> String {
        format!(
            "{} at {} ({})",
            human::date(self.clock.day_of(r.created_at)),
            human::local_time(&self.clock, r.created_at),
            self.clock.tz_name()
        )
    }

    /// "What moved?": counts by action from the moves' index entries (every move cited), the
    /// largest discount from the ON_DISCOUNT rows (the only rows that carry a window: the
    /// discount cycle's open stage writes them), held moves with why — only those rows read whole.
    async fn catalog_moves(&self, days: &Days) -> Result<Found, AnswerError> {
        let moves = self.move_keys(AuditTable::DecisionLog, days).await?;
        let mut d = Draft::default();
        d.allow_days(days);
        if moves.is_empty() {
            let all = self
                .keys(AuditTable::DecisionLog, days, ActionFilter::AllBut(vec![]))
                .await?;
            if all.is_empty() {
                return Ok(Found::Refuse(vec![]));
            }
            d.line(format!(
                "Nothing moved {}: {}.",
                days_text(days),
                counts_by_action(&all)
            ));
            d.cite_keys(all);
            return Ok(Found::Answer(d));
        }
        let applied = moves
            .iter()
            .any(|k| matches!(k.status, RowStatus::Applied | RowStatus::Reverted));
        if applied {
            d.line(format!(
                "{} ({}).",
                counts_by_action(&moves),
                counts_by_status(&moves)
            ));
        } else {
            // Dry runs, held and skipped moves changed nothing in the shop: said first.
            d.line(format!(
                "Nothing was applied {}: {} moves were planned, none made — {} ({}).",
                days_text(days),
                moves.len(),
                counts_by_action(&moves),
                counts_by_status(&moves)
            ));
        }
        // One batched read of the rows the answer shows: the windows and the held moves.
        let shown =
            self.read(moves.iter().filter(|k| {
                k.action == Action::OnDiscount.as_str() || k.status == RowStatus::Held
            }))
            .await?;
        d.cite_keys(moves);
        if let Some(big) = largest_discount(&shown) {
            d.line(largest_line(big));
            d.cite(big);
        }
        let held: Vec<AuditRow> = shown
            .into_iter()
            .filter(|r| r.status == RowStatus::Held)
            .collect();
        self.held_lines(&mut d, &held);
        Ok(Found::Answer(d))
    }

    /// The campaigns named in ad_decision_log, each by its newest row: the latest day with ad
    /// rows first (read whole; the name usually matches there), else every campaign of the
    /// lookback — one keys read, then each unseen campaign's newest row read whole. Every
    /// campaign seen is returned (for the refusal when nothing matches).
    async fn campaigns_until(
        &self,
        name: &str,
        today: StoreDay,
    ) -> Result<Vec<AuditRow>, AnswerError> {
        let mut latest: BTreeMap<String, AuditRow> = BTreeMap::new();
        let lookback = Self::lookback(today);
        let mut newest_day = None;
        for day in lookback.newest_first().into_iter().take(7) {
            let rows = self.day_rows(AuditTable::AdDecisionLog, day, None).await?;
            if rows.is_empty() {
                continue;
            }
            for r in rows {
                latest.entry(r.subject()).or_insert(r);
            }
            newest_day = Some(day);
            break;
        }
        let known: Vec<AuditRow> = latest.values().cloned().collect();
        if !match_campaigns(name, &known).is_empty() {
            return Ok(known);
        }
        let before = match newest_day {
            Some(d) if d > lookback.first() => Days::Range(lookback.first(), d.plus_days(-1)),
            Some(_) => return Ok(known),
            None => lookback,
        };
        let keys = self
            .keys(
                AuditTable::AdDecisionLog,
                &before,
                ActionFilter::AllBut(vec![]),
            )
            .await?;
        let mut unseen: BTreeMap<&str, &RowKey> = BTreeMap::new();
        for k in keys.iter().rev() {
            if !latest.contains_key(&k.subject) {
                unseen.entry(k.subject.as_str()).or_insert(k);
            }
        }
        for r in self.read(unseen.into_values()).await? {
            latest.entry(r.subject()).or_insert(r);
        }
        Ok(latest.into_values().collect())
    }

    /// The one campaign `name` means (its newest row) with every campaign seen, for a refusal;
    /// else the answer: a refusal naming them when none matches, the matches when several do.
    async fn one_campaign(
        &self,
        name: &str,
        today: StoreDay,
    ) -> Result<Result<(AuditRow, Vec<AuditRow>), Found>, AnswerError> {
        let known = self.campaigns_until(name, today).await?;
        let hit = match match_campaigns(name, &known)[..] {
            [] => return Ok(Err(Found::Refuse(known))),
            [one] => one.clone(),
            ref many => return Ok(Err(Found::Answer(ambiguous_campaign(name, many)))),
        };
        Ok(Ok((hit, known)))
    }

    async fn campaign(
        &self,
        name: &str,
        days: Option<&Days>,
        today: StoreDay,
    ) -> Result<Found, AnswerError> {
        let (hit, known) = match self.one_campaign(name, today).await? {
            Ok(found) => found,
            Err(answer) => return Ok(answer),
        };
        let hit = &hit;
        let mut keys = self
            .subject_keys(AuditTable::AdDecisionLog, &hit.subject())
            .await?;
        keys.sort_by_key(|k| std::cmp::Reverse(k.row_ref.seq));
        let until = days.map(|d| d.last()).unwrap_or(today);
        let budget = keys
            .iter()
            .filter(|k| k.day <= until)
            .find(|k| k.action == Action::AdjustBudget.as_str());
        let Some(story) = budget.or(keys.first()) else {
            return Ok(Found::Refuse(known));
        };
        // The morning's KEEP rows record what the planner saw; the story's earlier rows are moves.
        let earlier: Vec<&RowKey> = keys
            .iter()
            .filter(|k| k.row_ref != story.row_ref && k.action != Action::Keep.as_str())
            .take(3)
            .collect();
        let rows = self
            .read(std::iter::once(story).chain(earlier.iter().copied()))
            .await?;
        let Some(row) = rows.iter().find(|r| r.row_ref == story.row_ref) else {
            return Ok(Found::Refuse(known));
        };
        let mut d = Draft::default();
        self.budget_story(&mut d, row).await?;
        let earlier: Vec<&AuditRow> = rows.iter().filter(|r| r.row_ref != row.row_ref).collect();
        if !earlier.is_empty() {
            d.line("Earlier:");
            for r in earlier {
                d.line(format!("— {}", row_line(r)));
                d.cite(r);
            }
        }
        Ok(Found::Answer(d))
    }

    /// What a campaign spent over ad days (the last 7 by default), with its conversion value and
    /// ROAS, from the row each morning recorded of the day before it.
    async fn campaign_performance(
        &self,
        name: &str,
        days: Option<&Days>,
        today: StoreDay,
    ) -> Result<Found, AnswerError> {
        let hit = match self.one_campaign(name, today).await? {
            Ok((hit, _)) => hit,
            Err(answer) => return Ok(answer),
        };
        // Ad days up to yesterday: today's is recorded by tomorrow's morning.
        let yesterday = today.plus_days(-1);
        let period = match days {
            None => Days::Range(today.plus_days(-7), yesterday),
            Some(d) if d.first() > yesterday => return Ok(Found::Refuse(vec![hit])),
            Some(d) => Days::Range(d.first(), d.last().min(yesterday)),
        };
        // A morning records the ad day before it.
        let mut keys = self
            .subject_keys(AuditTable::AdDecisionLog, &hit.subject())
            .await?;
        keys.retain(|k| k.day > period.first() && k.day <= period.last().plus_days(1));
        let rows = self.read(keys.iter()).await?;
        let Some(p) = campaign_period::period_of(&rows, Some(&period)) else {
            return Ok(Found::Refuse(vec![hit]));
        };
        let campaign = match &hit.body {
            RowBody::AdDecision(a) => a.campaign.clone(),
            _ => hit.subject(),
        };
        let mut d = Draft::default();
        d.allow_days(&period);
        let span = period.last().days_since(period.first()) + 1;
        d.allow.push(span.to_string());
        let roas = p
            .roas_bp
            .map(|r| format!("ROAS {}", ratio(r)))
            .unwrap_or_else(|| "no ROAS (no spend)".into());
        d.line(format!(
            "{campaign} spent {} from {} to {}: conversion value {}, {roas} ({} of {} days recorded).",
            human::money(&p.spend),
            human::date(period.first()),
            human::date(period.last()),
            human::money(&p.conversion_value),
            p.days.len(),
            span,
        ));
        let missing = p.missing(&period);
        // Days of the period the question named, with no row to lend them.
        d.allow.extend(missing.iter().map(|x| x.to_string()));
        if !missing.is_empty() {
            let m: Vec<String> = missing.iter().map(|x| human::date(*x)).collect();
            d.line(format!("No morning recorded: {}.", m.join(", ")));
        }
        for f in &p.days {
            let Some(row) = rows.iter().find(|r| r.row_ref == f.row_ref) else {
                continue;
            };
            d.line(format!(
                "— {}: {}{}, ROAS {} ({})",
                human::date(f.day.day),
                human::money(&f.day.totals.spend),
                if f.day.provisional {
                    " (provisional: Google may still restate it)"
                } else {
                    ""
                },
                f.day
                    .totals
                    .roas_bp
                    .map(ratio)
                    .unwrap_or_else(|| "—".into()),
                f.row_ref
            ));
            d.cite(row);
        }
        if let Some((row, mer)) = p.days.iter().rev().find_map(|f| {
            let row = rows.iter().find(|r| r.row_ref == f.row_ref)?;
            match &row.body {
                RowBody::AdDecision(a) => Some((row, a.watch.as_ref()?.store_mer_bp?)),
                _ => None,
            }
        }) {
            d.line(format!(
                "Store MER (store revenue ÷ ad spend) on the morning of {}: {} ({}).",
                human::date(row.day()),
                ratio(mer),
                row.row_ref
            ));
        }
        Ok(Found::Answer(d))
    }

    async fn budget_story(&self, d: &mut Draft, row: &AuditRow) -> Result<(), AnswerError> {
        let RowBody::AdDecision(a) = &row.body else {
            return Ok(());
        };
        let when = human::date(row.day());
        let change = match (&a.budget_before, &a.budget_after) {
            (Some(b), Some(x)) => {
                let p = human::change_pct(b, x).unwrap_or(0);
                let verb = if x.micros() >= b.micros() {
                    "raise"
                } else {
                    "lower"
                };
                Some((verb, format!("{} ({b} → {x})", human::signed_pct(p))))
            }
            _ => None,
        };
        let head = match (row.status, &change) {
            _ if a.action == Action::Keep => format!(
                "No budget move for {} on {when}: the planner proposed none.",
                a.campaign
            ),
            (RowStatus::Applied, Some((verb, c))) => format!(
                "We {verb}d {} on {when} — {} {c} via {}.",
                a.campaign, a.action, a.channel
            ),
            (RowStatus::Reverted, Some((verb, c))) => format!(
                "We {verb}d {} on {when} — {} {c} — and rolled it back since.",
                a.campaign, a.action
            ),
            (RowStatus::Refused, Some((verb, c))) => format!(
                "We did not {verb} {}: the {} {c} proposed on {when} was refused — {}.",
                a.campaign,
                a.action,
                a.hold_reason.as_deref().unwrap_or("judge disagreed")
            ),
            (RowStatus::Held, Some((verb, c))) => format!(
                "The {verb} of {} on {when} — {} {c} — is held: {}.",
                a.campaign,
                a.action,
                a.hold_reason.as_deref().unwrap_or("no reason recorded")
            ),
            (st, Some((_, c))) => format!(
                "{} on {} on {when}: {c}, {st} (judge {}).",
                a.action, a.campaign, a.verdict
            ),
            (st, None) => format!(
                "{} on {} on {when}, {st} (judge {}).",
                a.action, a.campaign, a.verdict
            ),
        };
        d.line(head);
        d.cite(row);
        let mut why = figure_text(&a.figures);
        if why.is_empty() {
            why.push(human::humanise(&a.reasoning));
        }
        d.line(format!("Reasoning: {}.", why.join(", ")));
        if a.action == Action::AdjustBudget {
            self.rate_limit_line(d, row).await?;
        }
        if row.status == RowStatus::Held {
            d.release(row);
            d.line(RELEASE_HOW);
        }
        if a.action == Action::Keep {
            return Ok(());
        }
        d.line(if reversal_stored(row) {
            "Reversal op is pre-stored if you want to roll the cap back; one click."
        } else {
            "No reversal op stored (it is stored when the move applies)."
        });
        Ok(())
    }

    /// "3 of 8 budget changes used in the week of the move": the applied ADJUST_BUDGET rows of
    /// that ISO week, cited.
    async fn rate_limit_line(&self, d: &mut Draft, row: &AuditRow) -> Result<(), AnswerError> {
        let RowBody::AdDecision(a) = &row.body else {
            return Ok(());
        };
        let Some((_, limit)) = a.rate_limit_position else {
            return Ok(());
        };
        let day = row.day();
        let monday = day.plus_days(-i64::from(
            chrono::Datelike::weekday(&day.date()).num_days_from_monday(),
        ));
        let week = Days::Range(monday, monday.plus_days(6));
        let only = ActionFilter::Only(vec![Action::AdjustBudget.as_str().into()]);
        let used: Vec<RowKey> = self
            .keys(AuditTable::AdDecisionLog, &week, only)
            .await?
            .into_iter()
            .filter(|k| matches!(k.status, RowStatus::Applied | RowStatus::Reverted))
            .collect();
        let used_n = used.len();
        d.cite_keys(used);
        d.allow_days(&week);
        let verdict = if (used_n as u32) < limit {
            "inside policy"
        } else {
            "at the limit"
        };
        d.line(format!(
            "Rate-limit position: {} of {limit} budget changes used in the week of {} — {verdict}.",
            used_n,
            human::date(monday)
        ));
        Ok(())
    }

    async fn customer_service(
        &self,
        days: &Days,
        thread: Option<&str>,
    ) -> Result<Found, AnswerError> {
        if let Some(t) = thread {
            return self.thread(t, days).await;
        }
        let keys = self
            .keys(
                AuditTable::CsThreadEvaluations,
                days,
                ActionFilter::AllBut(vec![]),
            )
            .await?;
        let wanted_keys: Vec<RowKey> = keys
            .iter()
            .filter(|k| {
                k.status == RowStatus::Held
                    || k.action.starts_with("ESCALAT")
                    || k.action.starts_with("HOLD")
            })
            .cloned()
            .collect();
        if wanted_keys.is_empty() {
            return Ok(Found::Refuse(self.read(keys.iter().rev().take(3)).await?));
        }
        let wanted = self.read(&wanted_keys).await?;
        let mut d = Draft::default();
        d.allow_days(days);
        d.line(format!(
            "{} {}: {}.",
            plural(wanted.len(), "thread", "threads"),
            days_text(days),
            counts_by_action(&wanted_keys)
        ));
        for r in &wanted {
            d.line(format!("— {}", cs_line(r)));
            d.release(r);
            d.cite(r);
        }
        if wanted.iter().any(|r| r.status == RowStatus::Held) {
            d.line(RELEASE_HOW);
        }
        Ok(Found::Answer(d))
    }

    async fn thread(&self, t: &str, days: &Days) -> Result<Found, AnswerError> {
        let rows = self
            .subject_any_case(AuditTable::CsThreadEvaluations, t)
            .await?;
        if rows.is_empty() {
            let near = self
                .keys(
                    AuditTable::CsThreadEvaluations,
                    days,
                    ActionFilter::AllBut(vec![]),
                )
                .await?;
            return Ok(Found::Refuse(self.read(near.iter().rev().take(3)).await?));
        }
        let mut d = Draft::default();
        d.line(format!(
            "Thread {}: {}.",
            t,
            plural(rows.len(), "evaluation", "evaluations")
        ));
        for r in &rows {
            d.line(format!("— {}", cs_line(r)));
            d.release(r);
            d.cite(r);
        }
        Ok(Found::Answer(d))
    }

    async fn holds(&self) -> Result<Option<Draft>, AnswerError> {
        let mut rows = Vec::new();
        for table in [
            AuditTable::DecisionLog,
            AuditTable::AdDecisionLog,
            AuditTable::CsThreadEvaluations,
        ] {
            rows.extend(self.held(table).await?);
        }
        if rows.is_empty() {
            return Ok(None);
        }
        let mut d = Draft::default();
        self.held_lines(&mut d, &rows);
        Ok(Some(d))
    }

    async fn discount_windows(&self, today: StoreDay) -> Result<Option<Draft>, AnswerError> {
        // An open window is an ON_DISCOUNT row still APPLIED: its restore turns it REVERTED. One
        // keys read by (status, action) — as small as what is open, whatever the history — then
        // those rows read whole.
        self.q();
        let keys = self
            .ports
            .audit
            .keys_by_status_action(
                AuditTable::DecisionLog,
                &self.store,
                RowStatus::Applied,
                Action::OnDiscount.as_str(),
            )
            .await?;
        let applied = self.read(&keys).await?;
        let open: Vec<&AuditRow> = applied.iter().filter(|r| window_of(r).is_some()).collect();
        if open.is_empty() {
            return Ok(None);
        }
        let mut d = Draft::default();
        d.line(format!(
            "{} open:",
            plural(open.len(), "discount window", "discount windows")
        ));
        for r in open {
            let Some(w) = window_of(r) else { continue };
            let state = if w.ends_on < today {
                "past its end, restore due"
            } else {
                "open"
            };
            d.line(format!(
                "— {} −{} from {} to {} ({state}; {}); {}",
                r.subject(),
                pct(i64::from(w.percent_bp)),
                human::date(w.starts_on),
                human::date(w.ends_on),
                r.row_ref,
                if reversal_stored(r) {
                    "reversal pre-stored"
                } else {
                    "no reversal op stored"
                }
            ));
            d.cite(r);
        }
        Ok(Some(d))
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
                PageReq::first(1000),
            )
            .await?
            .items;
        if rows.is_empty() {
            return Ok(None);
        }
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
        d.line(format!(
            "{} queued for review, best first:",
            plural(rows.len(), "research candidate", "research candidates")
        ));
        self.paged(&mut d, &rows, "/dashboard/candidates");
        Ok(Some(d))
    }

    /// The lines of a listed page ("and 37 more" with a link when `total` is more), each
    /// listed row cited.
    fn page_lines(&self, d: &mut Draft, page: &[AuditRow], total: usize, link: &str) {
        for r in page.iter().take(PAGE) {
            d.line(format!("— {}", row_line(r)));
            d.release(r);
            d.cite(r);
        }
        if total > PAGE {
            d.line(format!(
                "… and {} more: {}{link}",
                total - PAGE,
                self.link_base
            ));
        }
    }

    /// Lists rows a page at a time, citing every one (those past the page by their entries).
    fn paged(&self, d: &mut Draft, rows: &[AuditRow], link: &str) {
        self.page_lines(d, rows, rows.len(), link);
        d.cite_keys(rows.iter().map(AuditRow::key).collect());
    }

    /// Lists rows by their index entries a page at a time: the page read whole, every entry cited.
    async fn paged_keys(
        &self,
        d: &mut Draft,
        keys: Vec<RowKey>,
        link: &str,
    ) -> Result<(), AnswerError> {
        let page = self.read(keys.iter().take(PAGE)).await?;
        self.page_lines(d, &page, keys.len(), link);
        d.cite_keys(keys);
        Ok(())
    }

    /// A SKU's history: every row cited by its index entry (one keys read), the moves read whole.
    async fn sku_history(
        &self,
        sku: &otto_core::Sku,
        today: StoreDay,
    ) -> Result<Found, AnswerError> {
        let mut keys = self
            .subject_keys_any_case(AuditTable::DecisionLog, sku.as_str())
            .await?;
        if keys.is_empty() {
            return Ok(Found::Refuse(self.similar_skus(sku.as_str(), today).await?));
        }
        keys.sort_by_key(|k| k.row_ref.seq);
        let name = keys[0].subject.clone();
        let move_keys: Vec<RowKey> = keys
            .iter()
            .filter(|k| is_move(&k.action))
            .cloned()
            .collect();
        let keeps = keys.len() - move_keys.len();
        let mut d = Draft::default();
        let latest_class = keys.iter().rev().find_map(|k| k.classification);
        let class = latest_class
            .map(|c| format!(", classified {c} most recently"))
            .unwrap_or_default();
        d.line(format!(
            "{name}: {} from {} to {}{class}. Moves: {}.",
            plural(keys.len(), "row", "rows"),
            human::date(keys[0].day),
            human::date(keys[keys.len() - 1].day),
            if move_keys.is_empty() {
                "none".to_string()
            } else {
                counts_by_action(&move_keys)
            }
        ));
        d.cite_keys(keys);
        for r in self.read(move_keys.iter().rev()).await? {
            d.line(format!("— {}", row_line(&r)));
            d.release(&r);
            d.cite(&r);
        }
        if keeps > 0 {
            d.line(format!("Plus {keeps} KEEP rows (no change)."));
        }
        Ok(Found::Answer(d))
    }

    /// A subject's index entries, matched case-insensitively (as written, upper, lower).
    async fn subject_keys_any_case(
        &self,
        table: AuditTable,
        subject: &str,
    ) -> Result<Vec<RowKey>, AnswerError> {
        for s in case_variants(subject) {
            let keys = self.subject_keys(table, &s).await?;
            if !keys.is_empty() {
                return Ok(keys);
            }
        }
        Ok(vec![])
    }

    /// Rows of the SKUs sharing the longest prefix with an unknown one (latest day's decisions,
    /// by their index entries; the three nearest read whole).
    async fn similar_skus(&self, sku: &str, today: StoreDay) -> Result<Vec<AuditRow>, AnswerError> {
        let mut keys = Vec::new();
        for back in 0..7 {
            keys = self
                .keys(
                    AuditTable::DecisionLog,
                    &Days::One(today.plus_days(-back)),
                    ActionFilter::AllBut(vec![]),
                )
                .await?;
            if !keys.is_empty() {
                break;
            }
        }
        let want = sku.to_uppercase();
        let common = |s: &str| {
            s.chars()
                .flat_map(char::to_uppercase)
                .zip(want.chars())
                .take_while(|(a, b)| a == b)
                .count()
        };
        keys.sort_by_cached_key(|k| std::cmp::Reverse(common(&k.subject)));
        let mut out: Vec<RowKey> = Vec::new();
        for k in keys {
            if out.len() == 3 || common(&k.subject) < 3 {
                break;
            }
            if !out.iter().any(|x| x.subject == k.subject) {
                out.push(k);
            }
        }
        self.read(&out).await
    }

    async fn rows(&self, q: &RowQuery, today: StoreDay) -> Result<Found, AnswerError> {
        if q.classification.is_some() && q.days.is_none() {
            return self.classified(q, today).await;
        }
        let days = q.days.unwrap_or(Self::lookback(today));
        let matched = self.matching(q, &days).await?;
        if q.aggregate == Aggregate::Compare {
            return self.compare(q, &days, matched).await;
        }
        if matched.is_empty() {
            if let Some(found) = self.none_applied(q, &days).await? {
                return Ok(found);
            }
            let before = Days::Range(
                days.first().plus_days(-LOOKBACK_DAYS),
                days.first().plus_days(-1),
            );
            let near = self.matching(q, &before).await?;
            let near = self.read(near.iter().rev().take(3)).await?;
            return Ok(Found::Refuse(near));
        }
        let what = what_text(q);
        let mut d = Draft::default();
        d.allow_days(&days);
        d.allow.push(LOOKBACK_DAYS.to_string());
        let period = if q.days.is_some() {
            days_text(&days)
        } else {
            format!("in the last {LOOKBACK_DAYS} days")
        };
        match q.aggregate {
            Aggregate::Largest => {
                let candidates = self.largest_candidates(q.table, &matched).await?;
                let big = largest_discount(&candidates).or_else(|| largest_budget(&candidates));
                let Some(big) = big else {
                    let first = self.read(matched.iter().take(3)).await?;
                    return Ok(Found::Refuse(first));
                };
                d.line(largest_line(big));
                d.cite(big);
                return Ok(Found::Answer(d));
            }
            Aggregate::Sum if q.table == AuditTable::AdDecisionLog => {
                // The sum is over every matched row's budgets: all of them read whole.
                let rows = self.read(&matched).await?;
                let Some(total) = budget_delta_sum(&rows) else {
                    return Ok(Found::Refuse(rows.into_iter().take(3).collect()));
                };
                let dir = if total.micros() < 0 { "down" } else { "up" };
                let abs = otto_core::Money::from_micros(total.micros().abs(), total.currency());
                d.line(format!(
                    "Budgets went {dir} by {} in total {period}, over {} {what}:",
                    human::money(&abs),
                    matched.len()
                ));
                d.cite_all(&rows);
                self.paged(&mut d, &rows, &link_of(q));
                return Ok(Found::Answer(d));
            }
            _ => {
                d.line(format!(
                    "{} {what} {period}{}.",
                    matched.len(),
                    if matched.iter().any(|k| k.action != matched[0].action) {
                        format!(" ({})", counts_by_action(&matched))
                    } else {
                        String::new()
                    }
                ));
            }
        }
        self.paged_keys(&mut d, matched, &link_of(q)).await?;
        Ok(Found::Answer(d))
    }

    /// "How many budget changes this week?" when none was applied but some were proposed (dry
    /// runs, held, skipped): the count is none, and the proposals are the rows that say so.
    async fn none_applied(&self, q: &RowQuery, days: &Days) -> Result<Option<Found>, AnswerError> {
        if q.aggregate != Aggregate::Count
            || q.status.is_some()
            || q.table != AuditTable::AdDecisionLog
        {
            return Ok(None);
        }
        let filter = match q.actions.is_empty() {
            true => ActionFilter::AllBut(vec![]),
            false => ActionFilter::Only(q.actions.iter().map(|a| a.as_str().into()).collect()),
        };
        let proposed: Vec<RowKey> = self
            .keys(q.table, days, filter)
            .await?
            .into_iter()
            .filter(|k| is_move(&k.action))
            .collect();
        if proposed.is_empty() {
            return Ok(None);
        }
        let mut d = Draft::default();
        d.allow_days(days);
        d.line(format!(
            "None {}: no {} applied. {} proposed and not applied ({}):",
            days_text(days),
            what_text(q),
            proposed.len(),
            counts_by_status(&proposed)
        ));
        self.paged_keys(&mut d, proposed, &link_of(q)).await?;
        Ok(Some(Found::Answer(d)))
    }

    /// The self_calibrator's thresholds: the calibrate row of the asked day (the latest in the
    /// asked range, or the latest of all), worded with the window and population they come from.
    async fn thresholds(&self, days: Option<&Days>) -> Result<Found, AnswerError> {
        let all = self
            .subject_keys(AuditTable::StageRuns, "calibrate")
            .await?;
        let keys: Vec<&RowKey> = all
            .iter()
            .filter(|k| days.is_none_or(|d| d.contains(k.day)))
            .collect();
        // Newest first: the first row that holds thresholds answers.
        for row in self.read(keys.iter().take(3).copied()).await? {
            let RowBody::StageRun(s) = &row.body else {
                continue;
            };
            let Some(c) = s
                .clone()
                .into_report::<otto_core::report::CalibrateReport>()
            else {
                continue;
            };
            let mut d = Draft::default();
            for line in threshold_lines(&c.thresholds, &row) {
                d.line(line);
            }
            d.cite(&row);
            return Ok(Found::Answer(d));
        }
        // None that day: the latest calibration there is, as the nearest row.
        Ok(Found::Refuse(self.read(all.iter().take(1)).await?))
    }

    /// The rows a "largest" can be: discount windows (ON_DISCOUNT rows) of decision_log,
    /// budget moves of ad_decision_log — read whole.
    async fn largest_candidates(
        &self,
        table: AuditTable,
        matched: &[RowKey],
    ) -> Result<Vec<AuditRow>, AnswerError> {
        match table {
            AuditTable::DecisionLog => {
                self.read(
                    matched
                        .iter()
                        .filter(|k| k.action == Action::OnDiscount.as_str()),
                )
                .await
            }
            AuditTable::AdDecisionLog => self.read(matched).await,
            _ => Ok(vec![]),
        }
    }

    /// The index entries a row query matches over days (held rows across the tables when it
    /// asks for HELD without an action).
    async fn matching(&self, q: &RowQuery, days: &Days) -> Result<Vec<RowKey>, AnswerError> {
        let keys: Vec<RowKey> = if q.status == Some(RowStatus::Held) && q.actions.is_empty() {
            let mut v = Vec::new();
            for t in [
                AuditTable::DecisionLog,
                AuditTable::AdDecisionLog,
                AuditTable::CsThreadEvaluations,
            ] {
                v.extend(self.held(t).await?);
            }
            v.into_iter()
                .filter(|r| days.contains(r.day()))
                .map(|r| r.key())
                .collect()
        } else if !q.actions.is_empty() {
            let only = q.actions.iter().map(|a| a.as_str().to_string()).collect();
            let mut keys = self.keys(q.table, days, ActionFilter::Only(only)).await?;
            // Per day in the order the question named the actions.
            let rank = |k: &RowKey| q.actions.iter().position(|a| a.as_str() == k.action);
            keys.sort_by_key(|k| (k.day, rank(k), k.row_ref.seq));
            keys
        } else if q.status.is_some() {
            self.keys(q.table, days, ActionFilter::AllBut(vec![]))
                .await?
        } else {
            self.move_keys(q.table, days).await?
        };
        Ok(keys
            .into_iter()
            .filter(|k| match q.status {
                Some(s) => k.status == s,
                None if q.table == AuditTable::AdDecisionLog => {
                    matches!(k.status, RowStatus::Applied | RowStatus::Reverted)
                }
                None => true,
            })
            .filter(|k| q.classification.is_none_or(|c| k.classification == Some(c)))
            .filter(|k| !q.actions.is_empty() || q.status.is_some() || is_move(&k.action))
            .collect())
    }

    async fn compare(
        &self,
        q: &RowQuery,
        days: &Days,
        now_rows: Vec<RowKey>,
    ) -> Result<Found, AnswerError> {
        let prev = days.previous();
        let before = self.matching(q, &prev).await?;
        if now_rows.is_empty() && before.is_empty() {
            return Ok(Found::Refuse(vec![]));
        }
        let what = what_text(q);
        let (a, b) = (now_rows.len(), before.len());
        let verdict = match a.cmp(&b) {
            std::cmp::Ordering::Greater => "More",
            std::cmp::Ordering::Less => "Fewer",
            std::cmp::Ordering::Equal => "The same number of",
        };
        let mut d = Draft::default();
        d.allow_days(days);
        d.allow_days(&prev);
        let now_text = if a == 0 {
            "none".to_string()
        } else {
            a.to_string()
        };
        let before_text = if b == 0 {
            "none".to_string()
        } else {
            b.to_string()
        };
        d.line(format!(
            "{verdict} {what}: {now_text} {} against {before_text} {}.",
            days_text(days),
            days_text(&prev)
        ));
        d.cite_keys(now_rows);
        d.cite_keys(before);
        Ok(Found::Answer(d))
    }

    /// "Which products are losers?": the latest day with classified rows — the class's index
    /// entries of a day (the classification filtered in the index); only the listed page is
    /// read whole.
    async fn classified(&self, q: &RowQuery, today: StoreDay) -> Result<Found, AnswerError> {
        let Some(class) = q.classification else {
            return Ok(Found::Refuse(vec![]));
        };
        let actions = if q.actions.is_empty() {
            ActionFilter::AllBut(vec![])
        } else {
            ActionFilter::Only(q.actions.iter().map(|a| a.as_str().to_string()).collect())
        };
        for back in 0..14 {
            let day = today.plus_days(-back);
            let of_day = DayKeys::new(day, day, actions.clone());
            let hits = self
                .keys_of(AuditTable::DecisionLog, &of_day.clone().classified(class))
                .await?;
            if hits.is_empty() {
                // The latest day with classified rows has none of this class (or those actions):
                // refused; a day without classified rows: the day before.
                let all = self
                    .keys(
                        AuditTable::DecisionLog,
                        &Days::One(day),
                        ActionFilter::AllBut(vec![]),
                    )
                    .await?;
                if all.iter().any(|k| k.classification.is_some()) {
                    return Ok(Found::Refuse(vec![]));
                }
                continue;
            }
            let mut d = Draft::default();
            d.line(format!(
                "{} classified {class} on {}:",
                plural(hits.len(), "SKU", "SKUs"),
                human::date(day)
            ));
            self.paged_keys(
                &mut d,
                hits,
                &format!("/dashboard/rows?table=decision_log&day={day}"),
            )
            .await?;
            return Ok(Found::Answer(d));
        }
        Ok(Found::Refuse(vec![]))
    }
}

/// A RUNNING run's last sign of life.
struct Liveness {
    last_at: DateTime<Utc>,
    last_stage: Option<AuditRow>,
    /// Whole minutes from `last_at` to now.
    idle_minutes: i64,
    /// Idle for longer than the lease ([`STALL_AFTER_HOURS`]).
    stalled: bool,
}

/// "3 h 12 min", "45 min".
fn duration_text(minutes: i64) -> String {
    match (minutes / 60, minutes % 60) {
        (0, m) => format!("{m} min"),
        (h, 0) => format!("{h} h"),
        (h, m) => format!("{h} h {m} min"),
    }
}

/// The numbers [`duration_text`] writes (derived from a cited row's time and the clock).
fn duration_numbers(minutes: i64) -> Vec<String> {
    vec![(minutes / 60).to_string(), (minutes % 60).to_string()]
}

/// ` — why: "import"`, or ` — no reason given`.
fn why_text(reason: Option<&str>) -> String {
    match reason.map(str::trim).filter(|r| !r.is_empty()) {
        Some(r) => format!(" — why: \"{r}\""),
        None => " — no reason given".into(),
    }
}

/// The dashboard page of a row query's rows.
fn link_of(q: &RowQuery) -> String {
    format!(
        "/dashboard/rows?table={}{}",
        q.table,
        q.actions
            .first()
            .map(|a| format!("&action={a}"))
            .unwrap_or_default()
    )
}

fn what_text(q: &RowQuery) -> String {
    let mut parts: Vec<String> = Vec::new();
    if let Some(s) = q.status {
        parts.push(s.to_string());
    }
    if let Some(c) = q.classification {
        parts.push(c.to_string());
    }
    if q.actions.is_empty() {
        parts.push("moves".into());
    } else if q.actions == [Action::AdjustBudget] {
        parts.push("budget changes (ADJUST_BUDGET)".into());
    } else {
        parts.push(
            q.actions
                .iter()
                .map(|a| a.as_str())
                .collect::<Vec<_>>()
                .join("/"),
        );
        parts.push("rows".into());
    }
    parts.join(" ")
}

fn cs_line(r: &AuditRow) -> String {
    let RowBody::CsEvaluation(c) = &r.body else {
        return row_line(r);
    };
    let amount = c.amount.map(|a| format!(" {a}")).unwrap_or_default();
    let lang = c
        .language
        .as_deref()
        .map(|l| format!(" in {l}"))
        .unwrap_or_default();
    let mut s = format!(
        "thread {}{amount}{lang}: {} ({}, {}, {}) — {}",
        c.thread_id,
        c.verdict,
        r.status,
        human::date(r.day()),
        r.row_ref,
        human::humanise(&c.reason)
    );
    if let Some(h) = &c.hold_reason {
        s.push_str(&format!("; held: {h}"));
    }
    s
}

fn largest_discount(rows: &[AuditRow]) -> Option<&AuditRow> {
    rows.iter()
        .filter(|r| window_of(r).is_some())
        .max_by_key(|r| {
            (
                window_of(r).map(|w| w.percent_bp),
                std::cmp::Reverse(r.row_ref.seq),
            )
        })
}

/// The sum of (after − before) over budget moves, in their one currency.
pub fn budget_delta_sum(rows: &[AuditRow]) -> Option<otto_core::Money> {
    let mut total: Option<otto_core::Money> = None;
    for r in rows {
        let RowBody::AdDecision(a) = &r.body else {
            continue;
        };
        let (Some(b), Some(x)) = (&a.budget_before, &a.budget_after) else {
            continue;
        };
        let delta = x.checked_sub(b).ok()?;
        total = Some(match total {
            None => delta,
            Some(t) => t.checked_add(&delta).ok()?,
        });
    }
    total
}

fn largest_budget(rows: &[AuditRow]) -> Option<&AuditRow> {
    rows.iter()
        .filter_map(|r| match &r.body {
            RowBody::AdDecision(a) => match (&a.budget_before, &a.budget_after) {
                (Some(b), Some(x)) => human::change_pct(b, x).map(|p| (p.abs(), r)),
                _ => None,
            },
            _ => None,
        })
        .max_by_key(|(p, r)| (*p, std::cmp::Reverse(r.row_ref.seq)))
        .map(|(_, r)| r)
}

fn largest_line(r: &AuditRow) -> String {
    match &r.body {
        RowBody::Decision(x) => {
            let w = x
                .window
                .as_ref()
                .map(|w| {
                    format!(
                        " (−{}, {} to {})",
                        pct(i64::from(w.percent_bp)),
                        human::date(w.starts_on),
                        human::date(w.ends_on)
                    )
                })
                .unwrap_or_default();
            let trigger = x
                .trigger
                .map(|t| format!(" Trigger was {t}: {}.", human::humanise(&x.reasoning)))
                .unwrap_or_else(|| format!(" {}.", human::humanise(&x.reasoning)));
            let rev = if x.reversal_op.is_some() {
                " Reversal pre-stored."
            } else {
                " No reversal op stored yet."
            };
            format!(
                "Largest single move: {} → {}{w} on {}, {} ({}).{trigger}{rev}",
                x.sku,
                x.action,
                human::date(r.day()),
                r.status,
                r.row_ref
            )
        }
        _ => format!("Largest single move: {}", row_line(r)),
    }
}

/// The campaigns a name means: the one whose id or full name it is (any case), else those
/// whose names hold every word of it (a word of four letters or more may be a prefix) — one,
/// several (ambiguous), or none.
fn match_campaigns<'r>(name: &str, known: &'r [AuditRow]) -> Vec<&'r AuditRow> {
    let words = |s: &str| -> Vec<String> {
        s.split(|c: char| !c.is_alphanumeric())
            .filter(|w| w.len() > 1)
            .map(str::to_lowercase)
            .collect()
    };
    let want = words(name);
    let campaign = |r: &AuditRow| match &r.body {
        RowBody::AdDecision(a) => a.campaign.clone(),
        _ => String::new(),
    };
    if let Some(r) = known.iter().find(|r| {
        r.subject().eq_ignore_ascii_case(name.trim())
            || campaign(r).eq_ignore_ascii_case(name.trim())
    }) {
        return vec![r];
    }
    if want.is_empty() {
        return vec![];
    }
    let score = |r: &AuditRow| {
        let have = words(&campaign(r));
        want.iter()
            .filter(|w| {
                have.iter()
                    .any(|h| h == *w || (w.len() >= 4 && h.starts_with(w.as_str())))
            })
            .count()
    };
    known.iter().filter(|r| score(r) == want.len()).collect()
}

/// A name that several campaigns answer to: each one with its newest row, and how to ask.
fn ambiguous_campaign(name: &str, hits: &[&AuditRow]) -> Draft {
    let mut d = Draft::default();
    d.line(format!(
        "“{name}” matches {} campaigns — ask about one by its name or id. Their latest rows:",
        hits.len()
    ));
    for r in hits {
        let id = r.subject();
        d.line(format!("— {id}: {}", row_line(r)));
        d.cite(r);
    }
    d
}

fn help() -> Draft {
    let mut d = Draft::default();
    d.line(CAN_ANSWER);
    d.line("Try: how did this morning go · what moved on the catalog yesterday · why did we raise the <campaign> budget · how many budget changes this week · what's escalated today · what's held · which discount windows are open · what happened to <SKU> · show me decision_log#<n>.");
    d
}
