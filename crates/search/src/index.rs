//! The case index: one tantivy index per node, derived from the store's event log and rebuilt
//! from it at will. Each commit records the log position it reflects, so a node that stops (or
//! is killed) resumes from its last commit, and an index ahead of its store is thrown away.

use std::ops::Bound;
use std::path::Path;
use std::sync::{Arc, Mutex};

use jiesu_domain::{Case, UnitId};
use serde::{Deserialize, Serialize};
use tantivy::collector::{Count, TopDocs};
use tantivy::query::{
    BooleanQuery, BoostQuery, ConstScoreQuery, Occur, PhraseQuery, Query, RangeQuery, TermQuery,
    TermSetQuery,
};
use tantivy::schema::{
    FAST, Field, INDEXED, IndexRecordOption, STORED, STRING, Schema, TextFieldIndexing,
    TextOptions, Value,
};
use tantivy::tokenizer::TextAnalyzer;
use tantivy::{Index, IndexReader, IndexWriter, ReloadPolicy, TantivyDocument, Term};

use crate::tokens::{GramTokenizer, WordTokenizer, grams};

/// Bumped when the schema or the cutting changes: an index of another version is rebuilt.
const VERSION: u32 = 1;
/// Words of a query beyond this are ignored (a query is a few words, not a paragraph).
pub const MAX_QUERY_WORDS: usize = 8;

#[derive(Debug, thiserror::Error)]
pub enum SearchError {
    #[error("search index: {0}")]
    Index(#[from] tantivy::TantivyError),
    #[error("search index directory: {0}")]
    Directory(String),
    #[error("the search index is in use by another process (a running server): {0}")]
    Busy(String),
}

/// Where in the store's event log the index stands: the last event it reflects, with that
/// event's chain hash, so a store that does not hold that event (a restore, another database) is
/// told apart from one that moved on.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Position {
    pub seq: i64,
    pub hash: String,
}

#[derive(Serialize, Deserialize)]
struct Payload {
    version: u32,
    position: Option<Position>,
}

/// One case as the index holds it: its text, and the keys search filters and scopes by.
#[derive(Debug, Clone)]
pub struct CaseDoc {
    pub id: String,
    pub text: String,
    pub state: String,
    /// The unit holding the case (the assigned unit, else where it was taken).
    pub holder: String,
    /// Every unit that holds, held or takes part in the case: staff read it through them.
    pub parties: Vec<String>,
    /// The reporter's account, who reads his own case.
    pub reporter: Option<String>,
    pub category: Option<String>,
    /// The smallest unit whose area holds its location (grid, community or street).
    pub place: Option<String>,
    pub received_ms: i64,
}

impl CaseDoc {
    /// `place`: where the case's point lies in the org tree, if anywhere.
    pub fn of(case: &Case, place: Option<&UnitId>) -> CaseDoc {
        let d = &case.draft;
        let mut text = String::with_capacity(d.title.len() + d.description.len() + 64);
        for part in [
            Some(d.title.as_str()),
            Some(d.description.as_str()),
            d.address.as_deref(),
            case.direct_answer.as_deref(),
            case.reply.as_ref().map(|r| r.text.as_str()),
        ]
        .into_iter()
        .flatten()
        {
            // A line break between parts: no pair spans two of them.
            text.push_str(part);
            text.push('\n');
        }
        let mut parties: Vec<String> = case
            .involved_units
            .iter()
            .chain(case.co_units.iter())
            .chain(case.assigned_unit.iter())
            .map(|u| u.to_string())
            .collect();
        parties.sort();
        parties.dedup();
        CaseDoc {
            id: case.id.clone(),
            text,
            state: case.state.as_str().to_string(),
            holder: case
                .assigned_unit
                .as_ref()
                .unwrap_or(&case.intake_unit)
                .to_string(),
            parties,
            reporter: d.reporter.user_id.clone(),
            category: d.category.clone(),
            place: place.map(|u| u.to_string()),
            received_ms: case.received_at.timestamp_millis(),
        }
    }
}

/// Who is asking: staff read the cases of the units they may read (every unit of those
/// subtrees, listed), anyone reads what he reported. `everything` skips the check (an actor
/// granted the root).
#[derive(Debug, Clone, Default)]
pub struct Scope {
    pub everything: bool,
    pub units: Vec<String>,
    pub reporter: Option<String>,
}

/// A search: the words, who asks, and the filters (each unit and category list already expanded
/// to its subtree).
#[derive(Debug, Clone, Default)]
pub struct SearchQuery {
    pub text: String,
    pub scope: Scope,
    pub states: Vec<String>,
    pub holders: Vec<String>,
    pub categories: Vec<String>,
    pub places: Vec<String>,
    pub from_ms: Option<i64>,
    pub until_ms: Option<i64>,
    pub offset: usize,
    pub limit: usize,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Found {
    pub total: usize,
    /// Case ids, best first.
    pub ids: Vec<String>,
}

#[derive(Clone, Copy)]
struct Fields {
    id: Field,
    words: Field,
    grams: Field,
    state: Field,
    holder: Field,
    party: Field,
    reporter: Field,
    category: Field,
    place: Field,
    received: Field,
}

fn schema() -> (Schema, Fields) {
    let mut b = Schema::builder();
    let text = |tokenizer: &str, record: IndexRecordOption| {
        TextOptions::default().set_indexing_options(
            TextFieldIndexing::default()
                .set_tokenizer(tokenizer)
                .set_index_option(record),
        )
    };
    let fields = Fields {
        id: b.add_text_field("id", STRING | STORED),
        // Words rank; positions are not needed (grams answer phrases).
        words: b.add_text_field("words", text("jiesu_words", IndexRecordOption::WithFreqs)),
        grams: b.add_text_field(
            "grams",
            text("jiesu_grams", IndexRecordOption::WithFreqsAndPositions),
        ),
        state: b.add_text_field("state", STRING),
        holder: b.add_text_field("holder", STRING),
        party: b.add_text_field("party", STRING),
        reporter: b.add_text_field("reporter", STRING),
        category: b.add_text_field("category", STRING),
        place: b.add_text_field("place", STRING),
        received: b.add_i64_field("received", INDEXED | FAST),
    };
    (b.build(), fields)
}

pub struct CaseIndex {
    index: Index,
    reader: IndexReader,
    writer: Mutex<IndexWriter>,
    fields: Fields,
    words: WordTokenizer,
}

/// Memory the writer buffers before it writes a segment (split among its threads).
const WRITER_MEMORY: usize = 96 * 1024 * 1024;

impl CaseIndex {
    /// Opens the index in `dir` (made if missing). An index written by another version of this
    /// code, or unreadable, is emptied: it is only a copy of the store, and the caller rebuilds
    /// it from position zero.
    pub fn open(dir: &Path, jieba: Arc<jieba_rs::Jieba>) -> Result<CaseIndex, SearchError> {
        std::fs::create_dir_all(dir).map_err(|e| SearchError::Directory(e.to_string()))?;
        let (schema, fields) = schema();
        let opened = tantivy::directory::MmapDirectory::open(dir)
            .map_err(|e| SearchError::Directory(e.to_string()))
            .and_then(|d| Index::open_or_create(d, schema.clone()).map_err(SearchError::from));
        let mut stale = false;
        let index = match opened {
            Ok(index) => {
                stale = !matches!(payload(&index), Some(p) if p.version == VERSION);
                index
            }
            Err(e) => {
                tracing::warn!(error = %e, dir = %dir.display(), "search index unreadable: starting afresh");
                clear_dir(dir)?;
                let d = tantivy::directory::MmapDirectory::open(dir)
                    .map_err(|e| SearchError::Directory(e.to_string()))?;
                Index::open_or_create(d, schema)?
            }
        };
        let words = WordTokenizer::new(jieba);
        index
            .tokenizers()
            .register("jiesu_words", TextAnalyzer::from(words.clone()));
        index
            .tokenizers()
            .register("jiesu_grams", TextAnalyzer::from(GramTokenizer));
        let threads = std::thread::available_parallelism()
            .map(|n| n.get().min(2))
            .unwrap_or(1);
        let writer = index
            .writer_with_num_threads(threads, WRITER_MEMORY)
            .map_err(|e| match e {
                tantivy::TantivyError::LockFailure(..) => SearchError::Busy(e.to_string()),
                e => SearchError::Index(e),
            })?;
        let reader = index
            .reader_builder()
            .reload_policy(ReloadPolicy::Manual)
            .try_into()?;
        let me = CaseIndex {
            index,
            reader,
            writer: Mutex::new(writer),
            fields,
            words,
        };
        if stale {
            me.clear()?;
        }
        Ok(me)
    }

    /// The log position the last commit reflects (`None`: nothing indexed yet).
    pub fn position(&self) -> Option<Position> {
        payload(&self.index).and_then(|p| p.position)
    }

    /// Number of cases in the index as last committed.
    pub fn len(&self) -> u64 {
        self.reader.searcher().num_docs()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Empties the index (its position becomes `None`).
    pub fn clear(&self) -> Result<(), SearchError> {
        let mut w = self.lock();
        w.delete_all_documents()?;
        self.commit(&mut w, None)
    }

    /// Replaces these cases' documents and records `position`, in one commit: after a crash the
    /// index holds either all of them at the old position or all of them at the new one.
    pub fn apply(&self, docs: &[CaseDoc], position: &Position) -> Result<(), SearchError> {
        let mut w = self.lock();
        for d in docs {
            w.delete_term(Term::from_field_text(self.fields.id, &d.id));
            w.add_document(self.document(d))?;
        }
        self.commit(&mut w, Some(position.clone()))
    }

    /// Adds cases without replacing anything and without committing: for a rebuild, which
    /// commits once with [`CaseIndex::finish_rebuild`].
    pub fn add_for_rebuild(&self, docs: &[CaseDoc]) -> Result<(), SearchError> {
        let w = self.lock();
        for d in docs {
            w.add_document(self.document(d))?;
        }
        Ok(())
    }

    pub fn finish_rebuild(&self, position: Option<Position>) -> Result<(), SearchError> {
        let mut w = self.lock();
        self.commit(&mut w, position)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, IndexWriter> {
        // A panic while holding the writer leaves nothing half-committed: tantivy's commit is
        // atomic, so the writer can be used on.
        self.writer.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn commit(&self, w: &mut IndexWriter, position: Option<Position>) -> Result<(), SearchError> {
        let mut prepared = w.prepare_commit()?;
        let payload = serde_json::to_string(&Payload {
            version: VERSION,
            position,
        })
        .unwrap_or_default();
        prepared.set_payload(&payload);
        prepared.commit()?;
        self.reader.reload()?;
        Ok(())
    }

    fn document(&self, d: &CaseDoc) -> TantivyDocument {
        let f = &self.fields;
        let mut doc = TantivyDocument::default();
        doc.add_text(f.id, &d.id);
        doc.add_text(f.words, &d.text);
        doc.add_text(f.grams, &d.text);
        doc.add_text(f.state, &d.state);
        doc.add_text(f.holder, &d.holder);
        for p in &d.parties {
            doc.add_text(f.party, p);
        }
        if let Some(r) = &d.reporter {
            doc.add_text(f.reporter, r);
        }
        if let Some(c) = &d.category {
            doc.add_text(f.category, c);
        }
        if let Some(p) = &d.place {
            doc.add_text(f.place, p);
        }
        doc.add_i64(f.received, d.received_ms);
        doc
    }

    /// The words of a query, as [`CaseIndex::search`] matches them (whitespace separates words).
    pub fn query_words(text: &str) -> Vec<&str> {
        text.split_whitespace().take(MAX_QUERY_WORDS).collect()
    }

    /// Terms to mark in a snippet: each query word, and jieba's words inside it.
    pub fn highlight_terms(&self, text: &str) -> Vec<String> {
        let mut out: Vec<String> = Vec::new();
        for w in Self::query_words(text) {
            out.push(w.to_string());
            out.extend(self.words.query_words(w));
        }
        out.retain(|t| !t.is_empty());
        out.sort_by_key(|t| std::cmp::Reverse(t.chars().count()));
        out.dedup();
        out
    }

    fn word_query(&self, word: &str) -> Option<Box<dyn Query>> {
        let f = &self.fields;
        let mut either: Vec<(Occur, Box<dyn Query>)> = Vec::new();
        let ws = self.words.query_words(word);
        if !ws.is_empty() {
            let all: Vec<(Occur, Box<dyn Query>)> = ws
                .iter()
                .map(|w| {
                    let q: Box<dyn Query> = Box::new(TermQuery::new(
                        Term::from_field_text(f.words, w),
                        IndexRecordOption::WithFreqs,
                    ));
                    (Occur::Must, q)
                })
                .collect();
            either.push((
                Occur::Should,
                Box::new(BoostQuery::new(Box::new(BooleanQuery::new(all)), 2.0)),
            ));
        }
        let gs: Vec<(usize, Term)> = grams(word)
            .into_iter()
            .map(|(p, t, _, _)| (p, Term::from_field_text(f.grams, &t)))
            .collect();
        match gs.len() {
            0 => {}
            1 => either.push((
                Occur::Should,
                Box::new(TermQuery::new(
                    gs[0].1.clone(),
                    IndexRecordOption::WithFreqs,
                )),
            )),
            _ => {
                // A word that is one ASCII run plus pairs (e.g. "3号楼": 3, 3号, 号楼) is the
                // phrase of its pairs; the lone run shares the first pair's position.
                let mut seen = std::collections::HashSet::new();
                let phrase: Vec<(usize, Term)> = gs
                    .into_iter()
                    .rev()
                    .filter(|(p, _)| seen.insert(*p))
                    .collect::<Vec<_>>()
                    .into_iter()
                    .rev()
                    .collect();
                let q: Box<dyn Query> = if phrase.len() == 1 {
                    Box::new(TermQuery::new(
                        phrase[0].1.clone(),
                        IndexRecordOption::WithFreqs,
                    ))
                } else {
                    let base = phrase[0].0;
                    Box::new(PhraseQuery::new_with_offset(
                        phrase.into_iter().map(|(p, t)| (p - base, t)).collect(),
                    ))
                };
                either.push((Occur::Should, q));
            }
        }
        (!either.is_empty()).then(|| Box::new(BooleanQuery::new(either)) as Box<dyn Query>)
    }

    fn filter(&self, field: Field, values: &[String]) -> Box<dyn Query> {
        Box::new(ConstScoreQuery::new(
            Box::new(TermSetQuery::new(
                values.iter().map(|v| Term::from_field_text(field, v)),
            )),
            0.0,
        ))
    }

    /// Cases matching every word of the query (as a word or inside a longer one), within the
    /// scope and filters, best first.
    pub fn search(&self, q: &SearchQuery) -> Result<Found, SearchError> {
        let f = self.fields;
        let mut must: Vec<(Occur, Box<dyn Query>)> = Vec::new();
        for w in Self::query_words(&q.text) {
            match self.word_query(w) {
                Some(wq) => must.push((Occur::Must, wq)),
                // A word of punctuation only matches nothing; it does not widen the search.
                None => continue,
            }
        }
        if must.is_empty() {
            return Ok(Found {
                total: 0,
                ids: Vec::new(),
            });
        }
        if !q.scope.everything {
            let mut who: Vec<(Occur, Box<dyn Query>)> = Vec::new();
            if !q.scope.units.is_empty() {
                who.push((Occur::Should, self.filter(f.party, &q.scope.units)));
            }
            if let Some(r) = &q.scope.reporter {
                who.push((
                    Occur::Should,
                    self.filter(f.reporter, std::slice::from_ref(r)),
                ));
            }
            if who.is_empty() {
                return Ok(Found {
                    total: 0,
                    ids: Vec::new(),
                });
            }
            must.push((Occur::Must, Box::new(BooleanQuery::new(who))));
        }
        for (field, values) in [
            (f.state, &q.states),
            (f.holder, &q.holders),
            (f.category, &q.categories),
            (f.place, &q.places),
        ] {
            if !values.is_empty() {
                must.push((Occur::Must, self.filter(field, values)));
            }
        }
        if q.from_ms.is_some() || q.until_ms.is_some() {
            let bound = |v: Option<i64>, inclusive: bool| match v {
                None => Bound::Unbounded,
                Some(v) if inclusive => Bound::Included(Term::from_field_i64(f.received, v)),
                Some(v) => Bound::Excluded(Term::from_field_i64(f.received, v)),
            };
            must.push((
                Occur::Must,
                Box::new(ConstScoreQuery::new(
                    Box::new(RangeQuery::new(
                        bound(q.from_ms, true),
                        bound(q.until_ms, false),
                    )),
                    0.0,
                )),
            ));
        }
        let query = BooleanQuery::new(must);
        let searcher = self.reader.searcher();
        let top = TopDocs::with_limit(q.limit.max(1))
            .and_offset(q.offset)
            .order_by_score();
        let (total, top) = searcher.search(&query, &(Count, top))?;
        let mut ids = Vec::with_capacity(top.len());
        for (_, addr) in top {
            let doc: TantivyDocument = searcher.doc(addr)?;
            if let Some(id) = doc.get_first(f.id).and_then(|v| v.as_str()) {
                ids.push(id.to_string());
            }
        }
        if q.limit == 0 {
            ids.clear();
        }
        Ok(Found { total, ids })
    }
}

fn payload(index: &Index) -> Option<Payload> {
    let metas = index.load_metas().ok()?;
    serde_json::from_str(metas.payload.as_deref()?).ok()
}

/// Removes an unreadable index's files (only the files tantivy writes there).
fn clear_dir(dir: &Path) -> Result<(), SearchError> {
    let entries = std::fs::read_dir(dir).map_err(|e| SearchError::Directory(e.to_string()))?;
    for e in entries.flatten() {
        let p = e.path();
        if p.is_file() {
            std::fs::remove_file(&p).map_err(|e| SearchError::Directory(e.to_string()))?;
        }
    }
    Ok(())
}
