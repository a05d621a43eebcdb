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
    ] {
        assert!(
            gsis.contains(&(index.into(), pk.into(), sk.into())),
            "{index} ({pk}, {sk}) missing: {gsis:?}"
        );
    }
    let state = &res(&t, "StateTable")["Properties"];
    assert_eq!(
        state["TimeToLiveSpecification"]["AttributeName"],
        "expires_at"
    );
    assert_eq!(state["TimeToLiveSpecification"]["Enabled"], true);
    let catalog = &res(&t, "CatalogTable")["Properties"];
    assert_eq!(catalog["KeySchema"][1]["AttributeName"], "sk");
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
        let parsed =
            otto_scheduler::ScheduledInput::parse(&serde_json::from_str(&concrete).expect("json"))
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
