//! A row's index entry: what the audit plane's indexes hold about a row besides its body —
//! enough to count it, group it (by day, ISO week, action, status, classification, subject) and
//! cite it, without reading or decoding the body. Derived from the row like the index fields, so
//! an entry can never disagree with the row it points at.

use crate::action::{Classification, RowStatus};
use crate::audit::{AuditRow, RowBody, RowRef};
use crate::time::StoreDay;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RowKey {
    pub row_ref: RowRef,
    /// The store day of the row's cycle.
    pub day: StoreDay,
    /// The day+action access path's action (see [`RowBody::action_key`]).
    pub action: String,
    pub status: RowStatus,
    /// See [`RowBody::subject`].
    pub subject: String,
    /// The classifier's verdict a decision row carries.
    pub classification: Option<Classification>,
}

impl RowBody {
    /// The classification a decision row carries (other tables have none).
    pub fn classification(&self) -> Option<Classification> {
        match self {
            RowBody::Decision(d) => d.classification,
            _ => None,
        }
    }
}

impl AuditRow {
    /// This row's index entry.
    pub fn key(&self) -> RowKey {
        RowKey {
            row_ref: self.row_ref,
            day: self.day(),
            action: self.action_key(),
            status: self.status,
            subject: self.subject(),
            classification: self.body.classification(),
        }
    }
}
