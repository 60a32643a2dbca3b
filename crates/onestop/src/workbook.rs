//! The catalogue as a workbook (xlsx) an administrator can edit in LibreOffice or Excel and
//! import again: written by [`write`], read back by [`read`] without loss.
//!
//! Layout: the sheet `Thủ tục` has one row per procedure with its single-valued facts; every
//! list a procedure holds (legal basis, fees, required documents, form fields, process steps)
//! has a sheet of its own, one row per item, keyed by the procedure code in column A, in the
//! order the items take. That is what a person editing the sheet can work with: adding a fee
//! is adding a row, and the sheets can be sorted or filtered by procedure. Short lists of
//! fixed values (levels, channels) are comma-separated in one cell; free-text lists (results,
//! the options of a select field) take one entry per line of the cell (Alt+Enter in Excel,
//! Ctrl+Enter in LibreOffice). Fixed values are the codes of the JSON format; the sheet
//! `Hướng dẫn` lists them and is ignored on import, as is the computed fee total.
//!
//! Invariants: `read(write(f)) == f` for every valid catalogue whose texts fit in a cell
//! (32,767 characters) and whose optional texts (template, transfer) are not empty strings.
//! Columns are found by their header, so they may be reordered; unknown columns are
//! ignored, a missing one is an error. Every problem names sheet, row and column, and reading
//! has no side effect: the caller imports the result in one transaction or not at all.
//! Input is bounded before it is parsed: file size, declared uncompressed size of the
//! archive, rows per sheet and columns.

use std::collections::{BTreeMap, HashMap};
use std::io::Cursor;

use calamine::{DataRef, Reader, Xlsx};
use rust_xlsxwriter::{Format, Formula, Workbook, Worksheet, XlsxError};
use serde::Serialize;
use serde::de::DeserializeOwned;
use tinhso_core::DomainError;
use tinhso_core::access::Role;
use tinhso_platform::{Error, Result};

use crate::domain::catalog::{
    CatalogFile, Channel, DocumentKind, Fee, Field, FieldType, FormField, FormSchema, LegalBasis,
    Level, OnlineLevel, ProcedureSpec, ProcessStep, ProcessingTime, RequiredDocument, SpecPart,
    TimeUnit,
};

/// Largest workbook accepted (a province's whole catalogue is well under 2 MB).
pub const MAX_BYTES: usize = 16 * 1024 * 1024;
/// Largest total of the archive's declared uncompressed sizes (a zip bomb stops here).
pub const MAX_UNCOMPRESSED_BYTES: u64 = 128 * 1024 * 1024;
/// Rows per sheet, header included (a province has about 2,000 procedures; form fields are
/// the longest list, some twenty per procedure).
pub const MAX_ROWS: u32 = 100_000;
/// Columns read per sheet; cells further right are refused.
pub const MAX_COLUMNS: u32 = 64;

/// Does this look like an xlsx file (a zip archive)?
pub fn is_xlsx(bytes: &[u8]) -> bool {
    bytes.starts_with(b"PK\x03\x04")
}

// Sheet names and headers, shared by the writer and the reader.
const PROCEDURES: &str = "Thủ tục";
const LEGAL: &str = "Căn cứ pháp lý";
const FEES: &str = "Phí, lệ phí";
const DOCUMENTS: &str = "Thành phần hồ sơ";
const FORM: &str = "Biểu mẫu";
const PROCESS: &str = "Quy trình";
const GUIDE: &str = "Hướng dẫn";

const CODE: &str = "Mã thủ tục";
const VERIFIED: &str = "Mã đã đối chiếu";
const NAME: &str = "Tên thủ tục";
const FIELD_CODE: &str = "Mã lĩnh vực";
const FIELD_NAME: &str = "Lĩnh vực";
const LEVELS: &str = "Cấp thực hiện";
const AGENCY: &str = "Cơ quan thực hiện";
const TIME: &str = "Thời hạn giải quyết";
const UNIT: &str = "Đơn vị";
const TIME_NOTE: &str = "Ghi chú thời hạn";
const ONLINE: &str = "Mức độ trực tuyến";
const CHANNELS: &str = "Kênh nộp";
const RESULTS: &str = "Kết quả (mỗi dòng một kết quả)";
const NOTES: &str = "Ghi chú";
const FEE_TOTAL: &str = "Tổng phí, lệ phí (đ, tự tính)";
const PROCEDURE_COLUMNS: [&str; 15] = [
    CODE, VERIFIED, NAME, FIELD_CODE, FIELD_NAME, LEVELS, AGENCY, TIME, UNIT, TIME_NOTE, ONLINE,
    CHANNELS, RESULTS, NOTES, FEE_TOTAL,
];

const LEGAL_NUMBER: &str = "Số hiệu văn bản";
const LEGAL_TITLE: &str = "Trích yếu";
const LEGAL_COLUMNS: [&str; 3] = [CODE, LEGAL_NUMBER, LEGAL_TITLE];

const FEE_NAME: &str = "Tên phí, lệ phí";
const FEE_AMOUNT: &str = "Mức thu (đ)";
const FEE_PAYER: &str = "Người nộp";
const FEE_EXEMPTIONS: &str = "Miễn, giảm";
const FEE_COLUMNS: [&str; 5] = [CODE, FEE_NAME, FEE_AMOUNT, FEE_PAYER, FEE_EXEMPTIONS];

const DOC_NAME: &str = "Tên giấy tờ";
const DOC_KIND: &str = "Loại bản";
const DOC_COUNT: &str = "Số lượng";
const DOC_TEMPLATE: &str = "Mẫu đơn, tờ khai";
const DOC_REUSABLE: &str = "Dùng lại từ kho dữ liệu";
const DOCUMENT_COLUMNS: [&str; 6] = [
    CODE,
    DOC_NAME,
    DOC_KIND,
    DOC_COUNT,
    DOC_TEMPLATE,
    DOC_REUSABLE,
];

const FORM_KEY: &str = "Khóa trường";
const FORM_LABEL: &str = "Nhãn";
const FORM_TYPE: &str = "Kiểu";
const FORM_REQUIRED: &str = "Bắt buộc";
const FORM_MAX: &str = "Độ dài tối đa";
const FORM_OPTIONS: &str = "Lựa chọn (mỗi dòng một lựa chọn)";
const FORM_COLUMNS: [&str; 7] = [
    CODE,
    FORM_KEY,
    FORM_LABEL,
    FORM_TYPE,
    FORM_REQUIRED,
    FORM_MAX,
    FORM_OPTIONS,
];

const STEP_NAME: &str = "Bước";
const STEP_ROLE: &str = "Vai trò";
const STEP_HOURS: &str = "Thời gian (giờ làm việc)";
const STEP_TRANSFER: &str = "Chuyển đến (liên thông)";
const PROCESS_COLUMNS: [&str; 5] = [CODE, STEP_NAME, STEP_ROLE, STEP_HOURS, STEP_TRANSFER];

/// The values each coded column takes, for the guide sheet and for error messages.
const LEVEL_VALUES: [Level; 2] = [Level::Commune, Level::Province];
const ONLINE_VALUES: [OnlineLevel; 3] =
    [OnlineLevel::Full, OnlineLevel::Partial, OnlineLevel::None];
const CHANNEL_VALUES: [Channel; 3] = [Channel::Online, Channel::Counter, Channel::Postal];
const KIND_VALUES: [DocumentKind; 3] = [
    DocumentKind::Original,
    DocumentKind::CertifiedCopy,
    DocumentKind::Photocopy,
];
const TYPE_VALUES: [FieldType; 9] = [
    FieldType::Text,
    FieldType::Textarea,
    FieldType::Date,
    FieldType::Number,
    FieldType::Select,
    FieldType::PersonalId,
    FieldType::Phone,
    FieldType::Email,
    FieldType::Address,
];
/// The unit as officials write it; the codes `working_days` / `working_hours` are read too.
const UNIT_LABELS: [(TimeUnit, &str); 2] = [
    (TimeUnit::WorkingDays, "ngày làm việc"),
    (TimeUnit::WorkingHours, "giờ làm việc"),
];

/// The JSON code of a unit-like enum value (`certified_copy`).
fn code_of<T: Serialize>(value: &T) -> String {
    match serde_json::to_value(value) {
        Ok(serde_json::Value::String(s)) => s,
        _ => String::new(),
    }
}

fn codes<T: Serialize>(values: &[T]) -> String {
    values.iter().map(code_of).collect::<Vec<_>>().join(", ")
}

pub(crate) fn xlsx_error(e: XlsxError) -> Error {
    Error::Other(format!("xlsx: {e}"))
}

// ---------------------------------------------------------------------------------------
// Writing

/// A value to write into one cell.
enum Out {
    Text(String),
    Number(f64),
    Bool(bool),
    Empty,
}

fn text(s: &str) -> Out {
    Out::Text(s.to_owned())
}

fn optional(s: &Option<String>) -> Out {
    s.as_deref().map_or(Out::Empty, text)
}

fn lines(items: &[String]) -> Out {
    Out::Text(items.join("\n"))
}

fn sheet_with_rows(
    workbook: &mut Workbook,
    name: &str,
    columns: &[&str],
    rows: &[Vec<Out>],
) -> Result<()> {
    let sheet = workbook.add_worksheet();
    sheet.set_name(name).map_err(xlsx_error)?;
    header(sheet, columns)?;
    let wrap = Format::new().set_text_wrap();
    for (i, row) in rows.iter().enumerate() {
        let r = u32::try_from(i + 1).map_err(|_| Error::Other("too many rows".into()))?;
        for (c, value) in row.iter().enumerate() {
            let c = u16::try_from(c).map_err(|_| Error::Other("too many columns".into()))?;
            match value {
                Out::Text(s) if s.contains('\n') => sheet.write_string_with_format(r, c, s, &wrap),
                Out::Text(s) => sheet.write_string(r, c, s),
                Out::Number(n) => sheet.write_number(r, c, *n),
                Out::Bool(b) => sheet.write_boolean(r, c, *b),
                Out::Empty => continue,
            }
            .map_err(xlsx_error)?;
        }
    }
    sheet.autofit();
    sheet.set_freeze_panes(1, 1).map_err(xlsx_error)?;
    Ok(())
}

/// A bold header row.
pub(crate) fn header(sheet: &mut Worksheet, titles: &[&str]) -> Result<()> {
    let bold = Format::new().set_bold();
    for (col, title) in titles.iter().enumerate() {
        let col = u16::try_from(col).map_err(|_| Error::Other("too many columns".into()))?;
        sheet
            .write_string_with_format(0, col, *title, &bold)
            .map_err(xlsx_error)?;
    }
    Ok(())
}

/// Column letter of a 0-based index (`0` → `A`, `26` → `AA`).
fn column_letter(mut index: u32) -> String {
    let mut letters = Vec::new();
    loop {
        letters.push(char::from(b'A' + (index % 26) as u8));
        if index < 26 {
            break;
        }
        index = index / 26 - 1;
    }
    letters.iter().rev().collect()
}

/// The whole catalogue as a workbook (see the module documentation for the layout).
pub fn write(file: &CatalogFile) -> Result<Vec<u8>> {
    let mut procedures = Vec::new();
    let (mut legal, mut fees, mut documents, mut form, mut process) =
        (Vec::new(), Vec::new(), Vec::new(), Vec::new(), Vec::new());
    for (i, p) in file.procedures.iter().enumerate() {
        let unit = UNIT_LABELS
            .iter()
            .find(|(u, _)| *u == p.processing_time.unit)
            .map_or_else(
                || code_of(&p.processing_time.unit),
                |(_, l)| (*l).to_owned(),
            );
        // The total follows the fee sheet as the administrator edits it; the cached result
        // is what readers that do not recalculate show.
        let total: u64 = p.fees.iter().map(|f| f.amount).sum();
        let fee_code = column_letter(0);
        let fee_amount = column_letter(2);
        let formula = Formula::new(format!(
            "=SUMIF('{FEES}'!{fee_code}:{fee_code},{fee_code}{row},'{FEES}'!{fee_amount}:{fee_amount})",
            row = i + 2
        ))
        .set_result(total.to_string());
        procedures.push((
            vec![
                text(&p.code),
                Out::Bool(p.code_verified),
                text(&p.name),
                text(&p.field.code),
                text(&p.field.name),
                Out::Text(codes(&p.levels)),
                text(&p.implementing_agency),
                Out::Number(f64::from(p.processing_time.amount)),
                Out::Text(unit),
                text(&p.processing_time.note),
                Out::Text(code_of(&p.online_level)),
                Out::Text(codes(&p.channels)),
                lines(&p.results),
                text(&p.notes),
            ],
            formula,
        ));
        let key = || text(&p.code);
        for l in &p.legal_basis {
            legal.push(vec![key(), text(&l.number), text(&l.title)]);
        }
        for f in &p.fees {
            fees.push(vec![
                key(),
                text(&f.name),
                Out::Number(f.amount as f64),
                text(&f.payer),
                text(&f.exemptions),
            ]);
        }
        for d in &p.required_documents {
            documents.push(vec![
                key(),
                text(&d.name),
                Out::Text(code_of(&d.kind)),
                Out::Number(f64::from(d.count)),
                optional(&d.template),
                Out::Bool(d.reusable),
            ]);
        }
        for f in &p.form.fields {
            form.push(vec![
                key(),
                text(&f.key),
                text(&f.label_vi),
                Out::Text(code_of(&f.field_type)),
                Out::Bool(f.required),
                f.max_length
                    .map_or(Out::Empty, |m| Out::Number(f64::from(m))),
                lines(&f.options),
            ]);
        }
        for s in &p.process {
            process.push(vec![
                key(),
                text(&s.name),
                Out::Text(s.role.as_str().to_owned()),
                Out::Number(s.duration_hours),
                optional(&s.transfer_to),
            ]);
        }
    }
    let mut workbook = Workbook::new();
    let rows: Vec<Vec<Out>> = procedures
        .iter_mut()
        .map(|(r, _)| std::mem::take(r))
        .collect();
    sheet_with_rows(&mut workbook, PROCEDURES, &PROCEDURE_COLUMNS, &rows)?;
    let total_col = u16::try_from(PROCEDURE_COLUMNS.len() - 1)
        .map_err(|_| Error::Other("too many columns".into()))?;
    let sheet = workbook
        .worksheet_from_name(PROCEDURES)
        .map_err(xlsx_error)?;
    for (i, (_, formula)) in procedures.into_iter().enumerate() {
        let row = u32::try_from(i + 1).map_err(|_| Error::Other("too many rows".into()))?;
        sheet
            .write_formula(row, total_col, formula)
            .map_err(xlsx_error)?;
    }
    sheet_with_rows(&mut workbook, LEGAL, &LEGAL_COLUMNS, &legal)?;
    sheet_with_rows(&mut workbook, FEES, &FEE_COLUMNS, &fees)?;
    sheet_with_rows(&mut workbook, DOCUMENTS, &DOCUMENT_COLUMNS, &documents)?;
    sheet_with_rows(&mut workbook, FORM, &FORM_COLUMNS, &form)?;
    sheet_with_rows(&mut workbook, PROCESS, &PROCESS_COLUMNS, &process)?;
    let roles: Vec<&str> = Role::ALL.iter().map(|r| r.as_str()).collect();
    let units: Vec<&str> = UNIT_LABELS.iter().map(|(_, l)| *l).collect();
    let guide = [
        (format!("{PROCEDURES}: {LEVELS}"), codes(&LEVEL_VALUES)),
        (format!("{PROCEDURES}: {UNIT}"), units.join(", ")),
        (format!("{PROCEDURES}: {ONLINE}"), codes(&ONLINE_VALUES)),
        (format!("{PROCEDURES}: {CHANNELS}"), codes(&CHANNEL_VALUES)),
        (format!("{DOCUMENTS}: {DOC_KIND}"), codes(&KIND_VALUES)),
        (format!("{FORM}: {FORM_TYPE}"), codes(&TYPE_VALUES)),
        (format!("{PROCESS}: {STEP_ROLE}"), roles.join(", ")),
        (
            "Nhiều giá trị / several values".to_owned(),
            "Cấp, kênh: cách nhau bằng dấu phẩy. Kết quả, lựa chọn: mỗi dòng một giá trị."
                .to_owned(),
        ),
        (
            "Danh sách con / lists".to_owned(),
            format!(
                "Mỗi dòng một mục, cột «{CODE}» cho biết mục thuộc thủ tục nào; thứ tự các dòng là thứ tự các mục."
            ),
        ),
    ];
    let guide_rows: Vec<Vec<Out>> = guide
        .into_iter()
        .map(|(what, values)| vec![Out::Text(what), Out::Text(values)])
        .collect();
    sheet_with_rows(&mut workbook, GUIDE, &["Cột", "Giá trị"], &guide_rows)?;
    workbook.save_to_buffer().map_err(xlsx_error)
}

// ---------------------------------------------------------------------------------------
// Reading

/// A cell's value as read, owned.
#[derive(Debug, Clone, PartialEq)]
enum In {
    Text(String),
    Int(i64),
    Float(f64),
    Bool(bool),
    /// A date, a duration or an error value: never what a catalogue column holds.
    Unusable(&'static str),
}

fn file_error(what: impl std::fmt::Display) -> Error {
    DomainError::invalid(format!("the catalogue workbook cannot be read: {what}"))
        .with_rule("catalog.xlsx_file")
        .into()
}

/// One sheet's cells, sparse, with its header row.
struct SheetData {
    name: &'static str,
    cells: BTreeMap<(u32, u32), In>,
    columns: HashMap<String, u32>,
    last_row: u32,
}

impl SheetData {
    fn column(&self, header: &'static str) -> Result<Column<'_>> {
        self.columns
            .get(header)
            .map(|&index| Column {
                sheet: self,
                index,
                header,
            })
            .ok_or_else(|| {
                DomainError::invalid(format!(
                    "sheet `{}`: column `{header}` is missing from the header row (row 1)",
                    self.name
                ))
                .with_rule("catalog.xlsx_column")
                .into()
            })
    }

    fn row_is_empty(&self, row: u32) -> bool {
        self.cells
            .range((row, 0)..(row + 1, 0))
            .all(|(_, v)| matches!(v, In::Text(s) if s.trim().is_empty()))
    }
}

/// A column of a sheet, found by its header.
#[derive(Clone, Copy)]
struct Column<'a> {
    sheet: &'a SheetData,
    index: u32,
    header: &'static str,
}

impl Column<'_> {
    fn error(&self, row: u32, what: impl std::fmt::Display) -> Error {
        DomainError::invalid(format!(
            "sheet `{}`, row {}, column {} ({}): {what}",
            self.sheet.name,
            row + 1,
            column_letter(self.index),
            self.header
        ))
        .with_rule("catalog.xlsx_cell")
        .into()
    }

    fn get(&self, row: u32) -> Option<&In> {
        self.sheet.cells.get(&(row, self.index))
    }

    /// Text as written; a number typed into a text column reads as its digits.
    fn text(&self, row: u32) -> Result<String> {
        match self.get(row) {
            None => Ok(String::new()),
            Some(In::Text(s)) => Ok(s.clone()),
            Some(In::Int(i)) => Ok(i.to_string()),
            Some(In::Float(f)) => Ok(f.to_string()),
            Some(In::Bool(_)) => Err(self.error(row, "a true/false value where text is expected")),
            Some(In::Unusable(what)) => Err(self.error(
                row,
                format!("{what} where text is expected (format the cell as text)"),
            )),
        }
    }

    fn required_text(&self, row: u32) -> Result<String> {
        let value = self.text(row)?;
        if value.trim().is_empty() {
            return Err(self.error(row, "is required"));
        }
        Ok(value)
    }

    fn optional_text(&self, row: u32) -> Result<Option<String>> {
        let value = self.text(row)?;
        Ok((!value.is_empty()).then_some(value))
    }

    fn number(&self, row: u32) -> Result<Option<f64>> {
        let value = match self.get(row) {
            None => return Ok(None),
            Some(In::Int(i)) => *i as f64,
            Some(In::Float(f)) => *f,
            Some(In::Text(s)) if s.trim().is_empty() => return Ok(None),
            Some(In::Text(s)) => s
                .trim()
                .parse::<f64>()
                .map_err(|_| self.error(row, format!("`{s}` is not a number")))?,
            Some(_) => return Err(self.error(row, "a number is expected")),
        };
        if value.is_finite() {
            Ok(Some(value))
        } else {
            Err(self.error(row, "a finite number is expected"))
        }
    }

    /// A whole number in `0..=max`; empty reads as `None`.
    fn whole(&self, row: u32, max: u64) -> Result<Option<u64>> {
        let Some(value) = self.number(row)? else {
            return Ok(None);
        };
        if value.fract() != 0.0 || value < 0.0 || value > max as f64 {
            return Err(self.error(
                row,
                format!("{value} is not a whole number between 0 and {max}"),
            ));
        }
        Ok(Some(value as u64))
    }

    fn required_whole(&self, row: u32, max: u64) -> Result<u64> {
        self.whole(row, max)?
            .ok_or_else(|| self.error(row, "is required"))
    }

    fn small(&self, row: u32) -> Result<Option<u32>> {
        Ok(self
            .whole(row, u64::from(u32::MAX))?
            .and_then(|v| u32::try_from(v).ok()))
    }

    /// TRUE/FALSE cells, or the words an official would type; empty reads as `default`.
    fn flag(&self, row: u32, default: bool) -> Result<bool> {
        match self.get(row) {
            None => Ok(default),
            Some(In::Bool(b)) => Ok(*b),
            Some(In::Int(1)) => Ok(true),
            Some(In::Int(0)) => Ok(false),
            Some(In::Text(s)) => match s.trim().to_lowercase().as_str() {
                "" => Ok(default),
                "true" | "có" | "x" | "1" | "yes" => Ok(true),
                "false" | "không" | "0" | "no" => Ok(false),
                other => Err(self.error(row, format!("`{other}` is not TRUE/FALSE (có/không)"))),
            },
            Some(_) => Err(self.error(row, "TRUE or FALSE is expected")),
        }
    }

    /// One coded value (`certified_copy`), checked against the enum it names.
    fn coded<T: DeserializeOwned + Serialize>(&self, row: u32, allowed: &[T]) -> Result<T> {
        let value = self.required_text(row)?;
        parse_code(value.trim()).ok_or_else(|| {
            self.error(
                row,
                format!("`{}` is not one of: {}", value.trim(), codes(allowed)),
            )
        })
    }

    /// Comma-separated coded values, in order.
    fn coded_list<T: DeserializeOwned + Serialize>(
        &self,
        row: u32,
        allowed: &[T],
    ) -> Result<Vec<T>> {
        self.text(row)?
            .split(',')
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(|s| {
                parse_code(s).ok_or_else(|| {
                    self.error(row, format!("`{s}` is not one of: {}", codes(allowed)))
                })
            })
            .collect()
    }

    /// One entry per line; blank lines are skipped.
    fn lines(&self, row: u32) -> Result<Vec<String>> {
        Ok(self
            .text(row)?
            .split('\n')
            .map(|l| l.strip_suffix('\r').unwrap_or(l))
            .filter(|l| !l.trim().is_empty())
            .map(str::to_owned)
            .collect())
    }
}

fn parse_code<T: DeserializeOwned>(code: &str) -> Option<T> {
    serde_json::from_value(serde_json::Value::String(code.to_owned())).ok()
}

fn read_sheet(workbook: &mut Xlsx<Cursor<&[u8]>>, name: &'static str) -> Result<SheetData> {
    if !workbook.sheet_names().iter().any(|n| n == name) {
        return Err(DomainError::invalid(format!(
            "the workbook has no sheet `{name}` (sheets: {})",
            workbook.sheet_names().join(", ")
        ))
        .with_rule("catalog.xlsx_sheet")
        .into());
    }
    let mut reader = workbook
        .worksheet_cells_reader(name)
        .map_err(|e| file_error(format!("sheet `{name}`: {e}")))?;
    let mut cells = BTreeMap::new();
    let mut last_row = 0;
    while let Some(cell) = reader
        .next_cell()
        .map_err(|e| file_error(format!("sheet `{name}`: {e}")))?
    {
        let (row, col) = cell.get_position();
        if row >= MAX_ROWS {
            return Err(file_error(format!(
                "sheet `{name}` has more than {MAX_ROWS} rows"
            )));
        }
        let value = match cell.get_value() {
            DataRef::Empty => continue,
            DataRef::String(s) => In::Text(s.clone()),
            DataRef::SharedString(s) => In::Text((*s).to_owned()),
            DataRef::Int(i) => In::Int(*i),
            DataRef::Float(f) => In::Float(*f),
            DataRef::Bool(b) => In::Bool(*b),
            DataRef::DateTime(_) | DataRef::DateTimeIso(_) => In::Unusable("a date"),
            DataRef::DurationIso(_) => In::Unusable("a duration"),
            DataRef::Error(_) => In::Unusable("an error value (#REF!, #VALUE!, …)"),
        };
        if col >= MAX_COLUMNS {
            return Err(file_error(format!(
                "sheet `{name}` has cells beyond column {}",
                column_letter(MAX_COLUMNS - 1)
            )));
        }
        last_row = last_row.max(row);
        cells.insert((row, col), value);
    }
    let columns = cells
        .range((0, 0)..(1, 0))
        .filter_map(|(&(_, col), v)| match v {
            In::Text(s) if !s.trim().is_empty() => Some((s.trim().to_owned(), col)),
            _ => None,
        })
        .collect();
    Ok(SheetData {
        name,
        cells,
        columns,
        last_row,
    })
}

/// Rows 2.. of a sheet that hold something, 0-based.
fn data_rows(sheet: &SheetData) -> impl Iterator<Item = u32> + '_ {
    (1..=sheet.last_row).filter(|&r| !sheet.row_is_empty(r))
}

/// Where each part of a procedure was read from, to point at it when validation fails.
#[derive(Default)]
struct Origin {
    row: u32,
    steps: Vec<u32>,
    fields: Vec<u32>,
}

/// The rows of a list sheet grouped by procedure: `(row, procedure index)`; a code that is
/// not on the procedure sheet is an error at its cell.
fn keyed_rows(sheet: &SheetData, index: &HashMap<String, usize>) -> Result<Vec<(u32, usize)>> {
    let code = sheet.column(CODE)?;
    data_rows(sheet)
        .map(|row| {
            let value = code.required_text(row)?;
            index.get(value.trim()).map(|&i| (row, i)).ok_or_else(|| {
                code.error(
                    row,
                    format!(
                        "procedure `{}` is not on the sheet `{PROCEDURES}`",
                        value.trim()
                    ),
                )
            })
        })
        .collect()
}

/// Checks size and archive before anything is parsed.
fn open(bytes: &[u8]) -> Result<Xlsx<Cursor<&[u8]>>> {
    if bytes.len() > MAX_BYTES {
        return Err(file_error(format!(
            "{} bytes, more than the limit of {MAX_BYTES}",
            bytes.len()
        )));
    }
    if !is_xlsx(bytes) {
        return Err(file_error("not an xlsx file (not a zip archive)"));
    }
    let mut archive = zip::ZipArchive::new(Cursor::new(bytes)).map_err(file_error)?;
    let mut declared = 0u64;
    for i in 0..archive.len() {
        declared = declared.saturating_add(archive.by_index_raw(i).map_err(file_error)?.size());
    }
    if declared > MAX_UNCOMPRESSED_BYTES {
        return Err(file_error(format!(
            "it unpacks to {declared} bytes, more than the limit of {MAX_UNCOMPRESSED_BYTES}"
        )));
    }
    Xlsx::new(Cursor::new(bytes)).map_err(file_error)
}

/// Reads a catalogue workbook as [`write`] lays it out, and validates every procedure.
/// Nothing is stored here: pass the result to [`crate::catalog::import`].
pub fn read(bytes: &[u8]) -> Result<CatalogFile> {
    let mut workbook = open(bytes)?;
    let main = read_sheet(&mut workbook, PROCEDURES)?;
    let legal_sheet = read_sheet(&mut workbook, LEGAL)?;
    let fee_sheet = read_sheet(&mut workbook, FEES)?;
    let document_sheet = read_sheet(&mut workbook, DOCUMENTS)?;
    let form_sheet = read_sheet(&mut workbook, FORM)?;
    let process_sheet = read_sheet(&mut workbook, PROCESS)?;

    let [
        code,
        verified,
        name,
        field_code,
        field_name,
        levels,
        agency,
        time,
        unit,
        time_note,
        online,
        channels,
        results,
        notes,
    ] = [
        CODE, VERIFIED, NAME, FIELD_CODE, FIELD_NAME, LEVELS, AGENCY, TIME, UNIT, TIME_NOTE,
        ONLINE, CHANNELS, RESULTS, NOTES,
    ]
    .map(|h| main.column(h));
    let (code, verified, name, field_code, field_name) =
        (code?, verified?, name?, field_code?, field_name?);
    let (levels, agency, time, unit, time_note) = (levels?, agency?, time?, unit?, time_note?);
    let (online, channels, results, notes) = (online?, channels?, results?, notes?);

    let mut procedures = Vec::new();
    let mut origins = Vec::new();
    let mut index = HashMap::new();
    for row in data_rows(&main) {
        let spec_code = code.required_text(row)?.trim().to_owned();
        if let Some(&first) = index.get(&spec_code) {
            let first: &Origin = &origins[first];
            return Err(code.error(
                row,
                format!("procedure `{spec_code}` is also on row {}", first.row + 1),
            ));
        }
        let unit_text = unit.required_text(row)?;
        let unit_value = UNIT_LABELS
            .iter()
            .find(|(_, label)| *label == unit_text.trim())
            .map(|(u, _)| *u)
            .or_else(|| parse_code(unit_text.trim()))
            .ok_or_else(|| {
                let labels: Vec<&str> = UNIT_LABELS.iter().map(|(_, l)| *l).collect();
                unit.error(
                    row,
                    format!(
                        "`{}` is not one of: {}",
                        unit_text.trim(),
                        labels.join(", ")
                    ),
                )
            })?;
        index.insert(spec_code.clone(), procedures.len());
        origins.push(Origin {
            row,
            ..Origin::default()
        });
        procedures.push(ProcedureSpec {
            code: spec_code,
            code_verified: verified.flag(row, true)?,
            name: name.required_text(row)?,
            field: Field {
                code: field_code.text(row)?,
                name: field_name.required_text(row)?,
            },
            levels: levels.coded_list(row, &LEVEL_VALUES)?,
            implementing_agency: agency.required_text(row)?,
            legal_basis: Vec::new(),
            processing_time: ProcessingTime {
                amount: u32::try_from(time.required_whole(row, u64::from(u32::MAX))?)
                    .map_err(|_| time.error(row, "too large"))?,
                unit: unit_value,
                note: time_note.text(row)?,
            },
            fees: Vec::new(),
            required_documents: Vec::new(),
            form: FormSchema::default(),
            online_level: online.coded(row, &ONLINE_VALUES)?,
            channels: channels.coded_list(row, &CHANNEL_VALUES)?,
            process: Vec::new(),
            results: results.lines(row)?,
            notes: notes.text(row)?,
        });
    }

    let (number, title) = (
        legal_sheet.column(LEGAL_NUMBER)?,
        legal_sheet.column(LEGAL_TITLE)?,
    );
    for (row, i) in keyed_rows(&legal_sheet, &index)? {
        procedures[i].legal_basis.push(LegalBasis {
            number: number.required_text(row)?,
            title: title.text(row)?,
        });
    }

    let [fee_name, amount, payer, exemptions] =
        [FEE_NAME, FEE_AMOUNT, FEE_PAYER, FEE_EXEMPTIONS].map(|h| fee_sheet.column(h));
    let (fee_name, amount, payer, exemptions) = (fee_name?, amount?, payer?, exemptions?);
    for (row, i) in keyed_rows(&fee_sheet, &index)? {
        let payer_text = payer.text(row)?;
        procedures[i].fees.push(Fee {
            name: fee_name.required_text(row)?,
            // Exact in a spreadsheet number up to 2^53 đồng.
            amount: amount.required_whole(row, 1 << 53)?,
            payer: if payer_text.is_empty() {
                "applicant".into()
            } else {
                payer_text
            },
            exemptions: exemptions.text(row)?,
        });
    }

    let [doc_name, kind, count, template, reusable] =
        [DOC_NAME, DOC_KIND, DOC_COUNT, DOC_TEMPLATE, DOC_REUSABLE]
            .map(|h| document_sheet.column(h));
    let (doc_name, kind, count, template, reusable) =
        (doc_name?, kind?, count?, template?, reusable?);
    for (row, i) in keyed_rows(&document_sheet, &index)? {
        procedures[i].required_documents.push(RequiredDocument {
            name: doc_name.required_text(row)?,
            kind: kind.coded(row, &KIND_VALUES)?,
            count: count.small(row)?.unwrap_or(1),
            template: template.optional_text(row)?,
            reusable: reusable.flag(row, false)?,
        });
    }

    let [key, label, field_type, required, max_length, options] = [
        FORM_KEY,
        FORM_LABEL,
        FORM_TYPE,
        FORM_REQUIRED,
        FORM_MAX,
        FORM_OPTIONS,
    ]
    .map(|h| form_sheet.column(h));
    let (key, label, field_type, required, max_length, options) =
        (key?, label?, field_type?, required?, max_length?, options?);
    for (row, i) in keyed_rows(&form_sheet, &index)? {
        origins[i].fields.push(row);
        procedures[i].form.fields.push(FormField {
            key: key.text(row)?.trim().to_owned(),
            label_vi: label.required_text(row)?,
            field_type: field_type.coded(row, &TYPE_VALUES)?,
            required: required.flag(row, false)?,
            max_length: max_length.small(row)?,
            options: options.lines(row)?,
        });
    }

    let [step_name, role, hours, transfer] =
        [STEP_NAME, STEP_ROLE, STEP_HOURS, STEP_TRANSFER].map(|h| process_sheet.column(h));
    let (step_name, role, hours, transfer) = (step_name?, role?, hours?, transfer?);
    for (row, i) in keyed_rows(&process_sheet, &index)? {
        origins[i].steps.push(row);
        procedures[i].process.push(ProcessStep {
            name: step_name.required_text(row)?,
            role: role.coded(row, &Role::ALL)?,
            duration_hours: hours
                .number(row)?
                .ok_or_else(|| hours.error(row, "is required"))?,
            transfer_to: transfer.optional_text(row)?,
        });
    }

    // The domain's validation decides; the workbook only says where the problem sits.
    for (spec, origin) in procedures.iter().zip(&origins) {
        let Some((part, problem)) = spec.first_problem() else {
            continue;
        };
        let (column, row) = match part {
            SpecPart::Code => (code, origin.row),
            SpecPart::Name => (name, origin.row),
            SpecPart::Levels => (levels, origin.row),
            SpecPart::Channels => (channels, origin.row),
            SpecPart::ProcessingTime => (time, origin.row),
            SpecPart::Step(i) => (hours, origin.steps.get(i).copied().unwrap_or(origin.row)),
            SpecPart::FormFieldKey(i) => (key, origin.fields.get(i).copied().unwrap_or(origin.row)),
            SpecPart::FormFieldOptions(i) => {
                (options, origin.fields.get(i).copied().unwrap_or(origin.row))
            }
        };
        let mut located = column.error(row, problem.detail);
        if let (Error::Domain(e), Some(rule)) = (&mut located, problem.rule) {
            e.rule = Some(rule);
        }
        return Err(located);
    }
    Ok(CatalogFile {
        version: 1,
        procedures,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn demo() -> CatalogFile {
        crate::catalog::demo_catalogue().unwrap()
    }

    fn detail(result: Result<CatalogFile>) -> (String, Option<&'static str>) {
        match result {
            Err(Error::Domain(e)) => (e.detail, e.rule),
            other => panic!("expected a domain error, got {other:?}"),
        }
    }

    #[test]
    fn the_demo_catalogue_survives_a_round_trip() {
        let file = demo();
        let bytes = write(&file).unwrap();
        assert!(is_xlsx(&bytes));
        assert_eq!(read(&bytes).unwrap(), file);
    }

    #[test]
    fn every_list_and_optional_value_survives() {
        let mut file = demo();
        let spec = &mut file.procedures[0];
        spec.code_verified = false;
        spec.notes = "  Ghi chú, có dấu phẩy\nvà hai dòng  ".into();
        spec.results = vec!["Giấy khai sinh, bản chính".into(), "Bản sao".into()];
        spec.fees.push(Fee {
            name: "Lệ phí".into(),
            amount: 9_007_199_254_740_992,
            payer: "tổ chức".into(),
            exemptions: "Hộ nghèo".into(),
        });
        spec.required_documents.push(RequiredDocument {
            name: "Tờ khai".into(),
            kind: DocumentKind::CertifiedCopy,
            count: 3,
            template: Some("TK-01".into()),
            reusable: true,
        });
        spec.form.fields.push(FormField {
            key: "ward".into(),
            label_vi: "Phường".into(),
            field_type: FieldType::Select,
            required: true,
            max_length: Some(40),
            options: vec!["Phường 1, Nha Trang".into(), "Xã Cam Hải Đông".into()],
        });
        spec.processing_time.amount = 1000;
        spec.process.push(ProcessStep {
            name: "Chuyển thuế".into(),
            role: Role::Specialist,
            duration_hours: 0.25,
            transfer_to: Some("tax".into()),
        });
        spec.validate().unwrap();
        assert_eq!(read(&write(&file).unwrap()).unwrap(), file);
    }

    /// A workbook with the given sheets (header row + data rows of text cells).
    fn workbook(sheets: &[(&str, Vec<Vec<&str>>)]) -> Vec<u8> {
        let mut w = Workbook::new();
        for (name, rows) in sheets {
            let sheet = w.add_worksheet();
            sheet.set_name(*name).unwrap();
            for (r, row) in rows.iter().enumerate() {
                for (c, value) in row.iter().enumerate() {
                    sheet.write_string(r as u32, c as u16, *value).unwrap();
                }
            }
        }
        w.save_to_buffer().unwrap()
    }

    fn minimal(procedure_row: Vec<&str>, steps: Vec<Vec<&str>>) -> Vec<u8> {
        let mut process = vec![PROCESS_COLUMNS.to_vec()];
        process.extend(steps);
        workbook(&[
            (
                PROCEDURES,
                vec![PROCEDURE_COLUMNS[..14].to_vec(), procedure_row],
            ),
            (LEGAL, vec![LEGAL_COLUMNS.to_vec()]),
            (FEES, vec![FEE_COLUMNS.to_vec()]),
            (DOCUMENTS, vec![DOCUMENT_COLUMNS.to_vec()]),
            (FORM, vec![FORM_COLUMNS.to_vec()]),
            (PROCESS, process),
        ])
    }

    const ROW: [&str; 14] = [
        "1.001193",
        "có",
        "Đăng ký khai sinh",
        "",
        "Hộ tịch",
        "commune",
        "UBND cấp xã",
        "1",
        "ngày làm việc",
        "",
        "full",
        "online, counter",
        "Giấy khai sinh",
        "",
    ];

    #[test]
    fn a_hand_made_sheet_with_text_cells_reads() {
        let file = read(&minimal(
            ROW.to_vec(),
            vec![vec!["1.001193", "Tiếp nhận", "counter_officer", "2", ""]],
        ))
        .unwrap();
        let spec = &file.procedures[0];
        assert_eq!(spec.processing_time.amount, 1);
        assert_eq!(spec.channels, vec![Channel::Online, Channel::Counter]);
        assert_eq!(spec.process[0].duration_hours, 2.0);
        assert!(spec.code_verified);
    }

    #[test]
    fn problems_name_sheet_row_and_column() {
        let (message, rule) = detail(read(b"PK\x03\x04 not really a zip"));
        assert_eq!(rule, Some("catalog.xlsx_file"));
        assert!(message.contains("cannot be read"), "{message}");
        let (message, rule) = detail(read(b"{\"version\": 1}"));
        assert_eq!(rule, Some("catalog.xlsx_file"));
        assert!(message.contains("not an xlsx"), "{message}");
        let (message, _) = detail(read(&vec![0u8; MAX_BYTES + 1]));
        assert!(message.contains("limit"), "{message}");

        let (message, rule) = detail(read(&workbook(&[(PROCEDURES, vec![vec![CODE]])])));
        assert_eq!(rule, Some("catalog.xlsx_sheet"));
        assert!(message.contains("no sheet `Căn cứ pháp lý`"), "{message}");

        let no_unit = workbook(&[
            (PROCEDURES, vec![PROCEDURE_COLUMNS[..8].to_vec()]),
            (LEGAL, vec![LEGAL_COLUMNS.to_vec()]),
            (FEES, vec![FEE_COLUMNS.to_vec()]),
            (DOCUMENTS, vec![DOCUMENT_COLUMNS.to_vec()]),
            (FORM, vec![FORM_COLUMNS.to_vec()]),
            (PROCESS, vec![PROCESS_COLUMNS.to_vec()]),
        ]);
        let (message, rule) = detail(read(&no_unit));
        assert_eq!(rule, Some("catalog.xlsx_column"));
        assert_eq!(
            message,
            "sheet `Thủ tục`: column `Đơn vị` is missing from the header row (row 1)"
        );

        let mut bad = ROW.to_vec();
        bad[7] = "một ngày";
        let (message, rule) = detail(read(&minimal(bad, vec![])));
        assert_eq!(rule, Some("catalog.xlsx_cell"));
        assert_eq!(
            message,
            "sheet `Thủ tục`, row 2, column H (Thời hạn giải quyết): `một ngày` is not a number"
        );

        let mut bad = ROW.to_vec();
        bad[11] = "online, fax";
        let (message, _) = detail(read(&minimal(bad, vec![])));
        assert!(
            message.starts_with("sheet `Thủ tục`, row 2, column L (Kênh nộp): `fax` is not one of"),
            "{message}"
        );

        let (message, _) = detail(read(&minimal(
            ROW.to_vec(),
            vec![vec!["1.999999", "Tiếp nhận", "counter_officer", "2", ""]],
        )));
        assert_eq!(
            message,
            "sheet `Quy trình`, row 2, column A (Mã thủ tục): procedure `1.999999` is not on the sheet `Thủ tục`"
        );
    }

    #[test]
    fn validation_problems_point_at_their_cell() {
        let (message, rule) = detail(read(&minimal(
            ROW.to_vec(),
            vec![
                vec!["1.001193", "Tiếp nhận", "counter_officer", "2", ""],
                vec![],
                vec!["1.001193", "Duyệt", "leader", "-1", ""],
            ],
        )));
        assert_eq!(rule, Some("catalog.xlsx_cell"));
        assert_eq!(
            message,
            "sheet `Quy trình`, row 4, column D (Thời gian (giờ làm việc)): procedure 1.001193: step durations must be non-negative numbers of hours"
        );
        let mut bad = ROW.to_vec();
        bad[0] = "1-001193";
        let (message, rule) = detail(read(&minimal(bad, vec![])));
        assert_eq!(rule, Some("procedure.code"));
        assert!(
            message.starts_with("sheet `Thủ tục`, row 2, column A (Mã thủ tục): procedure code"),
            "{message}"
        );
        let twice = workbook(&[
            (
                PROCEDURES,
                vec![PROCEDURE_COLUMNS[..14].to_vec(), ROW.to_vec(), ROW.to_vec()],
            ),
            (LEGAL, vec![LEGAL_COLUMNS.to_vec()]),
            (FEES, vec![FEE_COLUMNS.to_vec()]),
            (DOCUMENTS, vec![DOCUMENT_COLUMNS.to_vec()]),
            (FORM, vec![FORM_COLUMNS.to_vec()]),
            (PROCESS, vec![PROCESS_COLUMNS.to_vec()]),
        ]);
        let (message, _) = detail(read(&twice));
        assert_eq!(
            message,
            "sheet `Thủ tục`, row 3, column A (Mã thủ tục): procedure `1.001193` is also on row 2"
        );
    }

    #[test]
    fn column_letters() {
        assert_eq!(column_letter(0), "A");
        assert_eq!(column_letter(25), "Z");
        assert_eq!(column_letter(26), "AA");
        assert_eq!(column_letter(63), "BL");
    }
}
