//! The hash chains of the trail: one per case (each event names its predecessor's hash) and one
//! global chain over all events in commit order, so a deleted case cannot go unnoticed either.

use std::collections::HashMap;

use sha2::{Digest, Sha256};
use sqlx::Row;

use crate::{Store, StoreError};

pub const GENESIS_HASH: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// SHA-256 over the event's stored fields, chained to the previous event of the same case.
#[allow(clippy::too_many_arguments)]
pub fn event_hash(
    prev_hash: &str,
    case_id: &str,
    seq: i64,
    kind: &str,
    actor_id: &str,
    at_ms: i64,
    data: &str,
) -> String {
    let mut h = Sha256::new();
    for part in [
        prev_hash,
        case_id,
        &seq.to_string(),
        kind,
        actor_id,
        &at_ms.to_string(),
        data,
    ] {
        h.update((part.len() as u64).to_be_bytes());
        h.update(part.as_bytes());
    }
    hex::encode(h.finalize())
}

pub fn global_hash(prev_global: &str, event_hash: &str) -> String {
    let mut h = Sha256::new();
    h.update(prev_global.as_bytes());
    h.update(b"\n");
    h.update(event_hash.as_bytes());
    hex::encode(h.finalize())
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifyReport {
    pub events: u64,
    pub cases: u64,
    /// The first problem found: (case id, what is wrong).
    pub first_broken: Option<(String, String)>,
}

impl Store {
    /// Walks the whole log in commit order and checks both chains and the projections' versions.
    pub async fn verify(&self) -> Result<VerifyReport, StoreError> {
        let mut last: HashMap<String, (i64, String)> = HashMap::new();
        let mut global_prev = GENESIS_HASH.to_string();
        let mut expected_global = 1i64;
        let mut events = 0u64;
        let mut after = 0i64;
        let broken = |case: &str, what: String| {
            Ok(VerifyReport {
                events: 0,
                cases: 0,
                first_broken: Some((case.to_string(), what)),
            })
        };
        loop {
            let rows = sqlx::query(
                "SELECT global_seq, case_id, seq, type, actor_id, at, data, prev_hash, hash, global_hash \
                 FROM case_events WHERE global_seq > $1 ORDER BY global_seq LIMIT 5000",
            )
            .bind(after)
            .fetch_all(&self.read)
            .await?;
            if rows.is_empty() {
                break;
            }
            for r in rows {
                let gseq: i64 = r.try_get(0)?;
                let case_id: String = r.try_get(1)?;
                let seq: i64 = r.try_get(2)?;
                let kind: String = r.try_get(3)?;
                let actor: String = r.try_get(4)?;
                let at: i64 = r.try_get(5)?;
                let data: String = r.try_get(6)?;
                let prev: String = r.try_get(7)?;
                let hash: String = r.try_get(8)?;
                let ghash: String = r.try_get(9)?;
                after = gseq;
                events += 1;
                if gseq != expected_global {
                    return broken(
                        &case_id,
                        format!("global sequence jumps to {gseq}, expected {expected_global}"),
                    );
                }
                expected_global += 1;
                let (want_seq, want_prev) = match last.get(&case_id) {
                    Some((s, h)) => (s + 1, h.as_str()),
                    None => (1, GENESIS_HASH),
                };
                if seq != want_seq {
                    return broken(
                        &case_id,
                        format!("event {seq} follows event {}", want_seq - 1),
                    );
                }
                if prev != want_prev {
                    return broken(
                        &case_id,
                        format!("event {seq} does not link to its predecessor"),
                    );
                }
                let h = event_hash(&prev, &case_id, seq, &kind, &actor, at, &data);
                if h != hash {
                    return broken(&case_id, format!("event {seq} was altered (hash mismatch)"));
                }
                let g = global_hash(&global_prev, &hash);
                if g != ghash {
                    return broken(
                        &case_id,
                        format!("global chain breaks at event {seq} (global {gseq})"),
                    );
                }
                global_prev = g;
                last.insert(case_id, (seq, hash));
            }
        }
        let head = sqlx::query("SELECT global_seq, global_hash FROM chain_head WHERE id = 1")
            .fetch_one(&self.read)
            .await?;
        let head_seq: i64 = head.try_get(0)?;
        let head_hash: String = head.try_get(1)?;
        if head_seq != expected_global - 1 || head_hash != global_prev {
            return broken(
                "(global)",
                format!(
                    "chain head says {head_seq} events, the log has {}",
                    expected_global - 1
                ),
            );
        }
        // Every projected case must match the end of its chain, and no case may lack a trail.
        let mut after_id = String::new();
        let mut cases = 0u64;
        loop {
            let rows = sqlx::query(
                "SELECT id, version, last_hash FROM cases WHERE id > $1 ORDER BY id LIMIT 5000",
            )
            .bind(&after_id)
            .fetch_all(&self.read)
            .await?;
            if rows.is_empty() {
                break;
            }
            for r in rows {
                let id: String = r.try_get(0)?;
                let version: i64 = r.try_get(1)?;
                let last_hash: String = r.try_get(2)?;
                cases += 1;
                match last.remove(&id) {
                    Some((s, h)) if s == version && h == last_hash => {}
                    Some((s, _)) => {
                        return broken(
                            &id,
                            format!("projection at version {version}, trail at {s}"),
                        );
                    }
                    None => return broken(&id, "case has no trail".into()),
                }
                after_id = id;
            }
        }
        if let Some(id) = last.keys().min() {
            return broken(id, "trail without a case".into());
        }
        Ok(VerifyReport {
            events,
            cases,
            first_broken: None,
        })
    }
}

/// One case's chain, checked from its first event to the projection's head.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct CaseChainReport {
    pub ok: bool,
    pub events: u64,
    /// The hash of the last event (the case's head).
    pub head: String,
    /// The first event that fails, and why.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub broken_at: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub problem: Option<String>,
}

impl Store {
    /// Recomputes every hash of one case's trail and checks it against the projection's version
    /// and head, as `jiesu verify` does for the whole log (the global chain is not walked here).
    pub async fn verify_case(&self, case_id: &str) -> Result<CaseChainReport, StoreError> {
        let rows = sqlx::query(
            "SELECT seq, type, actor_id, at, data, prev_hash, hash FROM case_events \
             WHERE case_id = $1 ORDER BY seq",
        )
        .bind(case_id)
        .fetch_all(&self.read)
        .await?;
        let mut prev_hash = GENESIS_HASH.to_string();
        let mut report = CaseChainReport {
            ok: true,
            events: 0,
            head: String::new(),
            broken_at: None,
            problem: None,
        };
        let fail = |report: &mut CaseChainReport, seq: i64, what: String| {
            report.ok = false;
            report.broken_at = Some(seq);
            report.problem = Some(what);
        };
        for r in rows {
            let seq: i64 = r.try_get(0)?;
            let kind: String = r.try_get(1)?;
            let actor: String = r.try_get(2)?;
            let at: i64 = r.try_get(3)?;
            let data: String = r.try_get(4)?;
            let prev: String = r.try_get(5)?;
            let hash: String = r.try_get(6)?;
            report.events += 1;
            if seq != report.events as i64 {
                fail(&mut report, seq, format!("event {seq} out of sequence"));
                return Ok(report);
            }
            if prev != prev_hash {
                fail(
                    &mut report,
                    seq,
                    format!("event {seq} does not link to its predecessor"),
                );
                return Ok(report);
            }
            if event_hash(&prev, case_id, seq, &kind, &actor, at, &data) != hash {
                fail(
                    &mut report,
                    seq,
                    format!("event {seq} was altered (hash mismatch)"),
                );
                return Ok(report);
            }
            prev_hash = hash;
        }
        report.head = prev_hash;
        let head = sqlx::query("SELECT version, last_hash FROM cases WHERE id = $1")
            .bind(case_id)
            .fetch_optional(&self.read)
            .await?;
        if let Some(h) = head {
            let version: i64 = h.try_get(0)?;
            let last_hash: String = h.try_get(1)?;
            if version != report.events as i64 || last_hash != report.head {
                let at = report.events as i64;
                fail(
                    &mut report,
                    at,
                    format!("the case stands at version {version}, its trail at {at}"),
                );
            }
        }
        Ok(report)
    }
}
