//! Block Kit messages: the immediate ack, the help text, and the cited answer posted to
//! `response_url`. All text Otto didn't write itself is escaped (`&`, `<`, `>`).

use crate::command::{is_valid_row_ref, ROW_TABLES};
use crate::interaction::{RELEASE_ACTION_ID, REVERT_ACTION_ID};
use serde_json::{json, Value};

/// Most blocks Slack accepts in one message.
pub const MAX_BLOCKS: usize = 50;
/// Most characters in one section's text.
pub const MAX_SECTION_CHARS: usize = 3000;
/// Most characters of the top-level `text` (the notification fallback) we send.
pub const MAX_FALLBACK_CHARS: usize = 300;
/// Most release buttons (one `actions` block each) in one answer; more get a note.
pub const MAX_RELEASE_BLOCKS: usize = 20;
/// Blocks kept for citations when the answer itself is very long.
const CITATION_RESERVE: usize = 10;
const TRUNCATED_NOTE: &str = "\n… _(answer truncated)_";
/// Slack's limit on a button's text (plain_text, characters).
const MAX_BUTTON_TEXT_CHARS: usize = 75;

/// A cited audit row and where an operator can open it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CitationLink {
    pub row_ref: String,
    pub url: String,
}

/// Escapes the three characters Slack's mrkdwn treats as control characters.
pub fn escape_mrkdwn(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        push_escaped(&mut out, c);
    }
    out
}

fn push_escaped(out: &mut String, c: char) {
    match c {
        '&' => out.push_str("&amp;"),
        '<' => out.push_str("&lt;"),
        '>' => out.push_str("&gt;"),
        c => out.push(c),
    }
}

/// A URL safe inside `<url|label>`: `|`, `<`, `>`, whitespace and controls percent-encoded,
/// `&` entity-escaped as Slack does in links.
fn link_url(url: &str) -> String {
    let mut out = String::with_capacity(url.len());
    for c in url.trim().chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '|' => out.push_str("%7C"),
            '<' => out.push_str("%3C"),
            '>' => out.push_str("%3E"),
            c if c.is_whitespace() || c.is_control() => {
                let mut buf = [0u8; 4];
                for b in c.encode_utf8(&mut buf).bytes() {
                    out.push_str(&format!("%{b:02X}"));
                }
            }
            c => out.push(c),
        }
    }
    out
}

/// Splits `text` into escaped pieces of at most `max` characters each, preferring to break
/// after a newline, then after whitespace, and never inside an escape entity.
pub fn split_mrkdwn(text: &str, max: usize) -> Vec<String> {
    let max = max.max(16);
    let mut pieces = Vec::new();
    let mut chunk = String::new();
    let mut count = 0usize;
    // (byte offset just after the break char, char count at that point)
    let mut last_newline: Option<(usize, usize)> = None;
    let mut last_space: Option<(usize, usize)> = None;
    for c in text.chars() {
        let width = match c {
            '&' => 5,
            '<' | '>' => 4,
            _ => 1,
        };
        if count + width > max {
            let cut = last_newline
                .filter(|&(_, n)| n * 2 >= max)
                .or(last_space.filter(|&(_, n)| n * 2 >= max));
            match cut {
                Some((at, n)) => {
                    let rest = chunk.split_off(at);
                    pieces.push(std::mem::take(&mut chunk));
                    chunk = rest;
                    count -= n;
                }
                None => {
                    pieces.push(std::mem::take(&mut chunk));
                    count = 0;
                }
            }
            last_newline = None;
            last_space = None;
        }
        push_escaped(&mut chunk, c);
        count += width;
        if c == '\n' {
            last_newline = Some((chunk.len(), count));
        } else if c.is_whitespace() {
            last_space = Some((chunk.len(), count));
        }
    }
    if !chunk.is_empty() {
        pieces.push(chunk);
    }
    pieces.retain(|p| !p.trim().is_empty());
    pieces
}

fn truncate_chars(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        return text.to_string();
    }
    let mut out: String = text.chars().take(max.saturating_sub(1)).collect();
    out.push('…');
    out
}

/// The escaped start of `answer`, at most [`MAX_FALLBACK_CHARS`] characters, `…` when cut.
fn fallback_text(answer: &str) -> String {
    let mut pieces = split_mrkdwn(answer, MAX_FALLBACK_CHARS - 1).into_iter();
    let mut first = pieces.next().unwrap_or_default();
    if pieces.next().is_some() {
        first.truncate(first.trim_end().len());
        first.push('…');
    }
    first
}

fn plain(text: &str) -> Value {
    json!({ "type": "plain_text", "text": text, "emoji": true })
}

fn mrkdwn(text: &str) -> Value {
    json!({ "type": "mrkdwn", "text": text })
}

fn section(text: String) -> Value {
    json!({ "type": "section", "text": mrkdwn(&text) })
}

fn context(text: String) -> Value {
    json!({ "type": "context", "elements": [mrkdwn(&text)] })
}

fn citation_block(c: &CitationLink) -> Value {
    let label = escape_mrkdwn(&truncate_chars(c.row_ref.trim(), 200));
    let url = link_url(&truncate_chars(&c.url, 2000));
    if url.is_empty() {
        context(label)
    } else {
        context(format!("<{url}|{label}>"))
    }
}

fn release_block(row_ref: &str) -> Value {
    json!({
        "type": "actions",
        "elements": [{
            "type": "button",
            "text": plain(&truncate_chars(&format!("Release {row_ref}"), MAX_BUTTON_TEXT_CHARS)),
            "action_id": RELEASE_ACTION_ID,
            "value": row_ref,
            "style": "primary",
            "confirm": {
                "title": plain("Release this held row?"),
                "text": mrkdwn(&format!(
                    "Otto will carry out the held action of `{}` now. The release is recorded in the audit log.",
                    escape_mrkdwn(row_ref)
                )),
                "confirm": plain("Release"),
                "deny": plain("Cancel"),
            }
        }]
    })
}

/// A confirmed "Undo {ref}" button for an applied row (its value is the ref; `action_id`
/// [`REVERT_ACTION_ID`]).
pub fn revert_block(row_ref: &str) -> Value {
    json!({
        "type": "actions",
        "elements": [{
            "type": "button",
            "text": plain(&truncate_chars(&format!("Undo {row_ref}"), MAX_BUTTON_TEXT_CHARS)),
            "action_id": REVERT_ACTION_ID,
            "value": row_ref,
            "style": "danger",
            "confirm": {
                "title": plain("Undo this move?"),
                "text": mrkdwn(&format!(
                    "Otto will replay the stored reversal op of `{}` as a new audit row, unless it was changed since.",
                    escape_mrkdwn(row_ref)
                )),
                "confirm": plain("Undo"),
                "deny": plain("Cancel"),
            }
        }]
    })
}

/// The answer to an `/otto` question, for `response_url`: ephemeral, replacing the
/// "Looking that up…" ack. Blocks, in order: the answer (one section per ≤ 3,000 escaped
/// characters), one context block per citation (`<url|row_ref>`), one actions block with a
/// confirmed "Release {ref}" button per releasable ref — never more than 50 blocks. When
/// there are too many citations the last context says "… and N more rows"; a very long answer
/// is cut (marked) to leave room for at least ten citations. Releasable refs that are not
/// well-formed row refs are skipped, duplicates are dropped, and at most
/// [`MAX_RELEASE_BLOCKS`] buttons are shown (then a note on the rest).
pub fn render_answer(
    answer_text: &str,
    citations: &[CitationLink],
    releasable: &[String],
) -> Value {
    let answer = answer_text.trim();
    let answer = if answer.is_empty() {
        "(no answer text)"
    } else {
        answer
    };

    let mut refs: Vec<&str> = Vec::new();
    for r in releasable {
        let r = r.trim();
        if !is_valid_row_ref(r) {
            tracing::warn!(row_ref = %crate::error::snippet(r, 80), "not rendering a release button for a malformed row ref");
        } else if !refs.contains(&r) {
            refs.push(r);
        }
    }
    let shown_refs = refs.len().min(MAX_RELEASE_BLOCKS);
    let hidden_refs = refs.len() - shown_refs;
    let release_blocks = shown_refs + usize::from(hidden_refs > 0);

    let room = MAX_BLOCKS - release_blocks;
    let mut sections = split_mrkdwn(answer, MAX_SECTION_CHARS - TRUNCATED_NOTE.len());
    let max_sections = room
        .saturating_sub(citations.len().min(CITATION_RESERVE))
        .max(1);
    if sections.len() > max_sections {
        sections.truncate(max_sections);
        if let Some(last) = sections.last_mut() {
            last.push_str(TRUNCATED_NOTE);
        }
    }

    let mut blocks: Vec<Value> = sections.into_iter().map(section).collect();

    let citation_room = room - blocks.len();
    if citations.len() <= citation_room {
        blocks.extend(citations.iter().map(citation_block));
    } else {
        let shown = citation_room.saturating_sub(1);
        blocks.extend(citations[..shown].iter().map(citation_block));
        blocks.push(context(format!(
            "… and {} more rows",
            citations.len() - shown
        )));
    }

    blocks.extend(refs[..shown_refs].iter().map(|r| release_block(r)));
    if hidden_refs > 0 {
        blocks.push(context(escape_mrkdwn(&format!(
            "… and {hidden_refs} more held rows: release them with `/otto release <table>#<id>`"
        ))));
    }

    json!({
        "response_type": "ephemeral",
        "replace_original": true,
        "text": fallback_text(answer),
        "blocks": blocks,
    })
}

/// The immediate (within 3 s) HTTP response to a slash command: an ephemeral plain message.
pub fn ack(text: &str) -> Value {
    let text = text.trim();
    let text = if text.is_empty() {
        "Looking that up…"
    } else {
        text
    };
    json!({
        "response_type": "ephemeral",
        "text": escape_mrkdwn(&truncate_chars(text, MAX_SECTION_CHARS)),
    })
}

/// What `/otto help` (or a bare `/otto`) shows. Raw text: pass it through [`ack`].
pub fn help_text() -> String {
    format!(
        "*Otto* answers questions about your store and cites the audit rows behind every answer.\n\
         • `/otto <question>` — ask anything, e.g. `/otto why did we pause SKU-LIN-007?`\n\
         • `/otto release <table>#<id>` — release a held row, e.g. `/otto release decision_log#84196`\n\
         • `/otto kill-switch on` | `/otto kill-switch off` — stop or resume all outgoing changes\n\
         • `/otto help` — this message\n\
         Row tables: {}.",
        ROW_TABLES.join(", ")
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn blocks(v: &Value) -> &Vec<Value> {
        v["blocks"].as_array().expect("blocks array")
    }

    fn cite(n: usize) -> Vec<CitationLink> {
        (1..=n)
            .map(|i| CitationLink {
                row_ref: format!("decision_log#{i}"),
                url: format!("https://otto.example.com/rows/decision_log/{i}"),
            })
            .collect()
    }

    /// Every block is within Slack's limits.
    fn assert_valid(v: &Value) {
        let b = blocks(v);
        assert!(!b.is_empty() && b.len() <= MAX_BLOCKS, "{} blocks", b.len());
        for block in b {
            match block["type"].as_str() {
                Some("section") => {
                    let t = block["text"]["text"].as_str().expect("text");
                    assert!(!t.trim().is_empty());
                    assert!(
                        t.chars().count() <= MAX_SECTION_CHARS,
                        "{}",
                        t.chars().count()
                    );
                }
                Some("context") => {
                    let t = block["elements"][0]["text"].as_str().expect("text");
                    assert!(t.chars().count() <= MAX_SECTION_CHARS);
                }
                Some("actions") => {
                    let e = &block["elements"][0];
                    assert!(e["text"]["text"].as_str().expect("text").chars().count() <= 75);
                    assert!(e["value"].as_str().expect("value").len() <= 2000);
                    assert!(
                        e["confirm"]["text"]["text"]
                            .as_str()
                            .expect("text")
                            .chars()
                            .count()
                            <= 300
                    );
                }
                other => panic!("unexpected block {other:?}"),
            }
        }
        assert!(v["text"].as_str().expect("fallback").chars().count() <= MAX_FALLBACK_CHARS);
    }

    #[test]
    fn short_answer_with_citations_and_a_release_button() {
        let v = render_answer(
            "Paused SKU-LIN-007: margin < 12% & stock > 90 days.",
            &cite(2),
            &["decision_log#2".to_string()],
        );
        assert_valid(&v);
        assert_eq!(v["response_type"], "ephemeral");
        assert_eq!(v["replace_original"], true);
        assert_eq!(
            v["text"],
            "Paused SKU-LIN-007: margin &lt; 12% &amp; stock &gt; 90 days."
        );
        let b = blocks(&v);
        assert_eq!(b.len(), 4);
        assert_eq!(b[0]["type"], "section");
        assert_eq!(b[0]["text"]["type"], "mrkdwn");
        assert_eq!(
            b[0]["text"]["text"],
            "Paused SKU-LIN-007: margin &lt; 12% &amp; stock &gt; 90 days."
        );
        assert_eq!(b[1]["type"], "context");
        assert_eq!(
            b[1]["elements"][0]["text"],
            "<https://otto.example.com/rows/decision_log/1|decision_log#1>"
        );
        assert_eq!(b[1]["elements"][0]["type"], "mrkdwn");
        let button = &b[3]["elements"][0];
        assert_eq!(b[3]["type"], "actions");
        assert_eq!(button["type"], "button");
        assert_eq!(button["text"]["type"], "plain_text");
        assert_eq!(button["text"]["text"], "Release decision_log#2");
        assert_eq!(button["action_id"], "release");
        assert_eq!(button["value"], "decision_log#2");
        assert_eq!(button["style"], "primary");
        assert_eq!(button["confirm"]["confirm"]["text"], "Release");
        assert_eq!(button["confirm"]["deny"]["text"], "Cancel");
        assert!(button["confirm"]["title"]["text"].is_string());
    }

    #[test]
    fn long_answers_split_into_sections_without_losing_text() {
        let para = "Revenue & margin <by SKU> were flat. ".repeat(120); // ~4.4k chars
        let answer = format!("{para}\n{para}\n{para}");
        let v = render_answer(&answer, &cite(1), &[]);
        assert_valid(&v);
        let b = blocks(&v);
        let sections: Vec<&str> = b
            .iter()
            .filter(|x| x["type"] == "section")
            .map(|x| x["text"]["text"].as_str().expect("text"))
            .collect();
        assert!(sections.len() >= 5, "{}", sections.len());
        // Nothing lost or cut mid-entity: concatenating gives the escaped answer back.
        assert_eq!(sections.concat(), escape_mrkdwn(answer.trim()));
        for s in &sections {
            assert!(!s.ends_with("&amp") && !s.ends_with("&lt") && !s.ends_with('&'));
        }
        assert!(v["text"].as_str().expect("text").ends_with('…'));
    }

    #[test]
    fn split_prefers_newlines_and_handles_unbroken_text() {
        let pieces = split_mrkdwn(&format!("{}\n{}", "a".repeat(2000), "b".repeat(2000)), 3000);
        assert_eq!(
            pieces,
            vec![format!("{}\n", "a".repeat(2000)), "b".repeat(2000)]
        );
        let pieces = split_mrkdwn(&"&".repeat(1000), 3000);
        assert_eq!(pieces.len(), 2);
        assert!(pieces.iter().all(|p| p.chars().count() <= 3000));
        assert_eq!(pieces.concat(), "&amp;".repeat(1000));
        let pieces = split_mrkdwn(&"é".repeat(7000), 3000);
        assert_eq!(
            pieces.iter().map(|p| p.chars().count()).collect::<Vec<_>>(),
            vec![3000, 3000, 1000]
        );
        assert!(split_mrkdwn("", 3000).is_empty());
    }

    #[test]
    fn many_citations_end_with_a_count() {
        let v = render_answer("Short.", &cite(80), &[]);
        assert_valid(&v);
        let b = blocks(&v);
        assert_eq!(b.len(), 50);
        // 1 section + 48 citations + the note.
        assert_eq!(
            b[48]["elements"][0]["text"],
            "<https://otto.example.com/rows/decision_log/48|decision_log#48>"
        );
        assert_eq!(b[49]["elements"][0]["text"], "… and 32 more rows");

        // Exactly filling the budget needs no note.
        let v = render_answer("Short.", &cite(49), &[]);
        assert_eq!(blocks(&v).len(), 50);
        assert_eq!(
            blocks(&v)[49]["elements"][0]["text"],
            "<https://otto.example.com/rows/decision_log/49|decision_log#49>"
        );
    }

    #[test]
    fn huge_answer_many_citations_many_holds_stays_within_limits() {
        let answer = "x".repeat(1_000_000);
        let refs: Vec<String> = (1..=40).map(|i| format!("decision_log#{i}")).collect();
        let v = render_answer(&answer, &cite(500), &refs);
        assert_valid(&v);
        let b = blocks(&v);
        assert_eq!(b.len(), 50);
        let count = |t: &str| b.iter().filter(|x| x["type"] == t).count();
        assert_eq!(count("actions"), MAX_RELEASE_BLOCKS);
        assert!(count("section") >= 1);
        let last_section = b
            .iter()
            .rfind(|x| x["type"] == "section")
            .expect("a section");
        assert!(last_section["text"]["text"]
            .as_str()
            .expect("text")
            .ends_with("_(answer truncated)_"));
        let texts: Vec<&str> = b
            .iter()
            .filter(|x| x["type"] == "context")
            .filter_map(|x| x["elements"][0]["text"].as_str())
            .collect();
        assert!(texts
            .iter()
            .any(|t| t.starts_with("… and ") && t.ends_with(" more rows")));
        assert_eq!(
            texts.last().copied(),
            Some("… and 20 more held rows: release them with `/otto release &lt;table&gt;#&lt;id&gt;`")
        );
        assert_eq!(count("context"), 10 + 1);
    }

    #[test]
    fn hostile_citations_and_refs_are_escaped_or_dropped() {
        let citations = vec![CitationLink {
            row_ref: "decision_log#1 <!channel> & co".into(),
            url: "https://otto.example.com/rows?a=1&b=<2>|x y".into(),
        }];
        let refs = vec![
            "decision_log#5".to_string(),
            "decision_log#5".to_string(),
            "<!here>".to_string(),
            "x".repeat(5000),
        ];
        let v = render_answer("<!channel> *hi* & bye", &citations, &refs);
        assert_valid(&v);
        let b = blocks(&v);
        assert_eq!(b[0]["text"]["text"], "&lt;!channel&gt; *hi* &amp; bye");
        assert_eq!(
            b[1]["elements"][0]["text"],
            "<https://otto.example.com/rows?a=1&amp;b=%3C2%3E%7Cx%20y|decision_log#1 &lt;!channel&gt; &amp; co>"
        );
        assert_eq!(b.iter().filter(|x| x["type"] == "actions").count(), 1);
        // A citation without a URL is plain text.
        let v = render_answer(
            "a",
            &[CitationLink {
                row_ref: "cycle_runs#3".into(),
                url: " ".into(),
            }],
            &[],
        );
        assert_eq!(blocks(&v)[1]["elements"][0]["text"], "cycle_runs#3");
    }

    #[test]
    fn empty_answer_still_renders_a_section() {
        let v = render_answer("  ", &[], &[]);
        assert_valid(&v);
        assert_eq!(blocks(&v).len(), 1);
    }

    #[test]
    fn ack_and_help() {
        assert_eq!(
            ack("Looking that up…"),
            json!({"response_type": "ephemeral", "text": "Looking that up…"})
        );
        assert_eq!(ack("")["text"], "Looking that up…");
        let help = ack(&help_text());
        let text = help["text"].as_str().expect("text");
        for needle in [
            "/otto &lt;question&gt;",
            "/otto release &lt;table&gt;#&lt;id&gt;",
            "/otto kill-switch on",
            "/otto help",
            "decision_log",
            "stage_runs",
        ] {
            assert!(text.contains(needle), "{needle}");
        }
        assert!(
            ack(&"y".repeat(10_000))["text"]
                .as_str()
                .expect("text")
                .chars()
                .count()
                <= MAX_SECTION_CHARS
        );
    }
}
