//! Access matrix: every operation of `/api/v1` × every demo role, a citizen, an anonymous
//! caller, a garbage token and a revoked token.
//!
//! The operations come from the OpenAPI table (`OPERATIONS`), so a route added later is
//! covered or the test fails naming it. Each caller aims every operation at objects outside
//! its scope — a second province (Nghệ An), a sibling agency of Khánh Hòa, another citizen —
//! and must be refused with a stable JSON error code; lists must hold exactly what lies
//! inside the caller's grants. An unchanged audit head and an unchanged snapshot of the data
//! prove that nothing was written; positive controls prove the same tokens work in scope.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::{BTreeMap, BTreeSet};

use serde_json::{Value, json};
use tinhso_core::access::{Action, Role, role_allows};
use tinhso_core::identity::AccountKind;
use tinhso_platform::Platform;
use tinhso_platform::identity::{self, NewUser, User};
use tinhso_platform::org::{self, Agency, NewAgency, OrgPart};
use tinhso_web::api::openapi::{Auth, OPERATIONS};

use super::support::{Backend, DEMO_PASSWORD, TestApp};
use tinhso_onestop::domain::documents::{DocumentInput, RequirementRef};

/// Every required document checked on paper at the counter.
fn paper_documents(count: usize) -> Vec<DocumentInput> {
    (0..count)
        .map(|i| DocumentInput {
            requirement: RequirementRef::Index(i),
            upload_id: None,
            store_document_id: None,
            paper: true,
        })
        .collect()
}

const STRONG_PASSWORD: &str = "a-long-initial-password";

// ------------------------------------------------------------------ callers and targets

/// A family of objects outside some caller's scope.
#[derive(Debug, Clone)]
struct Outside {
    label: &'static str,
    agency_id: i64,
    agency_code: String,
    user_id: i64,
    /// A grant the outside user holds (or, for a citizen, would be asked to lose).
    grant: (Role, i64),
    /// An API token of the outside user.
    token_id: i64,
    /// A dossier received by the outside agency (or filed by the outside citizen).
    dossier_code: String,
    /// A document of that dossier.
    document_id: i64,
    /// An incoming document registered by the outside agency, a draft of its own, and the
    /// draft's file (document management).
    incoming_id: i64,
    outgoing_id: i64,
    file_id: i64,
    work_file_id: i64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Who {
    Anonymous,
    BadToken,
    User,
}

struct Caller {
    name: String,
    who: Who,
    bearer: Option<String>,
    user_id: i64,
    username: String,
    /// (role, agency path) as the access rules see them.
    grants: Vec<(Role, String)>,
    /// An agency the caller may name as "its own" in a cross-reference (merge into).
    home_agency: i64,
    outside: Vec<Outside>,
}

impl Caller {
    fn may(&self, action: Action, path: &str) -> bool {
        self.grants
            .iter()
            .any(|(role, scope)| role_allows(*role, action) && path.starts_with(scope.as_str()))
    }
}

/// What the platform looks like after setup, for the expectations of list endpoints.
struct World {
    root_path: String,
    /// Every agency: id → path.
    agency_paths: BTreeMap<i64, String>,
    /// Every account: id → home agency.
    user_agencies: BTreeMap<i64, Option<i64>>,
}

impl World {
    /// Agencies inside the caller's `view_agency` grants.
    fn visible_agencies(&self, caller: &Caller) -> BTreeSet<i64> {
        self.agency_paths
            .iter()
            .filter(|(_, path)| caller.may(Action::ViewAgency, path))
            .map(|(id, _)| *id)
            .collect()
    }

    /// Officials whose agency lies inside the caller's `view_users` grants.
    fn visible_users(&self, caller: &Caller) -> BTreeSet<i64> {
        self.user_agencies
            .iter()
            .filter(|(_, agency)| {
                agency
                    .and_then(|a| self.agency_paths.get(&a))
                    .is_some_and(|path| caller.may(Action::ViewUsers, path))
            })
            .map(|(id, _)| *id)
            .collect()
    }
}

enum Expect {
    Public,
    Denied,
    Me,
    ListAgencies,
    ListUsers,
    Audit,
    InstallationWrite,
    /// Refused either for lack of right (403/404) or because the request is not one this
    /// caller may make at all (422), never carried out.
    Refused,
    OwnDossiers,
    /// The citizen's document store: citizens only, never another's documents.
    OwnDocuments,
    Inbox,
    /// Bulk approval of outside dossiers: refused outright (403) to those who may decide
    /// nowhere, otherwise every dossier refused as not found.
    BulkRefused,
    /// The citizen's notifications: never those of another's dossier.
    OwnNotifications,
    /// Installation-wide data readable by provincial administrators only (notification
    /// templates): 200 for them, 403 for everyone else.
    InstallationRead,
    /// The official's document notices: 200 for officials (empty for others is fine),
    /// never a notice about an outside agency's document.
    OwnNotices,
}

struct Probe {
    method: reqwest::Method,
    path: String,
    body: Option<Value>,
    expect: Expect,
}

fn probe(method: &str, path: String, body: Option<Value>, expect: Expect) -> Probe {
    Probe {
        method: reqwest::Method::from_bytes(method.as_bytes()).unwrap(),
        path,
        body,
        expect,
    }
}

fn denied(method: &str, path: String, body: Option<Value>) -> Probe {
    probe(method, path, body, Expect::Denied)
}

/// The requests that exercise one operation for one caller against one family of outside
/// objects. `first` is true for the caller's first family: operations without an object
/// (lists, `/me`, audit, public ones) run once per caller.
fn probes_for(
    method: &str,
    path: &str,
    caller: &Caller,
    out: &Outside,
    first: bool,
    seq: &mut u32,
) -> Vec<Probe> {
    *seq += 1;
    let n = *seq;
    let once = |p: Probe| if first { vec![p] } else { Vec::new() };
    let (a, u) = (out.agency_id, out.user_id);
    match (method, path) {
        ("GET", "/openapi.json") => once(probe("GET", path.into(), None, Expect::Public)),
        ("GET", "/procedures") => once(probe("GET", path.into(), None, Expect::Public)),
        ("GET", "/procedures/{code}") => once(probe(
            "GET",
            "/procedures/1.001193".into(),
            None,
            Expect::Public,
        )),
        ("POST", "/dossiers") => vec![probe(
            "POST",
            path.into(),
            Some(json!({
                "procedure_code": "1.013831",
                "agency_code": out.agency_code,
                "channel": "counter",
                "applicant": {"name": "Người ngoài phạm vi", "id_number": "079200009999"},
                "form": {},
            })),
            Expect::Refused,
        )],
        ("GET", "/dossiers/{code}") => vec![denied(
            "GET",
            format!("/dossiers/{}", out.dossier_code),
            None,
        )],
        ("GET", "/dossiers/{code}/forms/{kind}") => vec![denied(
            "GET",
            format!("/dossiers/{}/forms/receipt", out.dossier_code),
            None,
        )],
        ("POST", "/dossiers/{code}/accept") => vec![denied(
            "POST",
            format!("/dossiers/{}/accept", out.dossier_code),
            None,
        )],
        ("POST", "/dossiers/{code}/actions") => vec![denied(
            "POST",
            format!("/dossiers/{}/actions", out.dossier_code),
            Some(json!({"action": "refuse", "reason": "ngoài phạm vi"})),
        )],
        ("POST", "/dossiers/{code}/payments") => vec![denied(
            "POST",
            format!("/dossiers/{}/payments", out.dossier_code),
            None,
        )],
        ("GET", "/dossiers/{code}/payments") => vec![denied(
            "GET",
            format!("/dossiers/{}/payments", out.dossier_code),
            None,
        )],
        // Public, authenticated by the gateway's signature: an unsigned call is refused and
        // writes nothing (the payments scenarios cover forged and replayed callbacks).
        ("POST", "/payments/callback") => once(probe("POST", path.into(), None, Expect::Public)),
        ("GET", "/public/dossiers/{code}") => once(probe(
            "GET",
            format!("/public/dossiers/{}?check=0000", out.dossier_code),
            None,
            Expect::Public,
        )),
        ("POST", "/dossiers/{code}/rating") => vec![denied(
            "POST",
            format!("/dossiers/{}/rating", out.dossier_code),
            Some(json!({"level": 3, "comment": "ngoài phạm vi"})),
        )],
        ("GET", "/statistics") => once(probe(
            "GET",
            "/statistics?agency=000.00.31.H32".into(),
            None,
            Expect::Public,
        )),
        ("GET", "/statistics/xlsx") => once(probe(
            "GET",
            "/statistics/xlsx".into(),
            None,
            Expect::Public,
        )),
        ("GET", "/dossiers") => once(probe("GET", path.into(), None, Expect::Inbox)),
        ("GET", "/me/dossiers") => once(probe("GET", path.into(), None, Expect::OwnDossiers)),
        // A JSON body is no PDF, JPEG or PNG: refused by type (or for lack of right), so the
        // matrix stores nothing.
        ("POST", "/uploads") => once(probe(
            "POST",
            "/uploads?filename=trang.html".into(),
            Some(json!({"html": "<script>alert(1)</script>"})),
            Expect::Refused,
        )),
        ("GET", "/me/documents") => once(probe("GET", path.into(), None, Expect::OwnDocuments)),
        ("GET", "/dossiers/{code}/documents") => vec![denied(
            "GET",
            format!("/dossiers/{}/documents", out.dossier_code),
            None,
        )],
        ("GET", "/dossiers/{code}/documents/{id}") => vec![denied(
            "GET",
            format!(
                "/dossiers/{}/documents/{}",
                out.dossier_code, out.document_id
            ),
            None,
        )],
        ("GET", "/units/resolve") => once(probe(
            "GET",
            "/units/resolve?code=22366&date=2026-01-01".into(),
            None,
            Expect::Public,
        )),
        ("GET", "/calendar/holidays/{year}") => once(probe(
            "GET",
            "/calendar/holidays/2026".into(),
            None,
            Expect::Public,
        )),
        ("GET", "/calendar/due") => once(probe(
            "GET",
            "/calendar/due?from=2026-03-02T08:00:00%2B07:00&working_days=3".into(),
            None,
            Expect::Public,
        )),
        // == officer ==
        // An unknown agency: the ticket machine answers 404 and writes nothing.
        ("POST", "/queue/{agency_code}/tickets") => once(probe(
            "POST",
            "/queue/999.99.99.H99/tickets".into(),
            None,
            Expect::Public,
        )),
        ("GET", "/queue/{agency_code}") => once(probe(
            "GET",
            format!("/queue/{}", out.agency_code),
            None,
            Expect::Public,
        )),
        ("POST", "/queue/{agency_code}/call") => vec![denied(
            "POST",
            format!("/queue/{}/call", out.agency_code),
            Some(json!({"desk": "Quầy 1"})),
        )],
        ("POST", "/dossiers/bulk-approval") => vec![probe(
            "POST",
            path.into(),
            Some(json!({"codes": [out.dossier_code]})),
            Expect::BulkRefused,
        )],
        ("GET", "/me") => once(probe("GET", path.into(), None, Expect::Me)),
        // An API token is not the person: changing the password needs the browser session.
        ("POST", "/me/password") => once(denied(
            "POST",
            path.into(),
            Some(json!({"current_password": DEMO_PASSWORD, "new_password": "a-new-long-password"})),
        )),
        ("GET", "/agencies") => once(probe("GET", path.into(), None, Expect::ListAgencies)),
        ("GET", "/users") => once(probe("GET", path.into(), None, Expect::ListUsers)),
        ("GET", "/audit/records") => once(probe(
            "GET",
            "/audit/records?limit=5".into(),
            None,
            Expect::Audit,
        )),
        ("GET", "/audit/verify") => once(probe("GET", path.into(), None, Expect::Audit)),
        ("GET", "/exchange/agencies") => {
            once(probe("GET", path.into(), None, Expect::InstallationRead))
        }
        ("GET", "/exchange/packages") => once(probe(
            "GET",
            "/exchange/packages?limit=5".into(),
            None,
            Expect::InstallationRead,
        )),
        // Installation-wide: refused to everyone but provincial administrators, who get a
        // validation error for this deliberately wrong body (a date outside the year), so the
        // matrix still writes nothing.
        ("PUT", "/calendar/schedules/{year}") => once(probe(
            "PUT",
            "/calendar/schedules/2031".into(),
            Some(
                json!({"year": 2031, "extra_days_off": [{"date": "2030-01-02", "reason_vi": "x", "reason_en": "x"}]}),
            ),
            Expect::InstallationWrite,
        )),
        ("PUT", "/agencies/{id}/office-hours") => vec![denied(
            "PUT",
            format!("/agencies/{}/office-hours", out.agency_id),
            Some(json!({"periods": [["07:00:00", "11:30:00"], ["13:30:00", "17:00:00"]]})),
        )],
        ("POST", "/agencies") => {
            let mut probes = vec![denied(
                "POST",
                path.into(),
                Some(json!({
                    "code": format!("{:03}.00.77.H41", n % 1000),
                    "name": "Cơ quan ngoài phạm vi",
                    "parent_code": out.agency_code,
                    "level": "department",
                })),
            )];
            if first {
                // A new root (province) is for local administration only.
                probes.push(denied(
                    "POST",
                    path.into(),
                    Some(json!({
                        "code": format!("000.00.00.H{:02}", 50 + n % 40),
                        "name": "Ủy ban nhân dân tỉnh mới",
                        "level": "province",
                    })),
                ));
            }
            probes
        }
        ("GET", "/agencies/{id}") => vec![denied("GET", format!("/agencies/{a}"), None)],
        ("POST", "/agencies/{id}/rename") => vec![denied(
            "POST",
            format!("/agencies/{a}/rename"),
            Some(json!({ "code": format!("{:03}.00.78.H41", n % 1000), "name": "Tên mới" })),
        )],
        ("POST", "/agencies/{id}/merge") => vec![
            denied(
                "POST",
                format!("/agencies/{a}/merge"),
                Some(json!({ "into_agency_id": caller.home_agency })),
            ),
            denied(
                "POST",
                format!("/agencies/{}/merge", caller.home_agency),
                Some(json!({ "into_agency_id": a })),
            ),
        ],
        ("GET", "/agencies/{id}/departments") => {
            vec![denied("GET", format!("/agencies/{a}/departments"), None)]
        }
        ("POST", "/agencies/{id}/departments") => vec![denied(
            "POST",
            format!("/agencies/{a}/departments"),
            Some(json!({ "name": "Phòng ngoài phạm vi" })),
        )],
        ("GET", "/agencies/{id}/positions") => {
            vec![denied("GET", format!("/agencies/{a}/positions"), None)]
        }
        ("POST", "/agencies/{id}/positions") => vec![denied(
            "POST",
            format!("/agencies/{a}/positions"),
            Some(json!({ "name": "Chức vụ ngoài phạm vi" })),
        )],
        ("GET", "/agency-codes/{code}") => {
            vec![denied(
                "GET",
                format!("/agency-codes/{}", out.agency_code),
                None,
            )]
        }
        ("POST", "/users") => {
            let mut probes = vec![denied(
                "POST",
                path.into(),
                Some(json!({
                    "kind": "official",
                    "username": format!("matrix.{n}"),
                    "display_name": "Cán bộ ngoài phạm vi",
                    "agency_id": a,
                    "password": STRONG_PASSWORD,
                    "must_change_password": true,
                })),
            )];
            // Citizen accounts are for provincial administrators (and local administration).
            let provincial = caller
                .grants
                .iter()
                .any(|(r, _)| *r == Role::ProvincialAdmin);
            if first && !provincial {
                probes.push(denied(
                    "POST",
                    path.into(),
                    Some(json!({
                        "kind": "citizen",
                        "display_name": "Công dân mới",
                        "personal_id": format!("0791990{:05}", n % 100_000),
                        "password": STRONG_PASSWORD,
                    })),
                ));
            }
            probes
        }
        ("GET", "/users/{id}") => vec![denied("GET", format!("/users/{u}"), None)],
        ("POST", "/users/{id}/roles") => vec![denied(
            "POST",
            format!("/users/{u}/roles"),
            Some(json!({ "role": "specialist", "agency_id": a })),
        )],
        ("DELETE", "/users/{id}/roles") => vec![denied(
            "DELETE",
            format!("/users/{u}/roles"),
            Some(json!({ "role": out.grant.0.as_str(), "agency_id": out.grant.1 })),
        )],
        ("POST", "/users/{id}/password") => vec![denied(
            "POST",
            format!("/users/{u}/password"),
            Some(json!({ "new_password": "another-long-password-7", "must_change": false })),
        )],
        ("POST", "/users/{id}/sessions/revoke") => {
            vec![denied("POST", format!("/users/{u}/sessions/revoke"), None)]
        }
        ("POST", "/tokens") => vec![denied(
            "POST",
            path.into(),
            Some(json!({
                "name": "matrix",
                "scopes": Action::ALL,
                "ttl_days": 1,
                "user_id": u,
            })),
        )],
        ("DELETE", "/tokens/{id}") => {
            vec![denied("DELETE", format!("/tokens/{}", out.token_id), None)]
        }
        // == citizen == drafts aim at no draft of the caller (a missing id) or at a procedure
        // not offered online; another citizen's draft is probed in `citizen_ui`.
        ("POST", "/drafts") => vec![probe(
            "POST",
            path.into(),
            Some(json!({ "procedure_code": "2.000884" })),
            Expect::Refused,
        )],
        ("GET", "/drafts/{id}") => vec![denied("GET", format!("/drafts/{}", 900_000 + n), None)],
        ("PUT", "/drafts/{id}") => vec![denied(
            "PUT",
            format!("/drafts/{}", 900_000 + n),
            Some(json!({ "step": "1" })),
        )],
        ("POST", "/drafts/{id}/submit") => vec![denied(
            "POST",
            format!("/drafts/{}/submit", 900_000 + n),
            None,
        )],
        ("GET", "/me/notifications") => {
            once(probe("GET", path.into(), None, Expect::OwnNotifications))
        }
        // == admin == (catalogue editor, notification templates): installation-wide, so
        // refused to all but provincial administrators, who get a validation error for these
        // deliberately wrong bodies (an empty form key, an unknown placeholder, a file that is
        // neither JSON nor xlsx), so the matrix writes nothing.
        ("PUT", "/procedures/{code}") => once(probe(
            "PUT",
            "/procedures/1.001193".into(),
            Some(json!({
                "code": "1.001193", "name": "Đăng ký khai sinh", "field": {"name": "Hộ tịch"},
                "levels": ["commune"], "implementing_agency": "UBND cấp xã",
                "processing_time": {"amount": 1, "unit": "working_days"},
                "online_level": "full", "channels": ["online"],
                "form": {"fields": [{"key": "", "label_vi": "x", "type": "text"}]},
            })),
            Expect::InstallationWrite,
        )),
        ("POST", "/catalog/import") => once(probe(
            "POST",
            path.into(),
            Some(json!({"not": "a catalogue"})),
            Expect::InstallationWrite,
        )),
        ("GET", "/catalog/export") => once(probe("GET", path.into(), None, Expect::Public)),
        ("GET", "/notification-templates") => {
            once(probe("GET", path.into(), None, Expect::InstallationRead))
        }
        ("GET", "/notification-templates/{event}") => once(probe(
            "GET",
            "/notification-templates/received".into(),
            None,
            Expect::InstallationRead,
        )),
        ("PUT", "/notification-templates/{event}") => once(probe(
            "PUT",
            "/notification-templates/received".into(),
            Some(json!({"subject": "Hồ sơ {code}", "body": "Kính gửi {ho_ten}", "sms": "{code}"})),
            Expect::InstallationWrite,
        )),
        // == documents == (quản lý văn bản): every object belongs to the outside agency.
        ("GET", "/documents/settings/{agency_code}") => vec![denied(
            "GET",
            format!("/documents/settings/{}", out.agency_code),
            None,
        )],
        ("PUT", "/documents/settings/{agency_code}") => vec![denied(
            "PUT",
            format!("/documents/settings/{}", out.agency_code),
            Some(json!({"issuer_abbreviation": "NGOAI", "units": []})),
        )],
        // A JSON body is no PDF: refused by type (or for lack of right), nothing stored.
        ("POST", "/documents/files") => once(probe(
            "POST",
            "/documents/files?filename=trang.html".into(),
            Some(json!({"html": "<script>alert(1)</script>"})),
            Expect::Refused,
        )),
        ("GET", "/documents/files/{id}") => {
            vec![denied(
                "GET",
                format!("/documents/files/{}", out.file_id),
                None,
            )]
        }
        ("POST", "/documents/incoming") => vec![probe(
            "POST",
            path.into(),
            Some(json!({
                "agency_code": out.agency_code,
                "metadata": {"type_code": "plan", "subject": "Ngoài phạm vi", "issued_date": "2026-03-02", "organ_name": "UBND tỉnh"},
            })),
            Expect::Refused,
        )],
        ("GET", "/documents/incoming") => vec![denied(
            "GET",
            format!("/documents/incoming?agency={}", out.agency_code),
            None,
        )],
        ("GET", "/documents/incoming/{id}") => vec![denied(
            "GET",
            format!("/documents/incoming/{}", out.incoming_id),
            None,
        )],
        ("POST", "/documents/incoming/{id}/assign") => vec![denied(
            "POST",
            format!("/documents/incoming/{}/assign", out.incoming_id),
            Some(json!({"main_handler": caller.user_id.max(1)})),
        )],
        ("POST", "/documents/incoming/{id}/progress") => vec![denied(
            "POST",
            format!("/documents/incoming/{}/progress", out.incoming_id),
            Some(json!({"note": "ngoài phạm vi"})),
        )],
        ("POST", "/documents/incoming/{id}/done") => vec![denied(
            "POST",
            format!("/documents/incoming/{}/done", out.incoming_id),
            Some(json!({"note": "ngoài phạm vi"})),
        )],
        ("POST", "/documents/outgoing") => vec![probe(
            "POST",
            path.into(),
            Some(json!({
                "agency_code": out.agency_code,
                "metadata": {"type_code": "plan", "subject": "Ngoài phạm vi"},
                "file_id": out.file_id,
            })),
            Expect::Refused,
        )],
        ("GET", "/documents/outgoing") => vec![denied(
            "GET",
            format!("/documents/outgoing?agency={}", out.agency_code),
            None,
        )],
        ("GET", "/documents/outgoing/{id}") => vec![denied(
            "GET",
            format!("/documents/outgoing/{}", out.outgoing_id),
            None,
        )],
        ("POST", "/documents/outgoing/{id}/versions") => vec![denied(
            "POST",
            format!("/documents/outgoing/{}/versions", out.outgoing_id),
            Some(json!({"file_id": out.file_id})),
        )],
        ("POST", "/documents/outgoing/{id}/review") => vec![
            denied(
                "POST",
                format!("/documents/outgoing/{}/review", out.outgoing_id),
                Some(json!({"step": "submit"})),
            ),
            denied(
                "POST",
                format!("/documents/outgoing/{}/review", out.outgoing_id),
                Some(json!({"step": "return", "comment": "ngoài phạm vi"})),
            ),
        ],
        ("POST", "/documents/outgoing/{id}/sign") => vec![denied(
            "POST",
            format!("/documents/outgoing/{}/sign", out.outgoing_id),
            Some(
                json!({"file_id": out.file_id, "signer_position": "Chủ tịch", "signer_name": "Ngoài"}),
            ),
        )],
        ("POST", "/documents/outgoing/{id}/release") => vec![denied(
            "POST",
            format!("/documents/outgoing/{}/release", out.outgoing_id),
            None,
        )],
        ("POST", "/documents/outgoing/{id}/recipients") => vec![denied(
            "POST",
            format!("/documents/outgoing/{}/recipients", out.outgoing_id),
            Some(json!({"add": [{"organ_id": "000.00.00.G22", "organ_name": "VPCP"}]})),
        )],
        ("POST", "/documents/outgoing/{id}/revoke") => vec![denied(
            "POST",
            format!("/documents/outgoing/{}/revoke", out.outgoing_id),
            Some(json!({"reason": "ngoài phạm vi"})),
        )],
        ("GET", "/documents/registers/{agency_code}/{year}") => vec![
            denied(
                "GET",
                format!("/documents/registers/{}/2026", out.agency_code),
                None,
            ),
            denied(
                "GET",
                format!(
                    "/documents/registers/{}/2026?direction=out&series=secret&format=xlsx",
                    out.agency_code
                ),
                None,
            ),
        ],
        ("GET", "/documents/statistics") => vec![denied(
            "GET",
            format!(
                "/documents/statistics?agency={}&from=2026-01-01&to=2026-12-31",
                out.agency_code
            ),
            None,
        )],
        ("POST", "/documents/work-files") => vec![probe(
            "POST",
            path.into(),
            Some(
                json!({"agency_code": out.agency_code, "metadata": {"file_notation": format!("M.{n}"), "title": "Ngoài phạm vi"}}),
            ),
            Expect::Refused,
        )],
        ("GET", "/documents/work-files/{id}") => vec![denied(
            "GET",
            format!("/documents/work-files/{}", out.work_file_id),
            None,
        )],
        ("POST", "/documents/work-files/{id}/items") => vec![denied(
            "POST",
            format!("/documents/work-files/{}/items", out.work_file_id),
            Some(json!({"direction": "in", "document_id": out.incoming_id})),
        )],
        ("POST", "/documents/outgoing/{id}/sign-on-server") => vec![denied(
            "POST",
            format!("/documents/outgoing/{}/sign-on-server", out.outgoing_id),
            Some(json!({"signer_position": "Chủ tịch"})),
        )],
        ("POST", "/documents/incoming/{id}/verify-signatures") => vec![denied(
            "POST",
            format!("/documents/incoming/{}/verify-signatures", out.incoming_id),
            None,
        )],
        ("GET", "/documents/work-files/{id}/archive") => vec![denied(
            "GET",
            format!("/documents/work-files/{}/archive", out.work_file_id),
            None,
        )],
        ("POST", "/documents/work-files/{id}/close") => vec![denied(
            "POST",
            format!("/documents/work-files/{}/close", out.work_file_id),
            None,
        )],
        ("POST", "/documents/work-files/{id}/hand-over") => vec![denied(
            "POST",
            format!("/documents/work-files/{}/hand-over", out.work_file_id),
            None,
        )],
        ("GET", "/documents/work-files/due-for-archiving") => vec![denied(
            "GET",
            format!(
                "/documents/work-files/due-for-archiving?agency={}",
                out.agency_code
            ),
            None,
        )],
        // The caller's own notices: never one about an outside agency's document.
        ("GET", "/documents/notices") => once(probe("GET", path.into(), None, Expect::OwnNotices)),
        // A notice id that is not the caller's (nobody's, in the matrix): not found.
        ("POST", "/documents/notices/{id}/read") => once(denied(
            "POST",
            "/documents/notices/999999999/read".into(),
            None,
        )),
        (method, path) => panic!(
            "the access matrix has no case for {method} {path}: add one to `probes_for` in \
             crates/tinhso/tests/foundation/access.rs (aim it at an object outside the caller's scope)"
        ),
    }
}

// ------------------------------------------------------------------ HTTP

async fn call(
    http: &reqwest::Client,
    app: &TestApp,
    bearer: Option<&str>,
    method: reqwest::Method,
    path: &str,
    body: Option<&Value>,
) -> (u16, Value) {
    let mut request = http.request(method, app.url(&format!("/api/v1{path}")));
    if let Some(bearer) = bearer {
        request = request.header("authorization", format!("Bearer {bearer}"));
    }
    if let Some(body) = body {
        request = request.json(body);
    }
    let response = request.send().await.unwrap();
    let status = response.status().as_u16();
    let text = response.text().await.unwrap();
    let value = serde_json::from_str(&text).unwrap_or_else(|_| json!({ "not_json": text }));
    (status, value)
}

fn expect_error(status: u16, body: &Value, allowed: &[u16]) -> Result<(), String> {
    if !allowed.contains(&status) {
        return Err(format!(
            "status {status}, expected one of {allowed:?}; body {body}"
        ));
    }
    let expected = match status {
        401 => "unauthenticated",
        403 => "forbidden",
        422 => "invalid_input",
        _ => "not_found",
    };
    let error = &body["error"];
    if error["code"].as_str() != Some(expected)
        || error["message"].as_str().is_none_or(str::is_empty)
        || error["request_id"].as_str().is_none_or(str::is_empty)
    {
        return Err(format!(
            "status {status} without the JSON error (code `{expected}`, message, request_id): {body}"
        ));
    }
    Ok(())
}

fn id_set(body: &Value) -> Result<BTreeSet<i64>, String> {
    body.as_array()
        .ok_or_else(|| format!("expected a JSON array, got {body}"))?
        .iter()
        .map(|item| {
            item["id"]
                .as_i64()
                .ok_or_else(|| format!("item without id: {item}"))
        })
        .collect()
}

fn check(
    caller: &Caller,
    world: &World,
    probe: &Probe,
    status: u16,
    body: &Value,
) -> Result<(), String> {
    let user = caller.who == Who::User;
    match probe.expect {
        Expect::Public => {
            if status == 200 || (400..500).contains(&status) {
                Ok(())
            } else {
                Err(format!("public operation answered {status}: {body}"))
            }
        }
        _ if !user => expect_error(status, body, &[401]),
        Expect::Denied => expect_error(status, body, &[403, 404]),
        Expect::Me => {
            if status != 200 {
                return Err(format!("/me answered {status}: {body}"));
            }
            if body["user"]["id"].as_i64() != Some(caller.user_id)
                || body["user"]["username"].as_str() != Some(caller.username.as_str())
            {
                return Err(format!("/me returned another account: {body}"));
            }
            let grants: BTreeSet<(String, String)> = body["grants"]
                .as_array()
                .ok_or_else(|| format!("/me without grants: {body}"))?
                .iter()
                .map(|g| {
                    (
                        g["role"].as_str().unwrap_or_default().to_owned(),
                        g["agency_path"].as_str().unwrap_or_default().to_owned(),
                    )
                })
                .collect();
            let expected: BTreeSet<(String, String)> = caller
                .grants
                .iter()
                .map(|(r, p)| (r.as_str().to_owned(), p.clone()))
                .collect();
            if grants != expected {
                return Err(format!("/me grants {grants:?}, expected {expected:?}"));
            }
            Ok(())
        }
        Expect::ListAgencies => {
            if status != 200 {
                return Err(format!("GET /agencies answered {status}: {body}"));
            }
            let got = id_set(body)?;
            let expected = world.visible_agencies(caller);
            let leaked: Vec<_> = got.difference(&expected).collect();
            let missing: Vec<_> = expected.difference(&got).collect();
            if leaked.is_empty() && missing.is_empty() {
                Ok(())
            } else {
                Err(format!(
                    "GET /agencies leaked {leaked:?} and missed {missing:?}"
                ))
            }
        }
        Expect::ListUsers => {
            if status != 200 {
                return Err(format!("GET /users answered {status}: {body}"));
            }
            let got = id_set(body)?;
            let expected = world.visible_users(caller);
            let leaked: Vec<_> = got.difference(&expected).collect();
            let missing: Vec<_> = expected.difference(&got).collect();
            if leaked.is_empty() && missing.is_empty() {
                Ok(())
            } else {
                Err(format!(
                    "GET /users leaked {leaked:?} and missed {missing:?}"
                ))
            }
        }
        Expect::Refused => expect_error(status, body, &[403, 404, 422]),
        Expect::BulkRefused if status == 200 => {
            let results = body["results"]
                .as_array()
                .ok_or_else(|| format!("bulk approval answered {status}: {body}"))?;
            if results.is_empty()
                || results
                    .iter()
                    .any(|r| r["approved"] != false || r["error"] != "not_found")
            {
                return Err(format!("bulk approval of outside dossiers: {body}"));
            }
            Ok(())
        }
        Expect::BulkRefused => expect_error(status, body, &[403]),
        Expect::Inbox => {
            let officer = caller
                .grants
                .iter()
                .any(|(role, _)| role_allows(*role, Action::ViewDossier));
            if !officer {
                return expect_error(status, body, &[403]);
            }
            let items = body["dossiers"]
                .as_array()
                .ok_or_else(|| format!("inbox answered {status}: {body}"))?;
            let leaked = items
                .iter()
                .filter_map(|d| d["code"].as_str())
                .find(|code| caller.outside.iter().any(|o| o.dossier_code == *code));
            match leaked {
                Some(code) => Err(format!("inbox shows outside dossier {code}")),
                None => Ok(()),
            }
        }
        Expect::OwnDossiers => {
            if caller.grants.iter().any(|(role, _)| *role == Role::Citizen) {
                let codes = body["codes"]
                    .as_array()
                    .ok_or_else(|| format!("/me/dossiers answered {status}: {body}"))?;
                let leaked = codes
                    .iter()
                    .filter_map(Value::as_str)
                    .find(|code| caller.outside.iter().any(|o| o.dossier_code == *code));
                match leaked {
                    Some(code) => Err(format!("another applicant's dossier {code} listed")),
                    None => Ok(()),
                }
            } else {
                expect_error(status, body, &[403])
            }
        }
        Expect::OwnNotifications => {
            if status == 403 && !caller.grants.iter().any(|(role, _)| *role == Role::Citizen) {
                return Ok(());
            }
            let list = body["notifications"]
                .as_array()
                .ok_or_else(|| format!("/me/notifications answered {status}: {body}"))?;
            match list
                .iter()
                .filter_map(|n| n["dossier_code"].as_str())
                .find(|code| caller.outside.iter().any(|o| o.dossier_code == *code))
            {
                Some(code) => Err(format!("a notification of another's dossier {code} listed")),
                None => Ok(()),
            }
        }
        Expect::OwnNotices => {
            if status == 401 || status == 403 {
                return expect_error(status, body, &[401, 403]);
            }
            let list = body["notices"]
                .as_array()
                .ok_or_else(|| format!("/documents/notices answered {status}: {body}"))?;
            match list.iter().find(|n| {
                caller.outside.iter().any(|o| {
                    n["agency_code"].as_str() == Some(o.agency_code.as_str())
                        && n["object_id"].as_i64() == Some(o.incoming_id)
                })
            }) {
                Some(n) => Err(format!("a notice about an outside document listed: {n}")),
                None => Ok(()),
            }
        }
        Expect::OwnDocuments => {
            if caller.grants.iter().any(|(role, _)| *role == Role::Citizen) {
                let documents = body["documents"]
                    .as_array()
                    .ok_or_else(|| format!("/me/documents answered {status}: {body}"))?;
                let leaked = documents
                    .iter()
                    .filter_map(|d| d["source_dossier"].as_str())
                    .find(|code| caller.outside.iter().any(|o| o.dossier_code == *code));
                match leaked {
                    Some(code) => Err(format!("a document of another's dossier {code} listed")),
                    None => Ok(()),
                }
            } else {
                expect_error(status, body, &[403])
            }
        }
        Expect::InstallationWrite => {
            if caller.may(Action::ManageCalendar, &world.root_path)
                && caller
                    .grants
                    .iter()
                    .any(|(_, scope)| *scope == world.root_path)
            {
                expect_error(status, body, &[422])
            } else {
                expect_error(status, body, &[403])
            }
        }
        Expect::InstallationRead => {
            if caller.may(Action::ManageAgency, &world.root_path)
                && caller
                    .grants
                    .iter()
                    .any(|(_, scope)| *scope == world.root_path)
            {
                if status == 200 {
                    Ok(())
                } else {
                    Err(format!("installation reader got {status}: {body}"))
                }
            } else {
                expect_error(status, body, &[403])
            }
        }
        Expect::Audit => {
            if caller.may(Action::ViewAudit, &world.root_path) {
                let ok = status == 200
                    && (body.as_array().is_some_and(|a| !a.is_empty())
                        || body["intact"] == json!(true));
                if ok {
                    Ok(())
                } else {
                    Err(format!("audit reader got {status}: {body}"))
                }
            } else {
                expect_error(status, body, &[403])
            }
        }
    }
}

// ------------------------------------------------------------------ setup helpers

async fn agency(p: &Platform, code: &str) -> Agency {
    org::resolve_agency_code(p, code)
        .await
        .unwrap()
        .unwrap_or_else(|| panic!("agency {code} missing"))
}

async fn user(p: &Platform, username: &str) -> User {
    identity::user_by_username(p, username)
        .await
        .unwrap()
        .unwrap_or_else(|| panic!("user {username} missing"))
}

async fn new_agency(
    app: &TestApp,
    code: &str,
    name: &str,
    parent: Option<&str>,
    level: &str,
) -> Agency {
    org::create_agency(
        &app.platform,
        &app.ctx(),
        &NewAgency {
            code: code.into(),
            name: name.into(),
            short_name: String::new(),
            parent_code: parent.map(str::to_owned),
            level: level.into(),
            unit_era: None,
            unit_code: None,
        },
    )
    .await
    .unwrap()
}

async fn new_official(
    app: &TestApp,
    username: &str,
    name: &str,
    agency_id: i64,
    grants: &[(Role, i64)],
) -> User {
    let created = identity::create_user(
        &app.platform,
        &app.ctx(),
        &NewUser {
            kind: AccountKind::Official,
            username: username.into(),
            display_name: name.into(),
            personal_id: None,
            tax_code: None,
            email: format!("{username}@test.invalid"),
            phone: String::new(),
            agency_id: Some(agency_id),
            password: None,
            must_change_password: false,
        },
    )
    .await
    .unwrap();
    for (role, at) in grants {
        identity::grant_role(&app.platform, &app.ctx(), created.id, *role, *at)
            .await
            .unwrap();
    }
    created
}

/// A token carrying every scope, so that the roles alone decide.
async fn full_token(app: &TestApp, user_id: i64) -> (i64, String) {
    token_with(app, user_id, &Action::ALL).await
}

async fn token_with(app: &TestApp, user_id: i64, scopes: &[Action]) -> (i64, String) {
    let (token, secret) =
        identity::create_api_token(&app.platform, &app.ctx(), user_id, "t", scopes, 30)
            .await
            .unwrap();
    (token.id, secret)
}

async fn grants_of(p: &Platform, user: &User) -> Vec<(Role, String)> {
    identity::principal_for(p, user)
        .await
        .unwrap()
        .grants
        .into_iter()
        .map(|g| (g.role, g.agency_path.0))
        .collect()
}

/// Everything the API could change, read through the platform.
async fn snapshot(app: &TestApp) -> BTreeMap<&'static str, Value> {
    let p = &app.platform;
    let ctx = app.ctx();
    let pool = p.db.pool();
    let agencies = org::list_agencies(p, &ctx).await.unwrap();
    let mut parts = Vec::new();
    for a in &agencies {
        for part in [OrgPart::Department, OrgPart::Position] {
            parts.push(json!(org::list_parts(p, &ctx, part, a.id).await.unwrap()));
        }
    }
    let ids: Vec<i64> = sqlx::query_scalar("SELECT id FROM users ORDER BY id")
        .fetch_all(pool)
        .await
        .unwrap();
    let mut users = Vec::new();
    let mut grants = Vec::new();
    for id in ids {
        let u = identity::user_by_id(p, id).await.unwrap().unwrap();
        grants.push(json!(identity::principal_for(p, &u).await.unwrap().grants));
        users.push(u);
    }
    let hashes: Vec<Option<String>> =
        sqlx::query_scalar("SELECT password_hash FROM users ORDER BY id")
            .fetch_all(pool)
            .await
            .unwrap();
    let tokens: Vec<(i64, i64, i64, i64)> =
        sqlx::query_as("SELECT id, user_id, revoked, expires_ms FROM api_tokens ORDER BY id")
            .fetch_all(pool)
            .await
            .unwrap();
    let sessions: Vec<(i64, i64)> =
        sqlx::query_as("SELECT user_id, expires_ms FROM sessions ORDER BY user_id, expires_ms")
            .fetch_all(pool)
            .await
            .unwrap();
    let aliases: Vec<(String, i64)> =
        sqlx::query_as("SELECT code, agency_id FROM agency_aliases ORDER BY code")
            .fetch_all(pool)
            .await
            .unwrap();
    BTreeMap::from([
        ("agencies", json!(agencies)),
        ("departments and positions", json!(parts)),
        ("users", json!(users)),
        ("role grants", json!(grants)),
        ("password hashes", json!(hashes)),
        ("api tokens", json!(tokens)),
        ("sessions", json!(sessions)),
        ("agency aliases", json!(aliases)),
    ])
}

// ------------------------------------------------------------------ the matrix

async fn access_matrix(backend: Backend) {
    let app = TestApp::start(backend).await;
    let p = &app.platform;
    let ctx = app.ctx();

    // Demo objects.
    let root = agency(p, "000.00.00.H32").await;
    let stp = agency(p, "000.00.03.H32").await;
    let nha_trang = agency(p, "000.00.31.H32").await;
    let quantri_so = user(p, "quantri.so").await;
    let motcua = user(p, "motcua").await;

    // A second province with a department and an official of its own, and a second citizen.
    let na_root = new_agency(
        &app,
        "000.00.00.H41",
        "Ủy ban nhân dân tỉnh Nghệ An",
        None,
        "province",
    )
    .await;
    let na_stp = new_agency(
        &app,
        "000.00.03.H41",
        "Sở Tư pháp tỉnh Nghệ An",
        Some("000.00.00.H41"),
        "department",
    )
    .await;
    org::add_part(
        p,
        &ctx,
        OrgPart::Department,
        na_stp.id,
        "Phòng Hành chính tư pháp",
    )
    .await
    .unwrap();
    org::add_part(p, &ctx, OrgPart::Position, na_stp.id, "Giám đốc Sở")
        .await
        .unwrap();
    let na_official = new_official(
        &app,
        "quantri.stp.nghean",
        "Hồ Thị Lan (quản trị Sở Tư pháp Nghệ An)",
        na_stp.id,
        &[(Role::AgencyAdmin, na_stp.id)],
    )
    .await;
    let citizen2 = identity::create_user(
        p,
        &ctx,
        &NewUser {
            kind: AccountKind::Citizen,
            username: String::new(),
            display_name: "Lê Văn Bình".into(),
            personal_id: Some("040199000002".into()),
            tax_code: None,
            email: "levanbinh@test.invalid".into(),
            phone: "0905000002".into(),
            agency_id: None,
            password: None,
            must_change_password: false,
        },
    )
    .await
    .unwrap();

    // Tokens and open sessions of the outside users: the matrix must leave them alive.
    let mut victims = Vec::new();
    for victim in [na_official.id, quantri_so.id, motcua.id, citizen2.id] {
        let (token_id, secret) = token_with(&app, victim, &[Action::ViewAgency]).await;
        let session = identity::open_session(p, &ctx, victim, "access-matrix", "session.login")
            .await
            .unwrap();
        victims.push((victim, token_id, secret, session.token));
    }
    let token_of = |user_id: i64| {
        victims
            .iter()
            .find(|v| v.0 == user_id)
            .map(|v| v.1)
            .unwrap()
    };

    // One dossier in each outside family: counter intake by the platform itself, and one filed
    // online by the second citizen.
    let counter_dossier = |agency_code: String, procedure: &'static str| {
        let p = p.clone();
        let ctx = ctx.clone();
        async move {
            let spec = tinhso_onestop::catalog::get(&p, procedure)
                .await
                .unwrap()
                .spec;
            let dossier = tinhso_onestop::dossiers::submit(
                &p,
                &ctx,
                &tinhso_onestop::dossiers::NewDossier {
                    procedure_code: procedure.into(),
                    agency_code,
                    channel: tinhso_onestop::domain::catalog::Channel::Counter,
                    applicant: tinhso_onestop::dossiers::Applicant {
                        name: "Trần Thị Cúc".into(),
                        id_number: "079200001111".into(),
                        ..Default::default()
                    },
                    proxy: None,
                    form: super::support::valid_answers(&spec),
                    documents: paper_documents(spec.required_documents.len()),
                },
            )
            .await
            .unwrap();
            (dossier.code, dossier.documents[0].id)
        }
    };
    let na_dossier = counter_dossier(na_stp.code.clone(), "1.013831").await;
    let stp_dossier = counter_dossier(stp.code.clone(), "1.013831").await;
    let nha_trang_dossier = counter_dossier(nha_trang.code.clone(), "1.001193").await;
    let citizen2_ctx = tinhso_platform::Ctx {
        actor: format!("user:{}", citizen2.id),
        caller: tinhso_platform::Caller::User(identity::principal_for(p, &citizen2).await.unwrap()),
        ..ctx.clone()
    };
    let citizen2_spec = tinhso_onestop::catalog::get(p, "1.013831")
        .await
        .unwrap()
        .spec;
    let mut citizen2_documents = Vec::new();
    for i in 0..citizen2_spec.required_documents.len() {
        let upload = tinhso_onestop::documents::upload(
            p,
            &citizen2_ctx,
            "giay-to.pdf",
            &super::support::sample_pdf(i),
        )
        .await
        .unwrap();
        citizen2_documents.push(DocumentInput {
            requirement: RequirementRef::Index(i),
            upload_id: Some(upload.id),
            store_document_id: None,
            paper: false,
        });
    }
    let citizen2_dossier = tinhso_onestop::dossiers::submit(
        p,
        &citizen2_ctx,
        &tinhso_onestop::dossiers::NewDossier {
            procedure_code: "1.013831".into(),
            agency_code: na_root.code.clone(),
            channel: tinhso_onestop::domain::catalog::Channel::Online,
            applicant: Default::default(),
            proxy: None,
            form: super::support::valid_answers(&citizen2_spec),
            documents: citizen2_documents,
        },
    )
    .await
    .unwrap();
    let citizen2_document = citizen2_dossier.documents[0].id;
    let citizen2_dossier = citizen2_dossier.code;

    // A document family in each outside agency: an incoming document registered by the
    // platform and a draft written by an official of that agency.
    let doc_family = |agency_id: i64, agency_code: String| {
        let app = &app;
        async move {
            let drafter = new_official(
                app,
                &format!("soanthao.{agency_id}"),
                "Người soạn thảo",
                agency_id,
                &[(Role::Specialist, agency_id)],
            )
            .await;
            let drafter_ctx = tinhso_platform::Ctx {
                actor: format!("user:{}", drafter.id),
                caller: tinhso_platform::Caller::User(
                    identity::principal_for(&app.platform, &drafter)
                        .await
                        .unwrap(),
                ),
                ..app.ctx()
            };
            let file = tinhso_documents::files::store(
                &app.platform,
                &drafter_ctx,
                "du-thao.pdf",
                &super::support::sample_pdf(agency_id as usize + 100),
            )
            .await
            .unwrap();
            let metadata: tinhso_documents::domain::metadata::Metadata =
                serde_json::from_value(json!({
                    "type_code": "plan", "subject": "Kế hoạch của cơ quan ngoài",
                    "issued_date": "2026-03-02", "organ_name": "UBND tỉnh",
                }))
                .unwrap();
            let incoming = tinhso_documents::incoming::register(
                &app.platform,
                &app.ctx(),
                &tinhso_documents::incoming::NewIncoming {
                    agency_code: agency_code.clone(),
                    source: "paper".into(),
                    document_id: None,
                    metadata: metadata.clone(),
                    file_ids: vec![],
                },
            )
            .await
            .unwrap();
            let mut draft_metadata = metadata;
            draft_metadata.issued_date = None;
            let outgoing = tinhso_documents::outgoing::create_draft(
                &app.platform,
                &drafter_ctx,
                &tinhso_documents::outgoing::NewDraft {
                    agency_code,
                    metadata: draft_metadata,
                    unit_abbreviation: String::new(),
                    file_id: file.id,
                    response_for: Some(incoming.id),
                    note: String::new(),
                },
            )
            .await
            .unwrap();
            let work_file = tinhso_documents::work_files::create(
                &app.platform,
                &drafter_ctx,
                &tinhso_documents::work_files::NewWorkFile {
                    agency_code: outgoing.agency_code.clone(),
                    year: Some(2026),
                    metadata: serde_json::from_value(
                        json!({"file_notation": "HS.01", "title": "Hồ sơ của cơ quan ngoài"}),
                    )
                    .unwrap(),
                },
            )
            .await
            .unwrap();
            (incoming.id, outgoing.id, file.id, work_file.id)
        }
    };
    let na_docs = doc_family(na_stp.id, na_stp.code.clone()).await;
    let stp_docs = doc_family(stp.id, stp.code.clone()).await;
    let nha_trang_docs = doc_family(nha_trang.id, nha_trang.code.clone()).await;
    let na_root_docs = doc_family(na_root.id, na_root.code.clone()).await;

    let na = Outside {
        label: "Nghệ An department and its admin",
        agency_id: na_stp.id,
        agency_code: na_stp.code.clone(),
        user_id: na_official.id,
        grant: (Role::AgencyAdmin, na_stp.id),
        token_id: token_of(na_official.id),
        dossier_code: na_dossier.0,
        document_id: na_dossier.1,
        incoming_id: na_docs.0,
        outgoing_id: na_docs.1,
        file_id: na_docs.2,
        work_file_id: na_docs.3,
    };
    let in_stp = Outside {
        label: "Sở Tư pháp Khánh Hòa and its admin",
        agency_id: stp.id,
        agency_code: stp.code.clone(),
        user_id: quantri_so.id,
        grant: (Role::AgencyAdmin, stp.id),
        token_id: token_of(quantri_so.id),
        dossier_code: stp_dossier.0,
        document_id: stp_dossier.1,
        incoming_id: stp_docs.0,
        outgoing_id: stp_docs.1,
        file_id: stp_docs.2,
        work_file_id: stp_docs.3,
    };
    let in_nha_trang = Outside {
        label: "UBND phường Nha Trang and its counter officer",
        agency_id: nha_trang.id,
        agency_code: nha_trang.code.clone(),
        user_id: motcua.id,
        grant: (Role::CounterOfficer, nha_trang.id),
        token_id: token_of(motcua.id),
        dossier_code: nha_trang_dossier.0,
        document_id: nha_trang_dossier.1,
        incoming_id: nha_trang_docs.0,
        outgoing_id: nha_trang_docs.1,
        file_id: nha_trang_docs.2,
        work_file_id: nha_trang_docs.3,
    };
    let other_citizen = Outside {
        label: "Nghệ An province and a second citizen",
        agency_id: na_root.id,
        agency_code: na_root.code.clone(),
        user_id: citizen2.id,
        grant: (Role::Specialist, na_root.id),
        token_id: token_of(citizen2.id),
        dossier_code: citizen2_dossier,
        document_id: citizen2_document,
        incoming_id: na_root_docs.0,
        outgoing_id: na_root_docs.1,
        file_id: na_root_docs.2,
        work_file_id: na_root_docs.3,
    };

    // Every demo account, with a full-scope token.
    let mut callers = Vec::new();
    for (username, _, role, _) in tinhso_platform::demo::DEMO_OFFICIALS {
        let account = user(p, username).await;
        let (_, secret) = full_token(&app, account.id).await;
        let outside = match role {
            Role::ProvincialAdmin => vec![na.clone()],
            Role::Auditor => vec![na.clone(), other_citizen.clone()],
            Role::AgencyAdmin => vec![na.clone(), in_nha_trang.clone(), other_citizen.clone()],
            Role::Clerk => vec![
                na.clone(),
                in_stp.clone(),
                in_nha_trang.clone(),
                other_citizen.clone(),
            ],
            _ => vec![na.clone(), in_stp.clone(), other_citizen.clone()],
        };
        callers.push(Caller {
            name: format!("{username} ({role})"),
            who: Who::User,
            bearer: Some(secret),
            user_id: account.id,
            username: account.username.clone(),
            grants: grants_of(p, &account).await,
            home_agency: account.agency_id.unwrap(),
            outside,
        });
    }
    let citizen = user(p, tinhso_platform::demo::DEMO_CITIZEN.0).await;
    let (_, citizen_secret) = full_token(&app, citizen.id).await;
    callers.push(Caller {
        name: "citizen 001099000001".into(),
        who: Who::User,
        bearer: Some(citizen_secret),
        user_id: citizen.id,
        username: citizen.username.clone(),
        grants: grants_of(p, &citizen).await,
        home_agency: root.id,
        outside: vec![na.clone(), in_stp.clone(), other_citizen.clone()],
    });
    let quantri_tinh = user(p, "quantri.tinh").await;
    let (revoked_id, revoked_secret) = full_token(&app, quantri_tinh.id).await;
    identity::revoke_api_token(p, &ctx, revoked_id)
        .await
        .unwrap();
    for (name, who, bearer) in [
        ("anonymous", Who::Anonymous, None),
        (
            "garbage bearer token",
            Who::BadToken,
            Some("tsk_not-a-real-token-0123456789".to_owned()),
        ),
        (
            "garbage non-tsk bearer",
            Who::BadToken,
            Some("Zm9vOmJhcg".to_owned()),
        ),
        (
            "revoked token of quantri.tinh",
            Who::BadToken,
            Some(revoked_secret),
        ),
    ] {
        callers.push(Caller {
            name: name.into(),
            who,
            bearer,
            user_id: 0,
            username: String::new(),
            grants: Vec::new(),
            home_agency: root.id,
            outside: vec![in_stp.clone()],
        });
    }

    // What list endpoints should show, computed from the platform rather than the API.
    let world = World {
        root_path: root.path.clone(),
        agency_paths: org::list_agencies(p, &ctx)
            .await
            .unwrap()
            .into_iter()
            .map(|a| (a.id, a.path))
            .collect(),
        user_agencies: {
            let ids: Vec<i64> = sqlx::query_scalar("SELECT id FROM users ORDER BY id")
                .fetch_all(p.db.pool())
                .await
                .unwrap();
            let mut map = BTreeMap::new();
            for id in ids {
                map.insert(
                    id,
                    identity::user_by_id(p, id)
                        .await
                        .unwrap()
                        .unwrap()
                        .agency_id,
                );
            }
            map
        },
    };

    // The matrix. Nothing in it may write: the audit head and the snapshot stay put.
    let head_before = app.audit_head().await;
    let before = snapshot(&app).await;
    let http = reqwest::Client::new();
    let mut failures = Vec::new();
    let mut requests = 0usize;
    let mut seq = 0u32;
    for caller in &callers {
        let mut covered = BTreeSet::new();
        for (index, out) in caller.outside.iter().enumerate() {
            for op in OPERATIONS {
                let method = op.method.as_str();
                let probes = if op.auth == Auth::Public && index > 0 {
                    Vec::new()
                } else {
                    probes_for(method, op.path, caller, out, index == 0, &mut seq)
                };
                if !probes.is_empty() {
                    covered.insert((method, op.path));
                }
                for probe in probes {
                    let (status, body) = call(
                        &http,
                        &app,
                        caller.bearer.as_deref(),
                        probe.method.clone(),
                        &probe.path,
                        probe.body.as_ref(),
                    )
                    .await;
                    requests += 1;
                    if let Err(problem) = check(caller, &world, &probe, status, &body) {
                        failures.push(format!(
                            "{} → {} {} [{}] (operation {method} {}): {problem}",
                            caller.name, probe.method, probe.path, out.label, op.path
                        ));
                    }
                }
            }
        }
        assert_eq!(
            covered.len(),
            OPERATIONS.len(),
            "{}: some operations were never probed",
            caller.name
        );
    }
    println!(
        "access matrix ({backend:?}): {} operations × {} callers, {requests} requests, {} failures",
        OPERATIONS.len(),
        callers.len(),
        failures.len()
    );
    assert!(
        failures.is_empty(),
        "{} access violations:\n{}",
        failures.len(),
        failures.join("\n")
    );

    // The expectations above come from the role table; pin the facts they must amount to,
    // so that a loosened table cannot loosen this test with it.
    let by_name = |username: &str| callers.iter().find(|c| c.username == username).unwrap();
    let audit_readers: BTreeSet<&str> = callers
        .iter()
        .filter(|c| c.may(Action::ViewAudit, &world.root_path))
        .map(|c| c.username.as_str())
        .collect();
    assert_eq!(audit_readers, BTreeSet::from(["kiemtoan", "quantri.tinh"]));
    let user_viewers: BTreeSet<&str> = callers
        .iter()
        .filter(|c| !world.visible_users(c).is_empty())
        .map(|c| c.username.as_str())
        .collect();
    assert_eq!(
        user_viewers,
        BTreeSet::from(["kiemtoan", "lanhdao", "quantri.so", "quantri.tinh"])
    );
    assert!(
        world
            .visible_agencies(by_name(&citizen.username))
            .is_empty()
    );
    assert_eq!(
        world.visible_agencies(by_name("motcua")),
        BTreeSet::from([nha_trang.id])
    );
    let stp_division = agency(p, "000.01.03.H32").await;
    assert_eq!(
        world.visible_agencies(by_name("quantri.so")),
        BTreeSet::from([stp.id, stp_division.id])
    );
    assert!(
        !world
            .visible_agencies(by_name("quantri.tinh"))
            .contains(&na_root.id)
    );

    // No write happened: every state change audits in its own transaction.
    assert_eq!(
        app.audit_head().await,
        head_before,
        "a refused request wrote to the database"
    );
    let after = snapshot(&app).await;
    for (what, value) in &before {
        assert_eq!(
            &after[what], value,
            "{what} changed during the access matrix"
        );
    }
    let now = p.now_ms();
    for (victim, _, secret, session) in &victims {
        assert!(
            identity::principal_from_api_token(p, secret, now)
                .await
                .unwrap()
                .is_some(),
            "the token of user {victim} no longer works"
        );
        assert!(
            identity::session_from_token(p, session, now)
                .await
                .unwrap()
                .is_some(),
            "the session of user {victim} was ended"
        );
    }

    // Positive controls: the same tokens work inside their scope, so the refusals above are
    // about scope, not about broken authentication.
    let bearer_of = |username: &str| {
        callers
            .iter()
            .find(|c| c.username == username)
            .and_then(|c| c.bearer.clone())
            .unwrap()
    };
    let so = bearer_of("quantri.so");
    let (status, department) = call(
        &http,
        &app,
        Some(&so),
        reqwest::Method::POST,
        &format!("/agencies/{}/departments", stp.id),
        Some(&json!({ "name": "Phòng Bổ trợ tư pháp" })),
    )
    .await;
    assert_eq!(status, 200, "{department}");
    assert_eq!(department["agency_id"].as_i64(), Some(stp.id));
    let head_department = app.audit_head().await;
    assert!(
        head_department > head_before,
        "creating a department was not audited"
    );

    let (status, created) = call(
        &http,
        &app,
        Some(&so),
        reqwest::Method::POST,
        "/users",
        Some(&json!({
            "kind": "official",
            "username": "congchung.stp",
            "display_name": "Ngô Thị Hạnh",
            "agency_id": stp.id,
            "password": STRONG_PASSWORD,
            "must_change_password": true,
        })),
    )
    .await;
    assert_eq!(status, 200, "{created}");
    let new_id = created["id"].as_i64().unwrap();
    let (status, granted) = call(
        &http,
        &app,
        Some(&so),
        reqwest::Method::POST,
        &format!("/users/{new_id}/roles"),
        Some(&json!({ "role": "specialist", "agency_id": stp.id })),
    )
    .await;
    assert_eq!(status, 200, "{granted}");
    assert!(
        app.audit_head().await > head_department,
        "the grant was not audited"
    );
    let new_user = identity::user_by_id(p, new_id).await.unwrap().unwrap();
    assert_eq!(
        grants_of(p, &new_user).await,
        vec![(Role::Specialist, stp.path.clone())]
    );

    let tinh = bearer_of("quantri.tinh");
    let (status, users) = call(
        &http,
        &app,
        Some(&tinh),
        reqwest::Method::GET,
        "/users",
        None,
    )
    .await;
    assert_eq!(status, 200, "{users}");
    let listed = id_set(&users).unwrap();
    for username in ["motcua", "chuyenvien", "lanhdao"] {
        assert!(
            listed.contains(&user(p, username).await.id),
            "provincial admin does not see {username}"
        );
    }
    let (status, one) = call(
        &http,
        &app,
        Some(&tinh),
        reqwest::Method::GET,
        &format!("/users/{}", motcua.id),
        None,
    )
    .await;
    assert_eq!(
        (status, one["username"].as_str()),
        (200, Some("motcua")),
        "{one}"
    );
    let (status, parts) = call(
        &http,
        &app,
        Some(&tinh),
        reqwest::Method::GET,
        &format!("/agencies/{}/departments", nha_trang.id),
        None,
    )
    .await;
    assert_eq!(status, 200, "{parts}");
    assert_eq!(parts.as_array().map(Vec::len), Some(3), "{parts}");
    let lanhdao = bearer_of("lanhdao");
    let (status, one) = call(
        &http,
        &app,
        Some(&lanhdao),
        reqwest::Method::GET,
        &format!("/users/{}", motcua.id),
        None,
    )
    .await;
    assert_eq!(
        (status, one["username"].as_str()),
        (200, Some("motcua")),
        "{one}"
    );

    app.stop().await;
}
crate::both!(access_matrix);

// ------------------------------------------------------------------ escalation paths

/// Ways around the matrix: acting on an outside account through an inside agency, borrowing
/// an inside account whose grants reach outside, and widening a token's scopes. Each attempt
/// must be refused and must write nothing.
async fn no_escalation_through_inside_objects(backend: Backend) {
    let app = TestApp::start(backend).await;
    let p = &app.platform;
    let stp = agency(p, "000.00.03.H32").await;
    let root = agency(p, "000.00.00.H32").await;
    new_agency(
        &app,
        "000.00.00.H41",
        "Ủy ban nhân dân tỉnh Nghệ An",
        None,
        "province",
    )
    .await;
    let na_stp = new_agency(
        &app,
        "000.00.03.H41",
        "Sở Tư pháp tỉnh Nghệ An",
        Some("000.00.00.H41"),
        "department",
    )
    .await;
    let na_official = new_official(
        &app,
        "quantri.stp.nghean",
        "Hồ Thị Lan",
        na_stp.id,
        &[(Role::AgencyAdmin, na_stp.id)],
    )
    .await;
    // An official of Sở Tư pháp who also inspects the whole province (kiêm nhiệm).
    let inspector = new_official(
        &app,
        "kiemtra.stp",
        "Trương Văn Khải",
        stp.id,
        &[(Role::Auditor, root.id)],
    )
    .await;
    let quantri_so = user(p, "quantri.so").await;
    let quantri_tinh = user(p, "quantri.tinh").await;
    let chuyenvien = user(p, "chuyenvien").await;
    let citizen = user(p, tinhso_platform::demo::DEMO_CITIZEN.0).await;
    let (_, so_full) = full_token(&app, quantri_so.id).await;
    let (_, so_read) = token_with(&app, quantri_so.id, &[Action::ViewAgency]).await;
    let (_, tinh_read) = token_with(&app, quantri_tinh.id, &[Action::ViewAgency]).await;
    let (_, cv_read) = token_with(&app, chuyenvien.id, &[Action::ViewAgency]).await;

    let http = reqwest::Client::new();
    let head = app.audit_head().await;
    let before = snapshot(&app).await;
    let attempts: Vec<(&str, &str, reqwest::Method, String, Value)> = vec![
        (
            "agency admin of Sở Tư pháp gives an official of Nghệ An a role in Sở Tư pháp",
            so_full.as_str(),
            reqwest::Method::POST,
            format!("/users/{}/roles", na_official.id),
            json!({ "role": "specialist", "agency_id": stp.id }),
        ),
        (
            "agency admin of Sở Tư pháp mints a token for an account whose grant covers the province",
            so_full.as_str(),
            reqwest::Method::POST,
            "/tokens".into(),
            json!({ "name": "borrowed", "scopes": Action::ALL, "ttl_days": 1, "user_id": inspector.id }),
        ),
        (
            "agency admin of Sở Tư pháp resets the password of an account whose grant covers the province",
            so_full.as_str(),
            reqwest::Method::POST,
            format!("/users/{}/password", inspector.id),
            json!({ "new_password": "taken-over-password-1", "must_change": false }),
        ),
        (
            "a view_agency token issues itself a token with every scope",
            so_read.as_str(),
            reqwest::Method::POST,
            "/tokens".into(),
            json!({ "name": "wider", "scopes": Action::ALL, "ttl_days": 1 }),
        ),
        (
            "a view_agency token of the provincial admin resets a citizen's password",
            tinh_read.as_str(),
            reqwest::Method::POST,
            format!("/users/{}/password", citizen.id),
            json!({ "new_password": "taken-over-password-2", "must_change": false }),
        ),
        (
            "a view_agency token changes its own account's password",
            cv_read.as_str(),
            reqwest::Method::POST,
            format!("/users/{}/password", chuyenvien.id),
            json!({ "new_password": "taken-over-password-3", "must_change": false }),
        ),
    ];
    let mut failures = Vec::new();
    for (what, bearer, method, path, body) in &attempts {
        let (status, answer) =
            call(&http, &app, Some(bearer), method.clone(), path, Some(body)).await;
        if let Err(problem) = expect_error(status, &answer, &[403, 404]) {
            failures.push(format!("{what} ({method} {path}): {problem}"));
            // Show what a minted token buys, to make the report concrete.
            if let Some(secret) = answer["secret"].as_str() {
                let (audit, _) = call(
                    &http,
                    &app,
                    Some(secret),
                    reqwest::Method::GET,
                    "/audit/records",
                    None,
                )
                .await;
                let (_, users) = call(
                    &http,
                    &app,
                    Some(secret),
                    reqwest::Method::GET,
                    "/users",
                    None,
                )
                .await;
                let (_, narrow) = call(
                    &http,
                    &app,
                    Some(bearer),
                    reqwest::Method::GET,
                    "/users",
                    None,
                )
                .await;
                failures.push(format!(
                    "    … the minted token gets GET /audit/records → {audit} and lists {} accounts (the issuing token: {})",
                    users.as_array().map_or(0, Vec::len),
                    narrow.as_array().map_or(0, Vec::len)
                ));
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{} escalations succeeded:\n{}",
        failures.len(),
        failures.join("\n")
    );
    assert_eq!(
        app.audit_head().await,
        head,
        "a refused request wrote to the database"
    );
    let after = snapshot(&app).await;
    for (what, value) in &before {
        assert_eq!(&after[what], value, "{what} changed");
    }
    app.stop().await;
}
crate::both!(no_escalation_through_inside_objects);

/// Officials' grants are cached under the access stamp, which a grant or a revocation replaces
/// in its own transaction: a token already in use sees the change on its very next request.
async fn role_changes_reach_a_token_in_use(backend: Backend) {
    let app = TestApp::start(backend).await;
    let p = &app.platform;
    let http = reqwest::Client::new();
    let specialist = user(p, "chuyenvien").await;
    let (_, bearer) = full_token(&app, specialist.id).await;
    let roles = || async {
        let (status, me) = call(
            &http,
            &app,
            Some(&bearer),
            reqwest::Method::GET,
            "/me",
            None,
        )
        .await;
        assert_eq!(status, 200, "{me}");
        me["grants"]
            .as_array()
            .unwrap()
            .iter()
            .map(|g| g["role"].as_str().unwrap().to_owned())
            .collect::<Vec<_>>()
    };
    // Twice: the second answer comes from the cache.
    assert!(roles().await.contains(&"specialist".to_owned()));
    assert!(roles().await.contains(&"specialist".to_owned()));
    let grant = identity::principal_for(p, &specialist)
        .await
        .unwrap()
        .grants
        .into_iter()
        .find(|g| g.role == Role::Specialist)
        .unwrap();
    identity::revoke_role(
        p,
        &app.ctx(),
        specialist.id,
        Role::Specialist,
        grant.agency_id,
    )
    .await
    .unwrap();
    assert!(
        !roles().await.contains(&"specialist".to_owned()),
        "a revoked role was still served"
    );
    identity::grant_role(
        p,
        &app.ctx(),
        specialist.id,
        Role::Specialist,
        grant.agency_id,
    )
    .await
    .unwrap();
    assert!(roles().await.contains(&"specialist".to_owned()));
    app.stop().await;
}
crate::both!(role_changes_reach_a_token_in_use);
