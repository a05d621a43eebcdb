//! The chart pages through the router on the embedded store: campaigns, the calibration, a SKU's
//! timeline, held rows by reason and their bulk release — with rows that make every chart
//! non-trivial, every chart link followed to a page that exists, and each empty state in words.

use super::tests::{assert_escaped, csrf, ctx, get, post, send, store, Ctx, XSS};
use super::*;
use otto_core::audit::{
    AdDecisionRow, DecisionRow, DiscountWindow, NewRow, OperatorAct, OperatorRow, RowBody,
    StageRunRow, Surface,
};
use otto_core::cycle::Stage;
use otto_core::report::{
    CalibrateReport, CampaignPlanReport, ClassEntry, ClassifyReport, MorningSummary, StageReport,
};
use otto_core::stages::calibrate::{CalibrationRules, Thresholds};
use otto_core::stages::campaign_watch::{AdTotals, CampaignWatch, ObservedDay, ObservedWindow};
use otto_core::stages::classify::Classified;
use otto_core::{Action, Classification, Currency, Money, Move, Sku, StoreClock};
use std::collections::BTreeMap;

fn eur(s: &str) -> Money {
    Money::parse(s, Currency::EUR).unwrap()
}

fn today() -> StoreDay {
    StoreClock::new("Europe/Amsterdam")
        .unwrap()
        .day_of(otto_core::clock::now())
}

fn morning(day: StoreDay) -> CycleId {
    CycleId::new(store(), CycleKind::Morning, day)
}

fn new_row(cycle: &CycleId, key: &str, status: RowStatus, body: RowBody) -> NewRow {
    NewRow {
        cycle_id: cycle.clone(),
        natural_key: format!("{cycle}|{key}"),
        status,
        created_at: otto_core::clock::now(),
        body,
    }
}

fn ad(id: &str, name: &str, spend: &str, roas: Option<i64>, mer: i64) -> RowBody {
    let mut figures = BTreeMap::from([
        ("spend".to_string(), serde_json::json!(eur(spend))),
        ("mer_after_bp".to_string(), serde_json::json!(mer)),
        ("target_roas_bp".to_string(), serde_json::json!(40_000)),
    ]);
    if let Some(r) = roas {
        figures.insert("roas_bp".into(), serde_json::json!(r));
    }
    RowBody::AdDecision(AdDecisionRow {
        channel: "google_ads".into(),
        campaign: name.into(),
        campaign_id: id.into(),
        action: Action::AdjustBudget,
        verdict: "AGREE".into(),
        reasoning: "ROAS 52000bp ≥ target 40000bp, 1800bp of search impressions lost".into(),
        figures,
        budget_before: Some(eur("300.00")),
        budget_after: Some(eur("354.00")),
        r#move: None,
        rate_limit_position: Some((3, 8)),
        watch: None,
        reversal_op: None,
        hold_reason: None,
        result: None,
    })
}

/// The same ad row as a morning's typed watch: the ad day before `morning` (its spend, ROAS
/// 4.0), the window's spend and ROAS, the store's MER — and none of the legacy figures; a KEEP
/// row (no move, RECORDED) when `keep`.
fn watched(
    body: RowBody,
    morning: StoreDay,
    day_spend: &str,
    store_mer: i64,
    keep: bool,
) -> RowBody {
    let RowBody::AdDecision(mut a) = body else {
        unreachable!("an ad row")
    };
    let window_spend = a
        .figures
        .get("spend")
        .cloned()
        .map(|v| serde_json::from_value::<Money>(v).unwrap())
        .unwrap();
    let roas = a.figures.get("roas_bp").and_then(serde_json::Value::as_i64);
    let value = |m: Money, bp: i64| Money::from_micros(m.micros() * bp / 10_000, m.currency());
    a.watch = Some(Box::new(CampaignWatch {
        day: Some(ObservedDay {
            day: morning.plus_days(-1),
            totals: AdTotals {
                spend: eur(day_spend),
                conversion_value: value(eur(day_spend), 40_000),
                roas_bp: Some(40_000),
            },
            provisional: true,
        }),
        window: ObservedWindow {
            from: morning.plus_days(-14),
            to: morning.plus_days(-1),
            days: 12,
            totals: AdTotals {
                spend: window_spend,
                conversion_value: value(window_spend, roas.unwrap_or(0)),
                roas_bp: roas,
            },
        },
        store_mer_bp: Some(store_mer),
    }));
    a.figures.remove("spend");
    a.figures.remove("roas_bp");
    a.figures.remove("mer_after_bp");
    if keep {
        a.action = Action::Keep;
        a.verdict = "NO_MOVE".into();
        a.budget_after = None;
        a.rate_limit_position = None;
        a.reasoning = "no budget move proposed: ROAS 43000bp over 12 mature days".into();
    }
    RowBody::AdDecision(a)
}

fn stage(stage: Stage, report: StageReport) -> RowBody {
    RowBody::StageRun(StageRunRow {
        stage,
        chunk: 0,
        chunks: 1,
        report: Some(report),
        figures: BTreeMap::new(),
        error: None,
    })
}

fn plan(mer: i64) -> RowBody {
    stage(
        Stage::CampaignPlan,
        StageReport::CampaignPlan(CampaignPlanReport {
            proposals: 1,
            agreed: 1,
            judge_agreement_bp: Some(10_000),
            account_roas_before_bp: Some(90_000),
            account_roas_after_bp: Some(91_000),
            store_mer_before_bp: Some(mer - 500),
            store_mer_after_bp: Some(mer),
            summary: MorningSummary::default(),
        }),
    )
}

fn decision(sku: &str, action: Action, class: Option<Classification>) -> DecisionRow {
    DecisionRow {
        sku: Sku::new(sku).unwrap(),
        action,
        trigger: None,
        classification: class,
        reasoning: format!("{action} for {sku}"),
        figures: BTreeMap::new(),
        window: None,
        r#move: None,
        reversal_op: None,
        hold_reason: None,
        result: None,
    }
}

/// ROAS 1.0 … 12.0 for SKU-P01 … SKU-P12 (LOSER under 3.5, WINNER from 9.0), two with too
/// little data.
fn population() -> Vec<Classified> {
    let mut out: Vec<Classified> = (1..=12)
        .map(|i| {
            let roas = i * 10_000;
            Classified {
                sku: Sku::new(format!("SKU-P{i:02}")).unwrap(),
                class: if roas < 35_000 {
                    Classification::Loser
                } else if roas >= 90_000 {
                    Classification::Winner
                } else {
                    Classification::Mid
                },
                roas_bp: Some(roas),
                impressions: 1_000 + i as u64,
                cost_micros: 10_000_000,
                value_micros: roas * 1_000,
                active_days: 20,
                reason: "test".into(),
            }
        })
        .collect();
    for i in 13..=14 {
        out.push(Classified {
            sku: Sku::new(format!("SKU-P{i:02}")).unwrap(),
            class: Classification::InsufficientData,
            roas_bp: Some(500_000),
            impressions: 3,
            cost_micros: 1,
            value_micros: 1,
            active_days: 1,
            reason: "too little data".into(),
        });
    }
    out
}

fn classify(chunk: u32, skus: &[Classified]) -> RowBody {
    let classes = skus
        .iter()
        .map(|c| {
            (
                c.sku.to_string(),
                ClassEntry {
                    c: c.clone(),
                    lift: Default::default(),
                    sales: None,
                },
            )
        })
        .collect();
    RowBody::StageRun(StageRunRow {
        stage: Stage::Classify,
        chunk,
        chunks: 2,
        report: Some(StageReport::Classify(ClassifyReport {
            counts: BTreeMap::new(),
            classes,
        })),
        figures: BTreeMap::new(),
        error: None,
    })
}

fn calibrate(day: StoreDay) -> RowBody {
    stage(
        Stage::Calibrate,
        StageReport::Calibrate(CalibrateReport {
            previous_cycle: None,
            previous_synced_at: None,
            thresholds: Thresholds {
                window_from: day.plus_days(-28),
                window_to: day.plus_days(-1),
                method: "percentile_cont".into(),
                rules: CalibrationRules::default(),
                n: 12,
                insufficient: 2,
                provisional_rows_excluded: 0,
                winner_floor_roas_bp: Some(90_000),
                loser_ceiling_roas_bp: Some(35_000),
                median_roas_bp: Some(65_000),
            },
            skus: 14,
            chunk_bounds: vec![],
            chunks: 2,
        }),
    )
}

async fn append(c: &Ctx, rows: Vec<NewRow>) -> Vec<RowRef> {
    c.ports
        .audit
        .append(rows, None)
        .await
        .unwrap()
        .into_iter()
        .map(|a| a.row_ref)
        .collect()
}

/// Campaign 1001 on the five days before today (no ROAS on one): four mornings with a typed watch
/// (one a KEEP row), the oldest a row from before watches (its `mer_after_bp` was the account's
/// ROAS, never charted as MER); a hostile campaign on one day, each morning's store MER on its
/// campaign_plan row; a calibration with its population two days ago.
async fn campaign_and_calibration_rows(c: &Ctx) {
    let t = today();
    let mut rows = Vec::new();
    for i in 1..=5i64 {
        let day = t.plus_days(-i);
        let m = morning(day);
        let roas = (i != 3).then_some(40_000 + 1_000 * i);
        let spend = format!("{}.00", 1_000 + 100 * i);
        let legacy = ad("1001", "EU/Linen/Throws", &spend, roas, 77_000);
        let (status, body) = match i {
            5 => (RowStatus::Applied, legacy),
            2 => (
                RowStatus::Recorded,
                watched(legacy, day, "120.00", 41_000 + 500 * i, true),
            ),
            _ => (
                RowStatus::Applied,
                watched(
                    legacy,
                    day,
                    &format!("{}.00", 100 + 10 * i),
                    41_000 + 500 * i,
                    false,
                ),
            ),
        };
        rows.push(new_row(&m, "campaign_plan|1001", status, body));
        rows.push(new_row(
            &m,
            "campaign_plan|0",
            RowStatus::Completed,
            plan(40_000 + 600 * i),
        ));
    }
    rows.push(new_row(
        &morning(t.plus_days(-4)),
        "campaign_plan|evil",
        RowStatus::DryRun,
        watched(
            ad("evil<1>", XSS, "10.00", Some(10_000), 40_000),
            t.plus_days(-4),
            "10.00",
            40_000,
            false,
        ),
    ));
    let cal = morning(t.plus_days(-2));
    let pop = population();
    rows.push(new_row(
        &cal,
        "calibrate|0",
        RowStatus::Completed,
        calibrate(t.plus_days(-2)),
    ));
    rows.push(new_row(
        &cal,
        "classify|0",
        RowStatus::Completed,
        classify(0, &pop[..7]),
    ));
    rows.push(new_row(
        &cal,
        "classify|1",
        RowStatus::Completed,
        classify(1, &pop[7..]),
    ));
    for (sku, action, class) in [
        ("SKU-P12", Action::ScaleWinner, Classification::Winner),
        ("SKU-P01", Action::DiscountTest, Classification::Loser),
    ] {
        rows.push(new_row(
            &cal,
            &format!("decide|{sku}"),
            RowStatus::DryRun,
            RowBody::Decision(decision(sku, action, Some(class))),
        ));
    }
    append(c, rows).await;
}

/// SKU-LIN-007's history (a discount opened, reverted by an undo, a DRAFT held by the kill switch)
/// and held rows of every kind of reason. Returns the kill-switch-held row.
async fn sku_and_held_rows(c: &Ctx) -> RowRef {
    let t = today();
    let flip = append(
        c,
        vec![new_row(
            &CycleId::new(store(), CycleKind::Operator, t.plus_days(-2)),
            "kill_switch_on",
            RowStatus::Applied,
            RowBody::Operator(OperatorRow {
                act: OperatorAct::KillSwitchOn,
                by: "emma".into(),
                surface: Surface::Cli,
                reason: Some("import".into()),
                change: None,
            }),
        )],
    )
    .await[0];
    let sku = "SKU-LIN-007";
    let discount = CycleId::new(store(), CycleKind::Discount, t.plus_days(-4));
    let mut on_discount = decision(sku, Action::OnDiscount, Some(Classification::Mid));
    on_discount.window = Some(DiscountWindow {
        percent_bp: 1_500,
        starts_on: t.plus_days(-4),
        ends_on: t.plus_days(3),
    });
    on_discount.r#move = Some(Move::VariantPrice {
        sku: Sku::new(sku).unwrap(),
        expected_price: eur("85.00"),
        price: eur("72.25"),
        compare_at: Some(eur("85.00")),
        restores: None,
    });
    let first = append(
        c,
        vec![
            new_row(
                &morning(t.plus_days(-5)),
                &format!("decide|{sku}"),
                RowStatus::DryRun,
                RowBody::Decision(decision(sku, Action::Keep, Some(Classification::Mid))),
            ),
            new_row(
                &morning(t.plus_days(-4)),
                &format!("decide|{sku}"),
                RowStatus::Recorded,
                RowBody::Decision(decision(
                    sku,
                    Action::DiscountTest,
                    Some(Classification::Mid),
                )),
            ),
            new_row(
                &discount,
                &format!("open|{sku}"),
                RowStatus::Reverted,
                RowBody::Decision(on_discount),
            ),
        ],
    )
    .await;
    let mut undo = decision(sku, Action::Revert, None);
    undo.r#move = Some(Move::Revert {
        reverts: first[2],
        undo: Box::new(Move::VariantPrice {
            sku: Sku::new(sku).unwrap(),
            expected_price: eur("72.25"),
            price: eur("85.00"),
            compare_at: None,
            restores: Some(first[2]),
        }),
    });
    let mut held_draft = decision(sku, Action::Draft, Some(Classification::Loser));
    held_draft.hold_reason = Some(otto_core::hold::kill_switch_text(
        Some("emma"),
        Some("import"),
        Some(flip),
    ));
    let mut outside = decision("SKU-COT-002", Action::PriceRestore, None);
    outside.hold_reason = Some(
        "price is €79.00, not the discount price €85.00: changed by someone else since; not overwritten"
            .into(),
    );
    let mut other = decision("SKU-WOL-003", Action::Publish, Some(Classification::Winner));
    other.hold_reason = Some("the supplier asked us to wait".into());
    let mut rate = ad("1002", "EU/Wool/Search", "500.00", Some(50_000), 41_000);
    if let RowBody::AdDecision(a) = &mut rate {
        a.hold_reason = Some(otto_core::hold::rate_limit_text(
            8,
            8,
            "budget changes this week",
            t.plus_days(3),
        ));
    }
    let m1 = morning(t.plus_days(-1));
    append(
        c,
        vec![
            new_row(
                &discount,
                &format!("undo|{sku}"),
                RowStatus::Applied,
                RowBody::Decision(undo),
            ),
            new_row(
                &morning(t.plus_days(-2)),
                &format!("decide|{sku}"),
                RowStatus::Held,
                RowBody::Decision(held_draft),
            ),
            new_row(
                &m1,
                "decide|SKU-COT-002",
                RowStatus::Held,
                RowBody::Decision(outside),
            ),
            new_row(
                &m1,
                "decide|SKU-WOL-003",
                RowStatus::Held,
                RowBody::Decision(other),
            ),
            new_row(&m1, "campaign_plan|1002", RowStatus::Held, rate),
        ],
    )
    .await[1]
}

async fn charts_ctx() -> (Ctx, RowRef) {
    let c = ctx().await;
    campaign_and_calibration_rows(&c).await;
    let held = sku_and_held_rows(&c).await;
    (c, held)
}

/// The `href`s inside the page's charts (`<svg>` … `</svg>`), unescaped.
fn svg_links(page: &str) -> Vec<String> {
    let mut out = Vec::new();
    for svg in page.split("<svg").skip(1) {
        let svg = svg.split("</svg>").next().unwrap_or("");
        for part in svg.split("href=\"").skip(1) {
            let h = part.split('"').next().unwrap_or("");
            out.push(h.replace("&amp;", "&"));
        }
    }
    out
}

/// Every chart link of `page` leads somewhere that exists: an anchor on the page, or a page that
/// answers 200 without an error (a row page showing its ref).
async fn assert_links_resolve(c: &Ctx, page: &str, what: &str) -> usize {
    let links = svg_links(page);
    for href in &links {
        if let Some(id) = href.strip_prefix('#') {
            assert!(
                page.contains(&format!("id=\"{id}\"")),
                "{what}: {href} has no target"
            );
            continue;
        }
        let path = href.split('#').next().unwrap();
        let r = send(&c.app, get(path)).await;
        assert_eq!(r.status, StatusCode::OK, "{what}: {href}");
        assert!(
            !r.body.contains("notice error"),
            "{what}: {href}: {}",
            r.body
        );
        if let Some(rest) = path.strip_prefix("/dashboard/rows/") {
            let shown = rest.replacen('/', "#", 1);
            assert!(r.body.contains(&shown), "{what}: {href} is not {shown}");
        }
    }
    links.len()
}

fn svg_of<'a>(page: &'a str, id: &str) -> &'a str {
    let start = page
        .find(&format!("id=\"{id}\""))
        .unwrap_or_else(|| panic!("no chart {id}:\n{page}"));
    let end = page[start..].find("</svg>").unwrap();
    &page[start..start + end]
}

#[tokio::test]
async fn campaigns_chart_spend_roas_and_mer_per_morning_each_point_a_row() {
    let (c, _) = charts_ctx().await;
    let t = today();
    let index = send(&c.app, get("/dashboard/campaigns")).await;
    assert_eq!(index.status, StatusCode::OK);
    assert!(index.body.contains("EU/Linen/Throws"), "{}", index.body);
    assert!(index.body.contains(&format!(
        "href=\"/dashboard/campaigns/1001?days=14&amp;to={t}\""
    )));
    assert_eq!(
        svg_of(&index.body, "store-mer").matches("<circle").count(),
        5
    );
    assert!(assert_links_resolve(&c, &index.body, "index").await >= 5);

    let page = send(&c.app, get("/dashboard/campaigns/1001?days=28")).await;
    assert_eq!(page.status, StatusCode::OK);
    let b = &page.body;
    let spend = svg_of(b, "spend");
    // One bar per morning with a watch (the legacy row has no day's spend), the KEEP row's too.
    assert_eq!(spend.matches("class=\"bar\"").count(), 4, "{spend}");
    let ad_day = units::day(t.plus_days(-4));
    assert!(
        spend.contains(&format!("spend €130.00 on {ad_day} (provisional)")),
        "{spend}"
    );
    assert!(
        spend.contains("spend €120.00 on "),
        "the KEEP row is a point: {spend}"
    );
    let roas = svg_of(b, "roas");
    assert_eq!(
        roas.matches("<circle").count(),
        4,
        "no point for the morning without ROAS"
    );
    assert!(
        roas.contains("ROAS 4.1") && roas.contains("target ROAS 4.0"),
        "{roas}"
    );
    // Store MER: the watches' on four mornings, the campaign_plan row's on the legacy one (4.3),
    // never the legacy row's account ROAS (7.7).
    let mer = svg_of(b, "mer");
    assert_eq!(mer.matches("<circle").count(), 5);
    assert!(
        mer.contains("store MER 4.2") && mer.contains("store MER 4.3"),
        "{mer}"
    );
    assert!(!mer.contains("7.7"), "{mer}");
    assert!(b.contains("no move"), "the KEEP row reads as no move: {b}");
    // Ratios and money for people; basis points stay in the rows.
    assert!(!b.contains("bp") && !b.contains("41000"), "{b}");
    assert!(b.contains("€300.00 → €354.00 (+18%)"), "{b}");
    assert!(b.contains("18% of search impressions"), "{b}");
    assert_eq!(assert_links_resolve(&c, b, "campaign").await, 4 + 4 + 1 + 5);

    // An ad row's page links to its campaign's charts, as of the row's day.
    let row = send(&c.app, get("/dashboard/rows/ad_decision_log/1"))
        .await
        .body;
    assert!(
        row.contains("href=\"/dashboard/campaigns/1001?to="),
        "{row}"
    );

    // A hostile name and id: escaped, and its page found by its (encoded) id.
    let evil = send(&c.app, get("/dashboard/campaigns/evil%3C1%3E")).await;
    assert_eq!(evil.status, StatusCode::OK);
    assert_escaped(&evil.body.replace(&app_js(), ""), "evil campaign");
    assert!(evil.body.contains("id=\"spend\""), "{}", evil.body);
    assert_escaped(&index.body.replace(&app_js(), ""), "campaigns");
}

fn app_js() -> String {
    format!(
        "<script src=\"/dashboard/static/app.js?v={}\" defer></script>",
        views::ASSET_VERSION
    )
}

#[tokio::test]
async fn the_calibration_draws_its_population_with_the_floor_and_ceiling_marked() {
    let (c, _) = charts_ctx().await;
    let day = today().plus_days(-2);
    let page = send(&c.app, get(&format!("/dashboard/calibration?day={day}"))).await;
    assert_eq!(page.status, StatusCode::OK);
    let b = &page.body;
    let h = svg_of(b, "roas-distribution");
    // 12 SKUs in the population (the two with too little data are not drawn), by class.
    assert_eq!(h.matches("class=\"bar c-loser\"").count(), 3, "{h}");
    assert_eq!(h.matches("class=\"bar c-winner\"").count(), 4, "{h}");
    assert_eq!(h.matches("class=\"bar c-mid\"").count(), 5, "{h}");
    assert!(h.contains("winner floor (p75) 9.0"), "{h}");
    assert!(h.contains("loser ceiling (p25) 3.5"), "{h}");
    assert!(h.contains("median 6.5"));
    assert!(
        b.contains("12 SKUs drawn; the calibrator counted 12"),
        "{b}"
    );
    assert!(!b.contains("bp"), "{b}");
    let n = assert_links_resolve(&c, b, "calibration").await;
    assert_eq!(n, 12 + 3, "a bar per SKU here, and three markers");

    // A bar lists its SKUs, each with its decision row of that morning.
    let bar = send(
        &c.app,
        get(&format!("/dashboard/calibration?day={day}&lo=120000")),
    )
    .await
    .body;
    let list = &bar[bar.find("id=\"skus\"").expect("the bar's list")..];
    assert!(
        list.contains("SKU-P12") && !list.contains("SKU-P11"),
        "{list}"
    );
    assert!(list.contains("/dashboard/rows/decision_log/"), "{list}");
    assert!(list.contains("/dashboard/skus/SKU-P12"));

    // The latest calibration (today's, an older row with thresholds only) and a day without one.
    let latest = send(&c.app, get("/dashboard/calibration")).await.body;
    assert!(latest.contains("not in the audit plane"), "{latest}");
    assert!(
        latest.contains("Winner floor <strong>3.1</strong>"),
        "{latest}"
    );
    let none = send(&c.app, get("/dashboard/calibration?day=2020-01-01")).await;
    assert_eq!(none.status, StatusCode::OK);
    assert!(
        none.body.contains("No calibration on Wed 1 Jan"),
        "{}",
        none.body
    );
    let bad = send(&c.app, get("/dashboard/calibration?day=yesterday"))
        .await
        .body;
    assert!(bad.contains("notice error"), "{bad}");
}

#[tokio::test]
async fn a_skus_timeline_links_every_decision_and_price_move() {
    let (c, _) = charts_ctx().await;
    let page = send(&c.app, get("/dashboard/skus/SKU-LIN-007")).await;
    assert_eq!(page.status, StatusCode::OK);
    let b = &page.body;
    let tl = svg_of(b, "sku-timeline");
    for lane in [
        "class",
        "DRAFT",
        "DISCOUNT_TEST",
        "ON_DISCOUNT",
        "KEEP",
        "REVERT",
    ] {
        assert!(tl.contains(&format!(">{lane}</text>")), "lane {lane}: {tl}");
    }
    // Five rows, three of them a morning's with its class: eight dots; the window shaded.
    assert_eq!(tl.matches("<circle").count(), 8, "{tl}");
    assert!(tl.contains("class=\"ev st-held\"") && tl.contains("class=\"ev st-reverted\""));
    assert!(tl.contains("discount 15% off"), "{tl}");
    let prices = svg_of(b, "sku-prices");
    assert_eq!(prices.matches("<circle").count(), 2, "{prices}");
    assert!(prices.contains("€85.00 → €72.25"));
    assert!(
        b.contains("price €85.00 → €72.25 (−15%), compare-at €85.00"),
        "{b}"
    );
    assert!(b.contains("undo of decision_log#"), "{b}");
    assert!(b.contains("(Europe/Amsterdam)"), "store-local times");
    assert_eq!(assert_links_resolve(&c, b, "timeline").await, 8 + 1 + 2);
    let row = send(&c.app, get(&format!("/dashboard/rows/{}", draft_path(b))))
        .await
        .body;
    assert!(
        row.contains("href=\"/dashboard/skus/SKU-LIN-007\">timeline</a>"),
        "{row}"
    );
    // Asked in lower case; an unknown SKU; a hostile one.
    let lower = send(&c.app, get("/dashboard/skus/sku-lin-007")).await.body;
    assert!(lower.contains("id=\"sku-timeline\""), "{lower}");
    let none = send(&c.app, get("/dashboard/skus/SKU-NOPE")).await;
    assert_eq!(none.status, StatusCode::OK);
    assert!(none
        .body
        .contains("I don't have a decision row for SKU SKU-NOPE"));
    let evil = send(
        &c.app,
        get(&format!("/dashboard/skus/{}", html::urlenc(XSS))),
    )
    .await;
    assert_eq!(evil.status, StatusCode::OK);
    assert!(evil.body.contains("id=\"sku-timeline\""), "{}", evil.body);
    assert_escaped(&evil.body.replace(&app_js(), ""), "evil sku");
}

/// The table/id of the first row linked from a timeline page.
fn draft_path(page: &str) -> String {
    let i = page
        .find("/dashboard/rows/decision_log/")
        .expect("a row link");
    page[i + "/dashboard/rows/".len()..]
        .split('"')
        .next()
        .unwrap()
        .to_string()
}

#[tokio::test]
async fn held_rows_are_grouped_by_reason_with_what_a_release_does_now() {
    let (c, _) = charts_ctx().await;
    let page = send(&c.app, get("/dashboard/holds")).await;
    assert_eq!(page.status, StatusCode::OK);
    let b = &page.body;
    for group in [
        "Kill switch",
        "Rate limit — budget changes this week",
        "Changed outside Otto",
        "Policy — the CS judge held the reply&#39;s tone",
        "Policy — the reply&#39;s language is not allowed for sending",
        "Other reasons",
    ] {
        assert!(b.contains(&format!("<h2>{group} ")), "{group}: {b}");
    }
    let reset = units::day(today().plus_days(3));
    assert!(
        b.contains(&format!(
            "The limit resets at the start of {reset} (store time)"
        )),
        "{b}"
    );
    assert!(b.contains("8 of 8 were used"));
    assert!(b.contains("The kill switch is off now"), "{b}");
    assert_eq!(b.matches("action=\"/dashboard/holds/release\"").count(), 6);
    assert_eq!(svg_of(b, "held-groups").matches("<rect").count(), 6);
    assert_eq!(assert_links_resolve(&c, b, "holds").await, 6);

    // With the kill switch on, its group says a release would be held again.
    otto_store::settings::flip_kill_switch(
        c.ports.audit.as_ref(),
        c.ports.settings.as_ref(),
        &store(),
        today(),
        otto_store::settings::Flip {
            on: true,
            by: "emma".into(),
            surface: Surface::Cli,
            reason: None,
        },
        otto_core::clock::now(),
    )
    .await
    .unwrap();
    let on = send(&c.app, get("/dashboard/holds")).await.body;
    assert!(
        on.contains("The kill switch is still <strong>ON</strong>"),
        "{on}"
    );
}

#[tokio::test]
async fn a_bulk_release_answers_one_line_per_row_and_never_fails_the_batch() {
    let (c, draft) = charts_ctx().await;
    let cs: Vec<RowRef> = c
        .ports
        .audit
        .by_status(
            AuditTable::CsThreadEvaluations,
            &store(),
            RowStatus::Held,
            otto_store::PageReq::first(10),
        )
        .await
        .unwrap()
        .items
        .iter()
        .map(|r| r.row_ref)
        .collect();
    assert_eq!(cs.len(), 2);
    let mut form = format!("csrf={}&group=judge", html::urlenc(&csrf()));
    for r in cs.iter().chain([&draft, &cs[0]]) {
        form.push_str(&format!("&ref={}", html::urlenc(&r.to_string())));
    }
    form.push_str("&ref=decision_log%23999999&ref=nope");
    let forged = send(
        &c.app,
        post("/dashboard/holds/release", "ref=decision_log%231"),
    )
    .await;
    assert_eq!(forged.status, StatusCode::FORBIDDEN);

    let r = send(&c.app, post("/dashboard/holds/release", &form)).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let b = &r.body;
    assert_eq!(b.matches("<tr><td data-label=\"Row\">").count(), 4, "{b}");
    assert!(
        b.contains("I don&#39;t have a row for that: decision_log#999999 does not exist"),
        "{b}"
    );
    assert!(b.contains("Not a row: nope"), "{b}");
    assert!(b.contains("Released by dashboard:emma — 4 rows: 2 applied, 1 released, not applied yet, 1 not released."), "{b}");
    for r in &cs {
        let row = c.ports.audit.get(*r).await.unwrap().unwrap();
        assert_eq!(row.status, RowStatus::Applied, "{r}");
    }
    // No shop here: the DRAFT is released and waits for an executor with one.
    let row = c.ports.audit.get(draft).await.unwrap().unwrap();
    assert_eq!(row.status, RowStatus::Released);
    assert!(b.contains("no shop"), "{b}");

    // The same batch again: nothing done twice, every line answered.
    let again = send(&c.app, post("/dashboard/holds/release", &form)).await;
    assert_eq!(again.status, StatusCode::OK);
    assert_eq!(
        again
            .body
            .matches("Already released — nothing was done twice")
            .count(),
        3,
        "{}",
        again.body
    );
}
