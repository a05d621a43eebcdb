//! template.yaml carries what the code relies on. cfn-lint (run by scripts/test) checks the
//! template's own validity; this checks the contract between template and code, which no linter
//! knows: table keys and index names, queues per stage with DLQs, schedules, env var names, and
//! that every function's binary exists.

use otto_core::cycle::Stage;
use serde_yaml::Value;
use std::path::PathBuf;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn template() -> Value {
    let text = std::fs::read_to_string(root().join("template.yaml")).expect("template.yaml");
    serde_yaml::from_str(&text).expect("template.yaml parses")
}

fn res<'a>(t: &'a Value, name: &str) -> &'a Value {
    let r = &t["Resources"][name];
    assert!(!r.is_null(), "resource {name} missing");
    r
}

/// Strips a CloudFormation short tag (`!Ref X` → X).
fn untag(v: &Value) -> &Value {
    match v {
        Value::Tagged(t) => &t.value,
        other => other,
    }
}

fn pascal(stage: Stage) -> String {
    stage
        .as_str()
        .split('_')
        .map(|p| {
            let mut c = p.chars();
            c.next()
                .map(|f| f.to_ascii_uppercase().to_string() + c.as_str())
                .unwrap_or_default()
        })
        .collect()
}

#[test]
fn tables_match_the_dynamodb_adapter() {
    let t = template();
    let audit = &res(&t, "AuditTable")["Properties"];
    assert_eq!(audit["BillingMode"], "PAY_PER_REQUEST");
    assert_eq!(
        audit["PointInTimeRecoverySpecification"]["PointInTimeRecoveryEnabled"],
        true
    );
    assert_eq!(audit["KeySchema"][0]["AttributeName"], "pk");
    let gsis: Vec<(String, String, String)> = audit["GlobalSecondaryIndexes"]
        .as_sequence()
        .expect("GSIs")
        .iter()
        .map(|g| {
            (
                g["IndexName"].as_str().unwrap_or_default().to_string(),
                g["KeySchema"][0]["AttributeName"]
                    .as_str()
                    .unwrap_or_default()
                    .to_string(),
                g["KeySchema"][1]["AttributeName"]
                    .as_str()
                    .unwrap_or_default()
                    .to_string(),
            )
        })
        .collect();
    for (index, pk, sk) in [
        ("by_cycle", "gsi_cycle_pk", "gsi_cycle_sk"),
        ("by_sku", "gsi_sku_pk", "gsi_sku_sk"),
        ("by_day_action", "gsi_day_pk", "gsi_day_sk"),
        ("by_status", "gsi_status_pk", "gsi_status_sk"),
        ("by_action", "gsi_act_pk", "gsi_act_sk"),
        ("by_status_action", "gsi_sa_pk", "gsi_sa_sk"),
    ] {
        assert!(
            gsis.contains(&(index.into(), pk.into(), sk.into())),
            "{index} ({pk}, {sk}) missing: {gsis:?}"
        );
    }
    // The keys indexes project the index fields a RowKey is read from (shared/store/src/aws/keys.rs).
    for g in audit["GlobalSecondaryIndexes"].as_sequence().expect("GSIs") {
        let name = g["IndexName"].as_str().unwrap_or_default();
        if ["by_action", "by_status_action"].contains(&name) {
            assert_eq!(g["Projection"]["ProjectionType"], "INCLUDE", "{name}");
            let attrs: Vec<&str> = g["Projection"]["NonKeyAttributes"]
                .as_sequence()
                .expect("NonKeyAttributes")
                .iter()
                .filter_map(|a| a.as_str())
                .collect();
            assert_eq!(
                attrs,
                ["day", "action", "status", "subject", "cls"],
                "{name}"
            );
        }
    }
    let state = &res(&t, "StateTable")["Properties"];
    assert_eq!(
        state["TimeToLiveSpecification"]["AttributeName"],
        "expires_at"
    );
    assert_eq!(state["TimeToLiveSpecification"]["Enabled"], true);
    let catalog = &res(&t, "CatalogTable")["Properties"];
    assert_eq!(catalog["KeySchema"][1]["AttributeName"], "sk");
    assert_eq!(
        catalog["TimeToLiveSpecification"]["AttributeName"], "expires_at",
        "synced sales rows expire"
    );
}

#[test]
fn every_stage_has_a_queue_a_dlq_and_a_worker() {
    let t = template();
    for stage in Stage::ALL {
        let p = pascal(stage);
        let q = &res(&t, &format!("{p}StageQueue"))["Properties"];
        let name = untag(&q["QueueName"]).as_str().expect("QueueName");
        assert_eq!(
            name,
            format!("${{AWS::StackName}}-{stage}"),
            "queue names follow OTTO_QUEUE_URL_PREFIX + stage"
        );
        let redrive = &q["RedrivePolicy"];
        assert!(redrive["maxReceiveCount"]
            .as_u64()
            .is_some_and(|n| (1..=10).contains(&n)));
        res(&t, &format!("{p}StageDlq"));
        let f = res(&t, &format!("{p}StageFunction"));
        assert_eq!(f["Metadata"]["BuildMethod"], "rust-cargolambda");
        assert_eq!(f["Metadata"]["BuildProperties"]["Binary"], "stage");
        assert_eq!(
            f["Properties"]["Environment"]["Variables"]["OTTO_STAGE"],
            stage.as_str()
        );
        let ev = &f["Properties"]["Events"]["Queue"]["Properties"];
        assert_eq!(ev["FunctionResponseTypes"][0], "ReportBatchItemFailures");
        let timeout = f["Properties"]["Timeout"].as_u64().expect("timeout");
        let vis = q["VisibilityTimeout"].as_u64().expect("visibility");
        assert!(
            vis >= 6 * timeout,
            "{stage}: visibility {vis} < 6 × timeout {timeout}"
        );
    }
}

#[test]
fn schedules_fire_in_the_store_time_zone() {
    let t = template();
    let events = &res(&t, "SchedulerFunction")["Properties"]["Events"];
    for (name, cron, cycle) in [
        ("Morning", "cron(0 6 * * ? *)", "morning"),
        ("Research", "cron(0 11 * * ? *)", "research"),
        ("Discount", "cron(0 16 * * ? *)", "discount"),
    ] {
        let p = &events[name]["Properties"];
        assert_eq!(events[name]["Type"], "ScheduleV2");
        assert_eq!(p["ScheduleExpression"], cron);
        assert_eq!(
            untag(&p["ScheduleExpressionTimezone"]),
            &Value::String("StoreTimeZone".into())
        );
        let input = untag(&p["Input"]).as_str().expect("Input");
        // The input the scheduler handler parses (with the store substituted).
        let concrete = input
            .replace("${StoreId}", "brevard")
            .replace("<aws.scheduler.scheduled-time>", "2026-11-24T05:00:00Z");
        let parsed = otto_engine::cycles::ScheduledInput::parse(
            &serde_json::from_str(&concrete).expect("json"),
        )
        .expect("input parses");
        assert_eq!(parsed.cycle.as_str(), cycle);
    }
}

#[test]
fn functions_get_the_environment_config_reads() {
    let t = template();
    let vars = &t["Globals"]["Function"]["Environment"]["Variables"];
    for k in [
        "OTTO_STORE",
        "OTTO_AUDIT_TABLE",
        "OTTO_STATE_TABLE",
        "OTTO_CATALOG_TABLE",
        "OTTO_QUEUE_URL_PREFIX",
        "OTTO_EVENT_BUS",
        "OTTO_STORE_ID",
        "OTTO_STORE_TZ",
    ] {
        assert!(!vars[k].is_null(), "{k} not set for functions");
    }
    assert_eq!(vars["OTTO_STORE"], "dynamodb");
    let g = &t["Globals"]["Function"];
    assert_eq!(g["Runtime"], "provided.al2023");
    assert_eq!(g["Architectures"][0], "arm64");
}

#[test]
fn every_binary_the_template_builds_exists() {
    let t = template();
    let mut bins = std::collections::BTreeSet::new();
    for dir in ["functions/scheduler", "functions/stage", "functions/api"] {
        let manifest =
            std::fs::read_to_string(root().join(dir).join("Cargo.toml")).expect("manifest");
        for line in manifest.lines() {
            if let Some(name) = line
                .strip_prefix("name = \"")
                .and_then(|r| r.strip_suffix('"'))
            {
                bins.insert(name.to_string());
            }
        }
    }
    for (name, r) in t["Resources"].as_mapping().expect("resources") {
        if r["Type"] == "AWS::Serverless::Function" {
            assert_eq!(
                untag(&r["Properties"]["CodeUri"]),
                &Value::String(".".into())
            );
            let bin = r["Metadata"]["BuildProperties"]["Binary"]
                .as_str()
                .expect("Binary");
            assert!(
                bins.contains(bin),
                "{name:?} builds binary {bin:?}, which no crate defines ({bins:?})"
            );
        }
    }
}

#[test]
fn the_stall_watch_runs_every_15_minutes_and_only_posters_get_the_digest_webhook() {
    let t = template();
    let watch = res(&t, "StallWatchFunction");
    assert_eq!(
        watch["Metadata"]["BuildProperties"]["Binary"],
        "stall_watch"
    );
    let ev = &watch["Properties"]["Events"]["Watch"];
    assert_eq!(ev["Type"], "ScheduleV2");
    assert_eq!(ev["Properties"]["ScheduleExpression"], "rate(15 minutes)");
    // The webhook is an SSM parameter name, given only to the functions that post.
    let p = &t["Parameters"]["SlackDigestWebhookUrlParam"];
    assert_eq!(p["Default"], "");
    assert!(text(&p["AllowedPattern"]).starts_with("^(/"), "an SSM name");
    for (name, f) in functions(&t) {
        let env = &f["Properties"]["Environment"]["Variables"];
        let posts = secret_holders("SLACK_DIGEST_WEBHOOK_URL").contains(&name);
        assert_eq!(
            !env["SLACK_DIGEST_WEBHOOK_URL_PARAM"].is_null(),
            posts,
            "{name}: SLACK_DIGEST_WEBHOOK_URL_PARAM"
        );
        if posts {
            assert_eq!(
                text(&env["SLACK_DIGEST_WEBHOOK_URL_PARAM"]),
                "SlackDigestWebhookUrlParam"
            );
            assert_eq!(text(&env["SLACK_DIGEST_CHANNEL"]), "SlackDigestChannel");
        }
    }
    assert!(!secret_holders("SLACK_DIGEST_WEBHOOK_URL").contains(&"ApiFunction".to_string()));
}

#[test]
fn dead_letter_sweep_and_slack_responder_are_wired() {
    let t = template();
    let sweep = res(&t, "DeadLetterSweepFunction");
    assert_eq!(sweep["Metadata"]["BuildProperties"]["Binary"], "stage");
    assert_eq!(
        sweep["Properties"]["Environment"]["Variables"]["OTTO_STAGE"], "dead_letters",
        "the stage binary's sweep mode"
    );
    assert_eq!(sweep["Properties"]["Events"]["Sweep"]["Type"], "ScheduleV2");
    let responder = res(&t, "SlackResponderFunction");
    assert_eq!(
        responder["Metadata"]["BuildProperties"]["Binary"],
        "slack_responder"
    );
    let ev = &responder["Properties"]["Events"]["Queue"]["Properties"];
    assert_eq!(ev["FunctionResponseTypes"][0], "ReportBatchItemFailures");
    let timeout = responder["Properties"]["Timeout"]
        .as_u64()
        .expect("timeout");
    let vis = res(&t, "SlackResponderQueue")["Properties"]["VisibilityTimeout"]
        .as_u64()
        .expect("visibility");
    assert!(
        vis >= 6 * timeout,
        "visibility {vis} < 6 × timeout {timeout}"
    );
    for bin in ["api", "slack_responder", "stage", "scheduler"] {
        let cargo = std::fs::read_to_string(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../functions/api/Cargo.toml"
        ))
        .expect("api manifest")
            + &std::fs::read_to_string(concat!(
                env!("CARGO_MANIFEST_DIR"),
                "/../functions/stage/Cargo.toml"
            ))
            .expect("stage")
            + &std::fs::read_to_string(concat!(
                env!("CARGO_MANIFEST_DIR"),
                "/../functions/scheduler/Cargo.toml"
            ))
            .expect("scheduler");
        assert!(
            cargo.contains(&format!("name = \"{bin}\"")),
            "binary {bin} exists"
        );
    }
}

// ---------------------------------------------------------------------------------------------
// Least privilege (issue 13, item 5): what each function may do, where its secrets come from,
// and that someone hears about it when something breaks. The allowed sets below are read off
// the code: shared/store/src/aws/ (which API call on which table / queue), the stage registry
// (which stage applies through which vendor), functions/*/src/main.rs (which lookups run at
// cold start).
// ---------------------------------------------------------------------------------------------

use otto_core::cycle::CycleKind;
use otto_runtime::secrets::SECRETS;
use std::collections::BTreeSet;

/// One Allow statement as the template writes it; resources as text (`GetAtt X.Arn`, a `Sub`).
#[derive(Debug)]
struct Grant {
    actions: Vec<String>,
    resources: Vec<String>,
    condition: Value,
}

/// A value as text, tags dropped (`!GetAtt AuditTable.Arn` → `AuditTable.Arn`).
fn text(v: &Value) -> String {
    match untag(v) {
        Value::String(s) => s.clone(),
        other => serde_yaml::to_string(other)
            .unwrap_or_default()
            .trim()
            .to_string(),
    }
}

fn strings(v: &Value) -> Vec<String> {
    match untag(v) {
        Value::Sequence(items) => items.iter().map(text).collect(),
        Value::Null => Vec::new(),
        other => vec![text(other)],
    }
}

fn grants_of(doc_statements: &Value, whose: &str) -> Vec<Grant> {
    doc_statements
        .as_sequence()
        .unwrap_or_else(|| panic!("{whose}: Statement is a list"))
        .iter()
        .map(|s| {
            assert_eq!(s["Effect"], "Allow", "{whose}: only Allow statements");
            Grant {
                actions: strings(&s["Action"]),
                resources: strings(&s["Resource"]),
                condition: s["Condition"].clone(),
            }
        })
        .collect()
}

fn functions(t: &Value) -> Vec<(String, &Value)> {
    t["Resources"]
        .as_mapping()
        .expect("resources")
        .iter()
        .filter(|(_, r)| r["Type"] == "AWS::Serverless::Function")
        .map(|(k, r)| (k.as_str().expect("logical id").to_string(), r))
        .collect()
}

/// Every statement a function's role gets: its managed policies (this template's) and inline ones.
fn grants(t: &Value, function: &str) -> Vec<Grant> {
    let f = res(t, function);
    assert!(
        f["Properties"]["Role"].is_null(),
        "{function}: policies, not a shared role"
    );
    let policies = f["Properties"]["Policies"]
        .as_sequence()
        .unwrap_or_else(|| panic!("{function} has no Policies"));
    let mut out = Vec::new();
    for p in policies {
        match p {
            Value::Tagged(r) if r.tag == "Ref" => {
                let name = text(&r.value);
                let managed = res(t, &name);
                assert_eq!(
                    managed["Type"], "AWS::IAM::ManagedPolicy",
                    "{function}: {name}"
                );
                out.extend(grants_of(
                    &managed["Properties"]["PolicyDocument"]["Statement"],
                    &name,
                ));
            }
            Value::Mapping(m) if m.contains_key("Statement") => {
                out.extend(grants_of(&p["Statement"], function));
            }
            other => panic!(
                "{function}: policy {other:?} is neither a managed policy of this template nor inline statements"
            ),
        }
    }
    out
}

fn actions(t: &Value, function: &str) -> BTreeSet<String> {
    grants(t, function)
        .into_iter()
        .flat_map(|g| g.actions)
        .collect()
}

/// The resources `action` is allowed on, for `function`.
fn targets(t: &Value, function: &str, action: &str) -> BTreeSet<String> {
    grants(t, function)
        .into_iter()
        .filter(|g| g.actions.iter().any(|a| a == action))
        .flat_map(|g| g.resources)
        .collect()
}

fn stage_function(stage: otto_core::cycle::Stage) -> String {
    format!("{}StageFunction", pascal(stage))
}

fn queue_arn(stage: otto_core::cycle::Stage) -> String {
    format!("{}StageQueue.Arn", pascal(stage))
}

/// Stage functions whose code writes the catalog: sync stores the snapshot (batch puts and
/// deletes, budgets replaced item by item), revert/open open and close discount windows.
fn catalog_writes(function: &str) -> &'static [&'static str] {
    match function {
        "SyncStageFunction" => &["dynamodb:BatchWriteItem", "dynamodb:DeleteItem"],
        "RevertStageFunction" | "OpenStageFunction" | "ApiFunction" | "SlackResponderFunction" => {
            &["dynamodb:PutItem", "dynamodb:DeleteItem"]
        }
        _ => &[],
    }
}

/// Functions that never touch the catalog.
const NO_CATALOG: [&str; 5] = [
    "QueueStageFunction",
    "CsTriageStageFunction",
    "SchedulerFunction",
    "DeadLetterSweepFunction",
    "StallWatchFunction",
];

/// What each function's code calls, as IAM actions.
fn expected_actions(t: &Value, function: &str) -> BTreeSet<String> {
    let mut a: BTreeSet<&str> = [
        "dynamodb:GetItem",
        "dynamodb:BatchGetItem",
        "dynamodb:Query",
        "dynamodb:PutItem",
        "dynamodb:UpdateItem",
        "dynamodb:DeleteItem",
        "dynamodb:ConditionCheckItem",
    ]
    .into();
    a.extend(catalog_writes(function));
    let stage = res(t, function)["Properties"]["Environment"]["Variables"]["OTTO_STAGE"]
        .as_str()
        .map(str::to_string);
    let secrets = ["ssm:GetParameter", "kms:Decrypt"];
    match (function, stage.as_deref()) {
        ("SchedulerFunction", _) => a.extend(["sqs:SendMessage"]),
        ("ApiFunction", _) => a.extend(["sqs:SendMessage"].iter().chain(&secrets)),
        ("SlackResponderFunction", _) => a.extend(secrets),
        // The sweep and the stall watch end cycles (an event) and post the alert (the digest
        // webhook's parameter).
        (_, Some("dead_letters")) => a.extend(
            ["events:PutEvents", "sqs:ReceiveMessage"]
                .iter()
                .chain(&secrets),
        ),
        ("StallWatchFunction", _) => a.extend(["events:PutEvents"].iter().chain(&secrets)),
        (_, Some(s)) => {
            a.insert("events:PutEvents");
            // A stage reads secrets only when its environment names one (`…_PARAM`).
            let names_a_secret = res(t, function)["Properties"]["Environment"]["Variables"]
                .as_mapping()
                .is_some_and(|m| {
                    m.keys()
                        .any(|k| k.as_str().is_some_and(|k| k.ends_with("_PARAM")))
                });
            if names_a_secret {
                a.extend(secrets);
            }
            let stage: otto_core::cycle::Stage = s.parse().expect("stage");
            if stage.next().is_some() {
                a.insert("sqs:SendMessage");
            }
        }
        (other, None) => panic!("{other}: a function this test does not know"),
    }
    a.into_iter().map(str::to_string).collect()
}

#[test]
fn every_function_is_allowed_only_the_actions_its_code_calls() {
    let t = template();
    let fs = functions(&t);
    assert_eq!(
        fs.len(),
        17,
        "functions: {:?}",
        fs.iter().map(|f| &f.0).collect::<Vec<_>>()
    );
    for (name, _) in &fs {
        let got = actions(&t, name);
        assert_eq!(got, expected_actions(&t, name), "{name}");
        for g in grants(&t, name) {
            for a in &g.actions {
                assert!(!a.contains('*'), "{name}: wildcard action {a}");
            }
            for r in &g.resources {
                assert!(r != "*", "{name}: {:?} on every resource", g.actions);
            }
            if g.actions.iter().any(|a| a == "kms:Decrypt") {
                let via = text(&g.condition["StringEquals"]["kms:ViaService"]);
                assert!(
                    via.starts_with("ssm."),
                    "{name}: kms:Decrypt only through SSM"
                );
            }
        }
    }
}

#[test]
fn table_actions_are_scoped_per_table() {
    let t = template();
    let audit = [
        "dynamodb:GetItem",
        "dynamodb:BatchGetItem",
        "dynamodb:Query",
        "dynamodb:PutItem",
        "dynamodb:UpdateItem",
    ];
    let state = [
        "dynamodb:GetItem",
        "dynamodb:PutItem",
        "dynamodb:UpdateItem",
        "dynamodb:DeleteItem",
        "dynamodb:ConditionCheckItem",
    ];
    let catalog_read = [
        "dynamodb:GetItem",
        "dynamodb:BatchGetItem",
        "dynamodb:Query",
    ];
    for (name, _) in functions(&t) {
        for g in grants(&t, &name) {
            for r in &g.resources {
                for a in g.actions.iter().filter(|a| a.starts_with("dynamodb:")) {
                    let ok = if r.contains("AuditTable") {
                        audit.contains(&a.as_str())
                    } else if r.contains("StateTable") {
                        state.contains(&a.as_str())
                    } else if r.contains("CatalogTable") {
                        !NO_CATALOG.contains(&name.as_str())
                            && (catalog_read.contains(&a.as_str())
                                || catalog_writes(&name).contains(&a.as_str()))
                    } else {
                        false
                    };
                    assert!(ok, "{name}: {a} on {r}");
                }
            }
        }
    }
}

#[test]
fn the_public_api_cannot_delete_audit_rows_nor_reach_a_dead_letter_queue() {
    let t = template();
    for g in grants(&t, "ApiFunction") {
        let on_audit = g
            .resources
            .iter()
            .any(|r| r.contains("AuditTable") || r.contains('*'));
        for a in &g.actions {
            assert!(
                !(on_audit
                    && [
                        "dynamodb:DeleteItem",
                        "dynamodb:BatchWriteItem",
                        "dynamodb:Scan"
                    ]
                    .contains(&a.as_str())),
                "the API may {a} on {:?}",
                g.resources
            );
            if a.starts_with("sqs:") {
                for r in &g.resources {
                    assert!(
                        !r.to_ascii_lowercase().contains("dlq") && !r.contains('*'),
                        "the API may {a} on {r}"
                    );
                }
            }
        }
    }
}

#[test]
fn each_function_sends_only_to_the_queues_it_feeds() {
    let t = template();
    let none = BTreeSet::new();
    for stage in Stage::ALL {
        let want: BTreeSet<String> = stage.next().map(queue_arn).into_iter().collect();
        assert_eq!(
            targets(&t, &stage_function(stage), "sqs:SendMessage"),
            want,
            "{stage} sends to the next stage only"
        );
        assert_eq!(
            targets(&t, &stage_function(stage), "sqs:ReceiveMessage"),
            none,
            "{stage}: its own queue is read by the event source mapping"
        );
    }
    let firsts: BTreeSet<String> = CycleKind::ALL
        .iter()
        .filter_map(|c| c.stages().first().copied())
        .map(queue_arn)
        .collect();
    assert_eq!(targets(&t, "SchedulerFunction", "sqs:SendMessage"), firsts);
    let mut api: BTreeSet<String> = Stage::ALL.iter().map(|s| queue_arn(*s)).collect();
    api.insert("SlackResponderQueue.Arn".into());
    assert_eq!(
        targets(&t, "ApiFunction", "sqs:SendMessage"),
        api,
        "POST /jobs/{{cycle}}/{{stage}} may enqueue any stage; /slack enqueues the responder"
    );
    let dlqs: BTreeSet<String> = Stage::ALL
        .iter()
        .map(|s| format!("{}StageDlq.Arn", pascal(*s)))
        .collect();
    assert_eq!(
        targets(&t, "DeadLetterSweepFunction", "sqs:ReceiveMessage"),
        dlqs
    );
    for (name, _) in functions(&t) {
        for r in targets(&t, &name, "events:PutEvents") {
            assert_eq!(r, "EventBus.Arn", "{name}");
        }
    }
}

/// Which functions may hold which secret: only those whose cold start reads it.
fn secret_holders(var: &str) -> Vec<String> {
    let stages = || Stage::ALL.into_iter().map(stage_function);
    let api = ["ApiFunction".to_string(), "SlackResponderFunction".into()];
    match var {
        "OTTO_WORKER_TOKEN" | "OTTO_OPERATOR_TOKEN" | "SLACK_SIGNING_SECRET" => {
            vec!["ApiFunction".into()]
        }
        "DATAFORSEO_PASSWORD" | "META_ACCESS_TOKEN" | "ALIEXPRESS_APP_SECRET" => {
            vec![stage_function(Stage::Lanes), stage_function(Stage::Score)]
        }
        "GORGIAS_API_KEY" => [stage_function(Stage::CsTriage)]
            .into_iter()
            .chain(api)
            .collect(),
        "OTTO_EMBEDDINGS_API_KEY" => vec![stage_function(Stage::CsTriage)],
        // The digest and alerts: every stage may end a cycle (finish_cycle posts), and so do
        // the dead-letter sweep and the stall watch.
        "SLACK_DIGEST_WEBHOOK_URL" => stages()
            .chain([
                "DeadLetterSweepFunction".into(),
                "StallWatchFunction".into(),
            ])
            .collect(),
        "OTTO_LLM_API_KEY" => api.into(),
        // Shopify / Google Ads: the stages that call them, and the API and Slack (a release
        // applies through them); every other stage runs with OTTO_VENDORS=none.
        _ => stages()
            .filter(|f| VENDOR_STAGES.iter().any(|s| stage_function(*s) == *f))
            .chain(api)
            .collect(),
    }
}

/// The stages whose code calls Shopify or Google Ads: sync reads the catalog and the ad
/// reports, decide and campaign_plan apply moves, revert and open change prices.
const VENDOR_STAGES: [Stage; 5] = [
    Stage::Sync,
    Stage::Decide,
    Stage::CampaignPlan,
    Stage::Revert,
    Stage::Open,
];

fn env_of<'a>(t: &'a Value, function: &str) -> &'a Value {
    &res(t, function)["Properties"]["Environment"]["Variables"]
}

#[test]
fn only_functions_that_call_a_vendor_get_its_settings_and_secrets() {
    let t = template();
    let vendor_functions: BTreeSet<String> = VENDOR_STAGES
        .iter()
        .map(|s| stage_function(*s))
        .chain(["ApiFunction".to_string(), "SlackResponderFunction".into()])
        .collect();
    let settings = [
        ("SHOPIFY_SHOP_URL", "ShopifyShopUrl"),
        ("SHOPIFY_API_VERSION", "ShopifyApiVersion"),
        ("GOOGLE_ADS_CUSTOMER_ID", "GoogleAdsCustomerId"),
        ("GOOGLE_ADS_API_VERSION", "GoogleAdsApiVersion"),
        ("OTTO_OFFER_ID_FORM", "OfferIdForm"),
        ("OTTO_OFFER_ID_LABEL", "OfferIdLabel"),
        (
            "GOOGLE_ADS_REFRESH_TOKEN_PARAM",
            "GoogleAdsRefreshTokenParam",
        ),
    ];
    for stage in Stage::ALL {
        let f = stage_function(stage);
        let env = env_of(&t, &f);
        let policies: Vec<String> = f_policies(&t, &f);
        if vendor_functions.contains(&f) {
            for (var, param) in settings {
                assert_eq!(text(&env[var]), param, "{f}: {var}");
            }
            assert!(env["OTTO_VENDORS"].is_null(), "{f}");
            assert!(policies.iter().any(|p| p == "VendorSecretsPolicy"), "{f}");
        } else {
            for (var, _) in settings {
                assert!(
                    env[var].is_null(),
                    "{f} never calls a vendor but is given {var}"
                );
            }
            assert_eq!(env["OTTO_VENDORS"], "none", "{f}");
            assert!(
                !policies.iter().any(|p| p == "VendorSecretsPolicy"),
                "{f} may read the vendors' secrets"
            );
        }
    }
    for f in ["ApiFunction", "SlackResponderFunction"] {
        for (var, param) in settings {
            assert_eq!(text(&env_of(&t, f)[var]), param, "{f}: {var}");
        }
    }
}

fn f_policies(t: &Value, function: &str) -> Vec<String> {
    res(t, function)["Properties"]["Policies"]
        .as_sequence()
        .map(|ps| {
            ps.iter()
                .filter_map(|p| match p {
                    Value::Tagged(r) if r.tag == "Ref" => Some(text(&r.value)),
                    _ => None,
                })
                .collect()
        })
        .unwrap_or_default()
}

#[test]
fn every_research_lane_and_its_settings_are_parameters() {
    let t = template();
    let lanes = env_of(&t, "LanesStageFunction");
    for (var, param) in [
        ("DATAFORSEO_LOGIN", "DataForSeoLogin"),
        ("DATAFORSEO_LOCATION_CODE", "DataForSeoLocationCode"),
        ("OTTO_COMPETITOR_STORES", "CompetitorStores"),
        ("META_ACCESS_TOKEN_PARAM", "MetaAccessTokenParam"),
        ("META_COUNTRIES", "MetaCountries"),
        ("META_API_VERSION", "MetaApiVersion"),
        ("ALIEXPRESS_APP_KEY", "AliExpressAppKey"),
        ("OTTO_ORGANIC_FILE", "OrganicFile"),
        ("OTTO_SPY_TOOLS_FILE", "SpyToolsFile"),
    ] {
        assert_eq!(text(&lanes[var]), param, "LanesStageFunction: {var}");
        assert!(!t["Parameters"][param].is_null(), "parameter {param}");
    }
    // Keyword volumes (score) ask DataForSEO for the same location.
    assert_eq!(
        text(&env_of(&t, "ScoreStageFunction")["DATAFORSEO_LOCATION_CODE"]),
        "DataForSeoLocationCode"
    );
    // Versions default to "" = the code's current default, so a deployment moves with Otto.
    for p in ["ShopifyApiVersion", "GoogleAdsApiVersion", "MetaApiVersion"] {
        assert_eq!(t["Parameters"][p]["Default"], "", "{p}");
    }
    assert_eq!(t["Parameters"]["OfferIdForm"]["Default"], "sku");
}

#[test]
fn file_lanes_read_a_layer_and_supplier_matcher_is_set_from_parameters() {
    let t = template();
    let lanes = res(&t, "LanesStageFunction");
    // The organic / spy-tool exports reach the lanes function as a layer (under /opt), if given.
    let layers = &lanes["Properties"]["Layers"];
    let Value::Tagged(cond) = layers else {
        panic!("LanesStageFunction.Layers is an !If: {layers:?}")
    };
    assert_eq!(cond.tag, "If");
    assert_eq!(text(&cond.value[0]), "HasResearchFilesLayer");
    assert_eq!(strings(&cond.value[1]), ["ResearchFilesLayerArn"]);
    assert!(!t["Conditions"]["HasResearchFilesLayer"].is_null());
    for p in ["OrganicFile", "SpyToolsFile"] {
        assert_eq!(
            t["Parameters"][p]["AllowedPattern"], "^(/.+)?$",
            "{p}: absolute path"
        );
    }
    assert_eq!(
        text(&env_of(&t, "LanesStageFunction")["OTTO_COMPETITOR_MAX_PAGES"]),
        "CompetitorMaxPages"
    );
    // supplier_matcher runs in the score stage, from its own parameters.
    let score = env_of(&t, "ScoreStageFunction");
    for (var, param) in [
        ("OTTO_SUPPLIER_MATCHER", "SupplierMatcher"),
        ("DATAFORSEO_LOGIN", "DataForSeoLogin"),
        ("DATAFORSEO_PASSWORD_PARAM", "DataForSeoPasswordParam"),
        (
            "DATAFORSEO_MERCHANT_LANGUAGE_CODE",
            "DataForSeoMerchantLanguageCode",
        ),
        (
            "DATAFORSEO_MERCHANT_MAX_TASKS",
            "DataForSeoMerchantMaxTasks",
        ),
        (
            "DATAFORSEO_MERCHANT_WAIT_SECONDS",
            "DataForSeoMerchantWaitSeconds",
        ),
        ("DATAFORSEO_MERCHANT_PRIORITY", "DataForSeoMerchantPriority"),
        ("OTTO_SUPPLIER_SELLERS", "SupplierSellers"),
    ] {
        assert_eq!(text(&score[var]), param, "ScoreStageFunction: {var}");
        assert!(!t["Parameters"][param].is_null(), "parameter {param}");
    }
    assert_eq!(t["Parameters"]["SupplierMatcher"]["Default"], "dataforseo");
    // The score function outlives its longest wait for DataForSEO's tasks.
    let wait_max = t["Parameters"]["DataForSeoMerchantWaitSeconds"]["MaxValue"]
        .as_u64()
        .expect("a bounded wait");
    let timeout = res(&t, "ScoreStageFunction")["Properties"]["Timeout"]
        .as_u64()
        .expect("timeout");
    assert!(
        timeout >= wait_max + 60,
        "timeout {timeout} s, wait up to {wait_max} s"
    );
}

#[test]
fn secrets_reach_functions_only_as_ssm_parameter_names() {
    let t = template();
    let globals = &t["Globals"]["Function"]["Environment"]["Variables"];
    for s in SECRETS {
        assert!(globals[s.var].is_null(), "Globals hold {}", s.var);
        assert!(globals[s.param].is_null(), "Globals hold {}", s.param);
    }
    for (name, p) in t["Parameters"].as_mapping().expect("parameters") {
        assert!(
            p["NoEcho"].is_null(),
            "{name:?}: a secret passed through CloudFormation; use an SSM parameter name"
        );
    }
    for (name, f) in functions(&t) {
        let vars = f["Properties"]["Environment"]["Variables"]
            .as_mapping()
            .cloned()
            .unwrap_or_default();
        let mut params = BTreeSet::new();
        for (k, v) in &vars {
            let k = k.as_str().expect("variable name");
            assert!(
                !SECRETS.iter().any(|s| s.var == k),
                "{name}: {k} holds a secret value"
            );
            if let Some(s) = SECRETS.iter().find(|s| s.param == k) {
                assert!(
                    secret_holders(s.var).contains(&name),
                    "{name} is given {k} but never reads {}",
                    s.var
                );
                let param = text(v);
                assert!(
                    matches!(v, Value::Tagged(r) if r.tag == "Ref"),
                    "{name}: {k} is !Ref to a parameter"
                );
                let pattern = text(&t["Parameters"][param.as_str()]["AllowedPattern"]);
                assert!(
                    pattern.starts_with("^/") || pattern.starts_with("^(/"),
                    "{param}: {pattern}"
                );
                params.insert(param);
            } else {
                assert!(!k.ends_with("_PARAM"), "{name}: {k} is not a known secret");
            }
        }
        // The function may read exactly the parameters its environment names.
        let readable: BTreeSet<String> = targets(&t, &name, "ssm:GetParameter")
            .iter()
            .map(|arn| {
                arn.rsplit_once("parameter${")
                    .and_then(|(_, p)| p.strip_suffix('}'))
                    .unwrap_or_else(|| panic!("{name}: ssm:GetParameter on {arn}"))
                    .to_string()
            })
            .collect();
        assert_eq!(readable, params, "{name}: readable parameters");
    }
    for s in SECRETS {
        for holder in secret_holders(s.var) {
            assert!(
                !res(&t, &holder)["Properties"]["Environment"]["Variables"][s.param].is_null(),
                "{holder} reads {} but is not given {}",
                s.var,
                s.param
            );
        }
    }
}

#[test]
fn every_table_has_deletion_protection_and_pitr() {
    let t = template();
    let mut n = 0;
    for (name, r) in t["Resources"].as_mapping().expect("resources") {
        if r["Type"] == "AWS::DynamoDB::Table" {
            n += 1;
            let p = &r["Properties"];
            assert_eq!(p["DeletionProtectionEnabled"], true, "{name:?}");
            assert_eq!(
                p["PointInTimeRecoverySpecification"]["PointInTimeRecoveryEnabled"], true,
                "{name:?}"
            );
            assert_eq!(r["DeletionPolicy"], "Retain", "{name:?}");
        }
    }
    assert_eq!(n, 3);
}

/// The logical ids an alarm's metrics point at (`Value: !Ref X` / `!GetAtt X.QueueName`).
fn alarm_subjects(alarm: &Value) -> BTreeSet<(String, String)> {
    let p = &alarm["Properties"];
    let mut metrics: Vec<(Value, Value)> = vec![(p["MetricName"].clone(), p["Dimensions"].clone())];
    for m in p["Metrics"].as_sequence().into_iter().flatten() {
        let metric = &m["MetricStat"]["Metric"];
        metrics.push((metric["MetricName"].clone(), metric["Dimensions"].clone()));
    }
    let mut out = BTreeSet::new();
    for (metric, dims) in metrics {
        for d in dims.as_sequence().into_iter().flatten() {
            let subject = text(&d["Value"]);
            let subject = subject.split('.').next().unwrap_or_default().to_string();
            out.insert((text(&metric), subject));
        }
    }
    out
}

#[test]
fn alarms_cover_functions_queues_tables_and_the_api_and_reach_the_topic() {
    let t = template();
    let mut covered = BTreeSet::new();
    for (name, r) in t["Resources"].as_mapping().expect("resources") {
        if r["Type"] == "AWS::CloudWatch::Alarm" {
            let actions = strings(&r["Properties"]["AlarmActions"]);
            assert_eq!(actions, vec!["AlarmTopic".to_string()], "{name:?}");
            assert!(r["Condition"].is_null(), "{name:?} always exists");
            covered.extend(alarm_subjects(r));
        }
    }
    let has = |metric: &str, subject: &str| {
        assert!(
            covered.contains(&(metric.to_string(), subject.to_string())),
            "no {metric} alarm on {subject}"
        )
    };
    for (name, _) in functions(&t) {
        has("Errors", &name);
        has("Throttles", &name);
    }
    for stage in Stage::ALL {
        let p = pascal(stage);
        has("ApproximateAgeOfOldestMessage", &format!("{p}StageQueue"));
        has(
            "ApproximateNumberOfMessagesVisible",
            &format!("{p}StageDlq"),
        );
    }
    has("ApproximateAgeOfOldestMessage", "SlackResponderQueue");
    for table in ["AuditTable", "StateTable", "CatalogTable"] {
        has("ReadThrottleEvents", table);
        has("WriteThrottleEvents", table);
    }
    has("5xx", "OttoHttpApi");
    // Someone hears it: an email subscription when AlarmEmail is set.
    let subs: Vec<&Value> = t["Resources"]
        .as_mapping()
        .expect("resources")
        .values()
        .filter(|r| r["Type"] == "AWS::SNS::Subscription")
        .collect();
    assert_eq!(subs.len(), 1, "one AlarmEmail subscription");
    let sub = subs[0];
    let condition = sub["Condition"]
        .as_str()
        .expect("the subscription is conditional");
    let cond = text(&t["Conditions"][condition]);
    assert!(cond.contains("AlarmEmail"), "{condition}: {cond}");
    assert_eq!(text(&sub["Properties"]["TopicArn"]), "AlarmTopic");
    assert_eq!(text(&sub["Properties"]["Endpoint"]), "AlarmEmail");
    assert_eq!(t["Parameters"]["AlarmEmail"]["Default"], "");
    // CloudWatch cannot publish to a topic under the AWS-managed aws/sns key.
    let key = text(&res(&t, "AlarmTopic")["Properties"]["KmsMasterKeyId"]);
    assert_ne!(key, "alias/aws/sns");
}

#[test]
fn api_routes_are_throttled_and_slack_ids_are_configurable() {
    let t = template();
    let settings = &res(&t, "OttoHttpApi")["Properties"]["DefaultRouteSettings"];
    for (k, param) in [
        ("ThrottlingBurstLimit", "ApiThrottlingBurstLimit"),
        ("ThrottlingRateLimit", "ApiThrottlingRateLimit"),
    ] {
        assert_eq!(text(&settings[k]), param);
        let p = &t["Parameters"][param];
        assert_eq!(p["Type"], "Number");
        assert!(p["Default"].as_u64().is_some_and(|n| n > 0), "{param}");
    }
    for f in ["ApiFunction", "SlackResponderFunction"] {
        let vars = &res(&t, f)["Properties"]["Environment"]["Variables"];
        assert_eq!(text(&vars["OTTO_SLACK_TEAM_ID"]), "SlackTeamId", "{f}");
        assert_eq!(text(&vars["OTTO_SLACK_APP_ID"]), "SlackAppId", "{f}");
    }
    for p in ["SlackTeamId", "SlackAppId"] {
        assert_eq!(t["Parameters"][p]["Default"], "", "{p}");
    }
}
