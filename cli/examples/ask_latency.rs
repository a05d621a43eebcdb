//! `otto ask` latency over an existing audit plane: answers a fixed set of questions `--rounds`
//! times each through the same engine `otto ask` uses (store opened once, as a server would),
//! and prints p50 / p99 / max per question kind and overall, plus the audit rows present and the
//! queries each answer took.
//!
//!   cargo run --release -p otto-cli --example ask_latency -- --data DIR [--rounds 200]
use std::time::Instant;

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().collect();
    let arg = |k: &str| {
        args.iter()
            .position(|a| a == k)
            .and_then(|i| args.get(i + 1))
            .cloned()
    };
    let data = arg("--data").ok_or("--data DIR is required")?;
    let rounds: usize = arg("--rounds").unwrap_or_else(|| "200".into()).parse()?;
    std::env::set_var("OTTO_DATA_DIR", &data);
    let cfg = otto_runtime::Config::from_env()?;
    let ports = otto_runtime::build_ports(&cfg).await?;
    let mut total_rows = 0usize;
    for table in otto_core::AuditTable::ALL {
        let mut page = otto_store::PageReq::first(10_000);
        loop {
            let p = ports.audit.list_table(table, page.clone()).await?;
            total_rows += p.items.len();
            match p.next {
                Some(c) => page.cursor = Some(c),
                None => break,
            }
        }
    }
    println!("audit rows: {total_rows}");
    let engine = otto_answers::Engine::new(&ports, cfg.store_id.clone(), cfg.clock, "");
    let now = otto_core::clock::now();
    let sku = {
        let v = ports.catalog.variants(&cfg.store_id).await?;
        v.get(v.len() / 2)
            .map(|v| v.sku.to_string())
            .unwrap_or_default()
    };
    let questions = [
        "how did this morning go?".to_string(),
        "what moved on the catalog yesterday?".to_string(),
        "what moved on the catalog today?".to_string(),
        "why is spend on EU/Cotton/Shopping what it is?".to_string(),
        "what's escalated in CS today?".to_string(),
        "what's held?".to_string(),
        "which discount windows are open?".to_string(),
        "what research candidates are queued?".to_string(),
        format!("what happened to {sku}?"),
        "show me decision_log#500000".to_string(),
        "what is the meaning of life?".to_string(),
    ];
    let mut all = Vec::new();
    println!(
        "{:<48} {:>9} {:>9} {:>9} {:>8} {:>9}",
        "question", "p50_ms", "p99_ms", "max_ms", "queries", "grounded"
    );
    for q in &questions {
        let mut times = Vec::with_capacity(rounds);
        let mut last = None;
        for _ in 0..rounds {
            let t = Instant::now();
            let a = engine.ask(q, now).await?;
            times.push(t.elapsed().as_micros() as u64);
            last = Some(a);
        }
        times.sort_unstable();
        all.extend(times.iter().copied());
        let pct = |p: usize| times[(times.len() * p / 100).min(times.len() - 1)] as f64 / 1000.0;
        let a = last.ok_or("no rounds")?;
        println!(
            "{:<48} {:>9.3} {:>9.3} {:>9.3} {:>8} {:>9}",
            q.chars().take(48).collect::<String>(),
            pct(50),
            pct(99),
            *times.last().unwrap_or(&0) as f64 / 1000.0,
            a.queries,
            a.grounded
        );
    }
    all.sort_unstable();
    let pct = |p: usize| all[(all.len() * p / 100).min(all.len() - 1)] as f64 / 1000.0;
    println!(
        "overall over {} answers: p50 {:.3} ms, p99 {:.3} ms",
        all.len(),
        pct(50),
        pct(99)
    );
    Ok(())
}
