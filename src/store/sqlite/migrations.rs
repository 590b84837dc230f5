//! Recognising a file as ours and bringing its schema up to date.

use rusqlite::{Connection, TransactionBehavior};

use super::error::SqliteError;
use super::schema::{APPLICATION_ID, MIGRATIONS};

/// What a file's header and catalogue say about it.
#[derive(Debug, Clone, Copy)]
struct Header {
    application_id: i32,
    version: i64,
    /// No tables, indexes or views: a file nobody has used yet.
    empty: bool,
}

fn header(conn: &Connection) -> Result<Header, SqliteError> {
    // The first read of the file: a text file or a corrupt one fails here, which
    // `from_open` turns into `NotADatabase`.
    let application_id = conn
        .pragma_query_value(None, "application_id", |r| r.get::<_, i32>(0))
        .map_err(SqliteError::from_open)?;
    let version = conn
        .pragma_query_value(None, "user_version", |r| r.get::<_, i64>(0))
        .map_err(SqliteError::from_open)?;
    let objects: i64 = conn
        .query_row("SELECT count(*) FROM sqlite_schema", [], |r| r.get(0))
        .map_err(SqliteError::from_open)?;
    Ok(Header {
        application_id,
        version,
        empty: objects == 0,
    })
}

/// The file's version, if it is ours (or new) and not newer than `supported`.
fn ours(h: Header, supported: i64) -> Result<i64, SqliteError> {
    let fresh = h.application_id == 0 && h.version == 0 && h.empty;
    if h.application_id != APPLICATION_ID && !fresh {
        return Err(SqliteError::ForeignFile {
            application_id: h.application_id,
        });
    }
    if h.version < 0 {
        // o2c never writes a negative version: someone else's idea of one.
        return Err(SqliteError::ForeignFile {
            application_id: h.application_id,
        });
    }
    if h.version > supported {
        return Err(SqliteError::NewerSchema {
            found: h.version,
            supported,
        });
    }
    Ok(h.version)
}

fn as_version(steps: usize) -> i64 {
    i64::try_from(steps).unwrap_or(i64::MAX)
}

/// Refuses a file that is not ours or is too new, before anything writes to it.
///
/// # Errors
/// [`SqliteError::NotADatabase`], [`SqliteError::ForeignFile`],
/// [`SqliteError::NewerSchema`], or a driver failure.
pub(super) fn check(conn: &Connection) -> Result<(), SqliteError> {
    ours(header(conn)?, as_version(MIGRATIONS.len())).map(|_| ())
}

/// Brings the file to the current schema.
///
/// # Errors
/// As [`check`], and [`SqliteError::Migration`] when a step fails.
pub(super) fn migrate(conn: &mut Connection) -> Result<(), SqliteError> {
    migrate_with(conn, MIGRATIONS)
}

/// Applies the steps the file has not had, all in one transaction: a failing step
/// leaves the file exactly as it was, at its old version.
pub(super) fn migrate_with(conn: &mut Connection, steps: &[&str]) -> Result<(), SqliteError> {
    let supported = as_version(steps.len());
    let h = header(conn)?;
    if ours(h, supported)? == supported && h.application_id == APPLICATION_ID {
        // The common case: no write lock taken just to open a file.
        return Ok(());
    }
    let tx = conn
        .transaction_with_behavior(TransactionBehavior::Immediate)
        .map_err(SqliteError::from_open)?;
    // Another process may have migrated between our look and our lock: look again.
    let from = ours(header(&tx)?, supported)?;
    let skip = usize::try_from(from).unwrap_or(usize::MAX);
    for (done, step) in steps.iter().enumerate().skip(skip) {
        let version = as_version(done.saturating_add(1));
        tx.execute_batch(step).map_err(|e| SqliteError::Migration {
            version,
            source: Box::new(e),
        })?;
    }
    tx.pragma_update(None, "application_id", APPLICATION_ID)
        .map_err(SqliteError::from_open)?;
    tx.pragma_update(None, "user_version", supported)
        .map_err(SqliteError::from_open)?;
    tx.commit().map_err(SqliteError::from_open)
}

#[cfg(test)]
mod tests {
    use super::*;

    const A: &str = "CREATE TABLE a (x INTEGER) STRICT;";
    const B: &str = "CREATE TABLE b (y TEXT) STRICT; INSERT INTO b VALUES ('v2');";

    fn version(conn: &Connection) -> i64 {
        conn.pragma_query_value(None, "user_version", |r| r.get(0))
            .unwrap()
    }

    fn has_table(conn: &Connection, name: &str) -> bool {
        conn.query_row(
            "SELECT count(*) FROM sqlite_schema WHERE name = ?1",
            [name],
            |r| r.get::<_, i64>(0),
        )
        .unwrap()
            == 1
    }

    #[test]
    fn upgrades_one_version_at_a_time() {
        let mut conn = Connection::open_in_memory().unwrap();
        migrate_with(&mut conn, &[A]).unwrap();
        assert_eq!(version(&conn), 1);
        assert!(!has_table(&conn, "b"));
        migrate_with(&mut conn, &[A, B]).unwrap();
        assert_eq!(version(&conn), 2);
        let y: String = conn.query_row("SELECT y FROM b", [], |r| r.get(0)).unwrap();
        assert_eq!(y, "v2");
        // Opening again at the same version changes nothing.
        migrate_with(&mut conn, &[A, B]).unwrap();
        assert_eq!(version(&conn), 2);
    }

    #[test]
    fn a_failing_step_leaves_the_old_version_untouched() {
        let mut conn = Connection::open_in_memory().unwrap();
        migrate_with(&mut conn, &[A]).unwrap();
        let broken = "CREATE TABLE half (z INTEGER); CREATE TABLE (";
        let err = migrate_with(&mut conn, &[A, B, broken]).unwrap_err();
        assert!(
            matches!(err, SqliteError::Migration { version: 3, .. }),
            "{err:?}"
        );
        assert_eq!(version(&conn), 1);
        assert!(!has_table(&conn, "b"));
        assert!(!has_table(&conn, "half"));
    }

    #[test]
    fn refuses_newer_and_foreign_files() {
        let mut conn = Connection::open_in_memory().unwrap();
        migrate_with(&mut conn, &[A, B]).unwrap();
        let err = migrate_with(&mut conn, &[A]).unwrap_err();
        assert!(matches!(
            err,
            SqliteError::NewerSchema {
                found: 2,
                supported: 1
            }
        ));

        let mut foreign = Connection::open_in_memory().unwrap();
        foreign.execute_batch("CREATE TABLE theirs (x)").unwrap();
        let err = migrate_with(&mut foreign, &[A]).unwrap_err();
        assert!(matches!(
            err,
            SqliteError::ForeignFile { application_id: 0 }
        ));
        assert!(!has_table(&foreign, "a"));
    }
}
