//! The fuzz bodies: one `pub fn <target>(data: &[u8])` per libFuzzer target. Each calls Otto's
//! parsers on arbitrary bytes and asserts properties; a panic anywhere (in Otto's code or in an
//! assertion here) is a finding.
//!
//! This file is compiled twice: as `otto_fuzz::bodies` (the fuzz crate, nightly + libFuzzer) and
//! as `mod bodies` inside `tests/tests/fuzz_corpus.rs` (the main workspace, stable), which replays
//! every file of `fuzz/corpus/<target>/` and `fuzz/seeds/<target>/`. So it names only external
//! crates (never `crate::`), and only crates both sides depend on: otto-core, otto-slack,
//! otto-answers, otto-connectors, otto-scheduler, otto-runtime, aws_lambda_events, serde,
//! serde_json, chrono.
//!
//! Inputs are plain bytes, shaped so a corpus file is readable (see each target's doc comment).

use std::fmt::Debug;
use std::future::Future;
use std::path::PathBuf;
use std::task::{Context, Poll, Waker};

use chrono::{Datelike, NaiveDate, TimeZone, Utc};
use otto_core::audit::{AuditRow, RowRef};
use otto_core::cycle::{CycleId, StageMessage};
use otto_core::money::{Currency, Money};
use otto_core::{Sku, StoreDay};
use serde::de::DeserializeOwned;
use serde::Serialize;
use serde_json::Value;

// ---------------------------------------------------------------------------------------------
// slack_request
// ---------------------------------------------------------------------------------------------

/// Slack's published example secret (api.slack.com/authentication/verifying-requests-from-slack).
pub const SLACK_SECRET: &[u8] = b"8f742231b10e8888abcd99yyyzzz85a5";
/// "Now" for the signature check: the timestamp of Slack's published example.
pub const SLACK_NOW: i64 = 1_531_420_618;

/// Splits `"<X-Slack-Request-Timestamp>\n<X-Slack-Signature>\n<raw body>"`. With fewer than two
/// newlines there are no headers and the whole input is the body.
fn split_headers(data: &[u8]) -> (Option<&[u8]>, Option<&[u8]>, &[u8]) {
    let mut it = data.splitn(3, |b| *b == b'\n');
    match (it.next(), it.next(), it.next()) {
        (Some(ts), Some(sig), Some(body)) => (Some(ts), Some(sig), body),
        _ => (None, None, data),
    }
}

fn check_slack_error(e: &otto_slack::SlackError) {
    let status = e.status();
    assert!((400..600).contains(&status), "{e:?} has status {status}");
    assert!(!e.code().is_empty());
    let _ = e.is_retryable();
    let _ = e.to_string();
}

fn check_otto_command(cmd: &otto_slack::OttoCommand) {
    use otto_slack::OttoCommand;
    match cmd {
        OttoCommand::Help | OttoCommand::KillSwitch { .. } => {}
        OttoCommand::Release { row_ref } => {
            assert!(otto_slack::is_valid_row_ref(row_ref), "{row_ref:?}");
            let (table, _) = row_ref.split_once('#').expect("a row ref has a '#'");
            // Slack's table list and the audit plane's are the same list.
            assert!(
                table.parse::<otto_core::AuditTable>().is_ok(),
                "{table:?} is not an audit table"
            );
        }
        OttoCommand::Ask { question } => {
            assert!(!question.is_empty());
            assert_eq!(question.trim(), question);
            assert!(question.chars().count() <= otto_slack::MAX_QUESTION_CHARS);
        }
        OttoCommand::Usage { message } => assert!(!message.is_empty()),
    }
}

fn check_rendered(v: &Value) {
    let _ = serde_json::to_string(v).expect("a rendered answer serializes");
    let blocks = v["blocks"].as_array().expect("blocks");
    assert!(!blocks.is_empty());
    assert!(
        blocks.len() <= otto_slack::MAX_BLOCKS,
        "{} blocks",
        blocks.len()
    );
    assert_eq!(blocks[0]["type"], "section");
    let fallback = v["text"].as_str().expect("text");
    assert!(
        fallback.chars().count() <= otto_slack::MAX_FALLBACK_CHARS,
        "fallback text of {} chars",
        fallback.chars().count()
    );
    let mut buttons = 0;
    for b in blocks {
        match b["type"].as_str() {
            Some("section") => {
                let t = b["text"]["text"].as_str().expect("section text");
                assert!(
                    t.chars().count() <= otto_slack::MAX_SECTION_CHARS,
                    "section of {} chars",
                    t.chars().count()
                );
            }
            Some("actions") => {
                buttons += 1;
                let button = &b["elements"][0];
                assert_eq!(button["action_id"], otto_slack::RELEASE_ACTION_ID);
                let value = button["value"].as_str().expect("button value");
                assert!(otto_slack::is_valid_row_ref(value), "{value:?}");
                let label = button["text"]["text"].as_str().expect("button text");
                assert!(label.chars().count() <= 75, "{label:?}");
            }
            Some("context") => {}
            other => panic!("unexpected block type {other:?}"),
        }
    }
    assert!(buttons <= otto_slack::MAX_RELEASE_BLOCKS);
}

/// Renders an answer described by the text: the answer is everything up to a line `--`; after
/// it, `release <ref>` lines are releasable refs and any other line is a citation `<ref> <url>`.
fn render_from_text(text: &str) {
    let (answer, rest) = match text.split_once("\n--\n") {
        Some((a, r)) => (a, r),
        None => (text, ""),
    };
    let mut citations = Vec::new();
    let mut releasable = Vec::new();
    for line in rest.lines() {
        if let Some(r) = line.strip_prefix("release ") {
            releasable.push(r.to_string());
        } else {
            let (row_ref, url) = line.split_once(' ').unwrap_or((line, ""));
            citations.push(otto_slack::CitationLink {
                row_ref: row_ref.to_string(),
                url: url.to_string(),
            });
        }
    }
    check_rendered(&otto_slack::render_answer(answer, &citations, &releasable));
}

/// `slack_request`: input = `"<timestamp>\n<signature>\n<raw body>"` (or just a raw body).
/// Runs `verify` on the headers and body (secret and clock of Slack's published example), a
/// sign → verify round trip, `SlashCommand::parse`, `is_ssl_check` and `parse_interaction` on the
/// body, and on the whole input as text `parse_command_text`, `unescape_slack_text ∘
/// escape_mrkdwn = id`, `split_mrkdwn` limits, `render_answer` limits and `ack`.
pub fn slack_request(data: &[u8]) {
    use otto_slack::*;

    let (ts, sig, body) = split_headers(data);
    let ts = ts.map(std::str::from_utf8);
    let sig = sig.map(std::str::from_utf8);
    if let (Some(Ok(ts)), Some(Ok(sig))) = (ts, sig) {
        match verify(SLACK_SECRET, Some(ts), Some(sig), body, SLACK_NOW) {
            Ok(()) => {
                let t: i64 = ts.parse().expect("a verified timestamp is a number");
                assert!(t.abs_diff(SLACK_NOW) <= MAX_CLOCK_SKEW_SECS);
                if ts == t.to_string() {
                    let expected = sign(SLACK_SECRET, t, body).expect("signs");
                    assert!(expected.eq_ignore_ascii_case(sig), "{sig:?} verified");
                }
            }
            Err(e) => check_slack_error(&e),
        }
    }
    // What we sign verifies; one more byte does not.
    let signature = sign(SLACK_SECRET, SLACK_NOW, body).expect("signs");
    let now = SLACK_NOW.to_string();
    assert_eq!(
        verify(SLACK_SECRET, Some(&now), Some(&signature), body, SLACK_NOW),
        Ok(())
    );
    let mut longer = body.to_vec();
    longer.push(b'&');
    assert_eq!(
        verify(
            SLACK_SECRET,
            Some(&now),
            Some(&signature),
            &longer,
            SLACK_NOW
        ),
        Err(SlackError::SignatureMismatch)
    );

    match SlashCommand::parse(body) {
        Ok(cmd) => {
            for field in [
                &cmd.command,
                &cmd.user_id,
                &cmd.team_id,
                &cmd.channel_id,
                &cmd.response_url,
                &cmd.trigger_id,
            ] {
                assert!(!field.trim().is_empty());
            }
            check_otto_command(&cmd.otto_command());
        }
        Err(e) => check_slack_error(&e),
    }
    let _ = is_ssl_check(body);
    match parse_interaction(body) {
        Ok(i) => {
            assert!(!i.user_id.is_empty());
            if i.kind == InteractionKind::BlockActions {
                assert!(!i.actions.is_empty());
            } else {
                assert!(i.actions.is_empty());
            }
            assert!(i.actions.iter().all(|a| !a.action_id.is_empty()));
            let refs = i.release_refs();
            assert!(refs.len() <= i.actions.len());
            if !refs.is_empty() {
                assert!(i.action(RELEASE_ACTION_ID).is_some());
            }
        }
        Err(e) => check_slack_error(&e),
    }

    let text = String::from_utf8_lossy(data);
    check_otto_command(&parse_command_text(&text));
    let escaped = escape_mrkdwn(&text);
    assert!(!escaped.contains('<') && !escaped.contains('>'));
    assert_eq!(unescape_slack_text(&escaped), text);
    let max = 16 + 12 * usize::from(data.first().copied().unwrap_or(0));
    for piece in split_mrkdwn(&text, max) {
        assert!(!piece.trim().is_empty());
        assert!(!piece.contains('<') && !piece.contains('>'));
        assert!(
            piece.chars().count() <= max,
            "piece of {} chars > {max}",
            piece.chars().count()
        );
    }
    render_from_text(&text);
    let a = ack(&text);
    assert!(a["text"].as_str().is_some());
}

// ---------------------------------------------------------------------------------------------
// lambda_events
// ---------------------------------------------------------------------------------------------

fn json_round_trip<T>(x: &T) -> T
where
    T: Serialize + DeserializeOwned,
{
    let text = serde_json::to_string(x).expect("serializes");
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{text} does not read back: {e}"))
}

fn check_stage_message(body: &str) {
    match StageMessage::from_json(body) {
        Ok(m) => {
            assert_eq!(m.stage.cycle(), m.cycle_id.kind);
            assert!(m.chunk < m.chunks);
            let text = serde_json::to_string(&m).expect("serializes");
            let back = StageMessage::from_json(&text)
                .unwrap_or_else(|e| panic!("{text} does not read back: {e}"));
            assert_eq!(back, m);
            assert!(m.idempotency_key().starts_with("stage#"));
        }
        Err(e) => {
            let _ = e.to_string();
        }
    }
}

fn check_cycle_id(s: &str) {
    if let Ok(c) = CycleId::parse(s) {
        let shown = c.to_string();
        let back = CycleId::parse(&shown).unwrap_or_else(|e| panic!("{shown:?}: {e}"));
        assert_eq!(back, c, "{s:?} → {shown:?}");
        assert_eq!(back.to_string(), shown);
        assert_eq!(json_round_trip(&c), c);
        let _ = c.kind.lock_name(&c.store);
    }
}

fn check_row_ref(s: &str) {
    if let Ok(r) = RowRef::parse(s) {
        assert!(r.seq > 0);
        let shown = r.to_string();
        let back = RowRef::parse(&shown).unwrap_or_else(|e| panic!("{shown:?}: {e}"));
        assert_eq!(back, r, "{s:?} → {shown:?}");
        assert_eq!(json_round_trip(&r), r);
        assert_eq!(r.url(), format!("/rows/{}/{}", r.table, r.seq));
    }
}

fn check_audit_row(v: &Value) {
    if let Ok(row) = AuditRow::from_json(v) {
        let out = row.to_json();
        let back =
            AuditRow::from_json(&out).unwrap_or_else(|e| panic!("{out} does not read back: {e}"));
        assert_eq!(back, row);
        assert_eq!(row.body.table(), row.row_ref.table);
        let _ = (row.subject(), row.action_key(), row.store(), row.day());
        // The citation guard supports a row's own ref.
        let support = otto_answers::guard::Support::from_rows([&row]);
        let own = row.row_ref.to_string();
        assert!(support.unsupported(&own).is_empty(), "{own} unsupported");
    }
}

/// `lambda_events`: input = a Lambda event or message body, as bytes. Runs, when they apply:
/// `StageMessage::from_json` (+ serialize/parse round trip), `CycleId::parse` and
/// `RowRef::parse` on the whole text and each line (+ display ∘ parse = id on what parses),
/// `ScheduledInput::parse` and `AuditRow::from_json` on the JSON value (+ round trips), and an
/// `SqsEvent` whose record bodies go through `StageMessage::from_json`, then through the SQS
/// batch runner (`otto_runtime::sqs::run_batch`, partial failures).
pub fn lambda_events(data: &[u8]) {
    if let Ok(s) = std::str::from_utf8(data) {
        check_stage_message(s);
        for line in std::iter::once(s).chain(s.lines()) {
            check_cycle_id(line);
            check_row_ref(line);
        }
    }
    if let Ok(v) = serde_json::from_slice::<Value>(data) {
        match otto_engine::cycles::ScheduledInput::parse(&v) {
            Ok(input) => {
                let again = serde_json::to_value(&input).expect("serializes");
                let back = otto_engine::cycles::ScheduledInput::parse(&again)
                    .unwrap_or_else(|e| panic!("{again} does not read back: {e}"));
                assert_eq!(back, input);
            }
            Err(e) => {
                let _ = e.to_string();
            }
        }
        check_audit_row(&v);
    }
    if let Ok(event) = serde_json::from_slice::<aws_lambda_events::event::sqs::SqsEvent>(data) {
        for record in &event.records {
            if let Some(body) = &record.body {
                check_stage_message(body);
            }
        }
        sqs_batch(event);
    }
}

/// The stage Lambda's SQS path minus the stage itself: `otto_runtime::sqs::run_batch` with a
/// handler that parses each body as a `StageMessage`; every record is reported once.
fn sqs_batch(event: aws_lambda_events::event::sqs::SqsEvent) {
    let records = event.records.len();
    let (response, report) = block_on(otto_runtime::sqs::run_batch(event, |body| async move {
        StageMessage::from_json(&body)
            .map(|_| ())
            .map_err(|e| otto_runtime::HandlerError::Permanent(e.to_string()))
    }));
    assert_eq!(report.ok + report.failed.len(), records);
    assert_eq!(response.batch_item_failures.len(), report.failed.len());
    let all_failed = report.ok == 0 && !report.failed.is_empty();
    assert_eq!(
        otto_runtime::sqs::into_lambda_result((response, report)).is_err(),
        all_failed
    );
}

// ---------------------------------------------------------------------------------------------
// vendor_json
// ---------------------------------------------------------------------------------------------

/// Polls a future that never waits on I/O readiness (the file lane, the simulated vendor and the
/// offline voice scorer only touch `std::fs` and memory) to completion without a runtime.
fn block_on<F: Future>(f: F) -> F::Output {
    let mut f = std::pin::pin!(f);
    let mut cx = Context::from_waker(Waker::noop());
    for _ in 0..1_000 {
        if let Poll::Ready(out) = f.as_mut().poll(&mut cx) {
            return out;
        }
    }
    panic!("a future that should not wait is still pending");
}

fn serde_round_trip<T>(data: &[u8])
where
    T: Serialize + DeserializeOwned + PartialEq + Debug,
{
    if let Ok(x) = serde_json::from_slice::<T>(data) {
        assert_eq!(json_round_trip(&x), x);
    }
}

/// Amount properties. `9223372036854.775` EUR here found that `rounded()` (and so `Display` and
/// the overflow messages of `checked_add` / `checked_sub`) overflowed near i64::MAX
/// (fuzz/artifacts-found/vendor_json/); since ecdc536 it saturates.
fn check_money(m: Money) {
    let shown = m.amount_string();
    let back = Money::parse(&shown, m.currency()).unwrap_or_else(|e| panic!("{shown:?}: {e}"));
    assert_eq!(back, m);
    assert_eq!(json_round_trip(&m), m);
    let _ = m.round_to_minor();
    let _ = m.to_string();
    let r = m.rounded();
    let saturated = r.micros() == i64::MAX || r.micros() == i64::MIN;
    assert!(r.is_whole_minor() || saturated, "{m:?} rounds to {r:?}");
    let per_minor = 10i64.pow(6 - m.currency().exponent());
    assert!(
        (i128::from(r.micros()) - i128::from(m.micros())).unsigned_abs() <= per_minor as u128 / 2,
        "{m:?} rounds to {r:?}"
    );
    let _ = m.scale_bp(8_500);
    let _ = m.scale_bp(-10_000);
    let _ = m.checked_add(&m);
    let _ = m.checked_sub(&r);
}

/// The currencies a vendor amount is read in: one of each ISO 4217 exponent.
const CURRENCIES: [Currency; 3] = [Currency::EUR, Currency::USD, Currency::GBP];

fn money(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    let mut currencies: Vec<Currency> = CURRENCIES.to_vec();
    currencies.extend(["JPY", "KWD"].iter().filter_map(|c| Currency::new(c).ok()));
    // A currency named by the input's first three characters ("USD 19.99").
    if let Some((code, amount)) = text.split_once(' ') {
        if let Ok(c) = Currency::new(code) {
            if let Ok(m) = Money::parse(amount, c) {
                check_money(m);
            }
        }
    }
    for c in currencies {
        if let Ok(m) = Money::parse(&text, c) {
            check_money(m);
        }
    }
}

fn inbox(data: &[u8]) {
    use otto_connectors::helpdesk::InboxFile;
    use otto_connectors::voice::VoiceScorer;
    let Ok(file) = serde_json::from_slice::<InboxFile>(data) else {
        return;
    };
    let back: InboxFile = json_round_trip(&file);
    assert_eq!(back.threads, file.threads);
    assert_eq!(back.approved_replies, file.approved_replies);
    let centroid =
        otto_core::stages::cs::centroid(file.approved_replies.iter().map(String::as_str));
    let policy = otto_core::stages::cs::CsPolicy::default();
    let drafts: Vec<String> = file
        .threads
        .iter()
        .filter_map(|t| t.draft.as_ref().map(|d| d.body.clone()))
        .collect();
    let scores =
        block_on(otto_connectors::voice::OfflineVoice.score(&file.approved_replies, &drafts))
            .expect("the offline scorer does not fail");
    assert_eq!(scores.len(), drafts.len());
    for t in &file.threads {
        if let Some(d) = &t.draft {
            let bp = otto_core::stages::cs::brand_voice_bp(&d.body, &centroid);
            assert!((0..=10_000).contains(&bp), "{bp}");
            let (_verdict, why, lang, voice) =
                otto_core::stages::cs::judge(&d.body, t.refund_amount, &centroid, &policy);
            assert_eq!(voice, bp);
            assert!(!lang.is_empty());
            let _ = why;
        }
    }
}

thread_local! {
    /// Per process and thread: the file lanes and the simulated vendor read files.
    static SCRATCH: PathBuf = {
        let dir = std::env::temp_dir().join(format!(
            "otto-fuzz-{}-{:?}",
            std::process::id(),
            std::thread::current().id()
        ).replace(['(', ')'], ""));
        std::fs::create_dir_all(&dir).expect("scratch dir");
        dir
    };
}

/// The scratch directory of the calling thread (the corpus replay removes it when done).
pub fn scratch_dir() -> PathBuf {
    SCRATCH.with(Clone::clone)
}

fn file_lanes(data: &[u8]) {
    use otto_connectors::lanes::files::FileLane;
    use otto_connectors::lanes::DiscoveryLane;
    let dir = scratch_dir();
    for (name, lane) in [
        (
            "organic.csv",
            FileLane::organic as fn(PathBuf, Currency) -> FileLane,
        ),
        ("spy_tools.json", FileLane::spy_tools),
    ] {
        let path = dir.join(name);
        std::fs::write(&path, data).expect("write scratch file");
        let lane = lane(path, Currency::EUR);
        if let Ok(found) = block_on(lane.discover(&[])) {
            for c in &found {
                assert!(!c.title.is_empty());
                assert_eq!(c.title.trim(), c.title);
                assert_eq!(c.lane, lane.name());
                assert_eq!(&json_round_trip(c), c);
            }
        }
    }
}

fn simulated(data: &[u8]) {
    use otto_connectors::simulated::SimulatedVendor;
    use otto_connectors::{AdsAccount, ShopCatalog};
    let path = scratch_dir().join("simulated.json");
    std::fs::write(&path, data).expect("write scratch file");
    let Ok(Some(sim)) = SimulatedVendor::open(&path) else {
        return;
    };
    let spec = sim.spec();
    let _ = sim.writes();
    // The generator is linear in variants × days; keep each run small. Store days are today's
    // dates in practice: far-off years are out of scope (chrono's range ends at ±262 143).
    let year = spec.last_day.date().year();
    if spec.variants > 64 || spec.days > 40 || !(1_900..=2_200).contains(&year) {
        return;
    }
    let variants = block_on(sim.fetch_variants()).expect("simulated variants");
    assert_eq!(variants.len(), spec.variants);
    if let Some(v) = variants.first() {
        let one = block_on(sim.fetch_variant(&v.variant_id)).expect("simulated variant");
        assert_eq!(one.as_ref(), Some(v));
    }
    let from = spec.last_day.plus_days(-2);
    let _ = block_on(sim.sku_performance(from, spec.last_day));
    let _ = block_on(sim.campaign_performance(from, spec.last_day));
    let _ = block_on(sim.budgets());
    let since = Utc.from_utc_datetime(&from.date().and_hms_opt(0, 0, 0).expect("midnight"));
    let _ = block_on(sim.changes_since(since));
}

/// `vendor_json`: input = a vendor-shaped JSON document (or an amount, a CSV export). Runs
/// `Money::parse` (+ `amount_string` ∘ parse = id, Display, rounding) in EUR/USD/GBP/JPY/KWD
/// and in a currency named by a `"XXX "` prefix; serde round trips of the vendor-facing types
/// (`Variant`, `DailyMetric`, `CampaignDay`, `CampaignBudget`, `ExternalChange`, `RawCandidate`,
/// `KeywordStat`, `SimSpec`, `Thread`, `Draft`, `Money`); the helpdesk `InboxFile` with the
/// offline brand-voice scorer and the CS verdict on each draft; the file lanes (`organic` CSV,
/// `spy_tools` JSON); and the simulated vendor's state file.
pub fn vendor_json(data: &[u8]) {
    use otto_connectors::helpdesk::{Draft, Thread};
    use otto_connectors::lanes::{KeywordStat, RawCandidate};
    use otto_connectors::simulated::SimSpec;
    use otto_core::metrics::{CampaignBudget, CampaignDay, DailyMetric, ExternalChange, Variant};

    money(data);
    serde_round_trip::<Money>(data);
    serde_round_trip::<Variant>(data);
    serde_round_trip::<Vec<Variant>>(data);
    serde_round_trip::<DailyMetric>(data);
    serde_round_trip::<CampaignDay>(data);
    serde_round_trip::<CampaignBudget>(data);
    serde_round_trip::<ExternalChange>(data);
    serde_round_trip::<RawCandidate>(data);
    serde_round_trip::<Vec<RawCandidate>>(data);
    serde_round_trip::<KeywordStat>(data);
    serde_round_trip::<SimSpec>(data);
    serde_round_trip::<Thread>(data);
    serde_round_trip::<Draft>(data);
    inbox(data);
    file_lanes(data);
    simulated(data);
}

// ---------------------------------------------------------------------------------------------
// question
// ---------------------------------------------------------------------------------------------

/// The store day the answers suite's fixtures are on.
fn default_today() -> StoreDay {
    StoreDay::new(NaiveDate::from_ymd_opt(2026, 11, 24).expect("valid date"))
}

/// Audit rows the citation guard checks text against (the export example of docs/audit-plane.md
/// and a held decision).
fn support() -> &'static otto_answers::guard::Support {
    static SUPPORT: std::sync::OnceLock<otto_answers::guard::Support> = std::sync::OnceLock::new();
    SUPPORT.get_or_init(|| {
        let rows: Vec<AuditRow> = [
            r#"{"body":{"action":"ON_DISCOUNT","classification":"LOSER","figures":{"cycles_without_lift":2,"new_price":"25.49","roas_28d":"0.61"},"reasoning":"two optimisation cycles without lift: 15 % discount test for 14 days","result":{"compare_at_price":"29.99","price":"25.49","variant_id":"gid://shopify/ProductVariant/44012345678"},"reversal_op":{"compare_at_price":null,"op":"variant_price","price":{"amount":"29.99","currency":"EUR"},"product_id":"gid://shopify/Product/8123456789","variant_id":"gid://shopify/ProductVariant/44012345678"},"sku":"SKU-LIN-228-SND-L","trigger":"OPTIMIZE_CYCLE_FAILED","window":{"ends_on":"2026-12-08","percent_bp":1500,"starts_on":"2026-11-24"}},"created_at":"2026-11-24T15:00:41+00:00","cycle_id":"brevard-eu:discount:2026-11-24","day":"2026-11-24","natural_key":"brevard-eu:discount:2026-11-24|open|SKU-LIN-228-SND-L","ref":"decision_log#84196","status":"APPLIED","store":"brevard-eu","table":"decision_log","ulid":"01M8715HD87Q3K9XW2D4M8RT1V","updated_at":"2026-11-24T15:00:43.512+00:00"}"#,
        ]
        .iter()
        .map(|s| {
            let v: Value = serde_json::from_str(s).expect("fixture row json");
            AuditRow::from_json(&v).expect("fixture row")
        })
        .collect();
        otto_answers::guard::Support::from_rows(&rows)
    })
}

fn check_days(days: &otto_answers::Days, today: StoreDay) {
    assert!(days.first() <= days.last(), "{days:?}");
    assert!(days.last() <= today, "{days:?} after {today}");
    let all = days.newest_first();
    assert!(!all.is_empty() && all.len() <= 31, "{days:?}");
    assert_eq!(all.first(), Some(&days.last()));
    assert_eq!(all.last(), Some(&days.first()));
}

/// Checks an intent; `q` is the question it was parsed from (None for the LLM's JSON).
fn check_intent(q: Option<&str>, intent: &otto_answers::Intent, today: StoreDay) {
    use otto_answers::Intent;
    assert!(!intent.name().is_empty());
    let _ = serde_json::to_string(intent).expect("an intent serializes");
    match intent {
        Intent::ShowRow { row_ref } => {
            assert_eq!(RowRef::parse(&row_ref.to_string()).ok(), Some(*row_ref));
        }
        Intent::CycleSummary { days, .. }
        | Intent::CatalogMoves { days }
        | Intent::CustomerService { days, .. } => check_days(days, today),
        Intent::Campaign { name, days } | Intent::CampaignPerformance { name, days } => {
            assert!(!name.is_empty());
            days.iter().for_each(|d| check_days(d, today));
        }
        Intent::Rows(q) => q.days.iter().for_each(|d| check_days(d, today)),
        Intent::SkuHistory { sku } => {
            assert_eq!(Sku::new(sku.as_str()).ok().as_ref(), Some(sku));
            if let Some(q) = q {
                assert!(q.contains(sku.as_str()), "{sku} not in {q:?}");
            }
        }
        Intent::Future { day } => assert!(*day >= today, "future {day} before {today}"),
        Intent::KillSwitch { days, .. } | Intent::Thresholds { days } => {
            days.iter().for_each(|d| check_days(d, today))
        }
        Intent::CycleHealth { .. } => {}
        Intent::Help
        | Intent::Greeting
        | Intent::Holds
        | Intent::DiscountWindows
        | Intent::Research
        | Intent::Unknown => {}
    }
}

/// `question`: input = `"YYYY-MM-DD\n<question>"` (today, then the question) or just a
/// question (today = 2026-11-24). Runs `otto_answers::question::parse` and checks the intent
/// (days never after today, a future day not before it, refs and SKUs that re-parse, …); when
/// the question is JSON, `otto_answers::llm::intent_from_json` (the LLM's answer) with the same
/// checks; then the citation guard: `tokens`, `normalise` (idempotent) and
/// `Support::unsupported` against the export example row.
pub fn question(data: &[u8]) {
    use otto_answers::guard::{normalise, tokens};
    let text = String::from_utf8_lossy(data);
    let (today, q) = match text.split_once('\n') {
        Some((d, q)) => match StoreDay::parse(d.trim()) {
            // "today" comes from the store clock: a real date.
            Ok(day) if (1_900..=2_200).contains(&day.date().year()) => (day, q),
            _ => (default_today(), &*text),
        },
        None => (default_today(), &*text),
    };
    let intent = otto_answers::question::parse(q, today);
    check_intent(Some(q), &intent, today);
    // The optional LLM maps a question to JSON; that JSON is validated like any other input.
    if let Ok(v) = serde_json::from_str::<Value>(q) {
        if let Some(intent) = otto_answers::llm::intent_from_json(&v, today) {
            check_intent(None, &intent, today);
        }
    }

    let toks = tokens(q);
    for t in &toks {
        assert!(!t.is_empty());
        if let Some(n) = normalise(t) {
            assert_eq!(normalise(&n).as_deref(), Some(n.as_str()), "{t:?}");
        }
    }
    for bad in support().unsupported(q) {
        assert!(toks.contains(&bad), "{bad:?} is not a token of {q:?}");
        assert!(bad.chars().any(|c| c.is_ascii_digit()));
    }
}

// ---------------------------------------------------------------------------------------------
// vendor_responses
// ---------------------------------------------------------------------------------------------

/// The parsers `vendor_responses` selects from, by the name on the input's first line (or, when
/// that line names none, by the first byte modulo their number).
pub const VENDOR_PARSERS: [&str; 12] = [
    "shopify",
    "google_ads",
    "google_ads_mutate",
    "google_oauth",
    "gorgias",
    "gorgias_headers",
    "dataforseo",
    "aliexpress",
    "competitor",
    "meta_ads",
    "embeddings",
    "chat",
];

/// `vendor_responses`: (parser, HTTP status, body). The first line is `"<parser>[ <status>]"`
/// (status default 200); when it names no parser, the first byte modulo 12 picks one, status 200,
/// and the body is the rest.
fn split_vendor_input(data: &[u8]) -> (&'static str, u16, String) {
    if let Some(nl) = data.iter().position(|b| *b == b'\n') {
        let head = String::from_utf8_lossy(&data[..nl]);
        let mut words = head.split_whitespace();
        if let Some(name) = words.next() {
            if let Some(p) = VENDOR_PARSERS.iter().find(|p| **p == name) {
                let status = words.next().and_then(|s| s.parse().ok()).unwrap_or(200);
                let body = String::from_utf8_lossy(&data[nl + 1..]).into_owned();
                return (p, status, body);
            }
        }
    }
    match data.split_first() {
        Some((b, rest)) => (
            VENDOR_PARSERS[usize::from(*b) % VENDOR_PARSERS.len()],
            200,
            String::from_utf8_lossy(rest).into_owned(),
        ),
        None => ("shopify", 200, String::new()),
    }
}

/// A vendor error names what was wrong: a non-empty detail, or refusals that each say something.
fn check_vendor_error(e: &otto_connectors::VendorError) {
    use otto_connectors::VendorError;
    match e {
        VendorError::Transient { vendor, detail } | VendorError::Permanent { vendor, detail } => {
            assert!(!vendor.is_empty());
            assert!(!detail.trim().is_empty(), "{e:?} has an empty detail");
        }
        VendorError::Refused { vendor, errors } => {
            assert!(!vendor.is_empty());
            assert!(!errors.is_empty(), "{e:?} refuses without a reason");
            for m in errors {
                assert!(!m.trim().is_empty(), "{e:?} has an empty refusal");
            }
        }
    }
    assert!(!e.to_string().is_empty());
}

/// Money read from a vendor: in the currency asked for, exact (re-parses to itself).
fn check_vendor_money(m: &Money, currency: Currency) {
    assert_eq!(m.currency(), currency, "{m:?}");
    check_money(*m);
}

fn check_candidate(c: &otto_connectors::lanes::RawCandidate, lane: &str, currency: Currency) {
    assert_eq!(c.lane, lane);
    assert!(!c.title.trim().is_empty(), "{c:?}");
    for m in c.price.iter().chain(c.unit_cost.iter()) {
        check_vendor_money(m, currency);
    }
    if let Some(bp) = c.competition_bp {
        assert!(bp <= 10_000, "{c:?}");
    }
    assert_eq!(&json_round_trip(c), c);
}

const SHOP_CURRENCY: Currency = Currency::EUR;

fn vendor_shopify(status: u16, body: &str) {
    use otto_connectors::shopify::{
        parse_mutation_payload, parse_response, parse_variant, parse_variants_page, Outcome,
    };
    let (cost, outcome) = parse_response("productVariants", status, body);
    if let Some(cost) = cost {
        // Query-cost points, not money; only sanity: what was read is what the JSON held.
        if let Some((max, available, restore)) = cost.throttle {
            assert!(max.is_finite() && available.is_finite() && restore.is_finite());
        }
    }
    let data = match outcome {
        Outcome::Data(d) => d,
        Outcome::Fatal(e) => return check_vendor_error(&e),
        Outcome::Throttled(d) | Outcome::Retry(d) => return assert!(!d.is_empty()),
    };
    assert!(data.is_object());
    assert!((200..300).contains(&status), "data from HTTP {status}");
    let check_variant = |v: &otto_core::metrics::Variant| {
        assert_eq!(Sku::new(v.sku.as_str()).ok().as_ref(), Some(&v.sku));
        assert!(!v.variant_id.is_empty() && !v.title.is_empty(), "{v:?}");
        check_vendor_money(&v.price, SHOP_CURRENCY);
        for m in v.compare_at_price.iter().chain(v.unit_cost.iter()) {
            check_vendor_money(m, SHOP_CURRENCY);
        }
        assert_eq!(&json_round_trip(v), v);
    };
    match parse_variants_page(&data, SHOP_CURRENCY) {
        Ok(page) => {
            page.variants.iter().for_each(check_variant);
            for (id, why) in &page.skipped {
                assert!(!id.is_empty() && !why.is_empty());
            }
            match (&page.end_cursor, page.has_next) {
                (Some(c), true) => assert!(!c.is_empty(), "hasNextPage with an empty endCursor"),
                (None, false) => {}
                other => panic!("cursor {other:?}"),
            }
        }
        Err(e) => check_vendor_error(&e),
    }
    match parse_variant(&data, "gid://shopify/ProductVariant/1", SHOP_CURRENCY) {
        Ok(Some(v)) => check_variant(&v),
        Ok(None) => {}
        Err(e) => check_vendor_error(&e),
    }
    for field in ["productUpdate", "productVariantsBulkUpdate"] {
        match parse_mutation_payload(&data, field) {
            Ok(p) => assert!(p.is_object()),
            Err(e) => check_vendor_error(&e),
        }
    }
}

fn vendor_google_ads(status: u16, body: &str, mutate: bool) {
    use otto_connectors::google_ads::{
        parse_budget_rows, parse_campaign_rows, parse_change_rows, parse_response,
        parse_search_rows, parse_sku_rows, Outcome,
    };
    let answer = match parse_response(status, body, mutate) {
        Outcome::Ok(v) => v,
        Outcome::Retry(d) => return assert!(!d.is_empty()),
        Outcome::Fatal(e) => {
            if let otto_connectors::VendorError::Refused { .. } = e {
                assert!(mutate, "a report refused: {e:?}");
            }
            return check_vendor_error(&e);
        }
    };
    assert!((200..300).contains(&status), "an answer from HTTP {status}");
    if mutate {
        return;
    }
    let rows = match parse_search_rows("report", &answer) {
        Ok(rows) => rows,
        Err(e) => return check_vendor_error(&e),
    };
    match parse_sku_rows(&rows, SHOP_CURRENCY) {
        Ok(metrics) => {
            assert!(metrics.len() <= rows.len());
            for w in metrics.windows(2) {
                assert!(
                    (&w[0].sku, w[0].day) < (&w[1].sku, w[1].day),
                    "not unique and sorted"
                );
            }
            for m in &metrics {
                assert_eq!(Sku::new(m.sku.as_str()).ok().as_ref(), Some(&m.sku));
                check_vendor_money(&m.cost, SHOP_CURRENCY);
                check_vendor_money(&m.conversion_value, SHOP_CURRENCY);
                assert!(!m.provisional);
                assert_eq!(&json_round_trip(m), m);
            }
        }
        Err(e) => check_vendor_error(&e),
    }
    match parse_campaign_rows(&rows, SHOP_CURRENCY) {
        Ok(days) => {
            assert_eq!(days.len(), rows.len());
            for d in &days {
                assert!(d.campaign_id.parse::<i64>().is_ok(), "{d:?}");
                check_vendor_money(&d.cost, SHOP_CURRENCY);
                check_vendor_money(&d.conversion_value, SHOP_CURRENCY);
                assert_eq!(&json_round_trip(d), d);
            }
        }
        Err(e) => check_vendor_error(&e),
    }
    match parse_budget_rows(&rows, SHOP_CURRENCY) {
        Ok(budgets) => {
            assert!(budgets.len() <= rows.len());
            for b in &budgets {
                assert!(b.campaign_id.parse::<i64>().is_ok() && !b.budget_resource.is_empty());
                check_vendor_money(&b.amount, SHOP_CURRENCY);
                assert_eq!(&json_round_trip(b), b);
            }
        }
        Err(e) => check_vendor_error(&e),
    }
    let clock = otto_core::StoreClock::new("Europe/Amsterdam").expect("a known time zone");
    let since = Utc.with_ymd_and_hms(2026, 11, 1, 0, 0, 0).unwrap();
    let mut seen = std::collections::HashSet::new();
    match parse_change_rows(&rows, &clock, since, &mut seen) {
        Ok(page) => {
            assert!(page.new_rows <= rows.len() && page.changes.len() <= page.new_rows);
            assert_eq!(page.last_time.is_some(), !rows.is_empty());
            for c in &page.changes {
                assert!(c.changed_at >= since, "{c:?}");
                assert!(!c.resource.is_empty() && !c.client_type.is_empty());
                assert!(c.changed_fields.iter().all(|f| !f.is_empty()), "{c:?}");
            }
            // The same rows again are all repeats.
            let again = parse_change_rows(&rows, &clock, since, &mut seen).expect("read once");
            assert_eq!(again.new_rows, 0);
            assert!(again.changes.is_empty());
        }
        Err(e) => check_vendor_error(&e),
    }
}

fn vendor_google_oauth(status: u16, body: &str) {
    use otto_connectors::google_ads::{parse_token_response, Outcome};
    match parse_token_response(status, body) {
        Ok((token, _lifetime)) => {
            assert!((200..300).contains(&status), "a token from HTTP {status}");
            assert!(!token.is_empty(), "an empty access_token");
        }
        Err(Outcome::Retry(d)) => assert!(!d.is_empty() && (500..600).contains(&status)),
        Err(Outcome::Fatal(e)) => check_vendor_error(&e),
        Err(Outcome::Ok(v)) => panic!("a token error that is an answer: {v}"),
    }
}

fn vendor_gorgias(status: u16, body: &str) {
    use otto_connectors::gorgias::{
        parse_answer, parse_message, parse_page, parse_thread, parse_ticket,
    };
    let answer = match parse_answer("tickets", status, body) {
        Ok(v) => v,
        Err(e) => return check_vendor_error(&e),
    };
    let (data, next) = match parse_page("tickets", &answer) {
        Ok(p) => p,
        Err(e) => return check_vendor_error(&e),
    };
    if let Some(c) = &next {
        assert!(!c.is_empty(), "an empty next_cursor is the last page");
    }
    // The page read as messages of the ticket the first one names (else ticket 1) …
    let ticket_id = data
        .first()
        .and_then(|m| m.get("ticket_id"))
        .and_then(Value::as_u64)
        .unwrap_or(1);
    let msgs: Result<Vec<_>, _> = data
        .iter()
        .enumerate()
        .map(|(i, m)| parse_message(m, ticket_id, i))
        .collect();
    let msgs = match msgs {
        Ok(m) => m,
        Err(e) => {
            check_vendor_error(&e);
            Vec::new()
        }
    };
    // … and as tickets, each with those messages.
    for (i, t) in data.iter().enumerate() {
        let t = match parse_ticket(t, i) {
            Ok(t) => t,
            Err(e) => {
                check_vendor_error(&e);
                continue;
            }
        };
        match parse_thread(&t, &msgs, SHOP_CURRENCY) {
            Ok(thread) => {
                assert_eq!(thread.id, t.id().to_string());
                if let Some(m) = &thread.refund_amount {
                    assert!(m.micros() > 0, "refund {m:?}");
                    check_money(*m);
                }
                if let Some(d) = &thread.draft {
                    assert!(!d.body.is_empty() && !d.author.is_empty(), "{d:?}");
                    let (id, hash) = d.version.split_once('@').expect("id@hash");
                    let id: u64 = id.parse().expect("a message id");
                    // A draft is an internal note's text after the draft marker.
                    assert!(msgs
                        .iter()
                        .any(|m| m.id() == id && m.draft_text() == Some(d.body.as_str())));
                    assert!(hash.len() == 12 && hash.bytes().all(|b| b.is_ascii_hexdigit()));
                }
                assert_eq!(&json_round_trip(&thread), &thread);
            }
            Err(e) => check_vendor_error(&e),
        }
    }
}

fn vendor_gorgias_headers(body: &str) {
    use otto_connectors::gorgias::{parse_call_limit, parse_retry_after};
    for line in body.lines().chain(std::iter::once(body)) {
        if let Some(d) = parse_retry_after(line) {
            assert!(d.as_secs() <= 86_400, "{line:?} → {d:?}");
        }
        if parse_call_limit(line).is_some() {
            assert!(line.contains('/'));
        }
    }
}

fn vendor_dataforseo(status: u16, body: &str) {
    match otto_connectors::lanes::dataforseo::parse_volumes(status, body) {
        Ok(stats) => {
            assert!((200..300).contains(&status));
            for s in stats.values() {
                if let Some(bp) = s.competition_bp {
                    assert!(bp <= 10_000 && bp % 100 == 0, "{s:?}");
                }
                assert_eq!(&json_round_trip(s), s);
            }
        }
        Err(e) => check_vendor_error(&e),
    }
}

fn vendor_aliexpress(status: u16, body: &str) {
    match otto_connectors::lanes::aliexpress::parse_products(
        "linen throw",
        status,
        body,
        SHOP_CURRENCY,
    ) {
        Ok(found) => {
            for c in &found {
                check_candidate(c, "aliexpress", SHOP_CURRENCY);
                assert!(c.unit_cost.is_some() && c.price.is_none());
                assert_eq!(c.signals["seed"], "linen throw");
            }
        }
        Err(e) => check_vendor_error(&e),
    }
}

fn vendor_competitor(status: u16, body: &str) {
    use otto_connectors::lanes::competitor::{parse_products_json, seed_words};
    // Seeds from the feed's own titles (else nothing would match): every product is a candidate.
    let titles: Vec<String> = serde_json::from_str::<Value>(body)
        .ok()
        .and_then(|v| v.get("products").and_then(Value::as_array).cloned())
        .unwrap_or_default()
        .iter()
        .filter_map(|p| p.get("title").and_then(Value::as_str).map(str::to_string))
        .collect();
    let words = seed_words(&titles);
    let base = "https://shop.example";
    for max in [3, 250] {
        match parse_products_json(base, status, body, SHOP_CURRENCY, &words, max) {
            Ok(found) => {
                assert!(found.len() <= max);
                for c in &found {
                    check_candidate(c, "competitor", SHOP_CURRENCY);
                    assert_eq!(c.title.trim(), c.title);
                    let url = c.source_url.as_deref().expect("a product URL");
                    assert!(url.starts_with("https://shop.example/products/"), "{url}");
                }
            }
            Err(e) => check_vendor_error(&e),
        }
    }
}

fn vendor_meta_ads(status: u16, body: &str) {
    use otto_connectors::lanes::meta_ads::{parse_ads_page, parse_graph_answer, AdCandidates};
    let page = match parse_graph_answer(status, body) {
        Ok(v) => v,
        Err(e) => return check_vendor_error(&e),
    };
    let (ads, next) = match parse_ads_page("linen", 1, &page) {
        Ok(p) => p,
        Err(e) => return check_vendor_error(&e),
    };
    let _ = next;
    let mut found = AdCandidates::default();
    found.add("linen", &ads);
    found.add("throw", &ads);
    let found = found.finish();
    let mut titles = std::collections::BTreeSet::new();
    let mut counted = 0u64;
    for c in &found {
        check_candidate(c, "meta_ads", SHOP_CURRENCY);
        assert!(titles.insert(c.title.to_lowercase()), "{:?} twice", c.title);
        if let Some(url) = &c.source_url {
            assert!(
                !url.starts_with("access_token=")
                    && !url.contains("?access_token=")
                    && !url.contains("&access_token="),
                "the token leaks: {url}"
            );
        }
        counted += c.signals["ads"].as_u64().expect("an ads count");
    }
    assert!(counted <= 2 * ads.len() as u64);
}

fn vendor_embeddings(status: u16, body: &str) {
    use otto_connectors::voice::{cosine_bp, parse_embeddings};
    let n = serde_json::from_str::<Value>(body)
        .ok()
        .and_then(|v| v.get("data").and_then(Value::as_array).map(Vec::len))
        .unwrap_or(1)
        .min(1_000);
    for inputs in [n, n + 1] {
        match parse_embeddings(status, body, inputs) {
            Ok(vectors) => {
                assert_eq!(vectors.len(), inputs);
                // The scorer never asks for zero inputs (it answers 0s without a call).
                let Some(first) = vectors.first() else {
                    continue;
                };
                let dims = first.len();
                assert!(dims > 0 && vectors.iter().all(|v| v.len() == dims));
                for v in &vectors {
                    let bp = cosine_bp(&vectors[0], v);
                    assert!((0..=10_000).contains(&bp), "{bp}");
                }
            }
            Err(e) => check_vendor_error(&e),
        }
    }
}

fn vendor_chat(status: u16, body: &str) {
    use otto_answers::llm::{parse_chat_completion, parse_intent_reply, parse_wording_reply};
    let content = match parse_chat_completion(status, body) {
        Ok(c) => c,
        Err(e) => return assert!(!e.to_string().is_empty()),
    };
    let today = default_today();
    match parse_intent_reply(&content, today) {
        Ok(Some(intent)) => check_intent(None, &intent, today),
        Ok(None) => {}
        Err(e) => assert!(!e.to_string().is_empty()),
    }
    match parse_wording_reply(&content) {
        Ok(w) => assert!(!w.is_empty() && w.trim() == w),
        Err(e) => assert!(content.trim().is_empty() && !e.to_string().is_empty()),
    }
}

/// `vendor_responses`: input = `"<parser>[ <status>]\n<response body>"`, parser one of
/// [`VENDOR_PARSERS`] (or, when the first line names none, the first byte picks the parser and
/// the rest is the body, status 200). Runs the vendor clients' response parsers — the very
/// functions the HTTP clients call — on the body and asserts: errors name what was wrong
/// (non-empty details and refusals), money is in the shop's currency and re-parses exactly,
/// SKUs re-parse, cursors are non-empty when there is a next page, keyed rows are unique and
/// sorted, shares and competition are basis points ≤ 10 000, drafts carry `<id>@<12 hex>`
/// versions of a message they came from, refunds are positive, and parsed values survive a
/// serde round trip.
pub fn vendor_responses(data: &[u8]) {
    let (parser, status, body) = split_vendor_input(data);
    match parser {
        "shopify" => vendor_shopify(status, &body),
        "google_ads" => vendor_google_ads(status, &body, false),
        "google_ads_mutate" => vendor_google_ads(status, &body, true),
        "google_oauth" => vendor_google_oauth(status, &body),
        "gorgias" => vendor_gorgias(status, &body),
        "gorgias_headers" => vendor_gorgias_headers(&body),
        "dataforseo" => vendor_dataforseo(status, &body),
        "aliexpress" => vendor_aliexpress(status, &body),
        "competitor" => vendor_competitor(status, &body),
        "meta_ads" => vendor_meta_ads(status, &body),
        "embeddings" => vendor_embeddings(status, &body),
        "chat" => vendor_chat(status, &body),
        other => unreachable!("{other}"),
    }
}
