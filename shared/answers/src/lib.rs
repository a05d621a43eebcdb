//! Otto answers in rows. A question becomes an intent ([`question::parse`]), the intent becomes
//! typed queries over the audit plane, and the answer is rendered only from the rows returned.
//! Before it leaves, the citation guard ([`guard`]) checks that every number, amount, percentage,
//! SKU and ref in its text is in a cited row; otherwise the answer is "I don't have a row for
//! that." with the nearest rows that do exist.

pub mod campaign_period;
pub mod digest;
pub mod engine;
pub mod guard;
pub mod human;
pub mod llm;
pub mod notify;
pub mod question;
pub mod summary;

pub use engine::{row_line, row_url, Answer, AnswerError, Citation, Engine, NO_ROW};
pub use question::{parse, Aggregate, Days, Intent, Plan, RowQuery, SwitchAsk};
