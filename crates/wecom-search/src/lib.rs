//! Exact full-text search over the archive.
//!
//! - [`normalize`]: the one folding of text and queries (case, full-width, whitespace);
//! - a tantivy index per corp whose text is tokenized into character unigrams and bigrams at their
//!   character positions, so any substring is a term or a phrase lookup — zero false negatives
//!   against a scan, no scan;
//! - [`Indexer`]: the follower of the change feed that keeps the index current, its feed position
//!   committed atomically with its documents;
//! - [`Searcher`]: the query language ([`query`]), filters, BM25 or time order, snippets and
//!   stable page cursors, over a [`SearchIndex`] and the archive it indexes.

mod error;
mod index;
mod indexer;
pub mod normalize;
pub mod query;
mod schema;
mod searcher;
mod tokenizer;

pub use error::SearchError;
pub use index::{IndexStatus, SearchIndex, corp_index_dir};
pub use indexer::{FOLLOWER, IndexProgress, IndexReport, Indexer, IndexerOptions};
pub use searcher::{Filters, Hit, MAX_LIMIT, SearchPage, SearchRequest, Searcher, Snippet, Sort};
