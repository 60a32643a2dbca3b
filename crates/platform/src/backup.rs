//! Online backup and restore of the database and the blobs, in one portable file.
//!
//! A backup is a tar archive: `manifest.json`, one JSON-lines file per table read inside a
//! single snapshot transaction (so the tables agree with each other while the server keeps
//! writing), the installation keys, and the blobs. Blobs are content-addressed and immutable,
//! so copying them after the snapshot can only add files nobody references yet, never miss
//! or tear one that a backed-up row points to. The format does not depend on the database:
//! a SQLite backup restores into PostgreSQL and back.

use base64::Engine;
use futures_util::TryStreamExt;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use sqlx::{Column, Row, TypeInfo, ValueRef};
use std::io::{BufRead, Read, Write};
use std::path::Path;

use crate::Platform;
use crate::config::Config;
use crate::db::{Db, Dialect, Migration};
use crate::error::{Error, Result};
use crate::keys;

const FORMAT: &str = "tinhso-backup";
const FORMAT_VERSION: u32 = 1;

#[derive(Debug, Serialize, Deserialize)]
pub struct Manifest {
    pub format: String,
    pub version: u32,
    pub created_ms: i64,
    pub source_dialect: String,
    pub tables: Vec<(String, u64)>,
    pub blobs: u64,
}

/// Writes a backup of the running installation to `out`.
pub async fn backup(p: &Platform, out: &Path) -> Result<Manifest> {
    let staging = tempdir_near(out)?;
    let mut snapshot = p.db.begin_snapshot().await?;
    let names = p.db.tables(&mut *snapshot).await?;
    let mut tables = Vec::new();
    for table in &names {
        let mut file = std::io::BufWriter::new(std::fs::File::create(
            staging.join(format!("{table}.jsonl")),
        )?);
        // Streamed row by row: memory stays flat however large the table is.
        let mut rows = sqlx::query(sqlx::AssertSqlSafe(format!("SELECT * FROM {table}")))
            .fetch(&mut *snapshot);
        let mut count = 0u64;
        while let Some(row) = rows.try_next().await? {
            serde_json::to_writer(&mut file, &row_to_json(&row)?).map_err(json_err)?;
            file.write_all(b"\n")?;
            count += 1;
        }
        drop(rows);
        file.flush()?;
        tables.push((table.clone(), count));
    }
    snapshot.rollback().await?;
    let blob_keys = p.blobs.keys().await?;
    let manifest = Manifest {
        format: FORMAT.into(),
        version: FORMAT_VERSION,
        created_ms: p.now_ms(),
        source_dialect: p.db.dialect().name().into(),
        tables,
        blobs: blob_keys.len() as u64,
    };
    let tmp_out = out.with_extension("partial");
    let mut archive = tar::Builder::new(std::fs::File::create(&tmp_out)?);
    append_bytes(
        &mut archive,
        "manifest.json",
        &serde_json::to_vec_pretty(&manifest).map_err(json_err)?,
    )?;
    for (table, _) in &manifest.tables {
        archive.append_path_with_name(
            staging.join(format!("{table}.jsonl")),
            format!("db/{table}.jsonl"),
        )?;
    }
    for name in [keys::AUDIT_KEY, keys::SESSION_KEY] {
        let path = keys::keys_dir(&p.config.server.data_dir).join(name);
        archive.append_path_with_name(&path, format!("keys/{name}"))?;
    }
    for key in &blob_keys {
        if let Some(bytes) = p.blobs.get(key).await? {
            append_bytes(&mut archive, &format!("blobs/{key}"), &bytes)?;
        }
    }
    archive.into_inner()?.sync_all()?;
    std::fs::rename(&tmp_out, out)?;
    let _ = std::fs::remove_dir_all(&staging);
    Ok(manifest)
}

fn json_err(e: serde_json::Error) -> Error {
    Error::Other(format!("backup encoding: {e}"))
}

fn tempdir_near(out: &Path) -> Result<std::path::PathBuf> {
    let dir = out
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(Path::new("."))
        .join(format!(".tinhso-backup-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    Ok(dir)
}

fn append_bytes<W: Write>(archive: &mut tar::Builder<W>, name: &str, bytes: &[u8]) -> Result<()> {
    let mut header = tar::Header::new_gnu();
    header.set_size(bytes.len() as u64);
    header.set_mode(0o600);
    header.set_cksum();
    archive.append_data(&mut header, name, bytes)?;
    Ok(())
}

/// A row as a JSON object; binary values as `{"base64": …}`.
fn row_to_json(row: &sqlx::any::AnyRow) -> Result<Value> {
    let mut object = serde_json::Map::new();
    for (i, column) in row.columns().iter().enumerate() {
        let raw = row.try_get_raw(i)?;
        let value = if raw.is_null() {
            Value::Null
        } else {
            let type_name = raw.type_info().name().to_ascii_uppercase();
            if type_name.contains("INT") {
                Value::from(row.try_get::<i64, _>(i)?)
            } else if type_name.contains("BLOB") || type_name.contains("BYTEA") {
                let bytes: Vec<u8> = row.try_get(i)?;
                serde_json::json!({ "base64": base64::engine::general_purpose::STANDARD.encode(bytes) })
            } else if type_name.contains("REAL")
                || type_name.contains("DOUBLE")
                || type_name.contains("FLOAT")
            {
                Value::from(row.try_get::<f64, _>(i)?)
            } else {
                Value::from(row.try_get::<String, _>(i)?)
            }
        };
        object.insert(column.name().to_owned(), value);
    }
    Ok(Value::Object(object))
}

/// Restores `input` into the configured, empty database and data directory; blobs go to the
/// configured blob store (local directory or S3).
pub async fn restore(
    db: &Db,
    config: &Config,
    migrations: &[&[Migration]],
    input: &Path,
) -> Result<Manifest> {
    let data_dir = config.server.data_dir.as_path();
    db.migrate_with(migrations).await?;
    let known_tables = db.tables(db.pool()).await?;
    let users: i64 = sqlx::query_scalar("SELECT (SELECT COUNT(*) FROM users) + (SELECT COUNT(*) FROM agencies) + (SELECT COUNT(*) FROM audit_log)")
        .fetch_one(db.pool())
        .await?;
    if users > 0 {
        return Err(Error::Other(
            "the target database is not empty: restore into a new database".into(),
        ));
    }
    let keys_dir = keys::keys_dir(data_dir);
    if keys_dir.join(keys::AUDIT_KEY).exists() {
        return Err(Error::Other(format!(
            "{} already holds keys: restore into a new data directory",
            data_dir.display()
        )));
    }
    let mut archive = tar::Archive::new(std::fs::File::open(input)?);
    let mut manifest: Option<Manifest> = None;
    let mut tx = db.begin_write().await?;
    // Migrations seed a few rows (the chain head, settings); the backup brings its own.
    for table in ["audit_head", "settings"] {
        sqlx::query(sqlx::AssertSqlSafe(format!("DELETE FROM {table}")))
            .execute(&mut *tx.tx)
            .await?;
    }
    let blobs = crate::blobs::blob_store(config)?;
    // Archive entries come in the order backup wrote them: manifest, tables (parents
    // first), keys, blobs.
    for entry in archive.entries()? {
        let mut entry = entry?;
        let name = entry.path()?.to_string_lossy().into_owned();
        if name == "manifest.json" {
            let parsed: Manifest = serde_json::from_reader(&mut entry).map_err(json_err)?;
            if parsed.format != FORMAT || parsed.version != FORMAT_VERSION {
                return Err(Error::Other(
                    "not a Tỉnh số backup of a supported version".into(),
                ));
            }
            manifest = Some(parsed);
        } else if let Some(table) = name
            .strip_prefix("db/")
            .and_then(|n| n.strip_suffix(".jsonl"))
        {
            if !known_tables.iter().any(|t| t == table) {
                return Err(Error::Other(format!(
                    "backup holds unknown table `{table}`"
                )));
            }
            restore_table(&mut tx, table, std::io::BufReader::new(&mut entry)).await?;
        } else if let Some(key_name) = name.strip_prefix("keys/") {
            if ![keys::AUDIT_KEY, keys::SESSION_KEY].contains(&key_name) {
                continue;
            }
            let mut text = String::new();
            entry.read_to_string(&mut text)?;
            std::fs::create_dir_all(&keys_dir)?;
            std::fs::write(keys_dir.join(key_name), text)?;
        } else if name.starts_with("blobs/") {
            let mut bytes = Vec::new();
            entry.read_to_end(&mut bytes)?;
            blobs.put(&bytes).await?;
        }
    }
    if db.dialect() == Dialect::Postgres {
        reset_identity_sequences(&mut tx).await?;
    }
    tx.commit().await?;
    manifest.ok_or_else(|| Error::Other("backup has no manifest".into()))
}

async fn restore_table(tx: &mut crate::WriteTx, table: &str, reader: impl BufRead) -> Result<()> {
    for line in reader.lines() {
        let line = line?;
        if line.trim().is_empty() {
            continue;
        }
        let Value::Object(row) = serde_json::from_str::<Value>(&line).map_err(json_err)? else {
            return Err(Error::Other(format!("bad row in {table}")));
        };
        // NULL columns are left out so each column's own default (NULL) applies; this avoids
        // binding an untyped NULL, which PostgreSQL would type as text.
        let present: Vec<(&String, &Value)> = row.iter().filter(|(_, v)| !v.is_null()).collect();
        let columns: Vec<&str> = present.iter().map(|(c, _)| c.as_str()).collect();
        if columns
            .iter()
            .any(|c| !c.bytes().all(|b| b.is_ascii_lowercase() || b == b'_'))
        {
            return Err(Error::Other(format!("bad column name in {table}")));
        }
        let placeholders: Vec<String> = (1..=columns.len()).map(|i| format!("${i}")).collect();
        let sql = format!(
            "INSERT INTO {table} ({}) VALUES ({})",
            columns.join(", "),
            placeholders.join(", ")
        );
        let mut query = sqlx::query(sqlx::AssertSqlSafe(sql));
        for (_, value) in &present {
            query = match value {
                Value::Number(n) if n.is_i64() => query.bind(n.as_i64().unwrap_or_default()),
                Value::Number(n) => query.bind(n.as_f64().unwrap_or_default()),
                Value::String(s) => query.bind(s.clone()),
                Value::Bool(b) => query.bind(i64::from(*b)),
                Value::Object(o) => {
                    let encoded = o.get("base64").and_then(Value::as_str).unwrap_or_default();
                    let bytes = base64::engine::general_purpose::STANDARD
                        .decode(encoded)
                        .map_err(|_| Error::Other(format!("bad binary value in {table}")))?;
                    query.bind(bytes)
                }
                _ => return Err(Error::Other(format!("unsupported value in {table}"))),
            };
        }
        query.execute(&mut *tx.tx).await?;
    }
    Ok(())
}

/// After explicit ids were inserted, PostgreSQL's identity sequences must move past them.
async fn reset_identity_sequences(tx: &mut crate::WriteTx) -> Result<()> {
    let tables: Vec<String> = sqlx::query_scalar(
        "SELECT table_name::text FROM information_schema.columns WHERE table_schema = current_schema() AND column_name = 'id' AND is_identity = 'YES'",
    )
    .fetch_all(&mut *tx.tx)
    .await?;
    for table in tables {
        if !table.bytes().all(|b| b.is_ascii_lowercase() || b == b'_') {
            continue;
        }
        sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT setval(pg_get_serial_sequence('{table}', 'id'), COALESCE((SELECT MAX(id) FROM {table}), 0) + 1, false)"
        )))
        .execute(&mut *tx.tx)
        .await?;
    }
    Ok(())
}
