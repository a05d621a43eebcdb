//! The policy as operator settings: every limit of [`Policy`] with its value, its default and
//! its unit in human form (`otto policy show`, `GET /policy`), and one limit changed at a time,
//! validated, each change an `operator_log` row (`otto policy set`, `PUT /policy/{name}`).
//!
//! The fields are read generically, through serde: a field added to [`Policy`] shows up here
//! without a change. Its unit comes from its name's suffix ([`Unit::of`]): `_bp` is a share
//! shown as a percentage (rows keep basis points), `_days` days, `_per_day` / `_per_week` counts
//! per period; a boolean is on/off; anything else is shown as stored.

use crate::ports::{AuditLog, Result, Settings};
use crate::settings::{policy, POLICY};
use crate::StoreError;
use chrono::{DateTime, Utc};
use otto_core::audit::{NewRow, OperatorAct, OperatorRow, RowBody, RowRef, SettingChange, Surface};
use otto_core::policy::Policy;
use otto_core::{CycleId, CycleKind, RowStatus, StoreDay, StoreId};
use serde::Serialize;
use serde_json::{Map, Value};

/// How a limit's number reads to a person.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Unit {
    /// Stored in basis points, shown (and typed) as a percentage.
    Percent,
    Days,
    PerDay,
    PerWeek,
    /// On or off.
    Switch,
    /// A number or a structure, shown as stored.
    Raw,
}

impl Unit {
    /// The unit of the field `name` holding `v`: by the name's suffix, else by the value.
    pub fn of(name: &str, v: &Value) -> Unit {
        const SUFFIXES: [(&str, Unit); 4] = [
            ("_bp", Unit::Percent),
            ("_days", Unit::Days),
            ("_per_day", Unit::PerDay),
            ("_per_week", Unit::PerWeek),
        ];
        if v.is_boolean() {
            return Unit::Switch;
        }
        if !v.is_number() {
            return Unit::Raw;
        }
        SUFFIXES
            .iter()
            .find(|(s, _)| name.ends_with(s))
            .map_or(Unit::Raw, |(_, u)| *u)
    }
}

/// One limit of the policy.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Limit {
    pub name: String,
    pub unit: Unit,
    /// As the setting stores it (basis points for `_bp`).
    pub value: Value,
    pub default: Value,
    /// The value for a person ("15%", "14 days", "8 per week" …).
    pub shown: String,
    pub default_shown: String,
}

/// One change made by [`set`].
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Changed {
    pub limit: Limit,
    /// The stored value before.
    pub old: Value,
    /// The operator_log row of the change (None when the value was already that).
    pub row: Option<RowRef>,
}

/// Every limit of `p`, by name, with the defaults beside.
pub fn limits(p: &Policy) -> Vec<Limit> {
    let (now, default) = (fields(p), fields(&Policy::default()));
    now.into_iter()
        .map(|(name, value)| {
            let default = default.get(&name).cloned().unwrap_or(Value::Null);
            let unit = Unit::of(&name, &value);
            Limit {
                shown: shown(&name, &value),
                default_shown: shown(&name, &default),
                name,
                unit,
                value,
                default,
            }
        })
        .collect()
}

fn fields(p: &Policy) -> Map<String, Value> {
    match serde_json::to_value(p) {
        Ok(Value::Object(m)) => m,
        _ => Map::new(),
    }
}

/// A stored value in human form, by the unit its name gives it (structures field by field).
pub fn shown(name: &str, v: &Value) -> String {
    match (Unit::of(name, v), v) {
        (Unit::Percent, Value::Number(n)) => percent(n.as_i64().unwrap_or(0)),
        (Unit::Days, Value::Number(n)) if n.as_i64() == Some(1) => "1 day".into(),
        (Unit::Days, Value::Number(n)) => format!("{n} days"),
        (Unit::PerDay, Value::Number(n)) => format!("{n} per day"),
        (Unit::PerWeek, Value::Number(n)) => format!("{n} per week"),
        (Unit::Switch, Value::Bool(b)) => if *b { "on" } else { "off" }.into(),
        (_, Value::Array(items)) => items
            .iter()
            .map(|i| shown(name, i))
            .collect::<Vec<_>>()
            .join("; "),
        (_, Value::Object(m)) => m
            .iter()
            .map(|(k, v)| format!("{} {}", k.trim_end_matches("_bp"), shown(k, v)))
            .collect::<Vec<_>>()
            .join(", "),
        (_, Value::String(s)) => s.clone(),
        (_, v) => v.to_string(),
    }
}

/// Basis points as a percentage: 1500 → "15%", 1250 → "12.5%", 5 → "0.05%".
pub fn percent(bp: i64) -> String {
    let sign = if bp < 0 { "-" } else { "" };
    let (whole, frac) = (bp.abs() / 100, bp.abs() % 100);
    match frac {
        0 => format!("{sign}{whole}%"),
        f if f % 10 == 0 => format!("{sign}{whole}.{}%", f / 10),
        f => format!("{sign}{whole}.{f:02}%"),
    }
}

/// The stored value of `text` typed for a limit of `unit` (one line naming the limit when bad).
pub fn parse(name: &str, unit: Unit, text: &str) -> std::result::Result<Value, String> {
    let t = text.trim();
    let bad = |what: &str| format!("policy {name}: {t:?} is not {what}");
    let count = |s: &str, what: &str| -> std::result::Result<Value, String> {
        s.trim()
            .parse::<u64>()
            .map(Value::from)
            .map_err(|_| bad(what))
    };
    match unit {
        Unit::Percent => parse_percent(t)
            .map(Value::from)
            .ok_or_else(|| bad("a percentage with at most two decimals (e.g. 15 or 12.5%)")),
        Unit::Days => count(
            t.trim_end_matches("days")
                .trim_end_matches("day")
                .trim_end_matches('d'),
            "a whole number of days",
        ),
        Unit::PerDay => count(
            t.trim_end_matches("per day").trim_end_matches("/day"),
            "a whole number per day",
        ),
        Unit::PerWeek => count(
            t.trim_end_matches("per week").trim_end_matches("/week"),
            "a whole number per week",
        ),
        Unit::Switch => match t.to_ascii_lowercase().as_str() {
            "on" | "true" | "yes" => Ok(Value::Bool(true)),
            "off" | "false" | "no" => Ok(Value::Bool(false)),
            _ => Err(bad("on or off")),
        },
        Unit::Raw => serde_json::from_str(t).map_err(|_| bad("a number or JSON value")),
    }
}

/// "15", "15%", "12.5 %", "0.05%" → basis points (non-negative, at most two decimals).
fn parse_percent(t: &str) -> Option<i64> {
    let t = t.trim_end_matches('%').trim();
    let (whole, frac) = t.split_once('.').unwrap_or((t, ""));
    if whole.is_empty()
        || frac.len() > 2
        || !(whole.chars().chain(frac.chars())).all(|c| c.is_ascii_digit())
    {
        return None;
    }
    let whole: i64 = whole.parse().ok()?;
    let frac: i64 = format!("{frac:0<2}").parse().ok()?;
    whole.checked_mul(100)?.checked_add(frac)
}

/// The store's policy, limit by limit.
pub async fn show(settings: &dyn Settings, store: &StoreId) -> Result<Vec<Limit>> {
    Ok(limits(&policy(settings, store).await?))
}

/// Who changes the policy, from where.
#[derive(Debug, Clone)]
pub struct Change {
    pub name: String,
    /// As the operator typed it ("15%", "14", "on" …).
    pub value: String,
    pub by: String,
    pub surface: Surface,
}

/// Changes one limit: validated against the policy's own types, then recorded like a kill
/// switch flip — an `operator_log` row (POLICY_SET, old → new) appended PENDING, the setting
/// written, the row APPLIED (FAILED when the write failed). Setting a limit to its current
/// value writes nothing.
///
/// The write is conditional on the policy as read, so two operators changing it at once never
/// lose a change: when someone else changed another limit in between, the change is made again
/// over theirs; when they changed this same limit, nothing is written, the row is FAILED and the
/// error (409) names both values.
pub async fn set(
    audit: &dyn AuditLog,
    settings: &dyn Settings,
    store: &StoreId,
    day: StoreDay,
    change: Change,
    now: DateTime<Utc>,
) -> Result<Changed> {
    let read = read_policy(settings, store).await?;
    let (next, old, new) = changed_policy(&read.1, &change.name, &change.value)?;
    let limit = limits(&next)
        .into_iter()
        .find(|l| l.name == change.name)
        .ok_or_else(|| StoreError::Invalid(format!("policy {}: not found", change.name)))?;
    if old == new {
        return Ok(Changed {
            limit,
            old,
            row: None,
        });
    }
    let row_ref = append_change(audit, store, day, &change, &old, &limit, now).await?;
    let written = write_change(settings, store, &change, read, next, &old, &limit).await;
    let to = match written {
        Ok(()) => RowStatus::Applied,
        Err(_) => RowStatus::Failed,
    };
    audit
        .transition(row_ref, RowStatus::Pending, to, None, now, None)
        .await?;
    written?;
    Ok(Changed {
        limit,
        old,
        row: Some(row_ref),
    })
}

/// Writes `next` on condition that the policy is still as `read`; when another limit changed in
/// between, the change is made again over it; when this one did, a conflict naming both values.
async fn write_change(
    settings: &dyn Settings,
    store: &StoreId,
    change: &Change,
    mut read: (Option<Value>, Policy),
    mut next: Policy,
    old: &Value,
    limit: &Limit,
) -> Result<()> {
    let name = &change.name;
    for _ in 0..WRITE_TRIES {
        let value = serde_json::to_value(&next)?;
        match settings
            .replace_setting(store, POLICY, read.0.as_ref(), &value)
            .await
        {
            Err(StoreError::Conflict(_)) => {}
            other => return other,
        }
        read = read_policy(settings, store).await?;
        let (again, now_old, _) = changed_policy(&read.1, name, &change.value)?;
        if &now_old != old {
            let now_shown = shown(name, &now_old);
            return Err(StoreError::Conflict(format!(
                "policy {name}: changed by someone else while this change was made (read {}, now {now_shown}); {} was not written — set it again to change it from {now_shown}",
                shown(name, old),
                limit.shown,
            )));
        }
        next = again;
    }
    Err(StoreError::Conflict(format!(
        "policy {name}: the policy kept changing under this change ({WRITE_TRIES} tries); {} was not written",
        limit.shown
    )))
}

/// Conditional writes tried before a busy policy is reported.
const WRITE_TRIES: usize = 10;

/// The policy as stored (None: never set) and as read.
async fn read_policy(settings: &dyn Settings, store: &StoreId) -> Result<(Option<Value>, Policy)> {
    let raw = settings.get_setting(store, POLICY).await?;
    let p = match &raw {
        Some(v) => serde_json::from_value(v.clone())
            .map_err(|e| StoreError::Invalid(format!("setting {POLICY}: {e}")))?,
        None => Policy::default(),
    };
    Ok((raw, p))
}

/// The PENDING `operator_log` row of a change.
async fn append_change(
    audit: &dyn AuditLog,
    store: &StoreId,
    day: StoreDay,
    change: &Change,
    old: &Value,
    limit: &Limit,
    now: DateTime<Utc>,
) -> Result<RowRef> {
    let cycle_id = CycleId::new(store.clone(), CycleKind::Operator, day);
    let row = NewRow {
        natural_key: format!("{cycle_id}|policy|{}", ulid::Ulid::new()),
        cycle_id,
        status: RowStatus::Pending,
        created_at: now,
        body: RowBody::Operator(OperatorRow {
            act: OperatorAct::PolicySet,
            by: change.by.clone(),
            surface: change.surface,
            reason: Some(format!(
                "{}: {} → {}",
                change.name,
                shown(&change.name, old),
                limit.shown
            )),
            change: Some(SettingChange {
                name: change.name.clone(),
                old: old.clone(),
                new: limit.value.clone(),
            }),
        }),
    };
    Ok(audit.append(vec![row], None).await?[0].row_ref)
}

/// `current` with `name` set from `text`, and the stored values before and after.
fn changed_policy(current: &Policy, name: &str, text: &str) -> Result<(Policy, Value, Value)> {
    let mut obj = fields(current);
    let Some(old) = obj.get(name).cloned() else {
        let names: Vec<&str> = obj.keys().map(String::as_str).collect();
        return Err(StoreError::Invalid(format!(
            "there is no policy limit named {name:?}; the limits are {}",
            names.join(", ")
        )));
    };
    let new = parse(name, Unit::of(name, &old), text).map_err(StoreError::Invalid)?;
    obj.insert(name.to_string(), new.clone());
    let next: Policy = serde_json::from_value(Value::Object(obj))
        .map_err(|e| StoreError::Invalid(format!("policy {name}: {text:?}: {e}")))?;
    // What the policy stores after its own parsing (e.g. a list normalised).
    let stored = fields(&next).get(name).cloned().unwrap_or(new);
    Ok((next, old, stored))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn units_come_from_name_suffixes_and_values() {
        assert_eq!(Unit::of("discount_percent_bp", &json!(1500)), Unit::Percent);
        assert_eq!(Unit::of("discount_window_days", &json!(14)), Unit::Days);
        assert_eq!(Unit::of("discount_tests_per_day", &json!(10)), Unit::PerDay);
        assert_eq!(
            Unit::of("budget_changes_per_week", &json!(8)),
            Unit::PerWeek
        );
        assert_eq!(Unit::of("apply", &json!(false)), Unit::Switch);
        assert_eq!(Unit::of("some_new_count", &json!(3)), Unit::Raw);
        assert_eq!(Unit::of("margin_tiers", &json!([])), Unit::Raw);
    }

    #[test]
    fn every_limit_is_shown_in_human_form_with_its_default() {
        let all = limits(&Policy::default());
        let by = |n: &str| all.iter().find(|l| l.name == n).unwrap().clone();
        assert_eq!(by("discount_percent_bp").shown, "15%");
        assert_eq!(by("max_budget_step_bp").shown, "20%");
        assert_eq!(by("discount_window_days").shown, "14 days");
        assert_eq!(by("budget_changes_per_week").shown, "8 per week");
        assert_eq!(by("catalog_moves_per_day").default_shown, "50 per day");
        assert_eq!(by("apply").shown, "off");
        assert!(
            by("margin_tiers")
                .shown
                .contains("floor 40%, min_margin 60%, name A"),
            "{}",
            by("margin_tiers").shown
        );
        let names: Vec<String> = fields(&Policy::default()).keys().cloned().collect();
        assert_eq!(all.len(), names.len(), "every field, none left out");
        assert!(all.iter().all(|l| !l.shown.contains("bp")), "{all:?}");
    }

    #[test]
    fn percentages_read_both_ways() {
        assert_eq!(percent(1250), "12.5%");
        assert_eq!(percent(5), "0.05%");
        for (t, bp) in [("15", 1500), ("15%", 1500), ("12.5 %", 1250), ("0.05%", 5)] {
            assert_eq!(parse_percent(t), Some(bp), "{t}");
        }
        for t in ["", "-5", "1.234", "abc", "%", "1e3"] {
            assert_eq!(parse_percent(t), None, "{t}");
        }
    }

    #[test]
    fn a_change_is_validated_against_the_policy_types() {
        let p = Policy::default();
        let (next, old, new) = changed_policy(&p, "discount_percent_bp", "12.5%").unwrap();
        assert_eq!((old, new), (json!(1500), json!(1250)));
        assert_eq!(next.discount_percent_bp, 1250);
        let (next, ..) = changed_policy(&p, "apply", "on").unwrap();
        assert!(next.apply);
        let e = changed_policy(&p, "discount_window_days", "two weeks")
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("discount_window_days") && e.contains("days"),
            "{e}"
        );
        let e = changed_policy(&p, "discount_tests_per_day", "99999999999")
            .unwrap_err()
            .to_string();
        assert!(e.contains("discount_tests_per_day"), "{e}");
        let e = changed_policy(&p, "teleports_per_day", "3")
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("teleports_per_day") && e.contains("catalog_moves_per_day"),
            "{e}"
        );
        let e = changed_policy(&p, "margin_tiers", "[{\"name\":\"A\"}]")
            .unwrap_err()
            .to_string();
        assert!(e.contains("margin_tiers"), "{e}");
    }
}
