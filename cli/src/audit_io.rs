//! `otto export` / `otto import`: the audit plane as NDJSON, one file per table
//! (`decision_log.ndjson` …). Schema: docs/audit-plane.md.

use crate::cli::CliResult;
use otto_core::audit::{AuditRow, AuditTable};
use otto_store::{PageReq, Ports};
use std::io::{BufRead, BufWriter, Write};
use std::path::Path;

pub async fn export(ports: &Ports, dir: &Path, json: bool) -> CliResult {
    std::fs::create_dir_all(dir).map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
    let mut counts = serde_json::Map::new();
    for table in AuditTable::ALL {
        let path = dir.join(format!("{table}.ndjson"));
        // Write to a temporary name and rename, so a failed export never leaves half a file
        // under the real name.
        let tmp = dir.join(format!(".{table}.ndjson.partial"));
        let file = std::fs::File::create(&tmp)
            .map_err(|e| format!("cannot write {}: {e}", tmp.display()))?;
        let mut out = BufWriter::new(file);
        let mut rows: Vec<AuditRow> = Vec::new();
        let mut page = PageReq::first(1000);
        loop {
            let p = ports.audit.list_table(table, page.clone()).await?;
            rows.extend(p.items);
            match p.next {
                Some(c) => page.cursor = Some(c),
                None => break,
            }
        }
        rows.sort_by_key(|r| r.row_ref.seq);
        for r in &rows {
            writeln!(out, "{}", r.to_json())?;
        }
        out.flush()?;
        drop(out);
        std::fs::rename(&tmp, &path)?;
        counts.insert(table.to_string(), rows.len().into());
    }
    if json {
        println!("{}", serde_json::Value::Object(counts));
    } else {
        for (t, n) in &counts {
            println!("{t:<24} {n} rows");
        }
        println!("written to {}", dir.display());
    }
    Ok(())
}

/// Parses every file first; any malformed line fails the whole import before anything is written.
pub fn read_export(dir: &Path) -> Result<Vec<AuditRow>, String> {
    if !dir.is_dir() {
        return Err(format!("{} is not a directory", dir.display()));
    }
    let mut rows = Vec::new();
    let mut found = 0;
    for table in AuditTable::ALL {
        let path = dir.join(format!("{table}.ndjson"));
        if !path.exists() {
            continue;
        }
        found += 1;
        let file = std::fs::File::open(&path).map_err(|e| format!("{}: {e}", path.display()))?;
        for (i, line) in std::io::BufReader::new(file).lines().enumerate() {
            let line_no = i + 1;
            let line = line.map_err(|e| format!("{}:{line_no}: {e}", path.display()))?;
            if line.trim().is_empty() {
                continue;
            }
            let v: serde_json::Value = serde_json::from_str(&line)
                .map_err(|e| format!("{}:{line_no}: not JSON: {e}", path.display()))?;
            let row = AuditRow::from_json(&v)
                .map_err(|e| format!("{}:{line_no}: {e}", path.display()))?;
            if row.row_ref.table != table {
                return Err(format!(
                    "{}:{line_no}: row {} belongs in {}.ndjson",
                    path.display(),
                    row.row_ref,
                    row.row_ref.table
                ));
            }
            rows.push(row);
        }
    }
    if found == 0 {
        return Err(format!("{} holds no <table>.ndjson files", dir.display()));
    }
    Ok(rows)
}

pub async fn import(ports: &Ports, dir: &Path, json: bool) -> CliResult {
    let rows = read_export(dir)?;
    let n = rows.len();
    let stats = ports.audit.import(rows).await?;
    if json {
        println!("{}", serde_json::to_string(&stats)?);
    } else {
        println!(
            "imported {n} rows: {} written, {} already present",
            stats.written, stats.already_present
        );
    }
    Ok(())
}
