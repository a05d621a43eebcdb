//! The embedded adapter: one SQLite database file (WAL, synchronous=FULL) holding every port's
//! data, so the CLI and tests run the whole product durably with no AWS and no Python. Several
//! processes may share a data directory: SQLite's locking serialises writers, and every
//! conditional write runs inside one `BEGIN IMMEDIATE` transaction.

mod audit;
mod keys;
mod queue;
mod state;

use crate::error::StoreError;
use rusqlite::{Connection, OpenFlags};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

pub use queue::EmbeddedQueue;

const SCHEMA: &str = r#"
CREATE TABLE IF NOT EXISTS audit_rows (
    tbl TEXT NOT NULL,
    seq INTEGER NOT NULL,
    ulid TEXT NOT NULL,
    store TEXT NOT NULL,
    cycle_id TEXT NOT NULL,
    day TEXT NOT NULL,
    natural_key TEXT NOT NULL,
    status TEXT NOT NULL,
    subject TEXT NOT NULL,
    action TEXT NOT NULL,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    body TEXT NOT NULL,
    PRIMARY KEY (tbl, seq),
    UNIQUE (tbl, natural_key)
);
CREATE INDEX IF NOT EXISTS audit_by_cycle ON audit_rows (tbl, cycle_id, seq);
CREATE INDEX IF NOT EXISTS audit_by_status ON audit_rows (tbl, store, status, seq);
CREATE TABLE IF NOT EXISTS sequences (tbl TEXT PRIMARY KEY, last INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS idempotency (
    key TEXT PRIMARY KEY,
    status TEXT NOT NULL,
    payload_hash TEXT NOT NULL,
    result TEXT,
    expires_at INTEGER NOT NULL,
    in_progress_expires_at_ms INTEGER NOT NULL,
    attempt TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS locks (
    name TEXT PRIMARY KEY,
    owner TEXT NOT NULL,
    version TEXT NOT NULL,
    expires_at_ms INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS counters (
    name TEXT PRIMARY KEY,
    value INTEGER NOT NULL,
    expires_at INTEGER
);
CREATE TABLE IF NOT EXISTS counter_tokens (
    name TEXT NOT NULL,
    token TEXT NOT NULL,
    PRIMARY KEY (name, token)
);
CREATE TABLE IF NOT EXISTS settings (
    store TEXT NOT NULL,
    key TEXT NOT NULL,
    value TEXT NOT NULL,
    PRIMARY KEY (store, key)
);
CREATE TABLE IF NOT EXISTS variants (
    store TEXT NOT NULL,
    sku TEXT NOT NULL,
    body TEXT NOT NULL,
    PRIMARY KEY (store, sku)
);
CREATE TABLE IF NOT EXISTS metrics (
    store TEXT NOT NULL,
    day TEXT NOT NULL,
    sku TEXT NOT NULL,
    impressions INTEGER NOT NULL,
    clicks INTEGER NOT NULL,
    cost_micros INTEGER NOT NULL,
    conversions_milli INTEGER NOT NULL,
    value_micros INTEGER NOT NULL,
    currency TEXT NOT NULL,
    provisional INTEGER NOT NULL,
    -- SKU first: a chunk reads its SKU slice over a day range.
    PRIMARY KEY (store, sku, day)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS sales (
    store TEXT NOT NULL,
    sku TEXT NOT NULL,
    day TEXT NOT NULL,
    body TEXT NOT NULL,
    PRIMARY KEY (store, sku, day)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS campaign_days (
    store TEXT NOT NULL,
    day TEXT NOT NULL,
    campaign_id TEXT NOT NULL,
    body TEXT NOT NULL,
    PRIMARY KEY (store, day, campaign_id)
);
CREATE TABLE IF NOT EXISTS budgets (
    store TEXT NOT NULL,
    campaign_id TEXT NOT NULL,
    body TEXT NOT NULL,
    PRIMARY KEY (store, campaign_id)
);
CREATE TABLE IF NOT EXISTS windows (
    store TEXT NOT NULL,
    ends_on TEXT NOT NULL,
    sku TEXT NOT NULL,
    row_ref TEXT NOT NULL,
    PRIMARY KEY (store, ends_on, sku)
);
CREATE TABLE IF NOT EXISTS queue (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    stage TEXT NOT NULL,
    body TEXT NOT NULL,
    visible_at_ms INTEGER NOT NULL,
    receive_count INTEGER NOT NULL DEFAULT 0,
    receipt TEXT,
    dead INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX IF NOT EXISTS queue_ready ON queue (stage, dead, visible_at_ms, id);
CREATE TABLE IF NOT EXISTS events (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    detail_type TEXT NOT NULL,
    detail TEXT NOT NULL,
    at_ms INTEGER NOT NULL
);
"#;

/// The embedded store. Cheap to clone; all clones share one connection.
#[derive(Clone)]
pub struct EmbeddedStore {
    conn: Arc<Mutex<Connection>>,
    path: PathBuf,
}

pub(crate) fn sql_err(e: rusqlite::Error) -> StoreError {
    use rusqlite::ErrorCode;
    match e.sqlite_error_code() {
        Some(ErrorCode::DatabaseBusy) | Some(ErrorCode::DatabaseLocked) => {
            StoreError::Transient(e.to_string())
        }
        _ => StoreError::Backend(e.to_string()),
    }
}

impl EmbeddedStore {
    /// Opens (creating if needed) `otto.db` in `dir`.
    pub fn open(dir: &Path) -> Result<Self, StoreError> {
        std::fs::create_dir_all(dir).map_err(|e| {
            StoreError::Backend(format!(
                "cannot create data directory {}: {e}",
                dir.display()
            ))
        })?;
        let path = dir.join("otto.db");
        let conn = Connection::open_with_flags(
            &path,
            OpenFlags::SQLITE_OPEN_READ_WRITE
                | OpenFlags::SQLITE_OPEN_CREATE
                | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )
        .map_err(|e| StoreError::Backend(format!("cannot open {}: {e}", path.display())))?;
        conn.busy_timeout(Duration::from_secs(10))
            .map_err(sql_err)?;
        conn.execute_batch(
            "PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL; PRAGMA foreign_keys = ON; PRAGMA cache_size = -16384;",
        )
        .map_err(sql_err)?;
        conn.execute_batch(SCHEMA).map_err(sql_err)?;
        migrate(&conn)?;
        Ok(EmbeddedStore {
            conn: Arc::new(Mutex::new(conn)),
            path,
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    pub(crate) fn conn(&self) -> MutexGuard<'_, Connection> {
        // A poisoned mutex means a panic while holding it; SQLite rolled back the transaction,
        // so the connection itself is still consistent.
        self.conn.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Runs `f` inside one read transaction (`BEGIN DEFERRED`): its statements see one snapshot
    /// and share one WAL read lock instead of taking one each.
    pub(crate) fn read_tx<T>(
        &self,
        f: impl FnOnce(&Connection) -> Result<T, StoreError>,
    ) -> Result<T, StoreError> {
        self.in_tx(rusqlite::TransactionBehavior::Deferred, |tx| f(tx))
    }

    /// Runs `f` inside `BEGIN IMMEDIATE … COMMIT`; any error rolls everything back.
    pub(crate) fn write_tx<T>(
        &self,
        f: impl FnOnce(&rusqlite::Transaction<'_>) -> Result<T, StoreError>,
    ) -> Result<T, StoreError> {
        self.in_tx(rusqlite::TransactionBehavior::Immediate, f)
    }

    fn in_tx<T>(
        &self,
        behavior: rusqlite::TransactionBehavior,
        f: impl FnOnce(&rusqlite::Transaction<'_>) -> Result<T, StoreError>,
    ) -> Result<T, StoreError> {
        let mut conn = self.conn();
        let tx = conn.transaction_with_behavior(behavior).map_err(sql_err)?;
        let out = f(&tx)?;
        tx.commit().map_err(sql_err)?;
        Ok(out)
    }
}

/// The covering indexes of the keys access paths (every column a [`otto_core::RowKey`] needs
/// is in the index, so a keys read never touches a row's body). The day and subject ones also
/// serve the row reads by day + action and by subject.
const KEY_INDEXES: &str = r#"
CREATE INDEX IF NOT EXISTS audit_keys_by_day ON audit_rows (tbl, store, day, action, seq, status, subject, class);
CREATE INDEX IF NOT EXISTS audit_keys_by_day_class ON audit_rows (tbl, store, day, class, action, seq, status, subject) WHERE class IS NOT NULL;
CREATE INDEX IF NOT EXISTS audit_keys_by_action ON audit_rows (tbl, store, action, day, seq, status, subject, class);
CREATE INDEX IF NOT EXISTS audit_keys_by_status_action ON audit_rows (tbl, store, status, action, seq, day, subject, class);
CREATE INDEX IF NOT EXISTS audit_keys_by_subject ON audit_rows (tbl, store, subject, created_at, seq, day, action, status, class);
DROP INDEX IF EXISTS audit_by_day_action;
DROP INDEX IF EXISTS audit_by_subject;
"#;

/// Columns added after a data directory may have been created: added in place, once.
fn migrate(conn: &Connection) -> Result<(), StoreError> {
    let has_attempt: bool = conn
        .prepare("SELECT 1 FROM pragma_table_info('audit_rows') WHERE name = 'attempt'")
        .and_then(|mut s| s.exists([]))
        .map_err(sql_err)?;
    if !has_attempt {
        conn.execute_batch("ALTER TABLE audit_rows ADD COLUMN attempt TEXT")
            .map_err(sql_err)?;
    }
    // The process that holds a lock, so a holder that died without giving it back (killed, power
    // cut) is taken over at once instead of after its lease.
    let has_holder: bool = conn
        .prepare("SELECT 1 FROM pragma_table_info('locks') WHERE name = 'holder_pid'")
        .and_then(|mut s| s.exists([]))
        .map_err(sql_err)?;
    if !has_holder {
        conn.execute_batch("ALTER TABLE locks ADD COLUMN holder_pid INTEGER")
            .map_err(sql_err)?;
    }
    // A decision row's classification, an index field like subject and action (derived from
    // the body on every write); rows written before it existed get it from their bodies. Checked
    // inside the write transaction, so two processes opening one directory add it once.
    conn.execute_batch("BEGIN IMMEDIATE").map_err(sql_err)?;
    let added = add_class_column(conn);
    let end = if added.is_ok() { "COMMIT" } else { "ROLLBACK" };
    conn.execute_batch(end).map_err(sql_err)?;
    added?;
    conn.execute_batch(KEY_INDEXES).map_err(sql_err)?;
    Ok(())
}

fn add_class_column(conn: &Connection) -> Result<(), StoreError> {
    let has_class: bool = conn
        .prepare("SELECT 1 FROM pragma_table_info('audit_rows') WHERE name = 'class'")
        .and_then(|mut s| s.exists([]))
        .map_err(sql_err)?;
    if has_class {
        return Ok(());
    }
    conn.execute_batch(
        "ALTER TABLE audit_rows ADD COLUMN class TEXT;
         UPDATE audit_rows SET class = json_extract(body, '$.classification')
          WHERE tbl = 'decision_log' AND json_extract(body, '$.classification') IS NOT NULL;",
    )
    .map_err(sql_err)
}

pub(crate) fn now_ms() -> i64 {
    otto_core::clock::now().timestamp_millis()
}
