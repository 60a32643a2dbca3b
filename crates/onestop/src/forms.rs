//! The documents the one-stop shop hands to the applicant, as PDF, following the forms of
//! Thông tư 01/2018/TT-VPCP: Mẫu 01 receipt and appointment, Mẫu 02 supplement request,
//! Mẫu 03 refusal, Mẫu 04 apology with the new appointment. Each carries the Nghị định 30
//! header (parent agency and agency at the top left, the national motto at the right, number,
//! place and date) and a QR code of the public status address.
//!
//! A form is built only from what was recorded: the dossier row, the procedure specification
//! of the catalogue version it was filed under, the agencies, and the history event that
//! caused the form (its note holds the reason and items). Reading a form is access-checked
//! exactly like reading the dossier (`dossiers::view`); a form that does not apply yet is a
//! conflict with the stable rule `form.not_applicable`. Nothing is stored or changed.

use chrono::{Datelike, Timelike};
use sqlx::Row;
use tinhso_core::{DomainError, ErrorCode};
use tinhso_pdf::{Align, Block, Document, Paragraph, Qr, Span, Table};
use tinhso_platform::org::{Agency, agency_by_id};
use tinhso_platform::{Ctx, Error, Platform, Result};

use crate::catalog;
use crate::domain::catalog::{DocumentKind, ProcedureSpec, TimeUnit};
use crate::domain::dossier::Status;
use crate::dossiers::{self, Proxy};

/// Which form.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FormKind {
    Receipt,
    SupplementRequest,
    Refusal,
    Apology,
}

impl FormKind {
    pub const ALL: [FormKind; 4] = [
        Self::Receipt,
        Self::SupplementRequest,
        Self::Refusal,
        Self::Apology,
    ];

    pub fn parse(s: &str) -> Result<Self> {
        Self::ALL
            .into_iter()
            .find(|k| k.as_str() == s)
            .ok_or_else(|| {
                DomainError::invalid("form is receipt, supplement_request, refusal or apology")
                    .with_rule("form.kind")
                    .into()
            })
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Receipt => "receipt",
            Self::SupplementRequest => "supplement_request",
            Self::Refusal => "refusal",
            Self::Apology => "apology",
        }
    }

    /// The part after the dossier code in "Số: …". HDHS is the one attested in a provincial
    /// system (§5.3 of the standards notes); TNHS, TCHS and XLHS are [M] defaults built the
    /// same way from the form's name (tiếp nhận / từ chối / xin lỗi hồ sơ).
    fn number_suffix(self) -> &'static str {
        match self {
            Self::Receipt => "TNHS",
            Self::SupplementRequest => "HDHS",
            Self::Refusal => "TCHS",
            Self::Apology => "XLHS",
        }
    }

    fn title(self) -> &'static str {
        match self {
            Self::Receipt => "GIẤY TIẾP NHẬN HỒ SƠ VÀ HẸN TRẢ KẾT QUẢ",
            Self::SupplementRequest => "PHIẾU YÊU CẦU BỔ SUNG, HOÀN THIỆN HỒ SƠ",
            Self::Refusal => "PHIẾU TỪ CHỐI TIẾP NHẬN GIẢI QUYẾT HỒ SƠ",
            Self::Apology => "PHIẾU XIN LỖI VÀ HẸN LẠI NGÀY TRẢ KẾT QUẢ",
        }
    }
}

/// `16 giờ 00 phút, ngày 04 tháng 02 năm 2027` in Vietnam time.
pub fn vn_instant(ms: i64) -> String {
    let t = tinhso_core::calendar::vietnam_instant(ms);
    format!(
        "{:02} giờ {:02} phút, {}",
        t.hour(),
        t.minute(),
        vn_date(ms)
    )
}

/// `ngày 03 tháng 02 năm 2027` (day and month with two digits, as Nghị định 30 writes them).
pub fn vn_date(ms: i64) -> String {
    let t = tinhso_core::calendar::vietnam_instant(ms);
    format!(
        "ngày {:02} tháng {:02} năm {}",
        t.day(),
        t.month(),
        t.year()
    )
}

/// `1.500.000 đồng`
pub fn vn_money(amount: u64) -> String {
    let digits = amount.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push('.');
        }
        out.push(c);
    }
    format!("{out} đồng")
}

/// Where the QR code leads: the public status page with the code filled in (the applicant
/// adds the last four digits of their ID number or phone; the code alone shows nothing).
pub fn status_url(p: &Platform, code: &str) -> String {
    format!(
        "{}/tra-cuu?ma={code}",
        p.config.server.public_url.trim_end_matches('/')
    )
}

/// What a form is made of.
struct Facts {
    code: String,
    status: Status,
    applicant_name: String,
    applicant_id: String,
    phone: String,
    email: String,
    proxy: Option<Proxy>,
    received_ms: Option<i64>,
    due_ms: Option<i64>,
    apology_due_ms: Option<i64>,
    receiver_name: Option<String>,
    spec: ProcedureSpec,
    agency: Agency,
    parent: Option<Agency>,
    place: String,
    /// The history, oldest first.
    events: Vec<EventRow>,
}

/// One history line: when, what, its note, and the appointment after it.
struct EventRow {
    at: i64,
    action: String,
    note: String,
    due_ms: Option<i64>,
}

impl Facts {
    fn last_event(&self, action: &str) -> Option<&EventRow> {
        self.events.iter().rev().find(|e| e.action == action)
    }

    /// The appointment in force just before the event at `index` (it moves when the clock
    /// stops and restarts; the forms show the one the applicant was given).
    fn due_before(&self, index: usize) -> Option<i64> {
        self.events[..index].iter().rev().find_map(|e| e.due_ms)
    }
}

fn not_applicable(detail: &str) -> Error {
    DomainError::new(ErrorCode::Conflict, detail)
        .with_rule("form.not_applicable")
        .into()
}

/// Renders one form of a dossier for a caller who may read the dossier.
pub async fn render(p: &Platform, ctx: &Ctx, code: &str, kind: FormKind) -> Result<Vec<u8>> {
    // The same access decision as reading the dossier; others are told it does not exist.
    dossiers::view(p, ctx, code).await?;
    let facts = gather(p, code).await?;
    let doc = match kind {
        FormKind::Receipt => receipt(p, &facts)?,
        FormKind::SupplementRequest => supplement_request(p, &facts)?,
        FormKind::Refusal => refusal(p, &facts)?,
        FormKind::Apology => apology(p, &facts)?,
    };
    doc.render().map_err(|e| Error::Other(e.to_string()))
}

async fn gather(p: &Platform, code: &str) -> Result<Facts> {
    let row = sqlx::query("SELECT id, status, applicant_name, applicant_id_number, applicant_phone, applicant_email, proxy_json, received_ms, due_ms, apology_due_ms, received_by, procedure_version_id, agency_id FROM dossiers WHERE code = $1")
        .bind(code)
        .fetch_optional(p.db.pool())
        .await?
        .ok_or_else(|| DomainError::not_found("dossier"))?;
    let id: i64 = row.try_get(0)?;
    let proxy = row
        .try_get::<Option<String>, _>(6)?
        .and_then(|j| serde_json::from_str::<Proxy>(&j).ok());
    let receiver_name = match row.try_get::<Option<i64>, _>(10)? {
        Some(user) => tinhso_platform::identity::user_by_id(p, user)
            .await?
            .map(|u| u.display_name),
        None => None,
    };
    let spec = catalog::version(p, row.try_get(11)?).await?.spec;
    let agency = agency_by_id(p, row.try_get(12)?)
        .await?
        .ok_or_else(|| Error::Other("a dossier's agency exists".into()))?;
    let parent = match agency.parent_id {
        Some(id) => agency_by_id(p, id).await?,
        None => None,
    };
    // The place of the date line is the province: the name of the root of the agency tree.
    let mut root = parent.clone().unwrap_or_else(|| agency.clone());
    for _ in 0..16 {
        match root.parent_id {
            Some(id) => match agency_by_id(p, id).await? {
                Some(up) => root = up,
                None => break,
            },
            None => break,
        }
    }
    let place = place_name(&root.name);
    let events = sqlx::query(
        "SELECT at_ms, action, note, due_ms FROM dossier_events WHERE dossier_id = $1 ORDER BY id",
    )
    .bind(id)
    .fetch_all(p.db.pool())
    .await?
    .iter()
    .map(|e| {
        Ok(EventRow {
            at: e.try_get(0)?,
            action: e.try_get(1)?,
            note: e.try_get(2)?,
            due_ms: e.try_get(3)?,
        })
    })
    .collect::<Result<Vec<_>>>()?;
    Ok(Facts {
        code: code.to_owned(),
        status: Status::parse(&row.try_get::<String, _>(1)?)?,
        applicant_name: row.try_get(2)?,
        applicant_id: row.try_get(3)?,
        phone: row.try_get(4)?,
        email: row.try_get(5)?,
        proxy,
        received_ms: row.try_get(7)?,
        due_ms: row.try_get(8)?,
        apology_due_ms: row.try_get(9)?,
        receiver_name,
        spec,
        agency,
        parent,
        place,
        events,
    })
}

/// "Ủy ban nhân dân tỉnh Khánh Hòa" → "Khánh Hòa".
fn place_name(root: &str) -> String {
    ["thành phố ", "tỉnh ", "Thành phố ", "Tỉnh "]
        .iter()
        .filter_map(|prefix| root.rfind(prefix).map(|i| &root[i + prefix.len()..]))
        .min_by_key(|rest| rest.len())
        .unwrap_or(root)
        .trim()
        .to_owned()
}

/// The parent agency line: capitals, "Ủy ban nhân dân" abbreviated as Nghị định 30 allows.
fn parent_line(name: &str) -> String {
    let short = name
        .strip_prefix("Ủy ban nhân dân ")
        .map_or_else(|| name.to_owned(), |rest| format!("UBND {rest}"));
    short.to_uppercase()
}

const BODY: f32 = 13.0;

fn line(text: &str) -> Block {
    Paragraph::new(text).size(BODY).space_after(3.0).into()
}

fn labelled(label: &str, value: &str) -> Block {
    Paragraph::labelled(label, value)
        .size(BODY)
        .space_after(3.0)
        .into()
}

fn body(text: &str) -> Block {
    Paragraph::new(text)
        .size(BODY)
        .indent(28.0)
        .space_after(4.0)
        .into()
}

/// The Nghị định 30 header, the form's title and the dossier code.
fn header(f: &Facts, kind: FormKind, date_ms: i64) -> Document {
    let mut doc = Document::new(kind.title()).dated(date_ms);
    let mut left = Vec::new();
    if let Some(parent) = &f.parent {
        left.push(
            Paragraph::new(&parent_line(&parent.name))
                .center()
                .size(12.0)
                .into(),
        );
    }
    left.push(
        Paragraph::new(&f.agency.name.to_uppercase())
            .bold()
            .center()
            .size(12.0)
            .into(),
    );
    left.push(Block::Rule {
        length: 60.0,
        align: Align::Center,
    });
    left.push(
        Paragraph::new(&format!("Số: {}/{}", f.code, kind.number_suffix()))
            .center()
            .size(12.0)
            .into(),
    );
    let right = vec![
        Paragraph::new("CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM")
            .bold()
            .center()
            .size(12.0)
            .into(),
        Paragraph::new("Độc lập - Tự do - Hạnh phúc")
            .bold()
            .center()
            .size(13.0)
            .into(),
        Block::Rule {
            length: 160.0,
            align: Align::Center,
        },
        Paragraph::new(&format!("{}, {}", f.place, vn_date(date_ms)))
            .center()
            .size(13.0)
            .into(),
    ];
    doc.push(Block::Columns(vec![(0.42, left), (0.58, right)]));
    doc.push(Block::Space(18.0));
    doc.push(
        Paragraph::new(kind.title())
            .bold()
            .center()
            .size(14.0)
            .space_after(2.0),
    );
    doc.push(
        Paragraph::new(&format!("Mã hồ sơ: {}", f.code))
            .center()
            .size(BODY)
            .space_after(10.0),
    );
    doc
}

/// Signature columns and the status QR code under them.
fn footer(p: &Platform, doc: &mut Document, f: &Facts, signers: &[(&str, Option<&str>)]) {
    doc.push(Block::Space(8.0));
    let columns = signers
        .iter()
        .map(|(title, name)| {
            // An empty title keeps the place (the signer stands at the right) without a label.
            if title.is_empty() {
                return (1.0, Vec::new());
            }
            let mut col: Vec<Block> = vec![
                Paragraph::new(title).bold().center().size(BODY).into(),
                Paragraph::new("(Ký và ghi rõ họ tên)")
                    .center()
                    .size(11.0)
                    .into(),
                Block::Space(48.0),
            ];
            if let Some(name) = name {
                col.push(Paragraph::new(name).bold().center().size(BODY).into());
            }
            (1.0, col)
        })
        .collect();
    doc.push(Block::Columns(columns));
    doc.push(Block::Space(14.0));
    let url = status_url(p, &f.code);
    doc.push(Block::Columns(vec![
        (
            0.25,
            vec![Block::Qr(Qr {
                data: url.clone(),
                size: 86.0,
                align: Align::Left,
            })],
        ),
        (
            0.75,
            vec![
                Block::Space(22.0),
                Paragraph::new("Tra cứu tình trạng hồ sơ: quét mã QR hoặc truy cập")
                    .size(11.0)
                    .into(),
                Paragraph::new(&url).size(11.0).into(),
                Paragraph::new("(nhập 4 số cuối số định danh cá nhân hoặc số điện thoại)")
                    .size(11.0)
                    .into(),
            ],
        ),
    ]));
}

fn applicant_lines(doc: &mut Document, f: &Facts) {
    doc.push(labelled("Ông/bà: ", &f.applicant_name));
    doc.push(labelled("Số định danh cá nhân: ", &f.applicant_id));
    let mut contact = Vec::new();
    if !f.phone.is_empty() {
        contact.push(Span::new("Số điện thoại: ", true));
        contact.push(Span::new(&f.phone, false));
    }
    if !f.email.is_empty() {
        contact.push(Span::new(
            if contact.is_empty() {
                "Email: "
            } else {
                "    Email: "
            },
            true,
        ));
        contact.push(Span::new(&f.email, false));
    }
    if !contact.is_empty() {
        doc.push(Paragraph::spans(contact).size(BODY).space_after(3.0));
    }
    if let Some(proxy) = &f.proxy {
        doc.push(labelled(
            "Người nộp thay: ",
            &format!(
                "{} (số định danh {}), theo {}",
                proxy.name, proxy.id_number, proxy.authorization
            ),
        ));
    }
    doc.push(labelled("Nội dung yêu cầu giải quyết: ", &f.spec.name));
}

fn kind_text(kind: DocumentKind) -> &'static str {
    match kind {
        DocumentKind::Original => "bản chính",
        DocumentKind::CertifiedCopy => "bản sao chứng thực",
        DocumentKind::Photocopy => "bản photo",
    }
}

fn documents_table(spec: &ProcedureSpec) -> Block {
    let mut rows = vec![vec![
        Paragraph::new("TT").bold().center().size(12.0),
        Paragraph::new("Tên giấy tờ").bold().center().size(12.0),
        Paragraph::new("Số lượng").bold().center().size(12.0),
    ]];
    for (i, d) in spec.required_documents.iter().enumerate() {
        rows.push(vec![
            Paragraph::new(&(i + 1).to_string()).center().size(12.0),
            Paragraph::new(&d.name).size(12.0),
            Paragraph::new(&format!("{:02} {}", d.count, kind_text(d.kind)))
                .center()
                .size(12.0),
        ]);
    }
    Block::Table(Table {
        columns: vec![0.08, 0.64, 0.28],
        rows,
        space_after: 6.0,
    })
}

fn processing_time(spec: &ProcedureSpec) -> String {
    let unit = match spec.processing_time.unit {
        TimeUnit::WorkingDays => "ngày làm việc",
        TimeUnit::WorkingHours => "giờ làm việc",
    };
    format!("{:02} {unit}", spec.processing_time.amount)
}

fn fees(spec: &ProcedureSpec) -> String {
    let total: u64 = spec
        .fees
        .iter()
        .filter(|fee| fee.payer == "applicant")
        .map(|fee| fee.amount)
        .sum();
    if total == 0 {
        "không thu".into()
    } else {
        vn_money(total)
    }
}

/// Mẫu 01: issued at receipt with the appointment.
fn receipt(p: &Platform, f: &Facts) -> Result<Document> {
    // The appointment given at receipt (counter intake or acceptance of an online filing).
    let given = f
        .events
        .iter()
        .find(|e| e.action == "accept" || (e.action == "submit" && e.due_ms.is_some()))
        .and_then(|e| e.due_ms);
    let (Some(received), Some(due)) = (f.received_ms, given) else {
        return Err(not_applicable(
            "the receipt is issued once the dossier is received",
        ));
    };
    let mut doc = header(f, FormKind::Receipt, received);
    doc.push(body(&format!("{} tiếp nhận hồ sơ của:", f.agency.name)));
    applicant_lines(&mut doc, f);
    doc.push(line("1. Thành phần hồ sơ nộp gồm:"));
    doc.push(documents_table(&f.spec));
    doc.push(line("2. Số lượng hồ sơ: 01 (bộ)"));
    doc.push(line(&format!(
        "3. Thời gian giải quyết hồ sơ theo quy định là: {}",
        processing_time(&f.spec)
    )));
    doc.push(line(&format!(
        "4. Thời gian nhận hồ sơ: {}",
        vn_instant(received)
    )));
    doc.push(line(&format!(
        "5. Thời gian trả kết quả giải quyết hồ sơ: {}",
        vn_instant(due)
    )));
    doc.push(line(&format!("6. Phí, lệ phí: {}", fees(&f.spec))));
    doc.push(line(&format!(
        "7. Nhận kết quả tại: Bộ phận Tiếp nhận và Trả kết quả, {}",
        f.agency.name
    )));
    footer(
        p,
        &mut doc,
        f,
        &[
            ("NGƯỜI NỘP HỒ SƠ", Some(&f.applicant_name)),
            ("NGƯỜI TIẾP NHẬN HỒ SƠ", f.receiver_name.as_deref()),
        ],
    );
    Ok(doc)
}

/// The reason and the missing items of a supplement request, from its history note
/// ("{reason} — {item}; {item}", as `dossiers` writes it).
fn split_supplement_note(note: &str) -> (String, Vec<String>) {
    match note.rsplit_once(" — ") {
        Some((reason, items)) => (
            reason.trim().to_owned(),
            items
                .split("; ")
                .map(str::trim)
                .filter(|i| !i.is_empty())
                .map(str::to_owned)
                .collect(),
        ),
        None => (note.trim().to_owned(), Vec::new()),
    }
}

/// Mẫu 02: the latest supplement request.
fn supplement_request(p: &Platform, f: &Facts) -> Result<Document> {
    let Some(EventRow { at, note, .. }) = f.last_event("request_supplement") else {
        return Err(not_applicable("no supplement was requested"));
    };
    let (reason, items) = split_supplement_note(note);
    let mut doc = header(f, FormKind::SupplementRequest, *at);
    doc.push(body(&format!("{} tiếp nhận hồ sơ của:", f.agency.name)));
    applicant_lines(&mut doc, f);
    doc.push(line("Yêu cầu hoàn thiện hồ sơ gồm những nội dung sau:"));
    let mut rows = vec![vec![
        Paragraph::new("TT").bold().center().size(12.0),
        Paragraph::new("Thành phần hồ sơ cần bổ sung, hoàn thiện")
            .bold()
            .center()
            .size(12.0),
    ]];
    for (i, item) in items.iter().enumerate() {
        rows.push(vec![
            Paragraph::new(&(i + 1).to_string()).center().size(12.0),
            Paragraph::new(item).size(12.0),
        ]);
    }
    doc.push(Block::Table(Table {
        columns: vec![0.08, 0.92],
        rows,
        space_after: 6.0,
    }));
    doc.push(labelled("Lý do: ", &reason));
    doc.push(body(&format!(
        "Thời hạn giải quyết tạm dừng từ {} cho đến khi hồ sơ được bổ sung đầy đủ. Trong quá trình hoàn thiện hồ sơ, nếu có vướng mắc, ông/bà liên hệ Bộ phận Tiếp nhận và Trả kết quả, {} để được hướng dẫn.",
        vn_instant(*at),
        f.agency.name
    )));
    footer(p, &mut doc, f, &[("", None), ("NGƯỜI HƯỚNG DẪN", None)]);
    Ok(doc)
}

/// Mẫu 03: a dossier refused (or not accepted at intake), with the reason.
fn refusal(p: &Platform, f: &Facts) -> Result<Document> {
    let event = match f.status {
        Status::Stopped => f.last_event("refuse"),
        Status::NotAccepted => f.events.last(),
        _ => None,
    };
    let Some(EventRow {
        at, note: reason, ..
    }) = event
    else {
        return Err(not_applicable(
            "the refusal notice is issued for a refused or not accepted dossier",
        ));
    };
    let mut doc = header(f, FormKind::Refusal, *at);
    doc.push(body(&format!("{} tiếp nhận hồ sơ của:", f.agency.name)));
    applicant_lines(&mut doc, f);
    if let Some(received) = f.received_ms {
        doc.push(labelled("Ngày tiếp nhận: ", &vn_instant(received)));
    }
    doc.push(body(&format!(
        "Qua xem xét, {} thông báo không tiếp nhận, giải quyết hồ sơ này với lý do cụ thể như sau:",
        f.agency.name
    )));
    doc.push(body(reason));
    doc.push(body("Xin thông báo để ông/bà được biết và thực hiện./."));
    footer(
        p,
        &mut doc,
        f,
        &[("", None), ("NGƯỜI TIẾP NHẬN HỒ SƠ", None)],
    );
    Ok(doc)
}

/// Mẫu 04: the latest apology, with the legal and the new appointment.
fn apology(p: &Platform, f: &Facts) -> Result<Document> {
    let index = f.events.iter().rposition(|e| e.action == "apologize");
    let (Some(index), Some(new_due)) = (index, f.apology_due_ms) else {
        return Err(not_applicable("no apology was issued"));
    };
    let EventRow {
        at, note: reason, ..
    } = &f.events[index];
    let mut doc = header(f, FormKind::Apology, *at);
    doc.push(
        Paragraph::labelled("Kính gửi: ", &f.applicant_name)
            .size(BODY)
            .center()
            .space_after(6.0),
    );
    let due = f
        .due_before(index)
        .or(f.due_ms)
        .map(vn_instant)
        .unwrap_or_default();
    doc.push(body(&format!(
        "Ngày {}, {} tiếp nhận giải quyết hồ sơ của ông/bà về thủ tục {}, mã hồ sơ {}. Thời gian hẹn trả kết quả giải quyết hồ sơ: {}.",
        f.received_ms.map(vn_date).unwrap_or_default().trim_start_matches("ngày "),
        f.agency.name,
        f.spec.name,
        f.code,
        due
    )));
    doc.push(body(&format!(
        "Tuy nhiên đến nay, {} chưa trả kết quả giải quyết hồ sơ cho ông/bà. Lý do: {}{}",
        f.agency.name,
        reason,
        if reason.ends_with(['.', '!', '?']) {
            ""
        } else {
            "."
        }
    )));
    doc.push(body(&format!(
        "Sự chậm trễ này đã gây phiền hà, tốn kém chi phí, công sức của ông/bà. {} xin lỗi ông/bà về sự bất tiện này.",
        f.agency.name
    )));
    doc.push(body(&format!(
        "Thời gian hẹn trả kết quả mới: {}.",
        vn_instant(new_due)
    )));
    doc.push(body("Xin trân trọng cảm ơn sự hợp tác của ông/bà./."));
    footer(p, &mut doc, f, &[("", None), ("THỦ TRƯỞNG CƠ QUAN", None)]);
    Ok(doc)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn vietnamese_formats() {
        // 2027-02-04T16:00:00+07:00
        let ms = 1_801_731_600_000;
        assert_eq!(vn_instant(ms), "16 giờ 00 phút, ngày 04 tháng 02 năm 2027");
        assert_eq!(vn_money(1_500_000), "1.500.000 đồng");
        assert_eq!(vn_money(0), "0 đồng");
        assert_eq!(place_name("Ủy ban nhân dân tỉnh Khánh Hòa"), "Khánh Hòa");
        assert_eq!(
            parent_line("Ủy ban nhân dân tỉnh Khánh Hòa"),
            "UBND TỈNH KHÁNH HÒA"
        );
    }

    #[test]
    fn supplement_notes_split_into_reason_and_items() {
        let (reason, items) = split_supplement_note("Thiếu giấy tờ — Bản sao A; Bản sao B");
        assert_eq!(reason, "Thiếu giấy tờ");
        assert_eq!(items, ["Bản sao A", "Bản sao B"]);
    }
}
