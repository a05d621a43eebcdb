//! File-fed lanes: `organic` (the store's own search and referral terms, exported as CSV/JSON)
//! and `spy_tools` (a spy tool's CSV/JSON export). Columns: `title` (required), `price`,
//! `unit_cost`, `currency`, `search_volume`, `url`; JSON is an array of objects with those keys.
//! A malformed file fails the lane with its name and line.

use super::{DiscoveryLane, RawCandidate};
use crate::ports::VendorError;
use async_trait::async_trait;
use otto_core::money::{Currency, Money};
use serde_json::Value;
use std::collections::BTreeMap;
use std::path::PathBuf;

pub struct FileLane {
    name: &'static str,
    path: PathBuf,
    currency: Currency,
}

impl FileLane {
    pub fn organic(path: PathBuf, currency: Currency) -> Self {
        FileLane {
            name: "organic",
            path,
            currency,
        }
    }
    pub fn spy_tools(path: PathBuf, currency: Currency) -> Self {
        FileLane {
            name: "spy_tools",
            path,
            currency,
        }
    }

    fn bad(&self, line: usize, what: impl std::fmt::Display) -> VendorError {
        VendorError::Permanent {
            vendor: self.name,
            detail: format!("{}:{line}: {what}", self.path.display()),
        }
    }

    fn money(
        &self,
        line: usize,
        v: Option<&str>,
        cur: Currency,
    ) -> Result<Option<Money>, VendorError> {
        match v.map(str::trim).filter(|s| !s.is_empty()) {
            None => Ok(None),
            Some(s) => Money::parse(s, cur)
                .map(Some)
                .map_err(|e| self.bad(line, e)),
        }
    }

    fn row(
        &self,
        line: usize,
        get: &dyn Fn(&str) -> Option<String>,
    ) -> Result<RawCandidate, VendorError> {
        let title = get("title")
            .map(|t| t.trim().to_string())
            .filter(|t| !t.is_empty())
            .ok_or_else(|| self.bad(line, "missing title"))?;
        let cur = match get("currency") {
            Some(c) if !c.trim().is_empty() => {
                Currency::new(c.trim()).map_err(|e| self.bad(line, e))?
            }
            _ => self.currency,
        };
        let search_volume = match get("search_volume")
            .map(|s| s.trim().to_string())
            .filter(|s| !s.is_empty())
        {
            None => None,
            Some(s) => Some(s.parse::<u64>().map_err(|_| {
                self.bad(line, format!("search_volume {s:?} is not a whole number"))
            })?),
        };
        Ok(RawCandidate {
            title,
            lane: self.name.to_string(),
            source_url: get("url").filter(|u| !u.trim().is_empty()),
            price: self.money(line, get("price").as_deref(), cur)?,
            unit_cost: self.money(line, get("unit_cost").as_deref(), cur)?,
            search_volume,
            competition_bp: None,
            signals: BTreeMap::new(),
        })
    }
}

/// Splits one CSV line (RFC 4180 quotes, no embedded newlines).
fn split_csv(line: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut quoted = false;
    let mut chars = line.chars().peekable();
    while let Some(c) = chars.next() {
        match (c, quoted) {
            ('"', true) if chars.peek() == Some(&'"') => {
                cur.push('"');
                chars.next();
            }
            ('"', _) => quoted = !quoted,
            (',', false) => out.push(std::mem::take(&mut cur)),
            (c, _) => cur.push(c),
        }
    }
    out.push(cur);
    out
}

#[async_trait]
impl DiscoveryLane for FileLane {
    fn name(&self) -> &'static str {
        self.name
    }

    async fn discover(&self, _seeds: &[String]) -> Result<Vec<RawCandidate>, VendorError> {
        let text = std::fs::read_to_string(&self.path).map_err(|e| self.bad(0, e))?;
        let is_json = self.path.extension().is_some_and(|e| e == "json");
        if is_json {
            let v: Value = serde_json::from_str(&text).map_err(|e| self.bad(e.line(), e))?;
            let items = v
                .as_array()
                .ok_or_else(|| self.bad(1, "expected a JSON array of objects"))?;
            return items
                .iter()
                .enumerate()
                .map(|(i, o)| {
                    let get = |k: &str| -> Option<String> {
                        o.get(k).and_then(|v| match v {
                            Value::String(s) => Some(s.clone()),
                            Value::Number(n) => Some(n.to_string()),
                            _ => None,
                        })
                    };
                    self.row(i + 1, &get)
                })
                .collect();
        }
        let mut lines = text
            .lines()
            .enumerate()
            .filter(|(_, l)| !l.trim().is_empty());
        let Some((_, header)) = lines.next() else {
            return Ok(vec![]);
        };
        let cols: Vec<String> = split_csv(header)
            .iter()
            .map(|c| c.trim().to_lowercase())
            .collect();
        if !cols.iter().any(|c| c == "title") {
            return Err(self.bad(1, "the header has no `title` column"));
        }
        lines
            .map(|(i, l)| {
                let cells = split_csv(l);
                if cells.len() != cols.len() {
                    return Err(self.bad(
                        i + 1,
                        format!("{} cells, the header has {}", cells.len(), cols.len()),
                    ));
                }
                let get = |k: &str| cols.iter().position(|c| c == k).map(|p| cells[p].clone());
                self.row(i + 1, &get)
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn csv_and_json_exports() {
        let dir = tempfile::tempdir().unwrap();
        let csv = dir.path().join("spy.csv");
        std::fs::write(&csv, "title,price,unit_cost,search_volume,url\n\"Waffle Linen Throw, XL\",59.90,14.20,2400,https://x\nVelvet Cushion,,,,\n").unwrap();
        let got = FileLane::spy_tools(csv.clone(), Currency::EUR)
            .discover(&[])
            .await
            .unwrap();
        assert_eq!(got.len(), 2);
        assert_eq!(got[0].title, "Waffle Linen Throw, XL");
        assert_eq!(got[0].unit_cost.unwrap().amount_string(), "14.20");
        assert_eq!(got[0].search_volume, Some(2400));
        assert_eq!(got[1].price, None);
        std::fs::write(&csv, "title,price\nThrow,12.3.4\n").unwrap();
        let err = FileLane::spy_tools(csv.clone(), Currency::EUR)
            .discover(&[])
            .await
            .unwrap_err()
            .to_string();
        assert!(err.contains("spy.csv:2"), "{err}");
        let json = dir.path().join("organic.json");
        std::fs::write(
            &json,
            r#"[{"title":"linen napkins","search_volume":880},{"price":"1"}]"#,
        )
        .unwrap();
        let err = FileLane::organic(json.clone(), Currency::EUR)
            .discover(&[])
            .await
            .unwrap_err()
            .to_string();
        assert!(err.contains("organic.json:2: missing title"), "{err}");
    }
}
