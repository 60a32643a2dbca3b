//! Demo data for `tinhso serve --demo`: Khánh Hòa from the real unit lists, a dozen agencies
//! with identifiers, one official per role and a citizen. Created once (a settings flag
//! remembers it), through the same audited services an administrator would use.

use tinhso_core::access::Role;
use tinhso_core::identity::AccountKind;
use tinhso_core::units::{TWO_LEVEL_ERA, parse_unit_file};

use crate::Platform;
use crate::context::Ctx;
use crate::error::Result;
use crate::identity::{NewUser, create_user, grant_role};
use crate::org::{NewAgency, OrgPart, add_part, create_agency, import_units};

/// The password of every demo account. Printed at start-up, marked as demo everywhere.
pub const DEMO_PASSWORD: &str = "demo-Tinhso-2026";

pub const THREE_LEVEL_UNITS: &str = include_str!("../data/units-2025-03-three-level.json");
pub const TWO_LEVEL_UNITS: &str = include_str!("../data/units-2026-two-level.json");

/// (identifier, name, short name, parent identifier, level, commune code)
type DemoAgency = (
    &'static str,
    &'static str,
    &'static str,
    Option<&'static str>,
    &'static str,
    Option<&'static str>,
);

const AGENCIES: &[DemoAgency] = &[
    (
        "000.00.00.H32",
        "Ủy ban nhân dân tỉnh Khánh Hòa",
        "UBND",
        None,
        "province",
        None,
    ),
    (
        "000.00.01.H32",
        "Văn phòng Ủy ban nhân dân tỉnh",
        "VP",
        Some("000.00.00.H32"),
        "department",
        None,
    ),
    (
        "000.00.02.H32",
        "Sở Nội vụ",
        "SNV",
        Some("000.00.00.H32"),
        "department",
        None,
    ),
    (
        "000.00.03.H32",
        "Sở Tư pháp",
        "STP",
        Some("000.00.00.H32"),
        "department",
        None,
    ),
    (
        "000.00.04.H32",
        "Sở Tài chính",
        "STC",
        Some("000.00.00.H32"),
        "department",
        None,
    ),
    (
        "000.00.05.H32",
        "Sở Xây dựng",
        "SXD",
        Some("000.00.00.H32"),
        "department",
        None,
    ),
    (
        "000.00.06.H32",
        "Sở Nông nghiệp và Môi trường",
        "SNNMT",
        Some("000.00.00.H32"),
        "department",
        None,
    ),
    (
        "000.00.07.H32",
        "Sở Khoa học và Công nghệ",
        "SKHCN",
        Some("000.00.00.H32"),
        "department",
        None,
    ),
    (
        "000.00.08.H32",
        "Trung tâm Phục vụ hành chính công tỉnh",
        "TTPVHCC",
        Some("000.00.01.H32"),
        "centre",
        None,
    ),
    (
        "000.01.03.H32",
        "Phòng Hành chính tư pháp",
        "HCTP",
        Some("000.00.03.H32"),
        "division",
        None,
    ),
    (
        "000.00.31.H32",
        "Ủy ban nhân dân phường Nha Trang",
        "UBND",
        Some("000.00.00.H32"),
        "commune",
        Some("22366"),
    ),
    (
        "000.00.32.H32",
        "Ủy ban nhân dân phường Bắc Nha Trang",
        "UBND",
        Some("000.00.00.H32"),
        "commune",
        Some("22333"),
    ),
    (
        "000.00.33.H32",
        "Ủy ban nhân dân phường Cam Ranh",
        "UBND",
        Some("000.00.00.H32"),
        "commune",
        Some("22420"),
    ),
    (
        "000.00.34.H32",
        "Ủy ban nhân dân xã Cam Lâm",
        "UBND",
        Some("000.00.00.H32"),
        "commune",
        Some("22453"),
    ),
];

/// (username, display name, role, agency identifier)
pub const DEMO_OFFICIALS: &[(&str, &str, Role, &str)] = &[
    (
        "quantri.tinh",
        "Trần Quốc Bảo (quản trị tỉnh)",
        Role::ProvincialAdmin,
        "000.00.00.H32",
    ),
    (
        "quantri.so",
        "Lê Thị Thu (quản trị Sở Tư pháp)",
        Role::AgencyAdmin,
        "000.00.03.H32",
    ),
    (
        "motcua",
        "Phạm Minh Châu (bộ phận một cửa)",
        Role::CounterOfficer,
        "000.00.31.H32",
    ),
    (
        "chuyenvien",
        "Nguyễn Thị Hoa (chuyên viên)",
        Role::Specialist,
        "000.00.31.H32",
    ),
    (
        "lanhdao",
        "Võ Văn Dũng (lãnh đạo)",
        Role::Leader,
        "000.00.31.H32",
    ),
    (
        "vanthu",
        "Đặng Thị Mai (văn thư)",
        Role::Clerk,
        "000.00.01.H32",
    ),
    (
        "kiemtoan",
        "Huỳnh Văn Sơn (kiểm tra, giám sát)",
        Role::Auditor,
        "000.00.00.H32",
    ),
];

pub const DEMO_CITIZEN: (&str, &str) = ("001099000001", "Nguyễn Văn An");

/// Loads both shipped unit lists (idempotent).
pub async fn load_shipped_units(p: &Platform, ctx: &Ctx) -> Result<usize> {
    let mut total = 0;
    for file in [THREE_LEVEL_UNITS, TWO_LEVEL_UNITS] {
        total += import_units(p, ctx, &parse_unit_file(file)?).await?;
    }
    Ok(total)
}

/// Creates the demo once. Returns false when it already existed.
pub async fn seed(p: &Platform) -> Result<bool> {
    if p.setting("demo_seeded").await?.is_some() {
        return Ok(false);
    }
    let ctx = Ctx::system(p.now_ms());
    load_shipped_units(p, &ctx).await?;
    for (code, name, short, parent, level, commune) in AGENCIES {
        create_agency(
            p,
            &ctx,
            &NewAgency {
                code: (*code).into(),
                name: (*name).into(),
                short_name: (*short).into(),
                parent_code: parent.map(str::to_owned),
                level: (*level).into(),
                unit_era: Some(TWO_LEVEL_ERA.into()).filter(|_| commune.is_some()),
                unit_code: commune.map(str::to_owned),
            },
        )
        .await?;
    }
    let nha_trang = agency_id(p, "000.00.31.H32").await?;
    for department in [
        "Bộ phận Một cửa",
        "Phòng Văn hóa - Xã hội",
        "Phòng Kinh tế, Hạ tầng và Đô thị",
    ] {
        add_part(p, &ctx, OrgPart::Department, nha_trang, department).await?;
    }
    for position in [
        "Chủ tịch",
        "Phó Chủ tịch",
        "Công chức Tư pháp - Hộ tịch",
        "Công chức Văn phòng - Thống kê",
    ] {
        add_part(p, &ctx, OrgPart::Position, nha_trang, position).await?;
    }
    for (username, name, role, agency) in DEMO_OFFICIALS {
        let agency_id = agency_id(p, agency).await?;
        let user = create_user(
            p,
            &ctx,
            &NewUser {
                kind: AccountKind::Official,
                username: (*username).into(),
                display_name: (*name).into(),
                personal_id: None,
                tax_code: None,
                email: format!("{username}@demo.tinhso.invalid"),
                phone: String::new(),
                agency_id: Some(agency_id),
                password: Some(DEMO_PASSWORD.into()),
                must_change_password: false,
            },
        )
        .await?;
        grant_role(p, &ctx, user.id, *role, agency_id).await?;
    }
    create_user(
        p,
        &ctx,
        &NewUser {
            kind: AccountKind::Citizen,
            username: String::new(),
            display_name: DEMO_CITIZEN.1.into(),
            personal_id: Some(DEMO_CITIZEN.0.into()),
            tax_code: None,
            email: "nguyenvanan@demo.tinhso.invalid".into(),
            phone: "0905000001".into(),
            agency_id: None,
            password: Some(DEMO_PASSWORD.into()),
            must_change_password: false,
        },
    )
    .await?;
    let mut tx = p.db.begin_write().await?;
    sqlx::query("INSERT INTO settings (key, value) VALUES ('demo_seeded', $1)")
        .bind(ctx.now_ms.to_string())
        .execute(&mut *tx.tx)
        .await?;
    tx.commit().await?;
    Ok(true)
}

async fn agency_id(p: &Platform, code: &str) -> Result<i64> {
    crate::org::resolve_agency_code(p, code)
        .await?
        .map(|a| a.id)
        .ok_or_else(|| crate::Error::Other(format!("demo agency {code} missing")))
}

/// The lines printed at start-up so a visitor can log in.
pub fn credentials_banner() -> String {
    let mut out = String::from(
        "DEMO — tài khoản thử nghiệm, KHÔNG dùng cho dữ liệu thật (demo accounts, not for real data)\n",
    );
    out.push_str(&format!("  mật khẩu / password: {DEMO_PASSWORD}\n"));
    for (username, name, role, _) in DEMO_OFFICIALS {
        out.push_str(&format!("  {username:<14} {role:<17} {name}\n"));
    }
    out.push_str(&format!(
        "  {:<14} {:<17} {}\n",
        DEMO_CITIZEN.0, "citizen", DEMO_CITIZEN.1
    ));
    out.push_str("  (quantri.tinh, quantri.so: đăng ký TOTP khi đăng nhập lần đầu / enrol TOTP at first login)\n");
    out
}
