//! Searching one corp's index: the query language and filters become one tantivy query, hits
//! are ranked (BM25 with recency as the tie-break, or newest first), read back from the archive
//! (so they show what the archive holds now), named and given a highlighted snippet.

use std::collections::{BTreeSet, HashMap, HashSet};
use std::ops::Bound;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use tantivy::collector::{Count, DocSetCollector, TopDocs};
use tantivy::query::{
    AllQuery, BooleanQuery, ConstScoreQuery, EmptyQuery, Occur, PhraseQuery, Query, RangeQuery,
    TermQuery, TermSetQuery,
};
use tantivy::schema::{Field, IndexRecordOption, Value};
use tantivy::{DocAddress, IndexReader, ReloadPolicy, Score, SegmentReader, TantivyDocument, Term};
use wecom_store::names::DisplaySource;
use wecom_store::{ArchiveReader, StoredMessage};
use wecom_views::MessageView;

use crate::error::SearchError;
use crate::index::SearchIndex;
use crate::normalize::{Folded, fold, normalize};
use crate::query::{self, ParsedQuery};

/// The most hits one page returns.
pub const MAX_LIMIT: usize = 1000;
/// How long the names a query term is matched against are kept before being read again.
const NAMES_TTL: Duration = Duration::from_secs(30);
/// Characters of context a snippet shows before the first hit, and its whole length.
const SNIPPET_BEFORE: usize = 20;
const SNIPPET_CHARS: usize = 120;

/// Filters beside the query string (API parameters, CLI options); all must hold.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Filters {
    /// The conversation key.
    pub conversation: Option<String>,
    /// The sender or a receiver.
    pub participant: Option<String>,
    pub from: Option<String>,
    pub room: Option<String>,
    /// External (`_external` msgids) or internal only.
    pub external: Option<bool>,
    /// Any of these message types.
    pub msgtypes: Vec<String>,
    pub has_media: Option<bool>,
    pub recalled: Option<bool>,
    /// msgtime ≥ this (Unix ms).
    pub since_ms: Option<i64>,
    /// msgtime < this (Unix ms).
    pub until_ms: Option<i64>,
    /// Only messages with at least one of these participants (a reviewer's scope); `None` means
    /// no such restriction, an empty list matches nothing.
    pub within: Option<Vec<String>>,
    /// Only messages of these conversations (the conversations a reviewer may see); `None` means
    /// no such restriction, an empty list matches nothing.
    pub conversations: Option<Vec<String>>,
}

impl Filters {
    fn is_empty(&self) -> bool {
        *self == Filters::default()
    }
}

/// The order of hits.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Sort {
    /// BM25, then newest first.
    #[default]
    Relevance,
    /// Newest first.
    Time,
}

/// One search.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SearchRequest {
    /// The query string ([`crate::query`]); may be empty when `filters` say something.
    pub query: String,
    pub filters: Filters,
    pub sort: Sort,
    /// Hits per page, 1 to [`MAX_LIMIT`] (clamped).
    pub limit: usize,
    /// The `next_cursor` of the previous page of the same search.
    pub cursor: Option<String>,
}

/// One page of hits.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SearchPage {
    pub hits: Vec<Hit>,
    /// Every hit of the search (as of its first page).
    pub total: u64,
    /// Where the next page starts; `None` on the last page.
    pub next_cursor: Option<String>,
}

/// One hit: the message as the archive holds it, where it was said, and why it matched.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Hit {
    #[serde(flatten)]
    pub message: MessageView,
    /// The room's name, or the participants' names for a conversation without a room.
    pub conversation_name: Option<String>,
    /// The message was recalled (it is kept and shown; `recalled_at` says when).
    pub recalled: bool,
    pub snippet: Snippet,
    /// BM25 (relevance order only).
    pub score: Option<f32>,
}

/// A window of the message's text with the matched substrings marked.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Snippet {
    pub text: String,
    /// Byte ranges `[start, end)` of `text` that matched a query term, in order, not overlapping.
    #[cfg_attr(feature = "openapi", schema(value_type = Vec<Vec<u64>>))]
    pub highlights: Vec<[usize; 2]>,
}

impl Snippet {
    /// The text with each highlight wrapped in `open` … `close`.
    pub fn marked(&self, open: &str, close: &str) -> String {
        let mut out = String::with_capacity(self.text.len() + 8 * self.highlights.len());
        let mut at = 0;
        for &[start, end] in &self.highlights {
            out.push_str(&self.text[at..start]);
            out.push_str(open);
            out.push_str(&self.text[start..end]);
            out.push_str(close);
            at = end;
        }
        out.push_str(&self.text[at..]);
        out
    }
}

/// Searches one corp's index. Cheap to share; blocking (run it on a blocking thread).
pub struct Searcher {
    index: SearchIndex,
    reader: IndexReader,
    archive: Arc<dyn ArchiveReader>,
    names: Mutex<Option<Names>>,
}

/// Folded display names of the corp's people and rooms, for matching query terms.
struct Names {
    read: Instant,
    matches: NameMatches,
}

impl Searcher {
    pub fn open(
        index: SearchIndex,
        archive: Arc<dyn ArchiveReader>,
    ) -> Result<Searcher, SearchError> {
        let reader = index
            .tantivy()
            .reader_builder()
            .reload_policy(ReloadPolicy::Manual)
            .try_into()
            .map_err(|e| index.error(e))?;
        Ok(Searcher {
            index,
            reader,
            archive,
            names: Mutex::new(None),
        })
    }

    pub fn index(&self) -> &SearchIndex {
        &self.index
    }

    /// One page of hits.
    pub fn search(&self, request: &SearchRequest) -> Result<SearchPage, SearchError> {
        let parsed = if request.query.trim().is_empty() && !request.filters.is_empty() {
            ParsedQuery::default()
        } else {
            query::parse(&request.query)?
        };
        for t in &request.filters.msgtypes {
            query::check_type(t)?;
        }
        let limit = request.limit.clamp(1, MAX_LIMIT);
        let fingerprint = fingerprint(request);
        let (as_of, offset) = match &request.cursor {
            Some(text) => Cursor::parse(text, request.sort, &fingerprint)?,
            None => (self.index.position()?, 0),
        };
        // What is committed now includes everything up to `as_of`.
        self.reader.reload().map_err(|e| self.index.error(e))?;
        let searcher = self.reader.searcher();
        let query = self.build(&parsed, &request.filters, as_of)?;
        let (collected, total): (Vec<(DocAddress, Option<Score>)>, usize) = match request.sort {
            Sort::Relevance => {
                let top = TopDocs::with_limit(limit).and_offset(offset).tweak_score(
                    |segment: &SegmentReader| {
                        let keys = SortKeys::of(segment);
                        move |doc, score: Score| (score, keys.msgtime(doc), keys.feed_pos(doc))
                    },
                );
                let (top, total) = searcher
                    .search(&query, &(top, Count))
                    .map_err(|e| self.index.error(e))?;
                let top = top
                    .into_iter()
                    .map(|((score, _, _), addr)| (addr, Some(score)))
                    .collect();
                (top, total)
            }
            Sort::Time => {
                let top = TopDocs::with_limit(limit).and_offset(offset).order_by(
                    |segment: &SegmentReader| {
                        let keys = SortKeys::of(segment);
                        move |doc| (keys.msgtime(doc), keys.feed_pos(doc))
                    },
                );
                let (top, total) = searcher
                    .search(&query, &(top, Count))
                    .map_err(|e| self.index.error(e))?;
                (
                    top.into_iter().map(|(_, addr)| (addr, None)).collect(),
                    total,
                )
            }
        };
        let total = total as u64;
        // The page's place counts every hit the index gave, so a hit the archive no longer has
        // never shifts the next page or ends the search early.
        let page_hits = collected.len();
        let mut found = Vec::with_capacity(collected.len());
        for (addr, score) in collected {
            let doc: TantivyDocument = searcher.doc(addr).map_err(|e| self.index.error(e))?;
            let Some(msgid) = doc
                .get_first(self.index.fields().msgid)
                .and_then(|v| v.as_str())
            else {
                continue;
            };
            // A message the index knows but the archive does not is left out (it cannot happen
            // unless the archive was replaced under the index; a rebuild fixes that).
            if let Some(m) = self.archive.message(self.index.corp_id(), msgid)? {
                found.push((m, score));
            }
        }
        let shown = offset + page_hits;
        let next_cursor = (page_hits == limit && (shown as u64) < total)
            .then(|| Cursor::render(request.sort, as_of, shown, &fingerprint));
        let terms: Vec<Vec<char>> = parsed.include.iter().map(|t| folded(t)).collect();
        Ok(SearchPage {
            hits: self.hits(found, &terms)?,
            total,
            next_cursor,
        })
    }

    /// The msgid of every hit of `query` with `filters`, unordered and unpaged (checks, exports).
    pub fn matching_msgids(
        &self,
        query: &str,
        filters: &Filters,
    ) -> Result<Vec<String>, SearchError> {
        let (searcher, docs) = self.matching(query, filters)?;
        let mut out = Vec::with_capacity(docs.len());
        for addr in docs {
            let doc: TantivyDocument = searcher.doc(addr).map_err(|e| self.index.error(e))?;
            if let Some(msgid) = doc
                .get_first(self.index.fields().msgid)
                .and_then(|v| v.as_str())
            {
                out.push(msgid.to_owned());
            }
        }
        Ok(out)
    }

    /// The change-feed position of every hit of `query` with `filters`, ascending, read from the
    /// index alone (no stored fields, no archive): for checking the index against a scan.
    pub fn matching_positions(
        &self,
        query: &str,
        filters: &Filters,
    ) -> Result<Vec<u64>, SearchError> {
        let (searcher, docs) = self.matching(query, filters)?;
        let keys: Vec<SortKeys> = searcher
            .segment_readers()
            .iter()
            .map(SortKeys::of)
            .collect();
        let mut out: Vec<u64> = docs
            .into_iter()
            .filter_map(|a| {
                keys.get(a.segment_ord as usize)
                    .map(|k| k.feed_pos(a.doc_id))
            })
            .collect();
        out.sort_unstable();
        Ok(out)
    }

    /// Every hit of `query` with `filters` in the latest commit, with the snapshot they are of.
    fn matching(
        &self,
        query: &str,
        filters: &Filters,
    ) -> Result<(tantivy::Searcher, HashSet<DocAddress>), SearchError> {
        let parsed = if query.trim().is_empty() && !filters.is_empty() {
            ParsedQuery::default()
        } else {
            query::parse(query)?
        };
        self.reader.reload().map_err(|e| self.index.error(e))?;
        let searcher = self.reader.searcher();
        let query = self.build(&parsed, filters, u64::MAX)?;
        let docs = searcher
            .search(&query, &DocSetCollector)
            .map_err(|e| self.index.error(e))?;
        Ok((searcher, docs))
    }

    fn build(
        &self,
        parsed: &ParsedQuery,
        filters: &Filters,
        as_of: u64,
    ) -> Result<BooleanQuery, SearchError> {
        let f = *self.index.fields();
        let mut clauses: Vec<(Occur, Box<dyn Query>)> = Vec::new();
        let mut filter =
            |q: Box<dyn Query>| clauses.push((Occur::Must, Box::new(ConstScoreQuery::new(q, 0.0))));
        filter(Box::new(RangeQuery::new(
            Bound::Unbounded,
            Bound::Included(Term::from_field_u64(f.feed_pos, as_of)),
        )));
        let text_term = |field: Field, v: &str| -> Box<dyn Query> {
            Box::new(TermQuery::new(
                Term::from_field_text(field, v),
                IndexRecordOption::Basic,
            ))
        };
        let any_of = |field: Field, values: &[String]| -> Box<dyn Query> {
            Box::new(TermSetQuery::new(
                values.iter().map(|v| Term::from_field_text(field, v)),
            ))
        };
        let flag = |field: Field, v: bool| -> Box<dyn Query> {
            Box::new(TermQuery::new(
                Term::from_field_u64(field, u64::from(v)),
                IndexRecordOption::Basic,
            ))
        };
        if let Some(c) = &filters.conversation {
            filter(text_term(f.conversation, c));
        }
        if let Some(p) = &filters.participant {
            filter(text_term(f.participant, p));
        }
        if let Some(s) = &filters.from {
            filter(text_term(f.from, s));
        }
        if let Some(r) = &filters.room {
            filter(text_term(f.roomid, r));
        }
        if !parsed.from.is_empty() {
            filter(any_of(f.from, &parsed.from));
        }
        if !parsed.room.is_empty() {
            filter(any_of(f.roomid, &parsed.room));
        }
        if !filters.msgtypes.is_empty() {
            filter(any_of(f.msgtype, &filters.msgtypes));
        }
        if !parsed.types.is_empty() {
            filter(any_of(f.msgtype, &parsed.types));
        }
        if let Some(v) = filters.external {
            filter(flag(f.external, v));
        }
        if let Some(v) = filters.has_media {
            filter(flag(f.has_media, v));
        }
        if let Some(v) = filters.recalled {
            filter(flag(f.recalled, v));
        }
        if let Some(within) = &filters.within {
            if within.is_empty() {
                filter(Box::new(EmptyQuery));
            } else {
                filter(any_of(f.participant, within));
            }
        }
        if let Some(conversations) = &filters.conversations {
            if conversations.is_empty() {
                filter(Box::new(EmptyQuery));
            } else {
                filter(any_of(f.conversation, conversations));
            }
        }
        let since = [filters.since_ms, parsed.after_ms]
            .into_iter()
            .flatten()
            .max();
        let until = [filters.until_ms, parsed.before_ms]
            .into_iter()
            .flatten()
            .min();
        if since.is_some() || until.is_some() {
            let bound = |v: Option<i64>, inclusive: bool| match v {
                None => Bound::Unbounded,
                Some(v) if inclusive => Bound::Included(Term::from_field_i64(f.msgtime, v)),
                Some(v) => Bound::Excluded(Term::from_field_i64(f.msgtime, v)),
            };
            filter(Box::new(RangeQuery::new(
                bound(since, true),
                bound(until, false),
            )));
        }
        let names = if parsed.include.is_empty() && parsed.exclude.is_empty() {
            None
        } else {
            Some(self.names()?)
        };
        for term in &parsed.include {
            if let Some(q) = self.term_query(term, names.as_ref()) {
                clauses.push((Occur::Must, q));
            }
        }
        for term in &parsed.exclude {
            if let Some(q) = self.term_query(term, names.as_ref()) {
                clauses.push((Occur::MustNot, q));
            }
        }
        if parsed.include.is_empty() {
            clauses.push((Occur::Must, Box::new(AllQuery)));
        }
        Ok(BooleanQuery::new(clauses))
    }

    /// Messages whose text contains `term`, or whose sender's or room's name does.
    fn term_query(&self, term: &str, names: Option<&NameMatches>) -> Option<Box<dyn Query>> {
        let f = self.index.fields();
        let chars = folded(term);
        let text = substring_query(f.uni, f.bi, &chars)?;
        let Some(names) = names else {
            return Some(text);
        };
        let needle: String = chars.iter().collect();
        let people = names.matching_people(&needle);
        let rooms = names.matching_rooms(&needle);
        if people.is_empty() && rooms.is_empty() {
            return Some(text);
        }
        let mut should: Vec<(Occur, Box<dyn Query>)> = vec![(Occur::Should, text)];
        let set = |field: Field, ids: Vec<String>| -> Box<dyn Query> {
            Box::new(ConstScoreQuery::new(
                Box::new(TermSetQuery::new(
                    ids.into_iter().map(|id| Term::from_field_text(field, &id)),
                )),
                0.0,
            ))
        };
        if !people.is_empty() {
            should.push((Occur::Should, set(f.from, people)));
        }
        if !rooms.is_empty() {
            should.push((Occur::Should, set(f.roomid, rooms)));
        }
        Some(Box::new(BooleanQuery::new(should)))
    }

    fn names(&self) -> Result<NameMatches, SearchError> {
        let mut cache = self
            .names
            .lock()
            .map_err(|_| self.index.error("an earlier search panicked"))?;
        if let Some(n) = cache.as_ref().filter(|n| n.read.elapsed() < NAMES_TTL) {
            return Ok(n.matches.clone());
        }
        let corp = self.index.corp_id();
        const PAGE: usize = 10_000;
        let mut people = Vec::new();
        loop {
            let page = self.archive.people(corp, PAGE, people.len())?;
            let n = page.len();
            people.extend(
                page.into_iter()
                    .map(|p| (p.id, p.name.as_deref().map(normalize).unwrap_or_default())),
            );
            if n < PAGE {
                break;
            }
        }
        let mut rooms = Vec::new();
        loop {
            let page = self.archive.rooms(corp, PAGE, rooms.len())?;
            let n = page.len();
            rooms.extend(page.into_iter().map(|r| {
                (
                    r.roomid,
                    r.name.as_deref().map(normalize).unwrap_or_default(),
                )
            }));
            if n < PAGE {
                break;
            }
        }
        people.retain(|(_, name)| !name.is_empty());
        rooms.retain(|(_, name)| !name.is_empty());
        let matches = NameMatches {
            people: Arc::from(people),
            rooms: Arc::from(rooms),
        };
        *cache = Some(Names {
            read: Instant::now(),
            matches: matches.clone(),
        });
        Ok(matches)
    }

    fn hits(
        &self,
        found: Vec<(StoredMessage, Option<Score>)>,
        terms: &[Vec<char>],
    ) -> Result<Vec<Hit>, SearchError> {
        let ids: Vec<String> = found
            .iter()
            .flat_map(|(m, _)| {
                std::iter::once(m.from.clone())
                    .chain(m.tolist.iter().cloned())
                    .chain(Some(m.roomid.clone()).filter(|r| !r.is_empty()))
            })
            .collect::<BTreeSet<_>>()
            .into_iter()
            .collect();
        let names: HashMap<String, (String, DisplaySource)> = self
            .archive
            .display_names(self.index.corp_id(), &ids, None)?
            .into_iter()
            .map(|d| (d.id, (d.text, d.source)))
            .collect();
        let shown = |id: &str| {
            names
                .get(id)
                .map(|(t, _)| t.clone())
                .unwrap_or_else(|| id.to_owned())
        };
        Ok(found
            .into_iter()
            .map(|(m, score)| {
                let conversation_name = if m.roomid.is_empty() {
                    let mut people: Vec<String> = std::iter::once(&m.from)
                        .chain(m.tolist.iter())
                        .map(|id| shown(id))
                        .collect();
                    people.dedup();
                    Some(people.join("、"))
                } else {
                    names
                        .get(&m.roomid)
                        .filter(|(_, source)| *source != DisplaySource::Id)
                        .map(|(t, _)| t.clone())
                };
                let from_name = Some(shown(&m.from));
                let snippet = snippet(&m.text, terms);
                let recalled = m.recalled_by.is_some();
                Hit {
                    message: MessageView::new(m, from_name),
                    conversation_name,
                    recalled,
                    snippet,
                    score,
                }
            })
            .collect())
    }
}

/// The corp's people and rooms by folded display name (shared by the searches of one cache
/// period, never copied per search).
#[derive(Clone)]
struct NameMatches {
    people: Arc<[(String, String)]>,
    rooms: Arc<[(String, String)]>,
}

impl NameMatches {
    fn matching_people(&self, needle: &str) -> Vec<String> {
        matching(&self.people, needle)
    }

    fn matching_rooms(&self, needle: &str) -> Vec<String> {
        matching(&self.rooms, needle)
    }
}

fn matching(names: &[(String, String)], needle: &str) -> Vec<String> {
    names
        .iter()
        .filter(|(_, name)| name.contains(needle))
        .map(|(id, _)| id.clone())
        .collect()
}

fn folded(term: &str) -> Vec<char> {
    let mut chars = Vec::with_capacity(term.len());
    fold(term, &mut chars, None);
    chars
}

/// Documents whose text contains `chars` as a substring: a unigram, a bigram, or a phrase of
/// bigrams at offsets 0, 2, 4, … and the last one (which together cover every character).
pub(crate) fn substring_query(uni: Field, bi: Field, chars: &[char]) -> Option<Box<dyn Query>> {
    let gram = |field: Field, at: usize, n: usize| {
        Term::from_field_text(field, &chars[at..at + n].iter().collect::<String>())
    };
    match chars.len() {
        0 => None,
        1 if chars[0] == ' ' => None,
        1 => Some(Box::new(TermQuery::new(
            gram(uni, 0, 1),
            IndexRecordOption::WithFreqs,
        ))),
        2 => Some(Box::new(TermQuery::new(
            gram(bi, 0, 2),
            IndexRecordOption::WithFreqs,
        ))),
        n => {
            let mut offsets: Vec<usize> = (0..=n - 2).step_by(2).collect();
            if offsets.last() != Some(&(n - 2)) {
                offsets.push(n - 2);
            }
            let terms = offsets
                .into_iter()
                .map(|at| (at, gram(bi, at, 2)))
                .collect();
            Some(Box::new(PhraseQuery::new_with_offset(terms)))
        }
    }
}

/// The sort keys of a segment's documents (fast fields).
struct SortKeys {
    msgtime: Option<tantivy::columnar::Column<i64>>,
    feed_pos: Option<tantivy::columnar::Column<u64>>,
}

impl SortKeys {
    fn of(segment: &SegmentReader) -> SortKeys {
        let fast = segment.fast_fields();
        SortKeys {
            msgtime: fast.i64("msgtime").ok(),
            feed_pos: fast.u64("feed_pos").ok(),
        }
    }

    fn msgtime(&self, doc: tantivy::DocId) -> i64 {
        self.msgtime
            .as_ref()
            .and_then(|c| c.first(doc))
            .unwrap_or(i64::MIN)
    }

    fn feed_pos(&self, doc: tantivy::DocId) -> u64 {
        self.feed_pos
            .as_ref()
            .and_then(|c| c.first(doc))
            .unwrap_or(0)
    }
}

/// A page cursor: the sort, the feed position the search was answered as of (later messages
/// never enter its pages), how many hits came before, and a fingerprint of the request (a
/// cursor of another search is refused).
struct Cursor;

impl Cursor {
    fn render(sort: Sort, as_of: u64, offset: usize, fingerprint: &str) -> String {
        let s = match sort {
            Sort::Relevance => 'r',
            Sort::Time => 't',
        };
        format!("{s}{as_of}-{offset}-{fingerprint}")
    }

    fn parse(text: &str, sort: Sort, fingerprint: &str) -> Result<(u64, usize), SearchError> {
        let expected = match sort {
            Sort::Relevance => "r",
            Sort::Time => "t",
        };
        let rest = text
            .strip_prefix(expected)
            .ok_or(SearchError::InvalidCursor)?;
        let mut parts = rest.splitn(3, '-');
        let as_of = parts.next().and_then(|p| p.parse().ok());
        let offset = parts.next().and_then(|p| p.parse().ok());
        match (as_of, offset, parts.next()) {
            (Some(as_of), Some(offset), Some(f)) if f == fingerprint => Ok((as_of, offset)),
            _ => Err(SearchError::InvalidCursor),
        }
    }
}

/// What identifies a search apart from its page: the query, the filters, the order, the limit.
fn fingerprint(request: &SearchRequest) -> String {
    let mut h = Sha256::new();
    h.update(format!(
        "{:?}\u{0}{:?}\u{0}{:?}\u{0}{}",
        request.query, request.filters, request.sort, request.limit
    ));
    let digest = h.finalize();
    digest[..8].iter().map(|b| format!("{b:02x}")).collect()
}

/// A window of `text` around the first match of any term, matches highlighted. Whitespace
/// becomes spaces (a snippet is one line).
pub(crate) fn snippet(text: &str, terms: &[Vec<char>]) -> Snippet {
    let f = Folded::new(text);
    // Matches as byte ranges of `text`.
    let mut ranges: Vec<(usize, usize)> = Vec::new();
    for term in terms.iter().filter(|t| !t.is_empty()) {
        let n = term.len();
        let mut i = 0;
        while i + n <= f.chars.len() {
            if f.chars[i..i + n] == term[..] {
                let start = f.origin[i];
                let last = f.origin[i + n - 1];
                let end = last + text[last..].chars().next().map_or(0, char::len_utf8);
                ranges.push((start, end));
            }
            i += 1;
        }
    }
    ranges.sort_unstable();
    let mut merged: Vec<(usize, usize)> = Vec::new();
    for (s, e) in ranges {
        match merged.last_mut() {
            Some(last) if s <= last.1 => last.1 = last.1.max(e),
            _ => merged.push((s, e)),
        }
    }
    let anchor = merged.first().map_or(0, |r| r.0);
    // The window: up to SNIPPET_BEFORE characters before the first match, SNIPPET_CHARS in all.
    let start = text[..anchor]
        .char_indices()
        .rev()
        .nth(SNIPPET_BEFORE - 1)
        .map_or(0, |(i, _)| i);
    let end = text[start..]
        .char_indices()
        .nth(SNIPPET_CHARS)
        .map_or(text.len(), |(i, _)| start + i);
    let prefix = if start > 0 { "…" } else { "" };
    let suffix = if end < text.len() { "…" } else { "" };
    let body: String = text[start..end]
        .chars()
        .map(|c| {
            if c.is_whitespace() && c.len_utf8() == 1 {
                ' '
            } else {
                c
            }
        })
        .collect();
    let highlights = merged
        .into_iter()
        .filter(|&(s, e)| s >= start && e <= end)
        .map(|(s, e)| [s - start + prefix.len(), e - start + prefix.len()])
        .collect();
    Snippet {
        text: format!("{prefix}{body}{suffix}"),
        highlights,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn chars(s: &str) -> Vec<char> {
        s.chars().collect()
    }

    #[test]
    fn a_snippet_marks_every_match_and_keeps_the_original_text() {
        let s = snippet(
            "请问ＡＢＣ退款了吗？abc 退款",
            &[chars("abc"), chars("退款")],
        );
        assert_eq!(s.marked("[", "]"), "请问[ＡＢＣ退款]了吗？[abc] [退款]");
    }

    #[test]
    fn a_long_text_is_cut_around_the_first_match() {
        let text = format!("{}保本{}", "前".repeat(300), "后".repeat(300));
        let s = snippet(&text, &[chars("保本")]);
        assert!(s.text.starts_with('…') && s.text.ends_with('…'));
        assert_eq!(s.text.chars().count(), SNIPPET_CHARS + 2);
        assert_eq!(s.marked("[", "]").matches("[保本]").count(), 1);
        assert!(
            s.marked("[", "]")
                .starts_with(&format!("…{}[保本]", "前".repeat(SNIPPET_BEFORE)))
        );
    }

    #[test]
    fn line_breaks_become_spaces_in_a_snippet() {
        let s = snippet("第一行\n第二行", &[chars("二")]);
        assert_eq!(s.marked("[", "]"), "第一行 第[二]行");
    }

    #[test]
    fn cursors_are_bound_to_their_search() {
        let c = Cursor::render(Sort::Time, 42, 50, "abcd");
        assert_eq!(Cursor::parse(&c, Sort::Time, "abcd").ok(), Some((42, 50)));
        for (text, sort, fp) in [
            (c.as_str(), Sort::Relevance, "abcd"),
            (c.as_str(), Sort::Time, "other"),
            ("t42-x-abcd", Sort::Time, "abcd"),
            ("", Sort::Time, "abcd"),
            ("t-1-50-abcd", Sort::Time, "abcd"),
        ] {
            assert!(
                matches!(
                    Cursor::parse(text, sort, fp),
                    Err(SearchError::InvalidCursor)
                ),
                "{text}"
            );
        }
    }
}
