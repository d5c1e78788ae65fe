//! The PostgreSQL store: for several `ward` replicas. Every append locks the head row
//! (`SELECT … FOR UPDATE`) before reading it, so appends from any number of processes are
//! sequenced one at a time; migrations run under a transaction-scoped advisory lock.

use crate::batch::{PreparedBatch, Receipt, prepare};
use crate::migrate::{Migration, POSTGRES, latest};
use crate::projection::{DerivedState, ProjectionOp, Projector, StateReport};
use crate::{Store, StoreError, StoredCheckpoint, StoredEntry, hash_from_db, to_i64, to_u64};
use async_trait::async_trait;
use serde_json::Value;
use sqlx::postgres::{PgPool, PgPoolOptions};
use sqlx::{Postgres, QueryBuilder, Row, Transaction};
use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;
use ward_ledger::{Frontier, Hash, NewEvent, NodeId};

const CHUNK: usize = 500;
/// Rows per read when checking state.
const STATE_CHUNK: i64 = 5000;
/// Blobs per read when checking state (they can be large).
const BLOB_CHUNK: i64 = 64;

/// A ledger in a PostgreSQL database.
pub struct PgStore {
    pool: PgPool,
}

impl PgStore {
    /// After a document or raw evidence was deleted: rewrites the `documents` and
    /// `evidence_blobs` tables (and their TOAST tables) so no dead tuple keeps its bytes in the
    /// tables' files (the server's own WAL archive is outside Ward's reach).
    /// `evidence`: whether raw evidence was deleted too (rewriting `evidence_blobs` locks it, so
    /// a purge of text alone leaves it be).
    async fn scrub_deleted(&self, evidence: bool) -> Result<(), StoreError> {
        let sql = if evidence {
            "VACUUM FULL documents, evidence_blobs"
        } else {
            "VACUUM FULL documents"
        };
        sqlx::raw_sql(sql).execute(&self.pool).await?;
        Ok(())
    }

    /// Checkpoints selected by `tail` (a fixed `WHERE`/`ORDER BY` clause, with at most one bound
    /// size).
    async fn select_checkpoints(&self, tail: &str, size: Option<i64>) -> Result<Vec<StoredCheckpoint>, StoreError> {
        let sql = format!("SELECT size, root, note, created_at FROM ledger_checkpoints {tail}");
        let mut q = sqlx::query(sqlx::AssertSqlSafe(sql));
        if let Some(s) = size {
            q = q.bind(s);
        }
        let rows = q.fetch_all(&self.pool).await?;
        rows.iter().map(crate::checkpoint_from_row).collect()
    }

    /// Connects to `url` and applies migrations.
    pub async fn connect(url: &str) -> Result<PgStore, StoreError> {
        let pool = PgPoolOptions::new()
            .max_connections(8)
            .acquire_timeout(Duration::from_secs(30))
            .connect(url)
            .await?;
        let store = PgStore { pool };
        store.migrate(POSTGRES).await?;
        Ok(store)
    }

    /// Closes the pool.
    pub async fn close(&self) {
        self.pool.close().await;
    }

    async fn migrate(&self, list: &[Migration]) -> Result<(), StoreError> {
        let mut tx = self.pool.begin().await?;
        // Serialise concurrent migrators (replicas starting at once).
        sqlx::query("SELECT pg_advisory_xact_lock(7761826001)")
            .execute(&mut *tx)
            .await?;
        sqlx::raw_sql("CREATE TABLE IF NOT EXISTS ward_migrations (version BIGINT PRIMARY KEY, name TEXT NOT NULL, applied_at TEXT NOT NULL)")
            .execute(&mut *tx)
            .await?;
        let current: i64 = sqlx::query_scalar("SELECT COALESCE(MAX(version), 0)::BIGINT FROM ward_migrations")
            .fetch_one(&mut *tx)
            .await?;
        if current > latest(list) {
            return Err(StoreError::Invalid(format!(
                "database schema version {current} is newer than this ward ({}); upgrade ward",
                latest(list)
            )));
        }
        for m in list.iter().filter(|m| m.version > current) {
            sqlx::raw_sql(sqlx::AssertSqlSafe(m.sql)).execute(&mut *tx).await?;
            sqlx::query("INSERT INTO ward_migrations (version, name, applied_at) VALUES ($1, $2, $3)")
                .bind(m.version)
                .bind(m.name)
                .bind(jiff::Timestamp::now().to_string())
                .execute(&mut *tx)
                .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    async fn read_head(conn: &mut sqlx::PgConnection) -> Result<Frontier, StoreError> {
        let row = sqlx::query("SELECT size, frontier FROM ledger_head WHERE id = 1 FOR UPDATE")
            .fetch_one(conn)
            .await?;
        let size = to_u64(row.try_get("size")?, "size")?;
        let bytes: Vec<u8> = row.try_get("frontier")?;
        Frontier::from_bytes(size, &bytes)
            .ok_or_else(|| StoreError::Corrupt("head frontier does not match its size".into()))
    }

    async fn write_batch(tx: &mut Transaction<'_, Postgres>, b: &PreparedBatch) -> Result<(), StoreError> {
        for chunk in b.entries.chunks(CHUNK) {
            let mut q = QueryBuilder::<Postgres>::new("INSERT INTO ledger_entries (seq, leaf, leaf_hash) ");
            let mut err = None;
            q.push_values(chunk, |mut r, e| {
                match to_i64(e.seq) {
                    Ok(s) => r.push_bind(s),
                    Err(x) => {
                        err = Some(x);
                        r.push_bind(0i64)
                    }
                };
                r.push_bind(e.leaf.clone()).push_bind(e.leaf_hash.0.to_vec());
            });
            if let Some(e) = err {
                return Err(e);
            }
            q.build().execute(&mut **tx).await?;
        }
        for chunk in b.nodes.chunks(CHUNK) {
            let mut q = QueryBuilder::<Postgres>::new("INSERT INTO ledger_nodes (level, idx, hash) ");
            q.push_values(chunk, |mut r, (id, h)| {
                r.push_bind(i16::from(id.level))
                    .push_bind(id.index as i64)
                    .push_bind(h.0.to_vec());
            });
            q.build().execute(&mut **tx).await?;
        }
        for (digest, data) in &b.blobs {
            sqlx::query("INSERT INTO ledger_blobs (digest, data) VALUES ($1, $2) ON CONFLICT (digest) DO NOTHING")
                .bind(digest)
                .bind(data)
                .execute(&mut **tx)
                .await?;
        }
        apply_ops(tx, &b.ops).await?;
        sqlx::query("UPDATE ledger_head SET size = $1, frontier = $2, root = $3 WHERE id = 1")
            .bind(to_i64(b.frontier.size())?)
            .bind(b.frontier.to_bytes())
            .bind(b.frontier.root().0.to_vec())
            .execute(&mut **tx)
            .await?;
        Ok(())
    }
}

async fn apply_ops(tx: &mut Transaction<'_, Postgres>, ops: &[(u64, ProjectionOp)]) -> Result<(), StoreError> {
    let net = crate::projection::coalesce(ops);
    for chunk in net.puts.chunks(CHUNK) {
        let mut q = QueryBuilder::<Postgres>::new("INSERT INTO projections (collection, key, doc, updated_seq) ");
        let mut err = None;
        q.push_values(chunk, |mut r, (seq, collection, key, doc)| {
            r.push_bind(collection.clone())
                .push_bind(key.clone())
                .push_bind(doc.to_string())
                .push_unseparated("::jsonb");
            match to_i64(*seq) {
                Ok(s) => r.push_bind(s),
                Err(e) => {
                    err = Some(e);
                    r.push_bind(0i64)
                }
            };
        });
        if let Some(e) = err {
            return Err(e);
        }
        q.push(" ON CONFLICT (collection, key) DO UPDATE SET doc = excluded.doc, updated_seq = excluded.updated_seq");
        q.build().execute(&mut **tx).await?;
    }
    for chunk in net.deletes.chunks(CHUNK) {
        let mut q = QueryBuilder::<Postgres>::new("DELETE FROM projections WHERE (collection, key) IN (");
        let mut sep = q.separated(", ");
        for (collection, key) in chunk {
            sep.push("(")
                .push_bind_unseparated(collection.clone())
                .push_unseparated(", ")
                .push_bind_unseparated(key.clone())
                .push_unseparated(")");
        }
        q.push(")");
        q.build().execute(&mut **tx).await?;
    }
    Ok(())
}

#[async_trait]
impl Store for PgStore {
    fn backend(&self) -> &'static str {
        "postgres"
    }

    async fn append_with_documents(
        &self,
        events: Vec<NewEvent>,
        documents: &crate::DocumentChanges,
        projectors: &[Arc<dyn Projector>],
    ) -> Result<Vec<Receipt>, StoreError> {
        if events.is_empty() {
            return Ok(vec![]);
        }
        let mut tx = self.pool.begin().await?;
        let head = Self::read_head(&mut tx).await?;
        let batch = prepare(&head, events, jiff::Timestamp::now(), projectors)?;
        Self::write_batch(&mut tx, &batch).await?;
        for (digest, data) in &documents.put {
            sqlx::query("INSERT INTO documents (digest, data) VALUES ($1, $2) ON CONFLICT (digest) DO NOTHING")
                .bind(digest)
                .bind(data)
                .execute(&mut *tx)
                .await?;
        }
        for (table, digest) in documents.deletions() {
            let sql = match table {
                crate::Deleted::Document => "DELETE FROM documents WHERE digest = $1",
                crate::Deleted::Evidence => "DELETE FROM evidence_blobs WHERE digest = $1",
            };
            let gone = sqlx::query(sql).bind(digest).execute(&mut *tx).await?;
            if gone.rows_affected() != 1 {
                return Err(table.missing());
            }
        }
        tx.commit().await?;
        if !documents.delete.is_empty() || !documents.delete_evidence.is_empty() {
            self.scrub_deleted(!documents.delete_evidence.is_empty()).await?;
        }
        Ok(batch.receipts())
    }

    async fn head(&self) -> Result<Frontier, StoreError> {
        let row = sqlx::query("SELECT size, frontier FROM ledger_head WHERE id = 1")
            .fetch_one(&self.pool)
            .await?;
        let size = to_u64(row.try_get("size")?, "size")?;
        let bytes: Vec<u8> = row.try_get("frontier")?;
        Frontier::from_bytes(size, &bytes)
            .ok_or_else(|| StoreError::Corrupt("head frontier does not match its size".into()))
    }

    async fn entries(&self, start: u64, limit: u64) -> Result<Vec<StoredEntry>, StoreError> {
        let rows = sqlx::query("SELECT seq, leaf, leaf_hash FROM ledger_entries WHERE seq >= $1 ORDER BY seq LIMIT $2")
            .bind(to_i64(start)?)
            .bind(to_i64(limit)?)
            .fetch_all(&self.pool)
            .await?;
        rows.iter()
            .map(|r| {
                Ok(StoredEntry {
                    seq: to_u64(r.try_get("seq")?, "seq")?,
                    leaf: r.try_get("leaf")?,
                    leaf_hash: hash_from_db(&r.try_get::<Vec<u8>, _>("leaf_hash")?, "leaf hash")?,
                })
            })
            .collect()
    }

    async fn nodes(&self, ids: &[NodeId]) -> Result<HashMap<NodeId, Hash>, StoreError> {
        let mut out = HashMap::with_capacity(ids.len());
        let (leaves, inner): (Vec<&NodeId>, Vec<&NodeId>) = ids.iter().partition(|id| id.level == 0);
        if ids.is_empty() {
            return Ok(out);
        }
        // One statement, one round trip: leaf hashes from the entries, the rest from the nodes.
        let mut q = QueryBuilder::<Postgres>::new("");
        if !leaves.is_empty() {
            q.push("SELECT 0::smallint AS level, seq AS idx, leaf_hash AS hash FROM ledger_entries WHERE seq IN (");
            let mut sep = q.separated(", ");
            for id in &leaves {
                sep.push_bind(to_i64(id.index)?);
            }
            q.push(")");
        }
        if !inner.is_empty() {
            if !leaves.is_empty() {
                q.push(" UNION ALL ");
            }
            q.push("SELECT level, idx, hash FROM ledger_nodes WHERE (level, idx) IN (VALUES ");
            for (i, id) in inner.iter().enumerate() {
                if i > 0 {
                    q.push(", ");
                }
                q.push("(")
                    .push_bind(i16::from(id.level))
                    .push(", ")
                    .push_bind(to_i64(id.index)?)
                    .push(")");
            }
            q.push(")");
        }
        for r in q.build().fetch_all(&self.pool).await? {
            let level: i16 = r.try_get("level")?;
            let idx = to_u64(r.try_get("idx")?, "idx")?;
            let level = u8::try_from(level).map_err(|_| StoreError::Corrupt("node level out of range".into()))?;
            out.insert(
                NodeId::new(level, idx),
                hash_from_db(&r.try_get::<Vec<u8>, _>("hash")?, "node hash")?,
            );
        }
        Ok(out)
    }

    async fn level_nodes(&self, level: u8, start: u64, limit: u64) -> Result<Vec<(u64, Hash)>, StoreError> {
        let rows =
            sqlx::query("SELECT idx, hash FROM ledger_nodes WHERE level = $1 AND idx >= $2 ORDER BY idx LIMIT $3")
                .bind(i16::from(level))
                .bind(to_i64(start)?)
                .bind(to_i64(limit)?)
                .fetch_all(&self.pool)
                .await?;
        rows.iter()
            .map(|r| {
                Ok((
                    to_u64(r.try_get("idx")?, "idx")?,
                    hash_from_db(&r.try_get::<Vec<u8>, _>("hash")?, "node hash")?,
                ))
            })
            .collect()
    }

    async fn blob(&self, digest: &str) -> Result<Option<Vec<u8>>, StoreError> {
        Ok(sqlx::query_scalar("SELECT data FROM ledger_blobs WHERE digest = $1")
            .bind(digest)
            .fetch_optional(&self.pool)
            .await?)
    }

    async fn put_evidence(&self, digest: &str, data: &[u8]) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO evidence_blobs (digest, data, created_at) VALUES ($1, $2, $3) ON CONFLICT (digest) DO NOTHING",
        )
        .bind(digest)
        .bind(data)
        .bind(jiff::Timestamp::now().to_string())
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    async fn scrub_documents(&self) -> Result<(), StoreError> {
        self.scrub_deleted(true).await
    }

    async fn document(&self, digest: &str) -> Result<Option<Vec<u8>>, StoreError> {
        Ok(sqlx::query_scalar("SELECT data FROM documents WHERE digest = $1")
            .bind(digest)
            .fetch_optional(&self.pool)
            .await?)
    }

    async fn evidence(&self, digest: &str) -> Result<Option<Vec<u8>>, StoreError> {
        Ok(sqlx::query_scalar("SELECT data FROM evidence_blobs WHERE digest = $1")
            .bind(digest)
            .fetch_optional(&self.pool)
            .await?)
    }

    async fn add_checkpoint(&self, cp: &StoredCheckpoint) -> Result<(), StoreError> {
        let mut tx = self.pool.begin().await?;
        sqlx::query("SELECT 1 FROM ledger_head WHERE id = 1 FOR UPDATE")
            .execute(&mut *tx)
            .await?;
        let existing: Option<String> = sqlx::query_scalar("SELECT note FROM ledger_checkpoints WHERE size = $1")
            .bind(to_i64(cp.size)?)
            .fetch_optional(&mut *tx)
            .await?;
        match existing {
            Some(note) if note == cp.note => {}
            Some(_) => {
                // Another note at the same size: acceptable only if it signs the same root.
                let root: Vec<u8> = sqlx::query_scalar("SELECT root FROM ledger_checkpoints WHERE size = $1")
                    .bind(to_i64(cp.size)?)
                    .fetch_one(&mut *tx)
                    .await?;
                if root != cp.root.0 {
                    return Err(StoreError::Conflict(format!(
                        "a checkpoint with another root exists at size {}",
                        cp.size
                    )));
                }
            }
            None => {
                sqlx::query("INSERT INTO ledger_checkpoints (size, root, note, created_at) VALUES ($1, $2, $3, $4)")
                    .bind(to_i64(cp.size)?)
                    .bind(cp.root.0.to_vec())
                    .bind(&cp.note)
                    .bind(&cp.created_at)
                    .execute(&mut *tx)
                    .await?;
            }
        }
        tx.commit().await?;
        Ok(())
    }

    async fn checkpoints(&self) -> Result<Vec<StoredCheckpoint>, StoreError> {
        self.select_checkpoints("ORDER BY size", None).await
    }

    async fn latest_checkpoint(&self) -> Result<Option<StoredCheckpoint>, StoreError> {
        Ok(self.select_checkpoints("ORDER BY size DESC LIMIT 1", None).await?.pop())
    }

    async fn checkpoint_at(&self, size: u64) -> Result<Option<StoredCheckpoint>, StoreError> {
        Ok(self
            .select_checkpoints("WHERE size = $1", Some(to_i64(size)?))
            .await?
            .pop())
    }

    async fn get_meta(&self, key: &str) -> Result<Option<String>, StoreError> {
        Ok(sqlx::query_scalar("SELECT value FROM ward_meta WHERE key = $1")
            .bind(key)
            .fetch_optional(&self.pool)
            .await?)
    }

    async fn set_meta(&self, key: &str, value: &str) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO ward_meta (key, value) VALUES ($1, $2) ON CONFLICT (key) DO UPDATE SET value = excluded.value",
        )
        .bind(key)
        .bind(value)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    async fn ui_session_seen(&self, token_id: &str) -> Result<Option<i64>, StoreError> {
        Ok(
            sqlx::query_scalar("SELECT seen_at FROM ui_sessions WHERE token_id = $1")
                .bind(token_id)
                .fetch_optional(&self.pool)
                .await?,
        )
    }

    async fn see_ui_session(&self, token_id: &str, at: i64) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO ui_sessions (token_id, seen_at) VALUES ($1, $2) \
             ON CONFLICT (token_id) DO UPDATE SET seen_at = GREATEST(ui_sessions.seen_at, excluded.seen_at)",
        )
        .bind(token_id)
        .bind(at)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    async fn prune_ui_sessions(&self, before: i64) -> Result<u64, StoreError> {
        Ok(sqlx::query("DELETE FROM ui_sessions WHERE seen_at < $1")
            .bind(before)
            .execute(&self.pool)
            .await?
            .rows_affected())
    }

    async fn projection(&self, collection: &str, key: &str) -> Result<Option<Value>, StoreError> {
        let doc: Option<String> =
            sqlx::query_scalar("SELECT doc::text FROM projections WHERE collection = $1 AND key = $2")
                .bind(collection)
                .bind(key)
                .fetch_optional(&self.pool)
                .await?;
        doc.map(|d| serde_json::from_str(&d).map_err(|e| StoreError::Corrupt(format!("projection document: {e}"))))
            .transpose()
    }

    async fn projection_list(&self, collection: &str) -> Result<Vec<(String, Value)>, StoreError> {
        let rows = sqlx::query(LIST_SQL).bind(collection).fetch_all(&self.pool).await?;
        crate::projection::documents(&rows)
    }

    async fn projection_prefix(&self, collection: &str, prefix: &str) -> Result<Vec<(String, Value)>, StoreError> {
        crate::projection::parsed(self.projection_prefix_text(collection, prefix).await?)
    }

    async fn projection_prefix_text(
        &self,
        collection: &str,
        prefix: &str,
    ) -> Result<Vec<(String, String)>, StoreError> {
        let Some(upper) = crate::prefix_upper_bound(prefix) else {
            // An empty prefix, or one of only U+10FFFF: filter the whole collection.
            let mut all = self.projection_list(collection).await?;
            all.retain(|(k, _)| k.starts_with(prefix));
            return Ok(all.into_iter().map(|(k, v)| (k, v.to_string())).collect());
        };
        let rows = sqlx::query("SELECT key, doc::text AS doc FROM projections WHERE collection = $1 AND key COLLATE \"C\" >= $2 AND key COLLATE \"C\" < $3 ORDER BY key COLLATE \"C\"")
            .bind(collection)
            .bind(prefix)
            .bind(upper)
            .fetch_all(&self.pool)
            .await?;
        crate::projection::texts(&rows)
    }

    async fn projection_prefix_array(&self, collection: &str, prefix: &str) -> Result<String, StoreError> {
        let Some(upper) = crate::prefix_upper_bound(prefix) else {
            return Ok(crate::array_of(self.projection_list(collection).await?, prefix));
        };
        Ok(sqlx::query_scalar(
            "SELECT '[' || COALESCE(string_agg(doc::text, ',' ORDER BY key COLLATE \"C\"), '') || ']' \
             FROM projections WHERE collection = $1 AND key COLLATE \"C\" >= $2 AND key COLLATE \"C\" < $3",
        )
        .bind(collection)
        .bind(prefix)
        .bind(upper)
        .fetch_one(&self.pool)
        .await?)
    }

    async fn projection_last_before(
        &self,
        collection: &str,
        from: &str,
        below: &str,
    ) -> Result<Option<(String, Value)>, StoreError> {
        let rows = sqlx::query(
            "SELECT key, doc::text AS doc FROM projections WHERE collection = $1 AND key COLLATE \"C\" >= $2 \
             AND key COLLATE \"C\" < $3 ORDER BY key COLLATE \"C\" DESC LIMIT 1",
        )
        .bind(collection)
        .bind(from)
        .bind(below)
        .fetch_all(&self.pool)
        .await?;
        Ok(crate::projection::documents(&rows)?.pop())
    }

    async fn lock(&self, name: &str) -> Result<crate::StoreLock, StoreError> {
        // A session-level advisory lock on a connection taken out of the pool: when the guard
        // drops, the connection closes and the server releases the lock (also if we crash).
        let mut conn = self.pool.acquire().await?.detach();
        sqlx::query("SELECT pg_advisory_lock($1)")
            .bind(crate::lock_key(name))
            .execute(&mut conn)
            .await?;
        Ok(crate::StoreLock::new(conn))
    }

    fn locks_end_with_their_process(&self) -> bool {
        false
    }

    async fn renew_lease(&self, name: &str, holder: &str, lapse: std::time::Duration) -> Result<bool, StoreError> {
        let held: Option<String> = sqlx::query_scalar(
            "INSERT INTO leases (name, holder, renewed_at) VALUES ($1, $2, clock_timestamp()) \
             ON CONFLICT (name) DO UPDATE SET holder = excluded.holder, renewed_at = excluded.renewed_at \
             WHERE leases.holder = excluded.holder OR leases.renewed_at <= clock_timestamp() - make_interval(secs => $3) \
             RETURNING holder",
        )
        .bind(name)
        .bind(holder)
        .bind(lapse.as_secs_f64())
        .fetch_optional(&self.pool)
        .await?;
        Ok(held.is_some())
    }

    async fn end_lease(&self, name: &str, holder: &str) -> Result<(), StoreError> {
        sqlx::query("DELETE FROM leases WHERE name = $1 AND holder = $2")
            .bind(name)
            .bind(holder)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    async fn lease(&self, name: &str) -> Result<Option<crate::Lease>, StoreError> {
        let row: Option<(String, f64)> = sqlx::query_as(
            "SELECT holder, GREATEST(EXTRACT(EPOCH FROM clock_timestamp() - renewed_at), 0)::float8 \
             FROM leases WHERE name = $1",
        )
        .bind(name)
        .fetch_optional(&self.pool)
        .await?;
        Ok(row.map(|(holder, secs)| crate::Lease {
            holder,
            age: std::time::Duration::try_from_secs_f64(secs).unwrap_or(std::time::Duration::MAX),
        }))
    }

    async fn check_state(&self, projectors: &[Arc<dyn Projector>]) -> Result<StateReport, StoreError> {
        // One snapshot for the whole check: appends by other replicas meanwhile are not seen.
        let mut tx = self.pool.begin().await?;
        sqlx::query("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
            .execute(&mut *tx)
            .await?;
        let size = to_u64(
            sqlx::query_scalar::<_, i64>("SELECT size FROM ledger_head WHERE id = 1")
                .fetch_one(&mut *tx)
                .await?,
            "size",
        )?;
        let mut derived = DerivedState::default();
        let mut report = StateReport::default();
        let mut next = 0u64;
        while next < size {
            let rows =
                sqlx::query("SELECT seq, leaf FROM ledger_entries WHERE seq >= $1 AND seq < $2 ORDER BY seq LIMIT $3")
                    .bind(to_i64(next)?)
                    .bind(to_i64(size)?)
                    .bind(STATE_CHUNK)
                    .fetch_all(&mut *tx)
                    .await?;
            if rows.is_empty() {
                return Err(StoreError::Corrupt(format!("entries stop at {next}, head says {size}")));
            }
            for r in &rows {
                let leaf: Vec<u8> = r.try_get("leaf")?;
                let stored = stored_payload(&mut tx, &leaf).await?;
                derived.apply_entry(to_u64(r.try_get("seq")?, "seq")?, &leaf, stored.as_deref(), projectors)?;
                next += 1;
            }
        }
        let mut after: Option<(String, String)> = None;
        loop {
            // Two statements, so that each is an index range seek (an `OR` would scan).
            let rows = match &after {
                None => sqlx::query(
                    "SELECT collection, key, doc::text AS doc, updated_seq FROM projections \
                     ORDER BY collection, key COLLATE \"C\" LIMIT $1",
                )
                .bind(STATE_CHUNK),
                Some((c, k)) => sqlx::query(
                    "SELECT collection, key, doc::text AS doc, updated_seq FROM projections \
                     WHERE (collection, key COLLATE \"C\") > ($2, $3 COLLATE \"C\") \
                     ORDER BY collection, key COLLATE \"C\" LIMIT $1",
                )
                .bind(STATE_CHUNK)
                .bind(c.clone())
                .bind(k.clone()),
            }
            .fetch_all(&mut *tx)
            .await?;
            let Some(last) = rows.last() else { break };
            after = Some((last.try_get("collection")?, last.try_get("key")?));
            for r in &rows {
                let (collection, key): (String, String) = (r.try_get("collection")?, r.try_get("key")?);
                let raw: String = r.try_get("doc")?;
                let seq = u64::try_from(r.try_get::<i64, _>("updated_seq")?).unwrap_or(u64::MAX);
                match serde_json::from_str::<Value>(&raw) {
                    Ok(doc) => derived.check_row(&mut report, &collection, &key, &doc, seq),
                    Err(_) => derived.unreadable_row(&mut report, &collection, &key, raw.as_bytes()),
                }
            }
        }
        for table in ["ledger_blobs", "evidence_blobs", "documents"] {
            let mut after: Option<String> = None;
            loop {
                let filter = if after.is_some() { "WHERE digest > $1" } else { "" };
                let sql = format!("SELECT digest, data FROM {table} {filter} ORDER BY digest LIMIT {BLOB_CHUNK}");
                let mut q = sqlx::query(sqlx::AssertSqlSafe(sql));
                if let Some(a) = &after {
                    q = q.bind(a.clone());
                }
                let rows = q.fetch_all(&mut *tx).await?;
                let Some(last) = rows.last() else { break };
                after = Some(last.try_get("digest")?);
                for r in &rows {
                    let digest: String = r.try_get("digest")?;
                    let data: Vec<u8> = r.try_get("data")?;
                    if table == "ledger_blobs" {
                        derived.check_payload_blob(&mut report, &digest, &data);
                    } else if table == "documents" {
                        derived.check_document(&mut report, &digest, &data);
                    } else {
                        derived.check_evidence(&mut report, &digest, &data);
                    }
                }
            }
        }
        tx.rollback().await?;
        derived.finish(&mut report);
        Ok(report)
    }

    async fn rebuild_projections(&self, projectors: &[Arc<dyn Projector>]) -> Result<u64, StoreError> {
        let mut tx = self.pool.begin().await?;
        sqlx::query("SELECT 1 FROM ledger_head WHERE id = 1 FOR UPDATE")
            .execute(&mut *tx)
            .await?;
        sqlx::query("DELETE FROM projections").execute(&mut *tx).await?;
        let mut next = 0i64;
        let mut count = 0u64;
        loop {
            let rows = sqlx::query("SELECT seq, leaf FROM ledger_entries WHERE seq >= $1 ORDER BY seq LIMIT 2000")
                .bind(next)
                .fetch_all(&mut *tx)
                .await?;
            if rows.is_empty() {
                break;
            }
            let mut ops = Vec::new();
            let mut held = 0usize;
            for r in &rows {
                let seq: i64 = r.try_get("seq")?;
                let leaf: Vec<u8> = r.try_get("leaf")?;
                // Projected with its whole payload, as on append.
                let stored = stored_payload(&mut tx, &leaf).await?;
                held += stored.as_ref().map_or(0, Vec::len);
                let env = crate::projection::rebuilt_entry(seq, &leaf, stored.as_deref())?;
                for p in projectors {
                    ops.extend(p.project(&env).into_iter().map(|op| (env.seq, op)));
                }
                next = seq + 1;
                count += 1;
                if held > crate::projection::REBUILD_HELD_BYTES {
                    apply_ops(&mut tx, &std::mem::take(&mut ops)).await?;
                    held = 0;
                }
            }
            apply_ops(&mut tx, &ops).await?;
        }
        tx.commit().await?;
        Ok(count)
    }
}

/// The out-of-line payload the entry `leaf` refers to, if it has one and it is stored: what
/// projectors see in its place (on rebuild and in the state check, as on append).
async fn stored_payload(conn: &mut sqlx::PgConnection, leaf: &[u8]) -> Result<Option<Vec<u8>>, StoreError> {
    let Some((digest, _)) = ward_ledger::envelope::LeafHeader::from_leaf(leaf)
        .ok()
        .and_then(|h| h.payload_digest)
    else {
        return Ok(None);
    };
    Ok(sqlx::query_scalar("SELECT data FROM ledger_blobs WHERE digest = $1")
        .bind(digest)
        .fetch_optional(conn)
        .await?)
}

const LIST_SQL: &str = "SELECT key, doc::text AS doc FROM projections WHERE collection = $1 ORDER BY key";
