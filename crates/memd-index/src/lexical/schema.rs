//! The tantivy schema, the English analyzer, and [`LexDoc`]: a memory prepared for indexing
//! (its analyzed terms are kept so the in-memory tail can be scored without tantivy).

use std::collections::HashMap;

use memd_store::{Memory, TenantId};
use tantivy::schema::{
    Field, IndexRecordOption, NumericOptions, Schema, TextFieldIndexing, TextOptions, FAST, STRING,
};
use tantivy::tokenizer::{
    Language, LowerCaser, RemoveLongFilter, SimpleTokenizer, Stemmer, StopWordFilter, TextAnalyzer,
};
use tantivy::{TantivyDocument, Term};
use uuid::Uuid;

use crate::time::DocTimes;

/// Name the analyzer is registered under in the index's tokenizer manager.
pub(crate) const ANALYZER: &str = "memd_en";

/// Tokens longer than this many bytes are dropped (they are noise: hashes, base64, URLs).
const MAX_TOKEN_BYTES: usize = 40;

/// Handles of every schema field.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Fields {
    /// The memory id as text.
    pub id: Field,
    /// The memory id's high and low 64 bits as fast columns, read back for hits: a numeric
    /// column answers in nanoseconds where the text column's dictionary costs tens of
    /// microseconds per hit.
    pub id_hi: Field,
    pub id_lo: Field,
    /// `tenant/id`: the unique key deletes and replacements go by.
    pub key: Field,
    pub tenant: Field,
    pub user: Field,
    pub agent: Field,
    pub session: Field,
    /// Raw tags, for tag filters.
    pub tags: Field,
    /// Content and tags, analyzed; what BM25 scores.
    pub text: Field,
    /// The same tokens as `text`, each prefixed with the memory's tenant and user
    /// ([`scoped_term`]). A search for one user's memories (the common case) reads only that
    /// user's postings here instead of every user's in `text`, and with no other filter it is a
    /// pure term union that tantivy answers with block-max WAND. Scored with `text`'s statistics,
    /// so its scores equal `text`'s.
    pub utext: Field,
    /// `event_time` falling back to `created_at`, nanoseconds.
    pub event_time: Field,
    pub created_at: Field,
}

/// The schema every memd lexical index has.
pub(crate) fn schema() -> (Schema, Fields) {
    let mut b = Schema::builder();
    let indexing =
        TextFieldIndexing::default().set_tokenizer(ANALYZER).set_index_option(IndexRecordOption::WithFreqs);
    // Pre-analyzed tokens, one per value; frequencies and field norms as for `text`.
    let scoped =
        TextFieldIndexing::default().set_tokenizer("raw").set_index_option(IndexRecordOption::WithFreqs);
    let time = NumericOptions::default().set_indexed().set_fast();
    let fields = Fields {
        id: b.add_text_field("id", STRING),
        id_hi: b.add_u64_field("id_hi", FAST),
        id_lo: b.add_u64_field("id_lo", FAST),
        key: b.add_text_field("key", STRING),
        tenant: b.add_text_field("tenant", STRING),
        user: b.add_text_field("user", STRING),
        agent: b.add_text_field("agent", STRING),
        session: b.add_text_field("session", STRING),
        tags: b.add_text_field("tags", STRING),
        text: b.add_text_field("text", TextOptions::default().set_indexing_options(indexing)),
        utext: b.add_text_field("utext", TextOptions::default().set_indexing_options(scoped)),
        event_time: b.add_i64_field("event_time", time.clone()),
        created_at: b.add_i64_field("created_at", time),
    };
    (b.build(), fields)
}

/// Letters and digits split on everything else, lower-cased, English-stemmed.
pub(crate) fn analyzer() -> TextAnalyzer {
    TextAnalyzer::builder(SimpleTokenizer::default())
        .filter(RemoveLongFilter::limit(MAX_TOKEN_BYTES))
        .filter(LowerCaser)
        .filter(Stemmer::new(Language::English))
        .build()
}

/// Runs `analyzer` over `text`, calling `f` with each token.
pub(crate) fn for_each_token(analyzer: &mut TextAnalyzer, text: &str, mut f: impl FnMut(&str)) {
    let mut stream = analyzer.token_stream(text);
    while let Some(tok) = stream.next() {
        f(&tok.text);
    }
}

/// Words a query is made of but that say nothing about which memory it wants: articles,
/// auxiliaries, question words, pronouns. Dropped from queries only (documents keep them, so
/// lengths and phrase positions are untouched), and only when the query has other words.
/// Lower-case, unstemmed.
const QUERY_STOP_WORDS: &[&str] = &[
    "a", "about", "am", "an", "and", "are", "as", "at", "be", "been", "but", "by", "can", "could", "did",
    "do", "does", "for", "from", "had", "has", "have", "he", "her", "him", "his", "how", "i", "if", "in",
    "into", "is", "it", "its", "me", "my", "of", "on", "or", "our", "she", "should", "so", "such", "that",
    "the", "their", "them", "then", "there", "these", "they", "this", "those", "to", "was", "we", "were",
    "what", "when", "where", "which", "who", "whom", "why", "will", "with", "would", "you", "your",
];

/// The query analyzer: [`analyzer`] with [`QUERY_STOP_WORDS`] removed before stemming.
pub(crate) fn query_analyzer() -> TextAnalyzer {
    TextAnalyzer::builder(SimpleTokenizer::default())
        .filter(RemoveLongFilter::limit(MAX_TOKEN_BYTES))
        .filter(LowerCaser)
        .filter(StopWordFilter::remove(QUERY_STOP_WORDS.iter().map(|w| (*w).to_owned())))
        .filter(Stemmer::new(Language::English))
        .build()
}

/// The distinct tokens of `text` that carry meaning (by `query`, a [`query_analyzer`]), in
/// first-seen order; all its tokens (by `full`, the document [`analyzer`]) when every one is a
/// stop word ("who is he?" still finds something).
pub(crate) fn query_tokens(query: &mut TextAnalyzer, full: &TextAnalyzer, text: &str) -> Vec<String> {
    let out = distinct_tokens(query, text);
    if out.is_empty() {
        distinct_tokens(&mut full.clone(), text)
    } else {
        out
    }
}

fn distinct_tokens(analyzer: &mut TextAnalyzer, text: &str) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for_each_token(analyzer, text, |t| {
        if !out.iter().any(|o| o == t) {
            out.push(t.to_owned());
        }
    });
    out
}

/// Separates tenant, user and token in a [`Fields::utext`] term (tenant and user ids never hold
/// control characters; validation refuses them).
const SCOPE_SEP: char = '\u{1f}';

/// The prefix of every [`Fields::utext`] term of `(tenant, user)`.
pub(crate) fn scope_prefix(tenant: &TenantId, user: &str) -> String {
    format!("{tenant}{SCOPE_SEP}{user}{SCOPE_SEP}")
}

/// The [`Fields::utext`] term text of `token` for `(tenant, user)`.
pub(crate) fn scoped_term(prefix: &str, token: &str) -> String {
    format!("{prefix}{token}")
}

/// The token of a [`Fields::utext`] term text (what follows the second separator).
pub(crate) fn unscoped(term: &str) -> &str {
    term.splitn(3, SCOPE_SEP).nth(2).unwrap_or(term)
}

/// The unique key of a memory in the index.
pub(crate) fn key_term(fields: &Fields, tenant: &TenantId, id: Uuid) -> Term {
    Term::from_field_text(fields.key, &format!("{tenant}/{id}"))
}

/// A memory prepared for indexing.
#[derive(Debug)]
pub(crate) struct LexDoc {
    pub memory: Memory,
    /// Term frequencies over content and tags, as the analyzer produces them.
    pub terms: HashMap<String, u32>,
    /// Number of tokens (what tantivy records as the field norm).
    pub len: u32,
}

impl LexDoc {
    pub fn new(memory: Memory, analyzer: &mut TextAnalyzer) -> Self {
        let mut terms: HashMap<String, u32> = HashMap::new();
        let mut len = 0u32;
        let mut count = |t: &str| {
            len = len.saturating_add(1);
            *terms.entry(t.to_owned()).or_default() += 1;
        };
        for_each_token(analyzer, &memory.content, &mut count);
        for tag in &memory.tags {
            for_each_token(analyzer, tag, &mut count);
        }
        Self { memory, terms, len }
    }

    pub fn to_document(&self, f: &Fields) -> TantivyDocument {
        let m = &self.memory;
        let mut d = TantivyDocument::new();
        d.add_text(f.id, m.id.to_string());
        let (hi, lo) = m.id.as_u64_pair();
        d.add_u64(f.id_hi, hi);
        d.add_u64(f.id_lo, lo);
        d.add_text(f.key, format!("{}/{}", m.tenant, m.id));
        d.add_text(f.tenant, m.tenant.as_str());
        d.add_text(f.user, &m.user_id);
        if let Some(a) = &m.agent_id {
            d.add_text(f.agent, a);
        }
        if let Some(s) = &m.session_id {
            d.add_text(f.session, s);
        }
        d.add_text(f.text, &m.content);
        for tag in &m.tags {
            d.add_text(f.tags, tag);
            d.add_text(f.text, tag);
        }
        let prefix = scope_prefix(&m.tenant, &m.user_id);
        for (token, &tf) in &self.terms {
            let term = scoped_term(&prefix, token);
            for _ in 0..tf {
                d.add_text(f.utext, &term);
            }
        }
        let times = DocTimes::of(m);
        d.add_i64(f.event_time, times.event);
        d.add_i64(f.created_at, times.created);
        d
    }
}
