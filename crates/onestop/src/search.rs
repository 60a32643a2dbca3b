//! The procedure search of the portal: the catalogue's current versions in the platform's
//! search index (`platform::search`), filtered and counted by field (lĩnh vực), implementing
//! agency, level and online level.
//!
//! The index is built at first use and rebuilt whenever the catalogue changed: every import
//! or edit bumps a procedure's version and `updated_ms`, so one aggregate over the small
//! `procedures` table (count, versions, activity, last change) is the stamp compared before
//! each search. Several nodes each keep their own embedded index and rebuild it the same way.

use serde::Serialize;
use sqlx::Row;
use tinhso_platform::search::{IndexDoc, SearchRequest, normalize};
use tinhso_platform::{Platform, Result};

use crate::catalog::{self, StoredProcedure};
use crate::domain::catalog::{Level, OnlineLevel, ProcedureSpec, ProcessingTime, TimeUnit};

const COLLECTION: &str = "procedures";

/// What a citizen asked: free text and filters (empty = no filter).
#[derive(Debug, Clone, Default)]
pub struct Query {
    pub text: String,
    pub field: String,
    pub agency: String,
    /// `commune` or `province`.
    pub level: String,
}

/// One procedure in a result list.
#[derive(Debug, Clone, Serialize)]
pub struct Summary {
    pub code: String,
    pub name: String,
    pub field: String,
    pub agency: String,
    pub levels: Vec<String>,
    pub online_level: String,
    pub processing_time: ProcessingTime,
    /// The current version's number.
    pub version: i64,
    /// Present when the query had text.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub score: Option<f64>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Count {
    pub value: String,
    pub count: usize,
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct Facets {
    pub field: Vec<Count>,
    pub agency: Vec<Count>,
    pub level: Vec<Count>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Results {
    /// Best first (catalogue order when the query has no text).
    pub procedures: Vec<Summary>,
    /// Counts per value over the matches, each ignoring its own filter.
    pub facets: Facets,
}

pub fn level_str(level: Level) -> &'static str {
    match level {
        Level::Commune => "commune",
        Level::Province => "province",
    }
}

pub fn online_str(level: OnlineLevel) -> &'static str {
    match level {
        OnlineLevel::Full => "full",
        OnlineLevel::Partial => "partial",
        OnlineLevel::None => "none",
    }
}

/// The index document of one procedure: its name weighs most, then its field, then its
/// agency, then everything else a citizen might remember of it (documents, results, law).
pub fn document(spec: &ProcedureSpec, version: i64) -> IndexDoc {
    let mut other: Vec<&str> = spec
        .required_documents
        .iter()
        .map(|d| d.name.as_str())
        .collect();
    other.extend(spec.results.iter().map(String::as_str));
    other.extend(spec.legal_basis.iter().map(|l| l.title.as_str()));
    let mut keywords = vec![
        ("code".to_owned(), spec.code.clone()),
        ("name".to_owned(), spec.name.clone()),
        ("field".to_owned(), spec.field.name.clone()),
        ("agency".to_owned(), spec.implementing_agency.clone()),
        (
            "online".to_owned(),
            online_str(spec.online_level).to_owned(),
        ),
        ("version".to_owned(), version.to_string()),
        (
            "time".to_owned(),
            format!(
                "{} {}",
                spec.processing_time.amount,
                match spec.processing_time.unit {
                    TimeUnit::WorkingDays => "days",
                    TimeUnit::WorkingHours => "hours",
                }
            ),
        ),
        ("time_note".to_owned(), spec.processing_time.note.clone()),
    ];
    keywords.extend(
        spec.levels
            .iter()
            .map(|l| ("level".to_owned(), level_str(*l).to_owned())),
    );
    IndexDoc {
        id: spec.code.clone(),
        fields: vec![
            (spec.name.clone(), 3.0),
            (spec.field.name.clone(), 1.5),
            (spec.implementing_agency.clone(), 1.0),
            (format!("{} {}", spec.code, other.join(" ")), 0.5),
        ],
        keywords,
    }
}

/// Index documents in catalogue order (by field, then name), the order of browsing.
pub fn documents(procedures: &[StoredProcedure]) -> Vec<IndexDoc> {
    let mut sorted: Vec<&StoredProcedure> = procedures.iter().collect();
    // Folded names sort as a reader expects (`Đăng ký` among the `D`s, not after `Z`).
    sorted.sort_by_cached_key(|p| (normalize(&p.spec.field.name), normalize(&p.spec.name)));
    sorted
        .into_iter()
        .map(|p| document(&p.spec, p.version))
        .collect()
}

/// What the index must have been built from: changes with every import, edit or removal.
/// (PostgreSQL sums BIGINTs as NUMERIC: cast back so both databases decode the same type.)
async fn catalogue_stamp(p: &Platform) -> Result<String> {
    let row = sqlx::query("SELECT COUNT(*), CAST(COALESCE(SUM(current_version), 0) AS BIGINT), CAST(COALESCE(SUM(active), 0) AS BIGINT), COALESCE(MAX(updated_ms), 0) FROM procedures")
        .fetch_one(p.db.pool())
        .await?;
    Ok(format!(
        "{}:{}:{}:{}",
        row.try_get::<i64, _>(0)?,
        row.try_get::<i64, _>(1)?,
        row.try_get::<i64, _>(2)?,
        row.try_get::<i64, _>(3)?
    ))
}

/// Builds the index if it is missing or older than the catalogue.
pub async fn refresh(p: &Platform) -> Result<()> {
    let stamp = catalogue_stamp(p).await?;
    if p.search.stamp(COLLECTION).await?.as_deref() == Some(stamp.as_str()) {
        return Ok(());
    }
    let procedures = catalog::list(p).await?;
    p.search
        .replace(COLLECTION, &stamp, documents(&procedures))
        .await
}

fn keyword<'a>(keywords: &'a [(String, String)], name: &str) -> &'a str {
    keywords
        .iter()
        .find(|(n, _)| n == name)
        .map(|(_, v)| v.as_str())
        .unwrap_or_default()
}

fn processing_time(keywords: &[(String, String)]) -> ProcessingTime {
    let (amount, unit) = keyword(keywords, "time")
        .split_once(' ')
        .unwrap_or_default();
    ProcessingTime {
        amount: amount.parse().unwrap_or_default(),
        unit: if unit == "hours" {
            TimeUnit::WorkingHours
        } else {
            TimeUnit::WorkingDays
        },
        note: keyword(keywords, "time_note").to_owned(),
    }
}

/// Searches and browses the public catalogue. Public: no access check (the catalogue is
/// what the portal shows to everyone).
pub async fn search(p: &Platform, query: &Query) -> Result<Results> {
    refresh(p).await?;
    let mut filters = Vec::new();
    for (name, value) in [
        ("field", &query.field),
        ("agency", &query.agency),
        ("level", &query.level),
    ] {
        if !value.trim().is_empty() {
            filters.push((name.to_owned(), value.trim().to_owned()));
        }
    }
    let text: String = query.text.chars().take(200).collect();
    let has_text = !tinhso_platform::search::tokens(&text).is_empty();
    let found = p
        .search
        .search(
            COLLECTION,
            &SearchRequest {
                text,
                filters,
                facets: vec!["field".into(), "agency".into(), "level".into()],
            },
        )
        .await?;
    let procedures = found
        .hits
        .into_iter()
        .map(|hit| Summary {
            code: hit.id,
            name: keyword(&hit.keywords, "name").to_owned(),
            field: keyword(&hit.keywords, "field").to_owned(),
            agency: keyword(&hit.keywords, "agency").to_owned(),
            levels: hit
                .keywords
                .iter()
                .filter(|(n, _)| n == "level")
                .map(|(_, v)| v.clone())
                .collect(),
            online_level: keyword(&hit.keywords, "online").to_owned(),
            processing_time: processing_time(&hit.keywords),
            version: keyword(&hit.keywords, "version")
                .parse()
                .unwrap_or_default(),
            score: has_text.then_some((hit.score * 1000.0).round() / 1000.0),
        })
        .collect();
    let counts = |name: &str| {
        let mut counts: Vec<Count> = found
            .facets
            .get(name)
            .map(|values| {
                values
                    .iter()
                    .map(|(value, count)| Count {
                        value: value.clone(),
                        count: *count,
                    })
                    .collect()
            })
            .unwrap_or_default();
        counts.sort_by_cached_key(|c| normalize(&c.value));
        counts
    };
    Ok(Results {
        procedures,
        facets: Facets {
            field: counts("field"),
            agency: counts("agency"),
            level: counts("level"),
        },
    })
}

/// The procedures most filed, most first (at most `limit`), for the home page; the demo
/// catalogue's best known procedures fill in while there are few dossiers.
pub async fn most_used(p: &Platform, limit: usize) -> Result<Vec<Summary>> {
    let rows = sqlx::query("SELECT procedure_code, COUNT(*) FROM dossiers GROUP BY procedure_code ORDER BY COUNT(*) DESC, procedure_code LIMIT $1")
        .bind(i64::try_from(limit).unwrap_or(i64::MAX))
        .fetch_all(p.db.pool())
        .await?;
    let mut codes: Vec<String> = rows
        .iter()
        .map(|r| r.try_get::<String, _>(0))
        .collect::<std::result::Result<_, _>>()?;
    for code in COMMON {
        if codes.len() >= limit {
            break;
        }
        if !codes.iter().any(|c| c == code) {
            codes.push((*code).to_owned());
        }
    }
    let all = search(p, &Query::default()).await?.procedures;
    Ok(codes
        .iter()
        .filter_map(|code| all.iter().find(|s| &s.code == code).cloned())
        .take(limit)
        .collect())
}

/// Procedures every commune handles daily (birth, residence, certified copies, marriage,
/// building permits, household businesses), shown first on a new installation.
const COMMON: &[&str] = &[
    "1.001193", "1.004222", "2.000815", "1.000894", "1.013225", "1.001612", "1.004194", "1.000656",
];

#[cfg(test)]
mod tests {
    use super::*;
    use tinhso_platform::search::{EmbeddedIndex, SearchIndex};

    async fn demo_index() -> EmbeddedIndex {
        let file = catalog::demo_catalogue().unwrap();
        let stored: Vec<StoredProcedure> = file
            .procedures
            .into_iter()
            .map(|spec| StoredProcedure {
                version_id: 1,
                version: 1,
                spec,
            })
            .collect();
        let index = EmbeddedIndex::default();
        index
            .replace(COLLECTION, "demo", documents(&stored))
            .await
            .unwrap();
        index
    }

    async fn first(index: &EmbeddedIndex, text: &str) -> Vec<String> {
        index
            .search(
                COLLECTION,
                &SearchRequest {
                    text: text.into(),
                    ..SearchRequest::default()
                },
            )
            .await
            .unwrap()
            .hits
            .into_iter()
            .map(|h| h.id)
            .collect()
    }

    #[tokio::test]
    async fn citizens_queries_find_the_right_procedure_first() {
        let index = demo_index().await;
        for (query, code) in [
            // Without diacritics.
            ("dang ky khai sinh", "1.001193"),
            ("khai sinh", "1.001193"),
            ("giay phep xay dung", "1.013225"),
            ("chung thuc ban sao", "2.000815"),
            // With diacritics, as typed on a Vietnamese keyboard.
            ("Đăng ký khai sinh", "1.001193"),
            ("giấy phép xây dựng", "1.013225"),
            // Typos.
            ("dang ki khai sinh", "1.001193"),
            ("khai snh", "1.001193"),
            ("giay phep xay dng", "1.013225"),
            ("chung thuc ban soa", "2.000815"),
            // Still typing the last word.
            ("dang ky khai s", "1.001193"),
            ("dang ky thuong tr", "1.004222"),
            // Other words.
            ("ket hon", "1.000894"),
            ("dang ky tam tru", "1.004194"),
            ("ho kinh doanh thanh lap", "1.001612"),
        ] {
            let hits = first(&index, query).await;
            assert_eq!(
                hits.first().map(String::as_str),
                Some(code),
                "{query}: {hits:?}"
            );
        }
        assert!(first(&index, "qwxz").await.is_empty());
    }

    #[tokio::test]
    async fn browsing_counts_fields_and_levels() {
        let index = demo_index().await;
        let all = index
            .search(
                COLLECTION,
                &SearchRequest {
                    text: String::new(),
                    filters: vec![("field".into(), "Hộ tịch".into())],
                    facets: vec!["field".into(), "level".into()],
                },
            )
            .await
            .unwrap();
        assert_eq!(all.hits.len(), 13);
        let fields = &all.facets["field"];
        assert!(fields.contains(&("Chứng thực".to_owned(), 6)), "{fields:?}");
        assert!(
            all.facets["level"].contains(&("province".to_owned(), 1)),
            "{:?}",
            all.facets["level"]
        );
    }
}
