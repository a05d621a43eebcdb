//! DataForSEO / Google Ads keyword limits, checked before a task is sent: one bad keyword fails
//! a whole Google Ads task, so bad keywords are dropped with a reason instead.
//!
//! * "at most 80 characters and 10 words" — `KeywordInfo.text`,
//!   <https://developers.google.com/google-ads/api/reference/rpc/v26/KeywordInfo>.
//! * Invalid symbols `, ! @ % ^ ( ) = { } ; ~ \` < > ? \ |` and `―`; 4-byte Unicode characters
//!   (e.g. emoji) cause an error; "a single 'wrong' keyword in the array can result in the
//!   collapse of the entire batch" —
//!   <https://dataforseo.com/help-center/using-symbols-in-keywords-when-setting-a-google-ads-task>.

use serde::{Deserialize, Serialize};

pub const MAX_CHARS: usize = 80;
pub const MAX_WORDS: usize = 10;
/// Symbols DataForSEO lists as invalid in Google Ads keywords.
pub const INVALID_SYMBOLS: &[char] = &[
    ',', '!', '@', '%', '^', '(', ')', '=', '{', '}', ';', '~', '`', '<', '>', '?', '\\', '|', '―',
];

/// A keyword left out of a task, and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RejectedKeyword {
    pub keyword: String,
    pub reason: String,
}

/// `Ok` when `keyword` may be sent; otherwise why not.
pub fn check_keyword(keyword: &str) -> Result<(), String> {
    let k = keyword.trim();
    if k.is_empty() {
        return Err("empty keyword".into());
    }
    let chars = k.chars().count();
    if chars > MAX_CHARS {
        return Err(format!("{chars} characters (at most {MAX_CHARS})"));
    }
    let words = k.split_whitespace().count();
    if words > MAX_WORDS {
        return Err(format!("{words} words (at most {MAX_WORDS})"));
    }
    if let Some(c) = k.chars().find(|c| INVALID_SYMBOLS.contains(c)) {
        return Err(format!("contains the symbol {c:?}"));
    }
    if let Some(c) = k.chars().find(|c| c.len_utf8() == 4) {
        return Err(format!("contains the 4-byte character {c:?}"));
    }
    if let Some(c) = k.chars().find(|c| c.is_control()) {
        return Err(format!("contains the control character {c:?}"));
    }
    Ok(())
}

/// The keywords that may be sent (in order, without duplicates) and those dropped with a reason.
pub fn partition(keywords: &[String]) -> (Vec<String>, Vec<RejectedKeyword>) {
    let mut ok: Vec<String> = Vec::new();
    let mut rejected = Vec::new();
    for k in keywords {
        match check_keyword(k) {
            Ok(()) if !ok.contains(k) => ok.push(k.clone()),
            Ok(()) => {}
            Err(reason) => rejected.push(RejectedKeyword {
                keyword: k.clone(),
                reason,
            }),
        }
    }
    (ok, rejected)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limits() {
        assert_eq!(check_keyword("linen throw blanket"), Ok(()));
        assert_eq!(check_keyword("c++ linen-throw 2.0"), Ok(()));
        assert_eq!(check_keyword(&"a".repeat(80)), Ok(()));
        assert!(check_keyword(&"a".repeat(81))
            .unwrap_err()
            .contains("81 characters"));
        assert_eq!(
            check_keyword("one two three four five six seven eight nine ten"),
            Ok(())
        );
        assert!(
            check_keyword("one two three four five six seven eight nine ten eleven")
                .unwrap_err()
                .contains("11 words")
        );
        for bad in [
            "linen, throw",
            "50% off",
            "throw (grey)",
            "what?",
            "a|b",
            "throw ―",
        ] {
            assert!(check_keyword(bad).unwrap_err().contains("symbol"), "{bad}");
        }
        assert!(check_keyword("linen 🧣").unwrap_err().contains("4-byte"));
        assert!(check_keyword("  ").is_err());
        // Accents are 2-byte characters: fine.
        assert_eq!(check_keyword("plaid en lin lavé"), Ok(()));
    }

    #[test]
    fn partition_keeps_order_and_reasons() {
        let kw: Vec<String> = ["a", "b!", "c", "a"]
            .iter()
            .map(|s| s.to_string())
            .collect();
        let (ok, bad) = partition(&kw);
        assert_eq!(ok, vec!["a".to_string(), "c".to_string()]);
        assert_eq!(bad.len(), 1);
        assert_eq!(bad[0].keyword, "b!");
    }
}
