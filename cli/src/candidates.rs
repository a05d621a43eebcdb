//! `otto candidates list|approve|reject`: the operator's review of the research queue.

use crate::cli::CliResult;
use otto_core::audit::RowBody;
use otto_core::StoreId;
use otto_engine::research::queued;
pub use otto_engine::research::review;
use otto_store::Ports;

pub async fn list(ports: &Ports, store: &StoreId, json: bool) -> CliResult {
    let rows = queued(ports, store).await?;
    if json {
        println!(
            "{}",
            serde_json::to_string_pretty(&rows.iter().map(|r| r.to_json()).collect::<Vec<_>>())?
        );
        return Ok(());
    }
    if rows.is_empty() {
        println!("No candidates waiting for review.");
    }
    for r in &rows {
        if let RowBody::ResearchCandidate(c) = &r.body {
            let score = c
                .score_bp
                .map(|s| s.to_string())
                .unwrap_or_else(|| "unscored".into());
            println!(
                "{:<26} score {:>8}  {:<40} lanes {}",
                r.row_ref.to_string(),
                score,
                c.title,
                c.figures
                    .get("lanes")
                    .map(|l| l.to_string())
                    .unwrap_or_default()
            );
        }
    }
    Ok(())
}
