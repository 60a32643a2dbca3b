//! The registers as reports (Phụ lục IV): the rows of the sổ văn bản đến and sổ văn bản đi
//! of an agency for a year and series, as JSON or as an xlsx workbook.
//!
//! The confidential series is shown only to the agency's leaders and clerks (the people who
//! see every confidential document there); the normal series to whoever sees its documents.

use chrono::NaiveDate;
use serde::Serialize;
use sqlx::Row;
use tinhso_core::DomainError;
use tinhso_platform::{Ctx, Error, Platform, Result};

use crate::common::{active_agency, check_view, leads_or_keeps, not_found, parse_date, today};
use crate::domain::numbering::{code, format_number};
use crate::domain::types::{Confidentiality, DocType};

/// One line of the incoming register (10 columns).
#[derive(Debug, Clone, Serialize)]
pub struct IncomingRow {
    pub arrival_date: NaiveDate,
    pub arrival_number: String,
    pub author: String,
    pub code: String,
    pub issued_date: Option<NaiveDate>,
    pub type_and_subject: String,
    pub recipients: String,
    pub transfer_date: Option<NaiveDate>,
    pub signature: String,
    pub note: String,
}

/// One line of the outgoing register (10 columns).
#[derive(Debug, Clone, Serialize)]
pub struct OutgoingRow {
    pub code: String,
    pub issued_date: Option<NaiveDate>,
    pub type_and_subject: String,
    pub signer: String,
    pub recipients: String,
    pub copy_keeper: String,
    pub copies: i64,
    pub transfer_date: Option<NaiveDate>,
    pub signature: String,
    pub note: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct Report {
    pub agency_code: String,
    pub agency_name: String,
    pub year: i64,
    /// `in` or `out`.
    pub direction: String,
    /// `normal` or `secret`.
    pub series: String,
    pub incoming: Vec<IncomingRow>,
    pub outgoing: Vec<OutgoingRow>,
}

/// Names per document of a whole register, from one joined query (`$1` agency, `$2` year,
/// `$3` series; the query selects the document's id and a name), instead of one query per
/// row.
async fn names_by_document(
    p: &Platform,
    sql: &'static str,
    agency_id: i64,
    year: i64,
    series: &str,
) -> Result<std::collections::BTreeMap<i64, Vec<String>>> {
    let mut out: std::collections::BTreeMap<i64, Vec<String>> = Default::default();
    for (id, name) in sqlx::query_as::<_, (i64, String)>(sql)
        .bind(agency_id)
        .bind(year)
        .bind(series)
        .fetch_all(p.db.pool())
        .await?
    {
        out.entry(id).or_default().push(name);
    }
    Ok(out)
}

fn type_and_subject(type_code: &str, subject: &str) -> String {
    let name = DocType::parse(type_code)
        .map(|t| t.name_vi)
        .unwrap_or_default();
    format!("{name}: {subject}")
}

/// The register of `agency_code` for `year`, `direction` (`in`/`out`), `series`.
pub async fn report(
    p: &Platform,
    ctx: &Ctx,
    agency_code: &str,
    year: i64,
    direction: &str,
    series: &str,
) -> Result<Report> {
    let agency = active_agency(p, agency_code).await?;
    let path = agency.agency_path();
    check_view(ctx, &path, Confidentiality::Normal, &[], "agency")?;
    if !matches!(series, "normal" | "secret") || !matches!(direction, "in" | "out") {
        return Err(
            DomainError::invalid("direction is in|out, series normal|secret")
                .with_rule("document.register.unknown")
                .into(),
        );
    }
    if series == "secret" && !leads_or_keeps(ctx, &path) {
        return Err(not_found("register"));
    }
    let mut report = Report {
        agency_code: agency.code.clone(),
        agency_name: agency.name.clone(),
        year,
        direction: direction.into(),
        series: series.into(),
        incoming: Vec::new(),
        outgoing: Vec::new(),
    };
    if direction == "in" {
        let mut handlers = names_by_document(p, "SELECT h.incoming_id, u.display_name FROM doc_handlers h JOIN users u ON u.id = h.user_id JOIN doc_incoming i ON i.id = h.incoming_id WHERE i.agency_id = $1 AND i.year = $2 AND i.series = $3 AND h.active = 1 AND h.part = 'main' ORDER BY h.id", agency.id, year, series).await?;
        for r in sqlx::query("SELECT id, arrival_ms, arrival_number, organ_name, code_number, code_notation, issued_date, type_code, subject, assigned_ms, revoked_ms, direction_note FROM doc_incoming WHERE agency_id = $1 AND year = $2 AND series = $3 ORDER BY arrival_number")
            .bind(agency.id)
            .bind(year)
            .bind(series)
            .fetch_all(p.db.pool())
            .await?
        {
            let id: i64 = r.try_get(0)?;
            let handlers = handlers.remove(&id).unwrap_or_default();
            report.incoming.push(IncomingRow {
                arrival_date: today(r.try_get(1)?),
                arrival_number: format_number(r.try_get(2)?),
                author: r.try_get(3)?,
                code: crate::common::code_text(&r.try_get::<String, _>(4)?, &r.try_get::<String, _>(5)?),
                issued_date: parse_date(r.try_get(6)?),
                type_and_subject: type_and_subject(&r.try_get::<String, _>(7)?, &r.try_get::<String, _>(8)?),
                recipients: handlers.join(", "),
                transfer_date: r.try_get::<Option<i64>, _>(9)?.map(today),
                signature: String::new(),
                note: if r.try_get::<Option<i64>, _>(10)?.is_some() { "Đã thu hồi".into() } else { r.try_get(11)? },
            });
        }
    } else {
        let mut recipients = names_by_document(p, "SELECT r.outgoing_id, r.organ_name FROM doc_recipients r JOIN doc_outgoing o ON o.id = r.outgoing_id WHERE o.agency_id = $1 AND o.year = $2 AND o.series = $3 AND r.active = 1 ORDER BY r.id", agency.id, year, series).await?;
        for r in sqlx::query("SELECT id, number, code_notation, issued_date, type_code, subject, metadata, unit_abbreviation, dispatched_ms, revoked_ms FROM doc_outgoing WHERE agency_id = $1 AND year = $2 AND series = $3 AND number IS NOT NULL ORDER BY number")
            .bind(agency.id)
            .bind(year)
            .bind(series)
            .fetch_all(p.db.pool())
            .await?
        {
            let id: i64 = r.try_get(0)?;
            let metadata: crate::domain::metadata::Metadata = crate::common::from_json_text(&r.try_get::<String, _>(6)?)?;
            let mut places = recipients.remove(&id).unwrap_or_default();
            places.extend(metadata.to_places.iter().cloned());
            report.outgoing.push(OutgoingRow {
                code: code(r.try_get(1)?, &r.try_get::<String, _>(2)?),
                issued_date: parse_date(r.try_get(3)?),
                type_and_subject: type_and_subject(&r.try_get::<String, _>(4)?, &r.try_get::<String, _>(5)?),
                signer: metadata.signer_name.clone(),
                recipients: places.join("; "),
                copy_keeper: r.try_get(7)?,
                copies: metadata.issued_amount,
                transfer_date: r.try_get::<Option<i64>, _>(8)?.map(today),
                signature: String::new(),
                note: if r.try_get::<Option<i64>, _>(9)?.is_some() { "Đã thu hồi".into() } else { String::new() },
            });
        }
    }
    Ok(report)
}

fn xlsx_error(e: rust_xlsxwriter::XlsxError) -> Error {
    Error::Other(format!("xlsx: {e}"))
}

fn date_text(d: Option<NaiveDate>) -> String {
    d.map(|d| d.format("%d/%m/%Y").to_string())
        .unwrap_or_default()
}

/// The register as a workbook with the decree's column headings.
pub fn to_xlsx(report: &Report) -> Result<Vec<u8>> {
    let mut book = rust_xlsxwriter::Workbook::new();
    let sheet = book.add_worksheet();
    let title = if report.direction == "in" {
        "SỔ ĐĂNG KÝ VĂN BẢN ĐẾN"
    } else {
        "SỔ ĐĂNG KÝ VĂN BẢN ĐI"
    };
    sheet
        .write_string(
            0,
            0,
            format!("{title} — {} — {}", report.agency_name, report.year),
        )
        .map_err(xlsx_error)?;
    let rows: Vec<Vec<String>> = if report.direction == "in" {
        std::iter::once(
            [
                "Ngày đến",
                "Số đến",
                "Tác giả",
                "Số, ký hiệu",
                "Ngày tháng",
                "Tên loại và trích yếu nội dung",
                "Đơn vị hoặc người nhận",
                "Ngày chuyển",
                "Ký nhận",
                "Ghi chú",
            ]
            .map(String::from)
            .to_vec(),
        )
        .chain(report.incoming.iter().map(|r| {
            vec![
                date_text(Some(r.arrival_date)),
                r.arrival_number.clone(),
                r.author.clone(),
                r.code.clone(),
                date_text(r.issued_date),
                r.type_and_subject.clone(),
                r.recipients.clone(),
                date_text(r.transfer_date),
                r.signature.clone(),
                r.note.clone(),
            ]
        }))
        .collect()
    } else {
        std::iter::once(
            [
                "Số, ký hiệu văn bản",
                "Ngày tháng văn bản",
                "Tên loại và trích yếu nội dung",
                "Người ký",
                "Nơi nhận văn bản",
                "Đơn vị, người nhận bản lưu",
                "Số lượng bản",
                "Ngày chuyển",
                "Ký nhận",
                "Ghi chú",
            ]
            .map(String::from)
            .to_vec(),
        )
        .chain(report.outgoing.iter().map(|r| {
            vec![
                r.code.clone(),
                date_text(r.issued_date),
                r.type_and_subject.clone(),
                r.signer.clone(),
                r.recipients.clone(),
                r.copy_keeper.clone(),
                r.copies.to_string(),
                date_text(r.transfer_date),
                r.signature.clone(),
                r.note.clone(),
            ]
        }))
        .collect()
    };
    for (i, row) in rows.iter().enumerate() {
        let line = u32::try_from(i + 2).map_err(|e| Error::Other(e.to_string()))?;
        for (j, cell) in row.iter().enumerate() {
            let col = u16::try_from(j).map_err(|e| Error::Other(e.to_string()))?;
            sheet.write_string(line, col, cell).map_err(xlsx_error)?;
        }
    }
    book.save_to_buffer().map_err(xlsx_error)
}
