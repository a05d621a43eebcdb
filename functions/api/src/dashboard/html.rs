//! HTML building blocks. Every string that comes from a row, a vendor, a customer or a request
//! goes through [`esc`] (text and attribute values alike) or [`urlenc`] (inside a URL) before it
//! is written into a page; markup is only ever built from literals and escaped values.

use otto_core::audit::{AuditTable, RowRef};
use serde_json::Value;
use std::fmt::Write;

/// Escapes text for HTML element content and quoted attribute values.
pub fn esc(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 8);
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// Percent-encodes a query-string component (everything but unreserved characters).
pub fn urlenc(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
            out.push(b as char);
        } else {
            let _ = write!(out, "%{b:02X}");
        }
    }
    out
}

fn hex_val(b: u8) -> Option<u8> {
    match b {
        b'0'..=b'9' => Some(b - b'0'),
        b'a'..=b'f' => Some(b - b'a' + 10),
        b'A'..=b'F' => Some(b - b'A' + 10),
        _ => None,
    }
}

/// Decodes one `application/x-www-form-urlencoded` component (`+` is a space).
pub fn urldec(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'+' => out.push(b' '),
            b'%' if i + 2 < b.len() => match (hex_val(b[i + 1]), hex_val(b[i + 2])) {
                (Some(h), Some(l)) => {
                    out.push(h * 16 + l);
                    i += 2;
                }
                _ => out.push(b'%'),
            },
            c => out.push(c),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// A decoded form body or query string.
#[derive(Debug, Default, Clone)]
pub struct Form(pub Vec<(String, String)>);

impl Form {
    pub fn parse(raw: &[u8]) -> Form {
        let text = String::from_utf8_lossy(raw);
        Form(
            text.split('&')
                .filter(|kv| !kv.is_empty())
                .map(|kv| match kv.split_once('=') {
                    Some((k, v)) => (urldec(k), urldec(v)),
                    None => (urldec(kv), String::new()),
                })
                .collect(),
        )
    }
    /// The first value of `name`, trimmed; `None` when absent or blank.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.trim())
            .filter(|v| !v.is_empty())
    }
}

/// The dashboard page of a row.
pub fn row_href(r: &RowRef) -> String {
    format!("/dashboard/rows/{}/{}", r.table, r.seq)
}

/// A link to a row's page, labelled with its ref.
pub fn row_link(r: &RowRef) -> String {
    format!(
        "<a class=\"ref\" href=\"{}\">{}</a>",
        esc(&row_href(r)),
        esc(&r.to_string())
    )
}

/// A status badge (`HELD`, `APPLIED` …); the class is derived from a fixed vocabulary.
pub fn badge(status: &str) -> String {
    let class: String = status
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || *c == '_')
        .map(|c| c.to_ascii_lowercase())
        .collect();
    format!(
        "<span class=\"badge s-{}\">{}</span>",
        esc(&class),
        esc(status)
    )
}

/// Escapes `text` and turns every `<table>#<seq>` in it into a link to that row's page.
pub fn linkify_refs(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 32);
    let mut rest = text;
    'scan: while !rest.is_empty() {
        let mut best: Option<(usize, AuditTable)> = None;
        for t in AuditTable::ALL {
            let needle = format!("{}#", t.as_str());
            if let Some(i) = rest.find(&needle) {
                // A table name that is the tail of a longer word is not a ref.
                let boundary = rest[..i]
                    .chars()
                    .next_back()
                    .is_none_or(|c| !(c.is_alphanumeric() || c == '_'));
                let digits = rest[i + needle.len()..]
                    .bytes()
                    .take_while(u8::is_ascii_digit)
                    .count();
                if boundary && digits > 0 && best.is_none_or(|(b, _)| i < b) {
                    best = Some((i, t));
                }
            }
        }
        let Some((i, t)) = best else {
            out.push_str(&esc(rest));
            break 'scan;
        };
        out.push_str(&esc(&rest[..i]));
        let start = i + t.as_str().len() + 1;
        let digits = rest[start..].bytes().take_while(u8::is_ascii_digit).count();
        let end = start + digits;
        match rest[start..end].parse::<u64>() {
            Ok(seq) => out.push_str(&row_link(&RowRef::new(t, seq))),
            Err(_) => out.push_str(&esc(&rest[i..end])),
        }
        rest = &rest[end..];
    }
    out
}

/// `{"amount":"19.99","currency":"EUR"}` as `19.99 EUR`.
fn as_money(v: &Value) -> Option<String> {
    let o = v.as_object()?;
    if o.len() != 2 {
        return None;
    }
    Some(format!(
        "{} {}",
        o.get("amount")?.as_str()?,
        o.get("currency")?.as_str()?
    ))
}

/// A JSON value as HTML: scalars as text (row refs linked), money as `19.99 EUR`, arrays of
/// scalars as a list, objects as a nested key/value table (depth-limited, then JSON text).
pub fn value_html(v: &Value, depth: usize) -> String {
    match v {
        Value::Null => "<span class=\"muted\">—</span>".into(),
        Value::Bool(b) => esc(&b.to_string()),
        Value::Number(n) => esc(&n.to_string()),
        Value::String(s) => match RowRef::parse(s) {
            Ok(r) if r.to_string() == *s => row_link(&r),
            _ => esc(s),
        },
        Value::Array(a) if a.is_empty() => "<span class=\"muted\">none</span>".into(),
        Value::Array(a) if a.iter().all(|x| !x.is_object() && !x.is_array()) => a
            .iter()
            .map(|x| value_html(x, depth + 1))
            .collect::<Vec<_>>()
            .join(", "),
        Value::Object(_) if as_money(v).is_some() => esc(&as_money(v).unwrap_or_default()),
        // Counts and small records inside a figure read better inline: `KEEP 26 · DRAFT 5`.
        Value::Object(o)
            if depth >= 1
                && o.len() <= 12
                && o.values().all(|x| !x.is_object() && !x.is_array()) =>
        {
            let items: Vec<String> = o
                .iter()
                .map(|(k, x)| {
                    let (k, x) = figure_html(k, x, depth + 1);
                    format!("<span class=\"kvi\">{} <b>{x}</b></span>", esc(&k))
                })
                .collect();
            if items.is_empty() {
                "<span class=\"muted\">none</span>".into()
            } else {
                items.join(" ")
            }
        }
        _ if depth >= 3 => format!("<code>{}</code>", esc(&v.to_string())),
        Value::Array(a) => format!(
            "<ol class=\"plain\">{}</ol>",
            a.iter()
                .map(|x| format!("<li>{}</li>", value_html(x, depth + 1)))
                .collect::<String>()
        ),
        Value::Object(o) => kv_table(o.iter().map(|(k, v)| figure_html(k, v, depth + 1))),
    }
}

/// A named figure for people: a `…_bp` figure loses its suffix and reads as a ratio when it is
/// a ROAS or MER (`mer_before_bp 48854` → `mer_before 4.9`), as a percentage otherwise
/// (`judge_agreement_bp 7142` → `judge_agreement 71%`). Basis points stay in the row's JSON.
pub fn figure_html(name: &str, v: &Value, depth: usize) -> (String, String) {
    match (name.strip_suffix("_bp"), v.as_i64()) {
        (Some(base), Some(bp)) => {
            let ratio = base.split('_').any(|w| matches!(w, "roas" | "mer"));
            let text = if ratio {
                super::units::ratio(bp)
            } else {
                super::units::pct(bp)
            };
            (base.to_string(), esc(&text))
        }
        _ => (name.to_string(), value_html(v, depth)),
    }
}

/// A two-column key/value table; keys are escaped here, values must already be HTML.
pub fn kv_table<K: AsRef<str>>(rows: impl IntoIterator<Item = (K, String)>) -> String {
    let mut out = String::from("<table class=\"kv\"><tbody>");
    for (k, v) in rows {
        // Long snake_case names may break after an underscore, not mid-word.
        let key = esc(k.as_ref()).replace('_', "_<wbr>");
        let _ = write!(out, "<tr><th scope=\"row\">{key}</th><td>{v}</td></tr>");
    }
    out.push_str("</tbody></table>");
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn esc_neutralises_markup_and_quotes() {
        assert_eq!(
            esc(r#"<script>alert("x")</script> & 'y'"#),
            "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; &#39;y&#39;"
        );
        assert_eq!(esc("Ça va — 19,99 €"), "Ça va — 19,99 €");
    }

    #[test]
    fn basis_points_read_as_ratios_and_percentages() {
        let (k, v) = figure_html("mer_before_bp", &json!(48854), 0);
        assert_eq!((k.as_str(), v.as_str()), ("mer_before", "4.9"));
        let (k, v) = figure_html("judge_agreement_bp", &json!(7142), 0);
        assert_eq!((k.as_str(), v.as_str()), ("judge_agreement", "71%"));
        let (k, v) = figure_html("customer_share_bp", &json!(1500), 0);
        assert_eq!((k.as_str(), v.as_str()), ("customer_share", "15%"));
        let t = value_html(&json!({"floor_roas_bp": 41459, "window_days": 28}), 0);
        assert!(t.contains("floor_<wbr>roas</th><td>4.1"), "{t}");
        assert!(!t.contains("41459"), "{t}");
        let inline = value_html(&json!({"x": {"step_bp": 1200}}), 0);
        assert!(inline.contains("step <b>12%</b>"), "{inline}");
    }

    #[test]
    fn url_round_trip() {
        let s = "a b&c=d/é#1+%";
        assert_eq!(urldec(&urlenc(s)), s);
        assert_eq!(urldec("a+b%2Bc%zz%4"), "a b+c%zz%4");
        let f = Form::parse(b"csrf=ab%20c&empty=&reason=too+pricey&x");
        assert_eq!(f.get("csrf"), Some("ab c"));
        assert_eq!(f.get("empty"), None);
        assert_eq!(f.get("reason"), Some("too pricey"));
        assert_eq!(f.get("nope"), None);
    }

    #[test]
    fn refs_in_text_become_links_and_the_rest_is_escaped() {
        let html = linkify_refs("held: cs_thread_evaluations#4 <b>x</b>; see decision_log#12.");
        assert!(html.contains(
            "<a class=\"ref\" href=\"/dashboard/rows/cs_thread_evaluations/4\">cs_thread_evaluations#4</a>"
        ));
        assert!(html.contains("<a class=\"ref\" href=\"/dashboard/rows/decision_log/12\">"));
        assert!(html.contains("&lt;b&gt;x&lt;/b&gt;"));
        assert!(html.ends_with("</a>."));
        // Not refs: no digits, or the tail of another word.
        assert_eq!(linkify_refs("decision_log# x"), "decision_log# x");
        assert_eq!(linkify_refs("mydecision_log#3"), "mydecision_log#3");
        // A ref inside a value is linked; money is shown as money.
        assert!(value_html(&json!("stage_runs#12"), 0).contains("/dashboard/rows/stage_runs/12"));
        assert_eq!(
            value_html(&json!({"amount": "1.50", "currency": "EUR"}), 0),
            "1.50 EUR"
        );
        assert!(value_html(&json!({"<k>": "<v>"}), 0).contains("&lt;k&gt;"));
    }
}
