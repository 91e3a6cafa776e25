//! Chinese full-text search over cases: tantivy with two cuttings of the text (jieba words for
//! ranking, character pairs for recall), scoped like every other read, and kept as a derived
//! copy of the store that any node can rebuild.

mod index;
mod snippet;
pub mod tokens;

pub use index::{
    CaseDoc, CaseIndex, Found, MAX_QUERY_WORDS, Position, Scope, SearchError, SearchQuery,
};
pub use snippet::snippet;
pub use tokens::dictionary;
