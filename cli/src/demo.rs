//! `otto demo`: a synthetic store in the configured backend (the embedded default unless told
//! otherwise), then a summary of what it holds.

use crate::cli::CliResult;
use otto_core::metrics::ProductStatus;
use otto_core::money::{Currency, Money};
use otto_core::synthetic::{generate, SyntheticSpec};
use otto_runtime::Config;
use otto_store::Ports;
use std::collections::BTreeMap;

pub async fn run(
    ports: &Ports,
    cfg: &Config,
    variants: usize,
    days: u32,
    seed: u64,
    json: bool,
) -> CliResult {
    let now = chrono::Utc::now();
    // The latest full store day is yesterday: today's numbers are still coming in.
    let last_day = cfg.clock.day_of(now).plus_days(-1);
    let spec = SyntheticSpec {
        variants,
        days,
        last_day,
        seed,
        currency: Currency::EUR,
    };
    let store = generate(&spec, now);
    ports
        .catalog
        .upsert_variants(&cfg.store_id, &store.variants)
        .await?;
    for chunk in store.metrics.chunks(5_000) {
        ports.catalog.put_metrics(&cfg.store_id, chunk).await?;
    }

    // Read back what the store holds (not what we generated): the summary is of the ports.
    let held = ports.catalog.variants(&cfg.store_id).await?;
    let first_day = last_day.plus_days(-(i64::from(days) - 1));
    let metrics = ports
        .catalog
        .metrics(&cfg.store_id, first_day, last_day)
        .await?;
    let mut by_status: BTreeMap<&str, usize> = BTreeMap::new();
    for v in &held {
        *by_status
            .entry(match v.status {
                ProductStatus::Active => "ACTIVE",
                ProductStatus::Draft => "DRAFT",
                ProductStatus::Archived => "ARCHIVED",
            })
            .or_default() += 1;
    }
    let mut spend = Money::zero(Currency::EUR);
    let mut value = Money::zero(Currency::EUR);
    let mut per_sku: BTreeMap<&str, i64> = BTreeMap::new();
    for m in &metrics {
        spend = spend.checked_add(&m.cost)?;
        value = value.checked_add(&m.conversion_value)?;
        *per_sku.entry(m.sku.as_str()).or_default() += m.conversion_value.micros();
    }
    let mut top: Vec<(&str, i64)> = per_sku.into_iter().collect();
    top.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(b.0)));
    top.truncate(3);
    let provisional = metrics.iter().filter(|m| m.provisional).count();

    if json {
        let v = serde_json::json!({
            "store": cfg.store_id.to_string(),
            "backend": match &cfg.backend { otto_runtime::Backend::Embedded { dir } => format!("embedded:{}", dir.display()), otto_runtime::Backend::Aws(_) => "dynamodb".into() },
            "variants": held.len(),
            "by_status": by_status,
            "metric_rows": metrics.len(),
            "provisional_rows": provisional,
            "days": {"from": first_day.to_string(), "to": last_day.to_string()},
            "ad_spend": spend,
            "conversion_value": value,
            "top_skus": top.iter().map(|(s, m)| serde_json::json!({"sku": s, "conversion_value": Money::from_micros(*m, Currency::EUR)})).collect::<Vec<_>>(),
        });
        println!("{}", serde_json::to_string_pretty(&v)?);
        return Ok(());
    }
    println!(
        "otto demo — synthetic store {:?} (seed {seed})",
        cfg.store_id.as_str()
    );
    match &cfg.backend {
        otto_runtime::Backend::Embedded { dir } => {
            println!("  store:        embedded, {}", dir.display())
        }
        otto_runtime::Backend::Aws(n) => println!("  store:        DynamoDB {}", n.catalog_table),
    }
    println!(
        "  catalog:      {} variants ({})",
        held.len(),
        by_status
            .iter()
            .map(|(k, v)| format!("{v} {k}"))
            .collect::<Vec<_>>()
            .join(", ")
    );
    println!(
        "  performance:  {} SKU-days, {first_day} … {last_day} ({} provisional, inside the restatement window)",
        metrics.len(),
        provisional
    );
    println!("  ad spend:     {spend}");
    println!("  conv. value:  {value}");
    for (i, (sku, m)) in top.iter().enumerate() {
        println!(
            "  top {}:        {sku} — {}",
            i + 1,
            Money::from_micros(*m, Currency::EUR)
        );
    }
    println!("The cycles (morning, research, discount) run on this store once they are built; see README.");
    Ok(())
}
