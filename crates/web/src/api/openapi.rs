//! The OpenAPI 3.1 document of `/api/v1`, served at `/api/v1/openapi.json`.
//!
//! Each operation is described once in [`OPERATIONS`]; the test below fails when a route of
//! the API router has no entry here (or an entry has no route), so the document cannot drift
//! from what the server actually serves.

use axum::Json;
use axum::http::Method;
use serde_json::{Map, Value, json};

/// Who may call an operation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Auth {
    Public,
    Authenticated,
}

pub struct Operation {
    pub method: Method,
    pub path: &'static str,
    pub tag: &'static str,
    pub summary: &'static str,
    pub auth: Auth,
    /// Example request body (JSON), when the operation takes one.
    pub body: Option<&'static str>,
    pub query: &'static [(&'static str, &'static str)],
}

const fn first(values: &[&'static str]) -> Option<&'static str> {
    match values {
        [value, ..] => Some(value),
        [] => None,
    }
}

macro_rules! op {
    ($method:ident, $path:literal, $tag:literal, $auth:ident, $summary:literal $(, body = $body:literal)? $(, query = [$(($q:literal, $qd:literal)),*])?) => {
        Operation {
            method: Method::$method,
            path: $path,
            tag: $tag,
            summary: $summary,
            auth: Auth::$auth,
            body: first(&[$($body)?]),
            query: &[$($(($q, $qd)),*)?],
        }
    };
}

pub const OPERATIONS: &[Operation] = &[
    op!(GET, "/openapi.json", "meta", Public, "This document"),
    op!(
        GET,
        "/me",
        "identity",
        Authenticated,
        "The caller's account, role grants and token scopes"
    ),
    op!(
        POST,
        "/me/password",
        "identity",
        Authenticated,
        "Change one's own password (browser session only; the current password is required)",
        body = r#"{"current_password":"the-current-one","new_password":"a-new-long-password"}"#
    ),
    op!(
        GET,
        "/agencies",
        "organisation",
        Authenticated,
        "Agencies visible to the caller, in tree order"
    ),
    op!(
        POST,
        "/agencies",
        "organisation",
        Authenticated,
        "Create an agency (identifier NNN.NN.NN.XNN validated)",
        body = r#"{"code":"000.00.09.H32","name":"Sở Y tế","parent_code":"000.00.00.H32","level":"department"}"#
    ),
    op!(
        GET,
        "/agencies/{id}",
        "organisation",
        Authenticated,
        "One agency"
    ),
    op!(
        POST,
        "/agencies/{id}/rename",
        "organisation",
        Authenticated,
        "New identifier and/or name; the old identifier stays resolvable",
        body = r#"{"code":"000.00.19.H32","name":"Sở Tư pháp tỉnh Khánh Hòa"}"#
    ),
    op!(
        POST,
        "/agencies/{id}/merge",
        "organisation",
        Authenticated,
        "Merge this agency into another",
        body = r#"{"into_agency_id":3}"#
    ),
    op!(
        GET,
        "/agencies/{id}/departments",
        "organisation",
        Authenticated,
        "Departments of an agency"
    ),
    op!(
        POST,
        "/agencies/{id}/departments",
        "organisation",
        Authenticated,
        "Add a department",
        body = r#"{"name":"Bộ phận Một cửa"}"#
    ),
    op!(
        GET,
        "/agencies/{id}/positions",
        "organisation",
        Authenticated,
        "Positions of an agency"
    ),
    op!(
        POST,
        "/agencies/{id}/positions",
        "organisation",
        Authenticated,
        "Add a position",
        body = r#"{"name":"Phó Chủ tịch"}"#
    ),
    op!(
        GET,
        "/agency-codes/{code}",
        "organisation",
        Authenticated,
        "Resolve an identifier, current or retired, and the agency that carries on its work"
    ),
    op!(
        GET,
        "/units/resolve",
        "organisation",
        Public,
        "Which administrative unit a code meant on a date (three-level before 1 July 2025, two-level after)",
        query = [("code", "unit code, e.g. 22333"), ("date", "YYYY-MM-DD")]
    ),
    op!(
        GET,
        "/users",
        "identity",
        Authenticated,
        "Officials of the agencies the caller may see"
    ),
    op!(
        POST,
        "/users",
        "identity",
        Authenticated,
        "Create an account (official, citizen by personal ID, business by tax code)",
        body = r#"{"kind":"official","username":"nguyen.van.b","display_name":"Nguyễn Văn B","agency_id":11,"password":"a-long-initial-password","must_change_password":true}"#
    ),
    op!(GET, "/users/{id}", "identity", Authenticated, "One account"),
    op!(
        POST,
        "/users/{id}/roles",
        "identity",
        Authenticated,
        "Grant a role within an agency subtree",
        body = r#"{"role":"specialist","agency_id":11}"#
    ),
    op!(
        DELETE,
        "/users/{id}/roles",
        "identity",
        Authenticated,
        "Revoke a role grant",
        body = r#"{"role":"specialist","agency_id":11}"#
    ),
    op!(
        POST,
        "/users/{id}/password",
        "identity",
        Authenticated,
        "Administrator password reset (lifts a lockout, ends the user's sessions)",
        body = r#"{"new_password":"a-long-temporary-password","must_change":true}"#
    ),
    op!(
        POST,
        "/users/{id}/sessions/revoke",
        "identity",
        Authenticated,
        "Log the user out on every device"
    ),
    op!(
        POST,
        "/tokens",
        "identity",
        Authenticated,
        "Issue a scoped API token (the secret is shown once)",
        body = r#"{"name":"reporting sync","scopes":["view_agency"],"ttl_days":90}"#
    ),
    op!(
        DELETE,
        "/tokens/{id}",
        "identity",
        Authenticated,
        "Revoke an API token"
    ),
    op!(
        GET,
        "/audit/records",
        "audit",
        Authenticated,
        "Most recent audit records (auditors)",
        query = [("limit", "1–1000, default 100")]
    ),
    op!(
        GET,
        "/exchange/agencies",
        "exchange",
        Authenticated,
        "The document exchange's directory (installation administrators): the agencies this installation serves by identifier, the federated peers with the agencies they serve, whether the national exchange is configured"
    ),
    op!(
        GET,
        "/exchange/packages",
        "exchange",
        Authenticated,
        "The log of every edXML package in and out (installation administrators), newest first: direction, peer, sender, recipients, document id, DONE/FAIL/PROCESSING and the failure's code",
        query = [("limit", "1–1000, default 100")]
    ),
    op!(
        GET,
        "/audit/verify",
        "audit",
        Authenticated,
        "Verify the audit hash chain and name the first bad record"
    ),
    op!(
        GET,
        "/calendar/holidays/{year}",
        "calendar",
        Public,
        "Days off of a year: statutory, compensatory and scheduled"
    ),
    op!(
        GET,
        "/calendar/due",
        "calendar",
        Public,
        "Due instant after N working days or hours",
        query = [
            ("from", "RFC 3339 instant"),
            ("working_days", "number of working days"),
            ("working_hours", "number of working hours"),
            ("agency", "agency identifier whose office hours apply")
        ]
    ),
    op!(
        PUT,
        "/calendar/schedules/{year}",
        "calendar",
        Authenticated,
        "Store a year's official schedule: extra days off and swapped working days (provincial administrators)",
        body = r#"{"year":2027,"replaces_rules":[],"extra_days_off":[{"date":"2027-02-12","reason_vi":"Nghỉ Tết","reason_en":"Tết break"}],"extra_working_days":[{"date":"2027-02-20","reason_vi":"Làm bù","reason_en":"Make-up working day"}]}"#
    ),
    op!(
        PUT,
        "/agencies/{id}/office-hours",
        "calendar",
        Authenticated,
        "Set an agency's office hours (inherited by its subtree)",
        body = r#"{"periods":[["07:00:00","11:30:00"],["13:30:00","17:00:00"]]}"#
    ),
    op!(
        GET,
        "/procedures",
        "onestop",
        Public,
        "The procedure catalogue (current versions), searched and filtered: with `q`, ranked by the search (diacritics optional, typos tolerated, the last word as a prefix); `facets` count the matches per field, agency and level",
        query = [
            ("q", "free text, e.g. `dang ky khai sinh`"),
            ("field", "field (lĩnh vực) name, exact"),
            ("agency", "implementing agency, exact"),
            ("level", "`commune` or `province`")
        ]
    ),
    op!(
        GET,
        "/procedures/{code}",
        "onestop",
        Public,
        "One procedure: requirements, documents, fees, time limit, form schema, process"
    ),
    op!(
        POST,
        "/dossiers",
        "onestop",
        Authenticated,
        "File a dossier: citizens online for themselves; counter officers at the counter or by post, also on someone's behalf",
        body = r#"{"procedure_code":"1.001193","agency_code":"000.00.31.H32","channel":"counter","applicant":{"name":"Nguyễn Văn An","id_number":"001099000001","phone":"0905000001"},"form":{},"documents":[{"requirement":0,"upload_id":12},{"requirement":1,"paper":true},{"requirement":"Văn bản ủy quyền (nếu nộp thay)","paper":true}]}"#
    ),
    op!(
        POST,
        "/uploads",
        "onestop",
        Authenticated,
        "Upload one file for a dossier (citizens; officers for counter scans and results). The raw file is the request body (at most limits.max_upload_bytes, 10 MiB by default; 413 `payload_too_large`, rule upload.too_large); only PDF, JPEG and PNG, detected from the content (rule upload.type_not_allowed); scanned for malware first (rule upload.infected; 503 `unavailable`, rule upload.scanner_unavailable, when the scanner cannot be reached); at most limits.max_pending_uploads unattached uploads per account (rule upload.too_many_pending). Answers 201 with the upload's id, to be given in a filing's `documents`, a supplement's `documents` or an approval's `result_documents`",
        query = [(
            "filename",
            "the file's name (UTF-8, percent-encoded); sanitised and shortened"
        )]
    ),
    op!(
        GET,
        "/me/documents",
        "onestop",
        Authenticated,
        "The citizen's document store: results of returned dossiers, reusable in later filings (store_document_id) where the procedure marks a document reusable"
    ),
    op!(
        GET,
        "/dossiers/{code}/documents",
        "onestop",
        Authenticated,
        "Documents of a dossier: submitted, supplements and results (results shown to the applicant once returned)"
    ),
    op!(
        GET,
        "/dossiers/{code}/documents/{id}",
        "onestop",
        Authenticated,
        "Download one document (Content-Disposition: attachment, Content-Type from the detected type, nosniff)"
    ),
    op!(
        GET,
        "/dossiers/{code}",
        "onestop",
        Authenticated,
        "A dossier: status (with the national portal's code), dates, history"
    ),
    op!(
        POST,
        "/dossiers/{code}/accept",
        "onestop",
        Authenticated,
        "Accept a dossier filed online: receipt and appointment date"
    ),
    op!(
        GET,
        "/me/dossiers",
        "onestop",
        Authenticated,
        "The caller's own dossiers"
    ),
    op!(
        POST,
        "/dossiers/{code}/actions",
        "onestop",
        Authenticated,
        "Act on a dossier: start_processing, request_supplement (stops the clock), supplement (restarts it; `documents`: upload ids), request_payment, approve (`result_documents`: upload ids of the result, copied into the citizen's document store when returned), refuse, suspend, withdraw, return_result",
        body = r#"{"action":"request_supplement","items":["Bản sao giấy chứng nhận kết hôn của cha mẹ"],"reason":"Thiếu giấy tờ chứng minh quan hệ cha mẹ"}"#
    ),
    op!(
        GET,
        "/dossiers/{code}/forms/{kind}",
        "onestop",
        Authenticated,
        "A form of the dossier as PDF (application/pdf), TT 01/2018 layout: kind = receipt (Mẫu 01), supplement_request (Mẫu 02), refusal (Mẫu 03), apology (Mẫu 04); 409 form.not_applicable when the form does not apply yet; readable by whoever may read the dossier"
    ),
    op!(
        GET,
        "/dossiers",
        "onestop",
        Authenticated,
        "The officer's inbox: open dossiers of their agencies, most urgent first, with on_time / due_soon / overdue"
    ),
    op!(
        POST,
        "/dossiers/{code}/rating",
        "onestop",
        Authenticated,
        "Rate the service after the result: level 1 very satisfied, 2 satisfied, 3 not satisfied, and a comment",
        body = r#"{"level":1,"comment":"Cán bộ hướng dẫn tận tình"}"#
    ),
    op!(
        POST,
        "/dossiers/{code}/payments",
        "onestop",
        Authenticated,
        "Start paying the fee a dossier awaits (its applicant, or a counter officer of the receiving agency): returns the payment reference and the gateway's checkout URL; while an attempt is pending the same one is returned"
    ),
    op!(
        GET,
        "/dossiers/{code}/payments",
        "onestop",
        Authenticated,
        "The payment attempts of a dossier: reference, amount, status (pending, paid, failed, cancelled), gateway transaction"
    ),
    op!(
        POST,
        "/payments/callback",
        "onestop",
        Public,
        "The payment gateway's server-to-server callback (IPN), a form of vnp_* parameters signed with HMAC-SHA512; idempotent. Refused with payment.bad_signature, payment.unknown_reference, payment.amount_mismatch, payment.not_pending, payment.already_paid or payment.not_awaiting"
    ),
    op!(
        GET,
        "/public/dossiers/{code}",
        "onestop",
        Public,
        "Public status lookup by dossier code and the last 4 digits of the applicant's ID number or phone; no personal data",
        query = [(
            "check",
            "last 4 digits of the applicant's ID number or phone"
        )]
    ),
    op!(
        GET,
        "/statistics",
        "onestop",
        Public,
        "One-stop KPIs: received by channel, resolved on time/late, in progress on time/overdue, online share, average working days, satisfaction",
        query = [
            ("agency", "agency identifier (its whole subtree)"),
            ("procedure", "procedure code"),
            ("from", "YYYY-MM-DD"),
            ("to", "YYYY-MM-DD"),
            ("subtree", "true: the agency and all its descendants")
        ]
    ),
    op!(
        GET,
        "/statistics/xlsx",
        "onestop",
        Public,
        "The same KPIs as an xlsx spreadsheet",
        query = [
            ("agency", "agency identifier"),
            ("procedure", "procedure code"),
            ("from", "YYYY-MM-DD"),
            ("to", "YYYY-MM-DD")
        ]
    ),
    // == officer ==
    op!(
        POST,
        "/queue/{agency_code}/tickets",
        "onestop",
        Public,
        "Take a queue ticket at an agency (the ticket machine): today's next number, consecutive and never duplicated; numbers restart every day; limited per address"
    ),
    op!(
        GET,
        "/queue/{agency_code}",
        "onestop",
        Public,
        "The waiting-room display's state: the latest numbers called and their desks, how many wait, the last number handed out today"
    ),
    op!(
        POST,
        "/queue/{agency_code}/call",
        "onestop",
        Authenticated,
        "A counter officer of the agency calls today's lowest waiting number to their desk; `called` is null when nobody waits",
        body = r#"{"desk":"Quầy 2"}"#
    ),
    op!(
        POST,
        "/dossiers/bulk-approval",
        "onestop",
        Authenticated,
        "Leaders approve several dossiers at once: one decision per dossier (its own transaction), with each dossier's outcome (approved, or the error code and rule); refused outright to callers who may decide nowhere",
        body = r#"{"codes":["000.00.31.H32-270301-0001","000.00.31.H32-270301-0002"],"note":""}"#
    ),
    // == citizen ==
    op!(
        POST,
        "/drafts",
        "citizen",
        Authenticated,
        "Open the calling citizen's draft of an online application for the procedure's current version (the open one, or a new one carrying over answers of an older version's draft)",
        body = r#"{"procedure_code":"1.001193"}"#
    ),
    op!(
        GET,
        "/drafts/{id}",
        "citizen",
        Authenticated,
        "The caller's draft: agency, answers, chosen documents, last step, and the dossier code once submitted; another's draft is not_found"
    ),
    op!(
        PUT,
        "/drafts/{id}",
        "citizen",
        Authenticated,
        "Save a draft, valid or not: answers to set (empty or null clears one; only the form's fields, at most 4000 characters each), agency_code, documents (one per requirement: upload_id or store_document_id), clear_documents, step; refused with draft.submitted once submitted",
        body = r#"{"answers":{"child_name":"Nguyễn Văn Bình"},"agency_code":"000.00.31.H32","step":"1"}"#
    ),
    op!(
        POST,
        "/drafts/{id}/submit",
        "citizen",
        Authenticated,
        "Submit the draft as an online filing; idempotent: a second submit returns the same dossier. form.invalid lists the fields to fix; draft.outdated when the procedure changed since"
    ),
    op!(
        GET,
        "/me/notifications",
        "citizen",
        Authenticated,
        "The e-mails and SMS sent (or queued) to the caller about their dossiers, newest first"
    ),
    // == admin == (catalogue editor, notification templates)
    op!(
        PUT,
        "/procedures/{code}",
        "catalog",
        Authenticated,
        "Save an edited procedure (the whole specification, as in the import format) as its next version; dossiers keep the version they were filed under. Provincial administrators only. An invalid specification is refused with the part named in `rule` (procedure.name, procedure.levels, procedure.channels, procedure.processing_time, procedure.step, procedure.form_field_key, procedure.form_field_options, procedure.code) and nothing is written; an unchanged one returns new_version false",
        body = r#"{"code":"1.000656","name":"Đăng ký kết hôn","field":{"name":"Hộ tịch"},"levels":["commune"],"implementing_agency":"UBND cấp xã","processing_time":{"amount":1,"unit":"working_days"},"online_level":"full","channels":["online","counter"],"form":{"fields":[{"key":"ho_ten","label_vi":"Họ và tên","type":"text","required":true}]}}"#
    ),
    op!(
        POST,
        "/catalog/import",
        "catalog",
        Authenticated,
        "Import a catalogue file (raw body: the JSON format or the xlsx workbook, told apart by content); all procedures or none; each changed procedure gets a new version. Provincial administrators only"
    ),
    op!(
        GET,
        "/catalog/export",
        "catalog",
        Public,
        "The whole current catalogue in the import format",
        query = [("format", "json (default) or xlsx")]
    ),
    op!(
        GET,
        "/notification-templates",
        "notifications",
        Authenticated,
        "The citizen notification templates of every dossier event (e-mail subject and body, SMS) with the placeholders each event provides; provincial administrators only"
    ),
    op!(
        GET,
        "/notification-templates/{event}",
        "notifications",
        Authenticated,
        "One event's template (events: submitted, received, request_supplement, supplement, request_payment, confirm_payment, apologize, approve, refuse, suspend, withdraw, return_result)"
    ),
    op!(
        PUT,
        "/notification-templates/{event}",
        "notifications",
        Authenticated,
        "Change one event's template; the next notification of that event uses it. A placeholder the event does not provide is refused with rule template.unknown_placeholder naming it; template.brace, template.length. Saving the shipped text again restores the default",
        body = r#"{"subject":"Hồ sơ {code} đã được tiếp nhận","body":"Hồ sơ {code} đã được tiếp nhận. Hẹn trả: {due}.","sms":"Ho so {code} da duoc tiep nhan, hen tra {due}."}"#
    ),
    // == documents == (quản lý văn bản, Nghị định 30/2020)
    op!(
        GET,
        "/documents/settings/{agency_code}",
        "documents",
        Authenticated,
        "An agency's document settings: the issuer abbreviation of its notations and its drafting units' abbreviations (its officials and administrators)"
    ),
    op!(
        PUT,
        "/documents/settings/{agency_code}",
        "documents",
        Authenticated,
        "Replace an agency's document settings (agency administrators). Rules document.issuer_abbreviation.invalid, document.unit_abbreviation.invalid|duplicate",
        body = r#"{"issuer_abbreviation":"UBND","units":[{"abbreviation":"VX","name":"Phòng Văn hóa - Xã hội"}]}"#
    ),
    op!(
        POST,
        "/documents/files",
        "documents",
        Authenticated,
        "Upload one file of a document (scan, electronic original, draft version, signed PDF) as the raw body; PDF, JPEG or PNG by content, malware-scanned, at most limits.max_upload_bytes (rules document.file.type_not_allowed, document.file.infected, upload.too_large). Answers 201 with the file's id",
        query = [("filename", "the file's name, percent-encoded UTF-8")]
    ),
    op!(
        GET,
        "/documents/files/{id}",
        "documents",
        Authenticated,
        "Download a file: its uploader, or whoever sees a document it belongs to"
    ),
    op!(
        POST,
        "/documents/incoming",
        "documents",
        Authenticated,
        "Register an incoming document (clerks): the yearly arrival number of the agency's register (a separate series for confidential documents). Metadata lengths of Phụ lục VI (rules document.<field>.too_long|required); a document already registered (same document_id, or same number, notation and issuer) is refused with 409, rule document.duplicate, naming the existing entry",
        body = r#"{"agency_code":"000.00.31.H32","source":"paper","document_id":"000.00.00.H32,2026/03/02,145/KH-UBND","metadata":{"type_code":"plan","subject":"Kế hoạch chuyển đổi số năm 2026","code_number":"145","code_notation":"KH-UBND","issued_date":"2026-03-02","organ_id":"000.00.00.H32","organ_name":"Ủy ban nhân dân tỉnh Khánh Hòa","urgency":"urgent","confidentiality":"normal"},"file_ids":[1]}"#
    ),
    op!(
        GET,
        "/documents/incoming",
        "documents",
        Authenticated,
        "Incoming documents of an agency in a year that the caller sees (confidential ones only for their handlers and the agency's leaders and clerks)",
        query = [
            ("agency", "agency identifier"),
            ("year", "the register's year (default: this year)")
        ]
    ),
    op!(
        GET,
        "/documents/incoming/{id}",
        "documents",
        Authenticated,
        "One incoming document: metadata, handlers, progress, files, replies (404 outside the caller's view)"
    ),
    op!(
        POST,
        "/documents/incoming/{id}/assign",
        "documents",
        Authenticated,
        "Route or reroute an incoming document (leaders): main handler, co-handlers, for information, deadline, direction. Rules document.assignment.*; document.transition.not_allowed (409) once done",
        body = r#"{"main_handler":4,"co_handlers":[],"for_information":[],"deadline":"2026-03-09","direction":"Giao chuyên viên chủ trì tham mưu trả lời"}"#
    ),
    op!(
        POST,
        "/documents/incoming/{id}/progress",
        "documents",
        Authenticated,
        "A handler notes progress (main and co-handlers; rule document.progress.handlers_only)",
        body = r#"{"note":"Đã dự thảo văn bản trả lời"}"#
    ),
    op!(
        POST,
        "/documents/incoming/{id}/done",
        "documents",
        Authenticated,
        "The main handler marks the document done (rule document.done.main_handler_only)",
        body = r#"{"note":"Đã trả lời bằng văn bản đi"}"#
    ),
    op!(
        POST,
        "/documents/outgoing",
        "documents",
        Authenticated,
        "Start an outgoing draft with its first version (specialists, leaders); `response_for` links the incoming document it answers. A Công văn names its drafting unit (rules document.unit_abbreviation.required|unknown); numbers are given at release (rule document.code.assigned_at_release)",
        body = r#"{"agency_code":"000.00.31.H32","metadata":{"type_code":"official_letter","subject":"V/v triển khai kế hoạch chuyển đổi số"},"unit_abbreviation":"VX","file_id":2,"response_for":1}"#
    ),
    op!(
        GET,
        "/documents/outgoing",
        "documents",
        Authenticated,
        "Outgoing documents of an agency that the caller sees",
        query = [("agency", "agency identifier")]
    ),
    op!(
        GET,
        "/documents/outgoing/{id}",
        "documents",
        Authenticated,
        "One outgoing document: versions, review chain, signed file, number, recipients and their statuses"
    ),
    op!(
        POST,
        "/documents/outgoing/{id}/versions",
        "documents",
        Authenticated,
        "The drafter saves a new version of a draft (rule document.draft.drafter_only)",
        body = r#"{"file_id":3,"note":"Sửa theo góp ý"}"#
    ),
    op!(
        POST,
        "/documents/outgoing/{id}/review",
        "documents",
        Authenticated,
        "A step of the approval chain: submit (the drafter), review, approve or return (leaders; return needs a reason, rule document.reason.required; the drafter does not approve their own draft, rule document.review.not_own_draft). Wrong state: 409, rule document.transition.not_allowed",
        body = r#"{"step":"approve","comment":"Đồng ý ban hành"}"#
    ),
    op!(
        POST,
        "/documents/outgoing/{id}/sign",
        "documents",
        Authenticated,
        "The signer attaches the signed PDF (leaders; rule document.sign.pdf_required); who and when are recorded, and its signatures are verified against signing.trust_anchors (the view's `signatures`: valid, invalid with the problem code, untrusted, unsigned)",
        body = r#"{"file_id":4,"competence":"TM.","signer_position":"Chủ tịch","signer_name":"Võ Văn Dũng"}"#
    ),
    op!(
        POST,
        "/documents/outgoing/{id}/release",
        "documents",
        Authenticated,
        "Release a signed document (clerks): number from the issuer's yearly series of the register (confidential documents have their own), notation such as 145/KH-UBND or 12/UBND-VX, date and document identifier OrganId,yyyy/MM/dd,Số/KýHiệu (rule document.settings.missing without an issuer abbreviation)"
    ),
    op!(
        POST,
        "/documents/outgoing/{id}/recipients",
        "documents",
        Authenticated,
        "Dispatch a released document and change its recipient list (clerks): an agency of this installation gets its incoming entry at once; another agency identifier gets a dispatch row for the edXML exchange (transport status INITIAL). Rules document.recipient.invalid|self|duplicate|unknown|secret_external|organ_name.required",
        body = r#"{"add":[{"organ_id":"000.00.32.H32"},{"organ_id":"000.00.00.G22","organ_name":"Văn phòng Chính phủ"}],"remove":[]}"#
    ),
    op!(
        POST,
        "/documents/outgoing/{id}/revoke",
        "documents",
        Authenticated,
        "Revoke (thu hồi) a released document with a reason (clerks): internal recipients' entries are marked revoked, external ones queued for the exchange's revocation package",
        body = r#"{"reason":"Ban hành sai thẩm quyền"}"#
    ),
    op!(
        GET,
        "/documents/registers/{agency_code}/{year}",
        "documents",
        Authenticated,
        "The incoming or outgoing register of an agency and year with the columns of Phụ lục IV, as JSON or xlsx (the confidential series for the agency's leaders and clerks only)",
        query = [
            ("direction", "in (default) or out"),
            ("series", "normal (default) or secret"),
            ("format", "json (default) or xlsx")
        ]
    ),
    op!(
        GET,
        "/documents/statistics",
        "documents",
        Authenticated,
        "Indicators for an agency and period: documents in and out, share exchanged electronically, share digitally signed, share handled on time",
        query = [
            ("agency", "agency identifier"),
            ("from", "YYYY-MM-DD"),
            ("to", "YYYY-MM-DD")
        ]
    ),
    op!(
        POST,
        "/documents/work-files",
        "documents",
        Authenticated,
        "Open a work file (hồ sơ công việc) of an agency with Phụ lục VI's file metadata; FileCode OrganId.Year.FileNotation is unique (409, rule work_file.file_code.duplicate); rules work_file.<field>.too_long|required",
        body = r#"{"agency_code":"000.00.31.H32","year":2026,"metadata":{"file_notation":"VX.01","title":"Hồ sơ chuyển đổi số năm 2026","maintenance":"Vĩnh viễn","rights":"Công khai","creator":"Nguyễn Thị Hoa","language":"Tiếng Việt","start_date":"2026-01-05"}}"#
    ),
    op!(
        GET,
        "/documents/work-files/{id}",
        "documents",
        Authenticated,
        "A work file with its metadata, DocTotal and the documents the caller may see"
    ),
    op!(
        POST,
        "/documents/work-files/{id}/items",
        "documents",
        Authenticated,
        "Put one of the agency's documents into the work file (rules work_file.item.other_agency|duplicate|direction)",
        body = r#"{"direction":"in","document_id":1}"#
    ),
    op!(
        POST,
        "/documents/outgoing/{id}/sign-on-server",
        "documents",
        Authenticated,
        "The signer has the server sign the approved version with the organisation's key: PAdES B-B, or B-T with signing.timestamp_url (rules document.signing.no_key|not_pdf|key_unreadable|failed)",
        body = r#"{"competence":"TM.","signer_position":"Chủ tịch","signer_name":""}"#
    ),
    op!(
        POST,
        "/documents/incoming/{id}/verify-signatures",
        "documents",
        Authenticated,
        "Verify the signatures of the document's PDF files again, against the trust anchors configured now (the clerk)"
    ),
    op!(
        GET,
        "/documents/work-files/{id}/archive",
        "documents",
        Authenticated,
        "The work file for the archive, streamed as a tar: metadata.xml (Phụ lục VI), metadata.xsd and every document's PDF with its PDF/A check"
    ),
    op!(
        POST,
        "/documents/work-files/{id}/close",
        "documents",
        Authenticated,
        "Close the work file when its matter is finished (rule work_file.close.not_open)"
    ),
    op!(
        POST,
        "/documents/work-files/{id}/hand-over",
        "documents",
        Authenticated,
        "Record that the closed work file was handed to the archive (rule work_file.archive.not_closed)"
    ),
    op!(
        GET,
        "/documents/work-files/due-for-archiving",
        "documents",
        Authenticated,
        "Work files of an agency closed more than 30 days ago and not handed to the archive",
        query = [("agency", "agency identifier")]
    ),
    op!(
        GET,
        "/documents/notices",
        "documents",
        Authenticated,
        "The caller's notices: documents arrived in an incoming register of their agency, work files due for archiving",
        query = [("unread", "true: unread only")]
    ),
    op!(
        POST,
        "/documents/notices/{id}/read",
        "documents",
        Authenticated,
        "Mark one of the caller's notices read"
    ),
];

fn operation_object(op: &Operation) -> Value {
    let mut parameters: Vec<Value> = op
        .path
        .split('/')
        .filter_map(|segment| segment.strip_prefix('{').and_then(|s| s.strip_suffix('}')))
        .map(|name| json!({ "name": name, "in": "path", "required": true, "schema": { "type": if name == "id" || name == "year" { "integer" } else { "string" } } }))
        .collect();
    parameters.extend(op.query.iter().map(|(name, description)| {
        json!({ "name": name, "in": "query", "required": false, "description": description, "schema": { "type": "string" } })
    }));
    let mut object = json!({
        "summary": op.summary,
        "tags": [op.tag],
        "operationId": format!("{}{}", op.method.as_str().to_lowercase(), op.path.replace(['/', '{', '}', '.', '-'], "_")),
        "parameters": parameters,
        "responses": {
            "200": { "description": "Success", "content": { "application/json": { "schema": { "type": "object" } } } },
            "default": { "description": "Error with a stable code", "content": { "application/json": { "schema": { "$ref": "#/components/schemas/Error" } } } }
        }
    });
    if let Some(example) = op.body {
        let example: Value = serde_json::from_str(example).unwrap_or(Value::Null);
        object["requestBody"] = json!({ "required": true, "content": { "application/json": { "schema": { "type": "object" }, "example": example } } });
    }
    object["security"] = match op.auth {
        Auth::Public => json!([]),
        Auth::Authenticated => json!([{ "bearer": [] }, { "session": [] }]),
    };
    object
}

pub fn build() -> Value {
    let mut paths = Map::new();
    for op in OPERATIONS {
        let entry = paths.entry(op.path.to_owned()).or_insert_with(|| json!({}));
        entry[op.method.as_str().to_lowercase()] = operation_object(op);
    }
    json!({
        "openapi": "3.1.0",
        "info": {
            "title": "Tỉnh số API",
            "version": env!("CARGO_PKG_VERSION"),
            "description": "JSON API of Tỉnh số. Authenticate with `Authorization: Bearer tsk_…` (scoped API token) or with the browser session cookie plus the `x-csrf-token` header on unsafe methods. Errors carry a stable `code`."
        },
        "servers": [{ "url": "/api/v1" }],
        "paths": paths,
        "components": {
            "securitySchemes": {
                "bearer": { "type": "http", "scheme": "bearer" },
                "session": { "type": "apiKey", "in": "cookie", "name": crate::session::SESSION_COOKIE }
            },
            "schemas": {
                "Error": {
                    "type": "object",
                    "properties": {
                        "error": {
                            "type": "object",
                            "required": ["code", "message", "request_id"],
                            "properties": {
                                "code": { "type": "string", "description": "stable code, e.g. forbidden, invalid_agency_id" },
                                "message": { "type": "string", "description": "translated message" },
                                "detail": { "type": ["string", "null"] },
                                "rule": { "type": ["string", "null"], "description": "key of the broken rule, e.g. agency_id.level1" },
                                "request_id": { "type": "string" }
                            }
                        }
                    }
                }
            }
        }
    })
}

pub async fn document() -> Json<Value> {
    Json(build())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeSet;

    #[test]
    fn every_route_is_documented_and_every_operation_routed() {
        let served: BTreeSet<(String, String)> = crate::api::router()
            .routes()
            .iter()
            .map(|(m, p)| (m.to_string(), p.clone()))
            .collect();
        let documented: BTreeSet<(String, String)> = OPERATIONS
            .iter()
            .map(|op| (op.method.to_string(), op.path.to_owned()))
            .collect();
        let undocumented: Vec<_> = served.difference(&documented).collect();
        let unrouted: Vec<_> = documented.difference(&served).collect();
        assert!(
            undocumented.is_empty(),
            "routes missing from the OpenAPI document: {undocumented:?}"
        );
        assert!(
            unrouted.is_empty(),
            "documented operations with no route: {unrouted:?}"
        );
    }

    #[test]
    fn document_is_valid_json_with_examples() {
        let doc = build();
        assert_eq!(doc["openapi"], "3.1.0");
        for op in OPERATIONS {
            if let Some(body) = op.body {
                assert!(
                    serde_json::from_str::<Value>(body).is_ok(),
                    "bad example for {}",
                    op.path
                );
            }
        }
    }
}
