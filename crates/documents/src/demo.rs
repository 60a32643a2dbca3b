//! Demo documents for `tinhso serve --demo`: document settings for every demo agency, a
//! clerk for the ward of Nha Trang, and a few documents in the states the UI shows — an
//! incoming plan just registered, an incoming letter routed to the specialist and in
//! progress, its reply drafted, approved, signed, released and dispatched to the provincial
//! committee (where it arrives in that register), and a draft waiting for review. Everything
//! goes through the real services; created once (a settings flag remembers it).

use tinhso_core::access::Role;
use tinhso_core::identity::AccountKind;
use tinhso_platform::identity::{
    NewUser, create_user, grant_role, principal_for, user_by_username,
};
use tinhso_platform::org::resolve_agency_code;
use tinhso_platform::{Caller, Ctx, Error, Platform, Result};

use crate::domain::metadata::Metadata;
use crate::domain::types::{Confidentiality, Urgency};
use crate::domain::workflow::{Assignment, IncomingStep, OutgoingStep};
use crate::outgoing::{NewDraft, RecipientChange, RecipientInput, SignInput};
use crate::settings::{Settings, Unit};
use crate::{files, incoming, outgoing, settings};

const SETTING: &str = "demo_documents_seeded";
/// Where `serve --demo` keeps its test CA, under the data directory.
pub const DEMO_PKI_DIR: &str = "demo-pki";

/// With no signing key configured, the demo signs with a test CA of its own: made once in
/// `data/demo-pki/` (valid around `now_unix`), its `signer.p12` becomes the signing key and
/// its `ca.pem` a trust anchor. Returns the directory when the demo CA is in use. A demo
/// CA's signatures are valid only where it is trusted — never a real installation's.
pub fn use_demo_pki(
    config: &mut tinhso_platform::Config,
    now_unix: i64,
) -> Result<Option<std::path::PathBuf>> {
    if !config.signing.pkcs12_path.as_os_str().is_empty() {
        return Ok(None);
    }
    let dir = config.server.data_dir.join(DEMO_PKI_DIR);
    let (p12, ca) = (dir.join("signer.p12"), dir.join("ca.pem"));
    if !(p12.is_file() && ca.is_file()) {
        tinhso_signing::test_ca::TestPki::generate(now_unix)
            .and_then(|pki| pki.write_to(&dir))
            .map_err(|e| Error::Other(format!("demo CA in {}: {e}", dir.display())))?;
    }
    config.signing.pkcs12_path = p12;
    config.signing.pkcs12_password = tinhso_signing::test_ca::TEST_PASSWORD.to_owned();
    if !config.signing.trust_anchors.contains(&ca) {
        config.signing.trust_anchors.push(ca);
    }
    Ok(Some(dir))
}
/// The ward whose leader and specialist are the demo officials.
pub const DEMO_AGENCY: &str = "000.00.31.H32";
/// The ward's clerk created here (password: the demo password).
pub const DEMO_CLERK: (&str, &str) = ("vanthu.phuong", "Đặng Thị Lan (văn thư phường)");

/// Units of the wards (Công văn notations such as `12/UBND-VX`).
const WARD_UNITS: &[(&str, &str)] = &[
    ("VP", "Văn phòng HĐND và UBND"),
    ("VX", "Phòng Văn hóa - Xã hội"),
    ("KT", "Phòng Kinh tế, Hạ tầng và Đô thị"),
];

/// A small valid PDF standing in for a scan or a signed original.
fn demo_pdf(title: &str) -> Vec<u8> {
    format!(
        "%PDF-1.4\n1 0 obj << /Type /Catalog /Pages 2 0 R >> endobj\n2 0 obj << /Type /Pages /Kids [] /Count 0 >> endobj\n% {title}\ntrailer << /Root 1 0 R >>\n%%EOF\n"
    )
    .into_bytes()
}

async fn ctx_of(p: &Platform, username: &str) -> Result<Option<Ctx>> {
    let Some(user) = user_by_username(p, username).await? else {
        return Ok(None);
    };
    Ok(Some(Ctx {
        actor: format!("user:{}", user.id),
        caller: Caller::User(principal_for(p, &user).await?),
        request_id: "demo-documents".into(),
        source_addr: "local".into(),
        now_ms: p.now_ms(),
    }))
}

fn metadata(value: serde_json::Value) -> Result<Metadata> {
    serde_json::from_value(value).map_err(|e| Error::Other(e.to_string()))
}

/// Creates the demo documents once; false when they exist or the demo officials do not.
pub async fn seed(p: &Platform) -> Result<bool> {
    if p.setting(SETTING).await?.is_some() {
        return Ok(false);
    }
    let system = Ctx::system(p.now_ms());
    let Some(ward) = resolve_agency_code(p, DEMO_AGENCY).await? else {
        return Ok(false);
    };
    // Every demo agency's issuer abbreviation is its short name (UBND, STP, SNV…).
    let agencies: Vec<(String, String, String)> =
        sqlx::query_as("SELECT code, short_name, level FROM agencies WHERE active = 1 ORDER BY id")
            .fetch_all(p.db.pool())
            .await?;
    for (code, short, level) in agencies {
        let units = if level == "commune" {
            WARD_UNITS
                .iter()
                .map(|(a, n)| Unit {
                    abbreviation: (*a).into(),
                    name: (*n).into(),
                })
                .collect()
        } else {
            vec![Unit {
                abbreviation: "VP".into(),
                name: "Văn phòng".into(),
            }]
        };
        if crate::domain::numbering::check_abbreviation(&short, "demo").is_ok() {
            settings::put(
                p,
                &system,
                &code,
                &Settings {
                    issuer_abbreviation: short,
                    units,
                },
            )
            .await?;
        }
    }
    if user_by_username(p, DEMO_CLERK.0).await?.is_none() {
        let clerk = create_user(
            p,
            &system,
            &NewUser {
                kind: AccountKind::Official,
                username: DEMO_CLERK.0.into(),
                display_name: DEMO_CLERK.1.into(),
                personal_id: None,
                tax_code: None,
                email: format!("{}@demo.tinhso.invalid", DEMO_CLERK.0),
                phone: String::new(),
                agency_id: Some(ward.id),
                password: Some(tinhso_platform::demo::DEMO_PASSWORD.into()),
                must_change_password: false,
            },
        )
        .await?;
        grant_role(p, &system, clerk.id, Role::Clerk, ward.id).await?;
    }
    let (Some(clerk), Some(leader), Some(specialist)) = (
        ctx_of(p, DEMO_CLERK.0).await?,
        ctx_of(p, "lanhdao").await?,
        ctx_of(p, "chuyenvien").await?,
    ) else {
        return Ok(false);
    };
    let specialist_id = crate::common::user_id(&specialist).unwrap_or_default();
    let year = crate::common::year_of(p.now_ms());
    let issued = crate::common::today(p.now_ms());

    // 1. A plan of the province, just registered.
    let scan = files::store(
        p,
        &clerk,
        "ke-hoach-chuyen-doi-so.pdf",
        &demo_pdf("Ke hoach 145"),
    )
    .await?;
    incoming::register(
        p,
        &clerk,
        &incoming::NewIncoming {
            agency_code: DEMO_AGENCY.into(),
            source: "electronic".into(),
            document_id: Some(format!("000.00.00.H32,{},145/KH-UBND", issued.format("%Y/%m/%d"))),
            metadata: metadata(serde_json::json!({
                "type_code": "plan", "subject": format!("Kế hoạch chuyển đổi số tỉnh Khánh Hòa năm {year}"),
                "code_number": "145", "code_notation": "KH-UBND", "issued_date": issued,
                "organ_id": "000.00.00.H32", "organ_name": "Ủy ban nhân dân tỉnh Khánh Hòa",
                "signer_position": "KT. Chủ tịch - Phó Chủ tịch", "signer_name": "Trần Quốc Bảo",
                "urgency": Urgency::Urgent, "page_amount": 6,
            }))?,
            file_ids: vec![scan.id],
        },
    )
    .await?;

    // 2. A letter of the Department of Home Affairs, routed and in progress.
    let scan = files::store(
        p,
        &clerk,
        "cong-van-cai-cach-hanh-chinh.pdf",
        &demo_pdf("Cong van 88"),
    )
    .await?;
    let letter = incoming::register(
        p,
        &clerk,
        &incoming::NewIncoming {
            agency_code: DEMO_AGENCY.into(),
            source: "paper".into(),
            document_id: None,
            metadata: metadata(serde_json::json!({
                "type_code": "official_letter", "subject": "V/v báo cáo kết quả cải cách hành chính quý I",
                "code_number": "88", "code_notation": "SNV-CCHC", "issued_date": issued,
                "organ_id": "000.00.02.H32", "organ_name": "Sở Nội vụ", "page_amount": 2,
                "due_date": issued + chrono::Days::new(10),
            }))?,
            file_ids: vec![scan.id],
        },
    )
    .await?;
    incoming::assign(
        p,
        &leader,
        letter.id,
        &Assignment {
            main_handler: specialist_id,
            deadline: Some(issued + chrono::Days::new(7)),
            direction: "Giao chuyên viên tổng hợp, dự thảo báo cáo trình ký".into(),
            ..Assignment::default()
        },
    )
    .await?;
    incoming::handle(
        p,
        &specialist,
        letter.id,
        IncomingStep::Progress,
        "Đã tổng hợp số liệu các bộ phận",
    )
    .await?;

    // 3. Its reply, through the whole chain, dispatched to the provincial committee.
    let draft = files::store(
        p,
        &specialist,
        "du-thao-bao-cao.pdf",
        &demo_pdf("Du thao bao cao"),
    )
    .await?;
    let reply = outgoing::create_draft(
        p,
        &specialist,
        &NewDraft {
            agency_code: DEMO_AGENCY.into(),
            metadata: metadata(serde_json::json!({
                "type_code": "report", "subject": "Báo cáo kết quả cải cách hành chính quý I",
                "issued_amount": 2, "page_amount": 3, "to_places": ["Sở Nội vụ", "Lưu: VT, VP"],
            }))?,
            unit_abbreviation: "VP".into(),
            file_id: draft.id,
            response_for: Some(letter.id),
            note: String::new(),
        },
    )
    .await?;
    outgoing::review(p, &specialist, reply.id, OutgoingStep::Submit, "").await?;
    outgoing::review(
        p,
        &leader,
        reply.id,
        OutgoingStep::Approve,
        "Đồng ý ban hành",
    )
    .await?;
    let signed = files::store(p, &leader, "bao-cao-da-ky.pdf", &demo_pdf("Bao cao da ky")).await?;
    outgoing::sign(
        p,
        &leader,
        reply.id,
        &SignInput {
            file_id: signed.id,
            competence: "TM.".into(),
            signer_position: "Chủ tịch".into(),
            signer_name: "Võ Văn Dũng".into(),
        },
    )
    .await?;
    outgoing::release(p, &clerk, reply.id).await?;
    outgoing::change_recipients(
        p,
        &clerk,
        reply.id,
        &RecipientChange {
            add: vec![RecipientInput {
                organ_id: "000.00.02.H32".into(),
                organ_name: String::new(),
            }],
            remove: vec![],
        },
    )
    .await?;

    // 4. A confidential draft waiting for the leader.
    let draft = files::store(p, &specialist, "du-thao-mat.pdf", &demo_pdf("Du thao mat")).await?;
    let secret = outgoing::create_draft(
        p,
        &specialist,
        &NewDraft {
            agency_code: DEMO_AGENCY.into(),
            metadata: metadata(serde_json::json!({
                "type_code": "official_letter", "subject": "V/v rà soát hồ sơ đất đai",
                "confidentiality": Confidentiality::Confidential,
            }))?,
            unit_abbreviation: "KT".into(),
            file_id: draft.id,
            response_for: None,
            note: "Bản dự thảo đầu tiên".into(),
        },
    )
    .await?;
    outgoing::review(p, &specialist, secret.id, OutgoingStep::Submit, "").await?;

    let mut tx = p.db.begin_write().await?;
    sqlx::query("INSERT INTO settings (key, value) VALUES ($1, $2)")
        .bind(SETTING)
        .bind(p.now_ms().to_string())
        .execute(&mut *tx.tx)
        .await?;
    tx.commit().await?;
    Ok(true)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::use_demo_pki;

    #[test]
    fn the_demo_ca_is_made_once_and_becomes_the_signing_key() {
        let dir = tempfile::tempdir().unwrap();
        let mut config = tinhso_platform::Config::default();
        config.server.data_dir = dir.path().to_path_buf();
        let made = use_demo_pki(&mut config, 1_796_083_200).unwrap().unwrap();
        assert_eq!(made, dir.path().join("demo-pki"));
        assert_eq!(config.signing.pkcs12_path, made.join("signer.p12"));
        assert_eq!(config.signing.trust_anchors, vec![made.join("ca.pem")]);
        let key = std::fs::read(&config.signing.pkcs12_path).unwrap();
        tinhso_signing::Pkcs12Signer::from_pkcs12(&key, &config.signing.pkcs12_password).unwrap();
        // A second start keeps the same CA (signatures made before stay trusted).
        let ca = std::fs::read(made.join("ca.pem")).unwrap();
        let mut again = tinhso_platform::Config::default();
        again.server.data_dir = dir.path().to_path_buf();
        use_demo_pki(&mut again, 1_796_083_200).unwrap();
        assert_eq!(std::fs::read(made.join("ca.pem")).unwrap(), ca);
        // A configured key is left alone.
        let mut configured = tinhso_platform::Config::default();
        configured.signing.pkcs12_path = "/etc/tinhso/org.p12".into();
        assert!(use_demo_pki(&mut configured, 0).unwrap().is_none());
        assert!(configured.signing.trust_anchors.is_empty());
    }
}
