//! Plain types of the two edXML packages of QCVN 102:2016: the document package (gói tin văn
//! bản: MessageHeader, TraceHeaderList with Bussiness, manifest, attachments) and the status
//! package (gói tin trạng thái).
//!
//! Invariants: the types mirror the wire faithfully rather than the rules, so that any package
//! that parses can be held, printed and written back unchanged. Every leaf value is kept as the
//! text that travelled (`String` / `Option<String>`; `None` = element absent, `Some("")` =
//! element present but empty); dates (`yyyy/MM/dd`), timestamps (`yyyy/MM/dd HH:mm:ss`) and
//! coded values are checked by [`crate::validate`], and typed views of them (enums with their
//! Vietnamese labels, `chrono` dates) are offered as accessors here. JSON field names are the
//! XML element names (PascalCase), so `inspect` output and `build` input read like the package.

use serde::{Deserialize, Serialize};

/// Namespace URI of every edXML element (QCVN 102:2016).
pub const NAMESPACE: &str = "http://www.mic.gov.vn/TBT/QCVN_102_2016";
/// The prefix envelope children must carry (the national axis rejects unprefixed ones).
pub const PREFIX: &str = "edXML";
/// Format of a date field (`PromulgationDate`, `DueDate`), chrono syntax.
pub const DATE_FORMAT: &str = "%Y/%m/%d";
/// Format of a timestamp field (`TraceHeader/Timestamp`, status `Timestamp`), chrono syntax.
pub const TIMESTAMP_FORMAT: &str = "%Y/%m/%d %H:%M:%S";

/// An element the model has no field for, kept so that a package from a newer or looser
/// sender survives a parse → build cycle. `name` is the qualified name as it appeared.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct ExtraElement {
    pub name: String,
    pub attributes: Vec<(String, String)>,
    pub text: String,
    pub children: Vec<ExtraElement>,
}

/// `From` / `To`: an agency (cơ quan, tổ chức).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct Organization {
    /// Mã định danh, shape `NNN.NN.NN.XNN`.
    pub organ_id: String,
    /// Cơ quan chủ quản.
    pub organization_in_charge: Option<String>,
    pub organ_name: Option<String>,
    pub organ_add: Option<String>,
    pub email: Option<String>,
    pub telephone: Option<String>,
    pub fax: Option<String>,
    pub website: Option<String>,
    pub extra: Vec<ExtraElement>,
}

/// `Code`: số (`CodeNumber`) and ký hiệu (`CodeNotation`) of the document.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct Code {
    pub code_number: String,
    pub code_notation: String,
}

/// `PromulgationInfo`: place and date of issue.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct PromulgationInfo {
    pub place: Option<String>,
    /// `yyyy/MM/dd`.
    pub promulgation_date: String,
}

/// `DocumentType`.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct DocumentType {
    /// `1` or `2` (the only values receivers accept).
    #[serde(rename = "Type")]
    pub kind: String,
    pub type_detail: Option<String>,
    /// e.g. "Công văn".
    pub type_name: Option<String>,
}

/// `SignerInfo`: who signed.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct SignerInfo {
    /// Thẩm quyền ký: TM., KT., TL., TUQ., Q. …
    pub competence: Option<String>,
    pub position: Option<String>,
    pub full_name: Option<String>,
}

/// `OtherInfo`.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct OtherInfo {
    /// Độ khẩn 0–4, see [`Priority`].
    pub priority: Option<String>,
    /// Phạm vi lưu hành.
    pub sphere_of_promulgation: Option<String>,
    /// Ký hiệu người soạn thảo.
    pub typer_notation: Option<String>,
    /// Số lượng bản phát hành.
    pub promulgation_amount: Option<String>,
    pub page_amount: Option<String>,
    /// `true` / `false`.
    pub direction: Option<String>,
    /// `Appendixes/Appendix`*; `None` = no `Appendixes` element.
    pub appendixes: Option<Vec<String>>,
    pub extra: Vec<ExtraElement>,
}

/// `ResponseFor`: the document this one answers.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct ResponseFor {
    pub organ_id: String,
    /// "Số/KýHiệu", e.g. `7816/VPCP-TTĐT`.
    pub code: String,
    pub promulgation_date: String,
    pub document_id: Option<String>,
}

/// `MessageHeader` of a document package (§1.2).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct MessageHeader {
    pub from: Organization,
    pub to: Vec<Organization>,
    /// Mã định danh văn bản `OrganId,yyyy/MM/dd,Số/KýHiệu`.
    pub document_id: Option<String>,
    pub code: Option<Code>,
    pub promulgation_info: Option<PromulgationInfo>,
    pub document_type: Option<DocumentType>,
    /// Trích yếu.
    pub subject: Option<String>,
    pub content: Option<String>,
    pub signer_info: Option<SignerInfo>,
    /// Hạn xử lý `yyyy/MM/dd`.
    pub due_date: Option<String>,
    pub other_info: Option<OtherInfo>,
    /// Loại chỉ đạo 0–3.
    pub steering_type: Option<String>,
    /// `ToPlaces/Place`*; `None` = no `ToPlaces` element.
    pub to_places: Option<Vec<String>>,
    pub response_for: Vec<ResponseFor>,
    pub extra: Vec<ExtraElement>,
}

/// `TraceHeader`: one hop of the document's route.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct TraceHeader {
    pub organ_id: String,
    /// `yyyy/MM/dd HH:mm:ss`.
    pub timestamp: String,
    pub extra: Vec<ExtraElement>,
}

/// `StaffInfo`: the clerk who sent the package (in Bussiness and in a status package).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct StaffInfo {
    pub department: Option<String>,
    pub staff: Option<String>,
    pub email: Option<String>,
    pub mobile: Option<String>,
}

/// `Receiver` of an update: added to or removed from the recipients.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct Receiver {
    pub organ_id: String,
    /// `0` removed, `1` added, see [`ReceiverType`].
    pub receiver_type: String,
}

/// `BussinessDocumentInfo`: what an update changes.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct BussinessDocumentInfo {
    /// `1` when the document's information changed.
    pub document_info: Option<String>,
    /// `1` when the recipient list changed.
    pub document_receiver: Option<String>,
    /// `ReceiverList/Receiver`*; `None` = no `ReceiverList` element.
    pub receiver_list: Option<Vec<Receiver>>,
}

/// `ReplacementInfo`: a document replaced, and at which agencies.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct ReplacementInfo {
    pub document_id: String,
    /// `OrganIdList/OrganId`*.
    pub organ_id_list: Vec<String>,
}

/// `Bussiness` (sic): what the package does to a document (§1.3).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct Bussiness {
    pub document_id: Option<String>,
    /// 0 new, 1 revoke, 2 update, 3 replace, see [`BussinessDocType`].
    pub bussiness_doc_type: String,
    pub bussiness_doc_reason: Option<String>,
    /// `0`/`1`: also sent on paper.
    pub paper: Option<String>,
    pub bussiness_document_info: Option<BussinessDocumentInfo>,
    pub staff_info: Option<StaffInfo>,
    /// `ReplacementInfoList/ReplacementInfo`*; `None` = no list element.
    pub replacement_info_list: Option<Vec<ReplacementInfo>>,
    pub extra: Vec<ExtraElement>,
}

/// Where `Bussiness` sits inside `TraceHeaderList`: senders disagree, and the order is kept so
/// a package is written back the way it came.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub enum BussinessPlacement {
    /// After the `TraceHeader`s (the VPCP samples).
    #[default]
    Last,
    /// Before the `TraceHeader`s (some provincial axes).
    First,
}

/// `TraceHeaderList`.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct TraceHeaderList {
    pub trace_header: Vec<TraceHeader>,
    pub bussiness: Option<Bussiness>,
    pub bussiness_placement: BussinessPlacement,
}

/// The header of a document package (everything but the attachments).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct DocumentPackage {
    pub message_header: MessageHeader,
    /// `None` = no `TraceHeaderList` element.
    pub trace_header_list: Option<TraceHeaderList>,
}

/// A manifest `Reference` and the metadata of its `Attachment` (the same four fields).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct AttachmentMeta {
    /// `cid:…`.
    pub content_id: String,
    pub content_type: String,
    pub description: Option<String>,
    pub attachment_name: String,
}

/// An attachment as read: its metadata and the number of decoded bytes.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct AttachmentInfo {
    #[serde(flatten)]
    pub meta: AttachmentMeta,
    /// Decoded size in bytes.
    pub size: u64,
}

/// The `MessageHeader` of a status package (§1.4).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct StatusPackage {
    pub from: Organization,
    pub response_for: ResponseFor,
    pub staff_info: Option<StaffInfo>,
    /// Two digits, see [`StatusCode`].
    pub status_code: String,
    pub description: Option<String>,
    /// `yyyy/MM/dd HH:mm:ss`.
    pub timestamp: String,
    pub extra: Vec<ExtraElement>,
}

/// Status codes of a status package, with the labels of the national axis.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum StatusCode {
    /// 01
    Arrived,
    /// 02
    Rejected,
    /// 03
    Accepted,
    /// 04
    AwaitingAssignment,
    /// 05
    Processing,
    /// 06
    Completed,
    /// 13
    RevocationRequested,
    /// 15
    RevocationAgreed,
    /// 16
    RevocationRefused,
}

impl StatusCode {
    /// Every code, in numeric order.
    pub const ALL: [StatusCode; 9] = [
        StatusCode::Arrived,
        StatusCode::Rejected,
        StatusCode::Accepted,
        StatusCode::AwaitingAssignment,
        StatusCode::Processing,
        StatusCode::Completed,
        StatusCode::RevocationRequested,
        StatusCode::RevocationAgreed,
        StatusCode::RevocationRefused,
    ];

    /// The two-digit wire form.
    pub fn code(self) -> &'static str {
        match self {
            StatusCode::Arrived => "01",
            StatusCode::Rejected => "02",
            StatusCode::Accepted => "03",
            StatusCode::AwaitingAssignment => "04",
            StatusCode::Processing => "05",
            StatusCode::Completed => "06",
            StatusCode::RevocationRequested => "13",
            StatusCode::RevocationAgreed => "15",
            StatusCode::RevocationRefused => "16",
        }
    }

    /// Vietnamese label (04/05 follow the VPCP wording; Bkav calls 04 "đã phân công xử lý").
    pub fn label_vi(self) -> &'static str {
        match self {
            StatusCode::Arrived => "Đã đến",
            StatusCode::Rejected => "Từ chối tiếp nhận",
            StatusCode::Accepted => "Đã tiếp nhận",
            StatusCode::AwaitingAssignment => "Đã đến, đang chờ phân công",
            StatusCode::Processing => "Đã phân công, đang xử lý",
            StatusCode::Completed => "Đã xử lý xong",
            StatusCode::RevocationRequested => "Thu hồi văn bản",
            StatusCode::RevocationAgreed => "Đồng ý thu hồi / cập nhật",
            StatusCode::RevocationRefused => "Từ chối thu hồi / cập nhật",
        }
    }

    /// The code for a wire value, if it is one.
    pub fn from_code(code: &str) -> Option<StatusCode> {
        StatusCode::ALL.into_iter().find(|c| c.code() == code)
    }
}

/// `OtherInfo/Priority` (độ khẩn).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Priority {
    Normal,
    Urgent,
    VeryUrgent,
    Express,
    ExpressTimed,
}

impl Priority {
    pub const ALL: [Priority; 5] = [
        Priority::Normal,
        Priority::Urgent,
        Priority::VeryUrgent,
        Priority::Express,
        Priority::ExpressTimed,
    ];

    pub fn code(self) -> &'static str {
        match self {
            Priority::Normal => "0",
            Priority::Urgent => "1",
            Priority::VeryUrgent => "2",
            Priority::Express => "3",
            Priority::ExpressTimed => "4",
        }
    }

    pub fn label_vi(self) -> &'static str {
        match self {
            Priority::Normal => "Thường",
            Priority::Urgent => "Khẩn",
            Priority::VeryUrgent => "Thượng khẩn",
            Priority::Express => "Hỏa tốc",
            Priority::ExpressTimed => "Hỏa tốc hẹn giờ",
        }
    }

    pub fn from_code(code: &str) -> Option<Priority> {
        Priority::ALL.into_iter().find(|p| p.code() == code)
    }
}

/// `Bussiness/BussinessDocType`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum BussinessDocType {
    New,
    Revoke,
    Update,
    Replace,
}

impl BussinessDocType {
    pub const ALL: [BussinessDocType; 4] = [
        BussinessDocType::New,
        BussinessDocType::Revoke,
        BussinessDocType::Update,
        BussinessDocType::Replace,
    ];

    pub fn code(self) -> &'static str {
        match self {
            BussinessDocType::New => "0",
            BussinessDocType::Revoke => "1",
            BussinessDocType::Update => "2",
            BussinessDocType::Replace => "3",
        }
    }

    pub fn label_vi(self) -> &'static str {
        match self {
            BussinessDocType::New => "Văn bản mới",
            BussinessDocType::Revoke => "Thu hồi",
            BussinessDocType::Update => "Cập nhật",
            BussinessDocType::Replace => "Thay thế",
        }
    }

    pub fn from_code(code: &str) -> Option<BussinessDocType> {
        BussinessDocType::ALL.into_iter().find(|t| t.code() == code)
    }
}

/// `Receiver/ReceiverType`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum ReceiverType {
    Removed,
    Added,
}

impl ReceiverType {
    pub fn from_code(code: &str) -> Option<ReceiverType> {
        match code {
            "0" => Some(ReceiverType::Removed),
            "1" => Some(ReceiverType::Added),
            _ => None,
        }
    }
}

impl StatusPackage {
    /// The typed status code, when the wire value is a known one.
    pub fn code(&self) -> Option<StatusCode> {
        StatusCode::from_code(&self.status_code)
    }
}

impl Bussiness {
    /// The typed business type, when the wire value is a known one.
    pub fn doc_type(&self) -> Option<BussinessDocType> {
        BussinessDocType::from_code(&self.bussiness_doc_type)
    }
}

/// A `yyyy/MM/dd` date, if the text is one.
pub fn parse_date(text: &str) -> Option<chrono::NaiveDate> {
    // chrono accepts single-digit fields; the wire form is fixed-width.
    if text.len() != 10 {
        return None;
    }
    chrono::NaiveDate::parse_from_str(text, DATE_FORMAT).ok()
}

/// A `yyyy/MM/dd HH:mm:ss` timestamp, if the text is one.
pub fn parse_timestamp(text: &str) -> Option<chrono::NaiveDateTime> {
    if text.len() != 19 {
        return None;
    }
    chrono::NaiveDateTime::parse_from_str(text, TIMESTAMP_FORMAT).ok()
}

/// The wire form of a date.
pub fn format_date(date: chrono::NaiveDate) -> String {
    date.format(DATE_FORMAT).to_string()
}

/// The wire form of a timestamp.
pub fn format_timestamp(at: chrono::NaiveDateTime) -> String {
    at.format(TIMESTAMP_FORMAT).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn status_codes_round_trip_and_are_labelled() {
        for code in StatusCode::ALL {
            assert_eq!(StatusCode::from_code(code.code()), Some(code));
            assert!(!code.label_vi().is_empty());
        }
        assert_eq!(StatusCode::from_code("05"), Some(StatusCode::Processing));
        assert_eq!(StatusCode::from_code("07"), None);
        assert_eq!(StatusCode::from_code("5"), None);
    }

    #[test]
    fn dates_are_fixed_width() {
        assert!(parse_date("2026/01/05").is_some());
        assert!(parse_date("2026/1/5").is_none());
        assert!(parse_date("2026/02/30").is_none());
        assert!(parse_timestamp("2026/01/05 08:30:00").is_some());
        assert!(parse_timestamp("2026/01/05 8:30:00").is_none());
        let d = chrono::NaiveDate::from_ymd_opt(2026, 3, 9);
        assert_eq!(d.map(format_date).as_deref(), Some("2026/03/09"));
    }
}
