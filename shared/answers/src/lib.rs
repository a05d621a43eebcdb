//! Otto answers in rows.
