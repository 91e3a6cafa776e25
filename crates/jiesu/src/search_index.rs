//! Keeps this node's search index in step with the store.
//!
//! Every node holds its own index (`DATA_DIR/search`) and follows the shared event log, as the
//! live streams do: four times a second it reads the events past the position of its last
//! commit and re-indexes the cases they touched, recording the new position in the same commit.
//! So a node that stops or is killed resumes where its last commit stands, and never holds a
//! case the store has not committed. At start the position is checked against the store (the
//! event at that position must carry the same chain hash); an index that reflects events the
//! store does not hold — a store restored from an older backup, another database — is rebuilt.

use std::collections::HashMap;
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context as _;
use jiesu_api::AppState;
use jiesu_domain::{Case, Jurisdiction};
use jiesu_search::{CaseDoc, CaseIndex, Position};
use jiesu_store::Store;

const POLL: Duration = Duration::from_millis(250);
/// Events read per step when following the log.
const EVENTS_PER_STEP: i64 = 2_000;
/// Cases read per page when rebuilding.
const REBUILD_PAGE: i64 = 5_000;

pub fn dir(data_dir: &Path) -> std::path::PathBuf {
    data_dir.join("search")
}

/// The words jieba must know besides its own: the domain's, every unit's name and every place
/// of the gazetteer. Built once per node and shared by search and routing.
pub fn dictionary(juris: &Jurisdiction) -> Arc<jieba_rs::Jieba> {
    let names: Vec<&str> = juris
        .org
        .units()
        .map(|u| u.name.as_str())
        .chain(
            juris
                .org
                .gazetteer()
                .places()
                .iter()
                .map(|p| p.name.as_str()),
        )
        .collect();
    jiesu_search::dictionary(names)
}

/// Opens (or makes) the index in `DATA_DIR/search`.
pub fn open(data_dir: &Path, jieba: Arc<jieba_rs::Jieba>) -> anyhow::Result<Arc<CaseIndex>> {
    let dir = dir(data_dir);
    let index = CaseIndex::open(&dir, jieba)
        .with_context(|| format!("cannot open the search index in {}", dir.display()))?;
    Ok(Arc::new(index))
}

fn doc(case: &Case, juris: &Jurisdiction) -> CaseDoc {
    let place = juris
        .org
        .place_of_report(case.draft.location, case.draft.address.as_deref());
    CaseDoc::of(case, place.as_ref())
}

/// Empties the index and indexes every case in the store; returns how many. The position it
/// records is the log's tip read before the first case: events after it are replayed by the
/// follower (indexing a case twice is harmless). Until it finishes, the index is empty at
/// position zero, so a rebuild cut short starts again.
pub async fn rebuild(
    store: &Store,
    index: &Arc<CaseIndex>,
    juris: &Jurisdiction,
) -> anyhow::Result<u64> {
    let tip = store.log_tip().await?;
    let ix = index.clone();
    tokio::task::spawn_blocking(move || ix.clear()).await??;
    let mut after = String::new();
    let mut n = 0u64;
    loop {
        let (cases, last) = store.cases_after(&after, REBUILD_PAGE).await?;
        let Some(last) = last else { break };
        after = last;
        let docs: Vec<CaseDoc> = cases.iter().map(|c| doc(c, juris)).collect();
        n += docs.len() as u64;
        let ix = index.clone();
        tokio::task::spawn_blocking(move || ix.add_for_rebuild(&docs)).await??;
    }
    let position = tip.map(|(seq, hash)| Position { seq, hash });
    let ix = index.clone();
    tokio::task::spawn_blocking(move || ix.finish_rebuild(position)).await??;
    Ok(n)
}

/// Where to follow from: the index's own position if the store holds that event with the same
/// hash; otherwise the index is rebuilt first.
async fn resume(state: &AppState, index: &Arc<CaseIndex>) -> anyhow::Result<i64> {
    if let Some(p) = index.position() {
        match state.store.event_hash(p.seq).await? {
            Some(h) if h == p.hash => return Ok(p.seq),
            held => tracing::warn!(
                position = p.seq,
                store_has = held.is_some(),
                "the search index reflects events this store does not hold: rebuilding it"
            ),
        }
    } else if index.is_empty() {
        // Empty and at position zero: following the log from its start indexes everything, but
        // a rebuild reads each case once instead of once per batch of its events.
        if state.store.log_tip().await?.is_none() {
            return Ok(0);
        }
    }
    let started = Instant::now();
    let n = rebuild(&state.store, index, &state.juris()).await?;
    tracing::info!(
        cases = n,
        seconds = started.elapsed().as_secs_f64(),
        "search index rebuilt"
    );
    Ok(index.position().map(|p| p.seq).unwrap_or(0))
}

/// Indexes the cases touched by events after `after`; returns the new position (unchanged when
/// there were none).
pub async fn step(state: &AppState, index: &Arc<CaseIndex>, after: i64) -> anyhow::Result<i64> {
    let events = state.store.events_after(after, EVENTS_PER_STEP).await?;
    let Some(last) = events.last() else {
        return Ok(after);
    };
    let position = Position {
        seq: last.global_seq,
        hash: last.global_hash.clone(),
    };
    let juris = state.juris();
    // Each case once, as it stands now (every event of a batch carries the same document).
    let mut cases: HashMap<&str, &Case> = HashMap::new();
    for e in &events {
        if let Some(c) = &e.case {
            cases.insert(e.case_id.as_str(), c);
        }
    }
    let docs: Vec<CaseDoc> = cases.values().map(|c| doc(c, &juris)).collect();
    let ix = index.clone();
    tokio::task::spawn_blocking(move || ix.apply(&docs, &position)).await??;
    Ok(last.global_seq)
}

/// Follows the log in the background for as long as the runtime runs.
pub fn start(state: AppState, index: Arc<CaseIndex>) {
    tokio::spawn(async move {
        let mut at = loop {
            match resume(&state, &index).await {
                Ok(at) => break at,
                Err(e) => {
                    tracing::error!(error = ?e, "search index not brought up to date; retrying");
                    tokio::time::sleep(Duration::from_secs(5)).await;
                }
            }
        };
        let mut every = tokio::time::interval(POLL);
        every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            every.tick().await;
            // Drain a backlog without waiting between steps.
            loop {
                match step(&state, &index, at).await {
                    Ok(next) if next == at => break,
                    Ok(next) => at = next,
                    Err(e) => {
                        tracing::warn!(error = ?e, "search index not updated; retrying");
                        break;
                    }
                }
            }
        }
    });
}

/// Opens this node's index, gives it to the API and starts following the log; starts training
/// the routing suggestions. A node whose index cannot be opened (another process holds it)
/// serves without search, saying why.
pub fn start_for(state: &AppState, data_dir: &Path) {
    let jieba = dictionary(&state.juris());
    crate::routing::start(state.clone(), jieba.clone());
    match open(data_dir, jieba) {
        Ok(index) => {
            state.attach_search(index.clone());
            start(state.clone(), index);
        }
        Err(e) => tracing::error!(error = ?e, "search is unavailable on this node"),
    }
}
