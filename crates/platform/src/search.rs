//! The search-index port and its embedded adapter.
//!
//! A [`SearchIndex`] holds collections of documents, each an id with weighted text fields
//! (the first field is the title) and keywords (exact values used for filters, facet counts
//! and display). A query is free text typed by a citizen: it is normalised exactly like the
//! indexed text — NFC, lowercase, Vietnamese diacritics folded (`đ` → `d`) — and cut into
//! tokens; each token matches a term exactly, with `i`/`y` read alike (`ki` = `ky`), as a
//! prefix when it is the last token (the user is still typing), or with typos: edit distance
//! ≤ 1 against terms of ≥ 4 characters, ≤ 2 against terms of ≥ 8. Documents rank by how many
//! query tokens they match, then by a score that weighs each match by its field, and rewards
//! query tokens found next to each other in the title, early in it, and covering most of it.
//!
//! `search.backend = "embedded"` (the only backend today) keeps the index in memory inside
//! each process; a collection carries a `stamp` naming the data it was built from, so its
//! owner can check cheaply whether to rebuild it. Other engines plug in behind the trait.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::{Arc, RwLock};

use unicode_normalization::UnicodeNormalization;

use crate::config::SearchConfig;
use crate::{Error, Result};

/// One document to index.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct IndexDoc {
    pub id: String,
    /// (text, weight); the first field is the title.
    pub fields: Vec<(String, f64)>,
    /// (name, value) keywords: filterable, counted as facets and returned with each hit. A
    /// name may repeat (a procedure of two levels).
    pub keywords: Vec<(String, String)>,
}

/// A query: free text (empty = every document, in indexing order), exact keyword filters
/// (all must hold) and the keyword names to count.
#[derive(Debug, Clone, Default)]
pub struct SearchRequest {
    pub text: String,
    pub filters: Vec<(String, String)>,
    pub facets: Vec<String>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct SearchHit {
    pub id: String,
    /// 0 when the query has no text.
    pub score: f64,
    pub keywords: Vec<(String, String)>,
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct SearchResults {
    /// Best first.
    pub hits: Vec<SearchHit>,
    /// Per requested keyword name: (value, count) over the documents matching the text and
    /// every filter on the other names, so each facet shows what choosing a value would give.
    pub facets: BTreeMap<String, Vec<(String, usize)>>,
}

/// The port. Implementations are shared by every request (interior mutability).
#[async_trait::async_trait]
pub trait SearchIndex: Send + Sync + std::fmt::Debug {
    /// Replaces a whole collection atomically: searches see the old or the new one.
    async fn replace(&self, collection: &str, stamp: &str, docs: Vec<IndexDoc>) -> Result<()>;
    /// The stamp the collection was last built with (`None` before the first build).
    async fn stamp(&self, collection: &str) -> Result<Option<String>>;
    async fn search(&self, collection: &str, request: &SearchRequest) -> Result<SearchResults>;
}

/// The adapter chosen by `search.backend`.
pub fn from_config(config: &SearchConfig) -> Result<Arc<dyn SearchIndex>> {
    match config.backend.as_str() {
        "embedded" => Ok(Arc::new(EmbeddedIndex::default())),
        other => Err(Error::Config(format!(
            "`search.backend` must be `embedded` (got `{other}`)"
        ))),
    }
}

/// NFC, lowercase, Vietnamese diacritics folded (`Đăng ký` → `dang ky`).
pub fn normalize(text: &str) -> String {
    let lower: String = text.nfc().collect::<String>().to_lowercase();
    lower
        .nfd()
        .filter(|c| !unicode_normalization::char::is_combining_mark(*c))
        .map(|c| if c == 'đ' { 'd' } else { c })
        .collect()
}

/// The normalised tokens of `text` (letters and digits; anything else separates).
pub fn tokens(text: &str) -> Vec<String> {
    normalize(text)
        .split(|c: char| !c.is_alphanumeric())
        .filter(|t| !t.is_empty())
        .map(str::to_owned)
        .collect()
}

/// Vietnamese writes `i` and `y` interchangeably in many words (kỹ/kĩ, lý/lí).
fn fold_iy(token: &str) -> String {
    token.replace('y', "i")
}

/// Optimal-string-alignment distance (a swap of two neighbours costs 1), or `None` when it
/// is above `max` (computation stops early).
fn edit_distance(a: &[char], b: &[char], max: usize) -> Option<usize> {
    if a.len().abs_diff(b.len()) > max {
        return None;
    }
    let width = b.len() + 1;
    let mut prev2: Vec<usize> = vec![0; width];
    let mut prev: Vec<usize> = (0..width).collect();
    let mut cur: Vec<usize> = vec![0; width];
    for i in 1..=a.len() {
        cur[0] = i;
        let mut row_min = cur[0];
        for j in 1..=b.len() {
            let cost = usize::from(a[i - 1] != b[j - 1]);
            let mut v = (prev[j] + 1).min(cur[j - 1] + 1).min(prev[j - 1] + cost);
            if i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] {
                v = v.min(prev2[j - 2] + 1);
            }
            cur[j] = v;
            row_min = row_min.min(v);
        }
        if row_min > max {
            return None;
        }
        std::mem::swap(&mut prev2, &mut prev);
        std::mem::swap(&mut prev, &mut cur);
    }
    let d = prev[b.len()];
    (d <= max).then_some(d)
}

/// How well query token `q` matches term `term` (0 = not at all, 1 = exactly).
fn match_quality(q: &str, term: &str, last: bool) -> f64 {
    if q == term {
        return 1.0;
    }
    if fold_iy(q) == fold_iy(term) {
        return 0.9;
    }
    if last && term.starts_with(q) {
        return 0.7;
    }
    let term_len = term.chars().count();
    let max = match term_len {
        0..=3 => return 0.0,
        4..=7 => 1,
        _ => 2,
    };
    if q.chars().count() < 3 {
        return 0.0;
    }
    let (qa, ta): (Vec<char>, Vec<char>) = (
        fold_iy(q).chars().collect(),
        fold_iy(term).chars().collect(),
    );
    match edit_distance(&qa, &ta, max) {
        Some(0) => 0.9,
        Some(1) => 0.6,
        Some(_) => 0.45,
        None => 0.0,
    }
}

#[derive(Debug, Default)]
struct Prepared {
    id: String,
    /// Tokens of each field, with the field's weight.
    fields: Vec<(Vec<String>, f64)>,
    keywords: Vec<(String, String)>,
}

#[derive(Debug, Default)]
struct Collection {
    stamp: String,
    docs: Vec<Prepared>,
    /// Every distinct term, for matching query tokens once per term.
    terms: Vec<String>,
}

impl Collection {
    fn build(stamp: &str, docs: Vec<IndexDoc>) -> Self {
        let mut seen = HashSet::new();
        let mut terms = Vec::new();
        let docs = docs
            .into_iter()
            .map(|d| {
                let fields = d
                    .fields
                    .iter()
                    .map(|(text, weight)| (tokens(text), *weight))
                    .collect::<Vec<_>>();
                for (toks, _) in &fields {
                    for t in toks {
                        if seen.insert(t.clone()) {
                            terms.push(t.clone());
                        }
                    }
                }
                Prepared {
                    id: d.id,
                    fields,
                    keywords: d.keywords,
                }
            })
            .collect();
        Self {
            stamp: stamp.to_owned(),
            docs,
            terms,
        }
    }

    /// (matched query tokens, score) of one document, `None` when nothing matches.
    fn score(&self, doc: &Prepared, per_token: &[HashMap<&str, f64>]) -> Option<(usize, f64)> {
        let mut matched = 0;
        let mut score = 0.0;
        for quality in per_token {
            let best = doc
                .fields
                .iter()
                .map(|(toks, weight)| {
                    toks.iter()
                        .map(|t| quality.get(t.as_str()).copied().unwrap_or(0.0))
                        .fold(0.0, f64::max)
                        * weight
                })
                .fold(0.0, f64::max);
            if best > 0.0 {
                matched += 1;
                score += best;
            }
        }
        if matched == 0 {
            return None;
        }
        if let Some((title, _)) = doc.fields.first() {
            let at = |i: usize, pos: usize| {
                title
                    .get(pos)
                    .and_then(|t| per_token[i].get(t.as_str()))
                    .is_some()
            };
            // Neighbouring query tokens found next to each other, in order, in the title.
            for i in 0..per_token.len().saturating_sub(1) {
                if (0..title.len()).any(|pos| at(i, pos) && at(i + 1, pos + 1)) {
                    score += 1.0;
                }
            }
            // The earlier the query starts in the title, the better ("giấy phép" in "Cấp giấy
            // phép …" before "Gia hạn giấy phép …").
            if let Some(first) = (0..title.len()).find(|pos| at(0, *pos)) {
                score += 0.5 / (1.0 + first as f64);
            }
            // How much of the title the query covers: the plain procedure before its variants.
            let distinct: HashSet<&str> = title.iter().map(String::as_str).collect();
            let covered = distinct
                .iter()
                .filter(|t| per_token.iter().any(|q| q.contains_key(*t)))
                .count();
            if !distinct.is_empty() {
                score += covered as f64 / distinct.len() as f64;
            }
        }
        Some((matched, score))
    }

    fn search(&self, request: &SearchRequest) -> SearchResults {
        let query = tokens(&request.text);
        let per_token: Vec<HashMap<&str, f64>> = query
            .iter()
            .enumerate()
            .map(|(i, q)| {
                let last = i + 1 == query.len();
                self.terms
                    .iter()
                    .filter_map(|term| {
                        let quality = match_quality(q, term, last);
                        (quality > 0.0).then_some((term.as_str(), quality))
                    })
                    .collect()
            })
            .collect();
        let mut scored: Vec<(usize, usize, f64)> = Vec::new();
        for (index, doc) in self.docs.iter().enumerate() {
            if query.is_empty() {
                scored.push((index, 0, 0.0));
            } else if let Some((matched, score)) = self.score(doc, &per_token) {
                scored.push((index, matched, score));
            }
        }
        // A document must match at least half of the query's tokens, and (for three tokens
        // or more) all but one of what the best document matches: a long query is not
        // drowned in documents sharing one common word with it.
        let best = scored.iter().map(|s| s.1).max().unwrap_or(0);
        let slack = usize::from(query.len() >= 3);
        let needed = query.len().div_ceil(2).max(best.saturating_sub(slack));
        scored.retain(|s| query.is_empty() || s.1 >= needed);
        scored.sort_by(|a, b| b.1.cmp(&a.1).then(b.2.total_cmp(&a.2)).then(a.0.cmp(&b.0)));
        let holds = |doc: &Prepared, skip: Option<&str>| {
            request
                .filters
                .iter()
                .filter(|(name, _)| Some(name.as_str()) != skip)
                .all(|(name, value)| doc.keywords.iter().any(|(n, v)| n == name && v == value))
        };
        let mut facets = BTreeMap::new();
        for name in &request.facets {
            let mut counts: Vec<(String, usize)> = Vec::new();
            for (index, _, _) in &scored {
                let doc = &self.docs[*index];
                if !holds(doc, Some(name)) {
                    continue;
                }
                let values: HashSet<&str> = doc
                    .keywords
                    .iter()
                    .filter(|(n, _)| n == name)
                    .map(|(_, v)| v.as_str())
                    .collect();
                for value in values {
                    match counts.iter_mut().find(|(v, _)| v == value) {
                        Some((_, n)) => *n += 1,
                        None => counts.push((value.to_owned(), 1)),
                    }
                }
            }
            facets.insert(name.clone(), counts);
        }
        let hits = scored
            .into_iter()
            .filter(|(index, _, _)| holds(&self.docs[*index], None))
            .map(|(index, _, score)| {
                let doc = &self.docs[index];
                SearchHit {
                    id: doc.id.clone(),
                    score,
                    keywords: doc.keywords.clone(),
                }
            })
            .collect();
        SearchResults { hits, facets }
    }
}

/// The in-memory adapter: one immutable [`Collection`] per name, swapped whole on rebuild.
#[derive(Debug, Default)]
pub struct EmbeddedIndex {
    collections: RwLock<HashMap<String, Arc<Collection>>>,
}

impl EmbeddedIndex {
    fn get(&self, collection: &str) -> Result<Option<Arc<Collection>>> {
        let map = self
            .collections
            .read()
            .map_err(|_| Error::Other("search index lock poisoned".into()))?;
        Ok(map.get(collection).cloned())
    }
}

#[async_trait::async_trait]
impl SearchIndex for EmbeddedIndex {
    async fn replace(&self, collection: &str, stamp: &str, docs: Vec<IndexDoc>) -> Result<()> {
        let built = Arc::new(Collection::build(stamp, docs));
        self.collections
            .write()
            .map_err(|_| Error::Other("search index lock poisoned".into()))?
            .insert(collection.to_owned(), built);
        Ok(())
    }

    async fn stamp(&self, collection: &str) -> Result<Option<String>> {
        Ok(self.get(collection)?.map(|c| c.stamp.clone()))
    }

    async fn search(&self, collection: &str, request: &SearchRequest) -> Result<SearchResults> {
        Ok(self
            .get(collection)?
            .map(|c| c.search(request))
            .unwrap_or_default())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalises_vietnamese() {
        assert_eq!(normalize("Đăng ký KHAI SINH"), "dang ky khai sinh");
        // Decomposed input (NFD, as some keyboards send it) folds the same way.
        assert_eq!(normalize("Gia\u{301}y phe\u{301}p"), "giay phep");
        assert_eq!(normalize("Hộ tịch, ĐẤT ĐAI"), "ho tich, dat dai");
        assert_eq!(
            tokens("Chứng thực bản sao; Mẫu CT01"),
            ["chung", "thuc", "ban", "sao", "mau", "ct01"]
        );
    }

    #[test]
    fn edit_distances() {
        let d = |a: &str, b: &str, max| {
            edit_distance(
                &a.chars().collect::<Vec<_>>(),
                &b.chars().collect::<Vec<_>>(),
                max,
            )
        };
        assert_eq!(d("sinh", "snh", 1), Some(1));
        assert_eq!(d("dung", "dgnu", 2), Some(2));
        assert_eq!(d("thuc", "htuc", 1), Some(1));
        assert_eq!(d("khai", "sinh", 2), None);
        assert_eq!(d("chung", "chung", 0), Some(0));
    }

    #[test]
    fn match_rules() {
        assert_eq!(match_quality("ki", "ky", false), 0.9);
        assert_eq!(match_quality("s", "sinh", true), 0.7);
        assert_eq!(match_quality("s", "sinh", false), 0.0);
        assert!(match_quality("snh", "sinh", false) > 0.0);
        // Short terms need an exact match: "ca" is not "cap".
        assert_eq!(match_quality("ca", "cap", false), 0.0);
        assert_eq!(match_quality("cao", "cap", false), 0.0);
        // Two typos only in long words.
        assert!(match_quality("thuongtru", "thuongtur", false) > 0.0);
        assert_eq!(match_quality("sinh", "snih", false), 0.6);
        assert_eq!(match_quality("snnh", "sinh", false), 0.6);
        assert_eq!(match_quality("xyzh", "sinh", false), 0.0);
    }

    fn doc(id: &str, title: &str, field: &str) -> IndexDoc {
        IndexDoc {
            id: id.into(),
            fields: vec![(title.into(), 3.0), (field.into(), 1.5)],
            keywords: vec![("field".into(), field.into())],
        }
    }

    #[tokio::test]
    async fn ranks_filters_and_counts() {
        let index = EmbeddedIndex::default();
        index
            .replace(
                "p",
                "v1",
                vec![
                    doc("a", "Đăng ký lại khai sinh", "Hộ tịch"),
                    doc("b", "Đăng ký khai sinh", "Hộ tịch"),
                    doc("c", "Đăng ký thường trú", "Cư trú"),
                ],
            )
            .await
            .unwrap();
        assert_eq!(index.stamp("p").await.unwrap().as_deref(), Some("v1"));
        assert_eq!(index.stamp("other").await.unwrap(), None);
        let ids = |r: &SearchResults| r.hits.iter().map(|h| h.id.clone()).collect::<Vec<_>>();
        let all = index
            .search(
                "p",
                &SearchRequest {
                    text: "dang ky".into(),
                    facets: vec!["field".into()],
                    ..SearchRequest::default()
                },
            )
            .await
            .unwrap();
        assert_eq!(ids(&all).len(), 3);
        assert_eq!(
            all.facets["field"],
            [("Hộ tịch".to_owned(), 2), ("Cư trú".to_owned(), 1)]
        );
        let births = index
            .search(
                "p",
                &SearchRequest {
                    text: "khai sinh".into(),
                    ..SearchRequest::default()
                },
            )
            .await
            .unwrap();
        assert_eq!(ids(&births), ["b", "a"]);
        let filtered = index
            .search(
                "p",
                &SearchRequest {
                    text: String::new(),
                    filters: vec![("field".into(), "Cư trú".into())],
                    facets: vec!["field".into()],
                },
            )
            .await
            .unwrap();
        assert_eq!(ids(&filtered), ["c"]);
        // The facet of the filtered name still counts every value (what choosing it gives).
        assert_eq!(filtered.facets["field"].len(), 2);
        let nothing = index
            .search(
                "p",
                &SearchRequest {
                    text: "xyzzy".into(),
                    ..SearchRequest::default()
                },
            )
            .await
            .unwrap();
        assert!(nothing.hits.is_empty());
    }
}
