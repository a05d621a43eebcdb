//! `otto simulate` end to end: two seeds × 30 days × 60 variants, the three policies reported,
//! each ledger consistent, every change Otto made to the shop backed by an APPLIED audit row.
//! The invariant results are printed as data (the decision engine's own tests assert them).

use otto_core::money::{Currency, Money};
use serde_json::Value;
use std::process::Command;
use std::time::Instant;

fn simulate(seed: u64) -> std::process::Child {
    let dir = std::env::temp_dir();
    Command::new(env!("CARGO_BIN_EXE_otto"))
        .args([
            "simulate",
            "--days",
            "30",
            "--variants",
            "60",
            "--json",
            "--seed",
        ])
        .arg(seed.to_string())
        .current_dir(dir)
        .env_remove("OTTO_NOW")
        .env("OTTO_STORE_TZ", "Europe/Amsterdam")
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("otto runs")
}

fn money(v: &Value) -> Money {
    Money::parse(
        v.as_str().expect("money is a decimal string"),
        Currency::EUR,
    )
    .unwrap()
}

#[test]
fn two_seeds_of_a_month_under_three_policies() {
    let began = Instant::now();
    // Both seeds at once: the runs are independent processes.
    let children: Vec<_> = [1u64, 2].into_iter().map(|s| (s, simulate(s))).collect();
    let mut profits = Vec::new();
    for (seed, child) in children {
        let out = child.wait_with_output().unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(out.status.success(), "seed {seed}: {stderr}");
        let v: Value = serde_json::from_slice(&out.stdout).unwrap();
        let p = &v["policies"];
        for key in ["otto", "do_nothing", "naive_rules"] {
            let r = &p[key];
            let (profit, revenue, cogs, spend) = (
                money(&r["profit"]),
                money(&r["revenue"]),
                money(&r["cogs"]),
                money(&r["ad_spend"]),
            );
            assert_eq!(
                profit.micros(),
                revenue.micros() - cogs.micros() - spend.micros(),
                "seed {seed} {key}: profit = revenue − COGS − ad spend"
            );
            assert!(revenue.micros() > 0 && r["units"].as_i64().unwrap() > 0);
            assert!(
                r["cycle_failures"].as_array().unwrap().is_empty(),
                "{}",
                r["cycle_failures"]
            );
        }
        assert_eq!(p["do_nothing"]["moves"], 0);
        // Nothing moved, nothing reverted; no classifications outside Otto.
        assert_eq!(p["do_nothing"]["reverted_moves"]["moves"], 0);
        assert!(p["do_nothing"]["reverted_share_bp"].is_null());
        assert!(p["naive_rules"]["loser_precision"].is_null());
        for key in ["otto", "naive_rules"] {
            let r = &p[key]["reverted_moves"];
            let (moves, reverted) = (
                r["moves"].as_u64().unwrap(),
                r["reverted"].as_u64().unwrap(),
            );
            assert!(reverted <= moves, "seed {seed} {key}: {r}");
            assert_eq!(r["window_days"], 30);
        }
        let lp = &p["otto"]["loser_precision"];
        assert!(
            lp["true_losers"].as_u64().unwrap() <= lp["judged"].as_u64().unwrap(),
            "seed {seed}: {lp}"
        );
        assert!(p["naive_rules"]["moves"].as_u64().unwrap() > 0);
        let otto = &p["otto"];
        let counts = &otto["invariants"]["counts"];
        assert!(
            counts.get("write_without_row").is_none(),
            "seed {seed}: Otto changed the shop without an audit row: {}",
            otto["invariants"]
        );
        let applied: u64 = otto["rows_with_moves"]
            .as_object()
            .unwrap()
            .values()
            .map(|by| by["APPLIED"].as_u64().unwrap_or(0) + by["REVERTED"].as_u64().unwrap_or(0))
            .sum();
        assert!(applied >= otto["moves"].as_u64().unwrap() || otto["moves"] == 0);
        println!(
            "seed {seed}: profit otto {} / do-nothing {} / naive {}; Otto reverted {}, LOSER precision {}; invariant violations {}: {}",
            otto["profit"],
            p["do_nothing"]["profit"],
            p["naive_rules"]["profit"],
            otto["reverted_moves"],
            otto["loser_precision"],
            otto["invariant_violations"],
            counts
        );
        profits.push(money(&p["do_nothing"]["profit"]));
    }
    assert_ne!(profits[0], profits[1], "two seeds, two shops");
    println!("wall {:.1}s", began.elapsed().as_secs_f64());
}
