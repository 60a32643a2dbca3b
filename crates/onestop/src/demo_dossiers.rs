//! Demo dossiers for `tinhso serve --demo`: a few dozen dossiers of the commune of Nha Trang
//! (000.00.31.H32) filed over the last weeks through the real services, each action at a
//! backdated instant, by the demo officials and the demo citizen. They land in every state
//! the workspace shows — just received, in progress on time, due soon, overdue, awaiting a
//! supplement or the fee, decided on time or late, returned and rated — and feed the inbox,
//! the counter and the public statistics. Created once (a settings flag remembers it).

use chrono::{Datelike, Duration, NaiveTime, TimeZone, Weekday};
use serde_json::{Map, Value};
use tinhso_core::calendar::DeadlineClock;
use tinhso_platform::identity::{principal_for, user_by_username};
use tinhso_platform::org::resolve_agency_code;
use tinhso_platform::{Caller, Ctx, Error, Platform, Result};

use crate::catalog;
use crate::documents;
use crate::domain::catalog::{Channel, FieldType, ProcedureSpec};
use crate::domain::documents::{DocumentInput, RequirementRef};
use crate::dossiers::{self, Applicant, Command, NewDossier};

const SETTING: &str = "demo_dossiers_seeded";
/// The commune whose counter, specialist and leader are the demo officials.
pub const DEMO_AGENCY: &str = "000.00.31.H32";
const MINUTE: i64 = 60_000;
const HOUR: i64 = 60 * MINUTE;
const DAY: i64 = 24 * HOUR;

/// What happens to a demo dossier after intake.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Fate {
    /// Received, not started.
    Received,
    /// Started and forwarded to the leader, still within its time.
    InProgress,
    /// Started; its appointment is a few working hours away.
    DueSoon,
    /// Started, past its appointment, no decision yet.
    Overdue,
    Supplement,
    AwaitingFee,
    /// Decided in time, waiting for the counter to hand over the result.
    Resolved,
    /// Decided in time and handed over.
    Returned,
    /// Decided after its appointment and handed over.
    ReturnedLate,
    Refused,
}

/// (procedure, days ago it was filed (a weekend steps back to Friday), fate)
const PLAN: &[(&str, i64, Fate)] = &[
    ("1.004873", 0, Fate::Received),
    ("1.013225", 0, Fate::Received),
    ("1.001022", 1, Fate::Received),
    ("1.013225", 1, Fate::InProgress),
    ("1.013225", 2, Fate::InProgress),
    ("1.013225", 3, Fate::InProgress),
    ("1.004884", 1, Fate::InProgress),
    ("1.001193", 0, Fate::DueSoon),
    ("2.000815", 0, Fate::DueSoon),
    ("1.001193", 6, Fate::Overdue),
    ("1.000894", 7, Fate::Overdue),
    ("1.004873", 9, Fate::Overdue),
    ("1.001193", 11, Fate::Overdue),
    ("1.001022", 3, Fate::Supplement),
    ("1.004873", 4, Fate::Supplement),
    ("1.013225", 5, Fate::Supplement),
    ("1.013225", 4, Fate::AwaitingFee),
    ("1.004873", 2, Fate::Resolved),
    ("1.001022", 3, Fate::Resolved),
    ("1.000894", 2, Fate::Resolved),
    ("1.001193", 8, Fate::Returned),
    ("1.000894", 9, Fate::Returned),
    ("1.004873", 12, Fate::Returned),
    ("1.001022", 14, Fate::Returned),
    ("2.000815", 15, Fate::Returned),
    ("1.004884", 18, Fate::Returned),
    ("1.001193", 13, Fate::ReturnedLate),
    ("1.004873", 16, Fate::ReturnedLate),
    ("1.000894", 19, Fate::ReturnedLate),
    ("1.001022", 10, Fate::Refused),
];

/// (procedure, days ago, rating) of the demo citizen's online filings, returned and
/// rated; the two with no rating wait at the counter for acceptance.
const ONLINE: &[(&str, i64, Option<u8>)] = &[
    ("1.004873", 12, Some(1)),
    ("1.001022", 10, Some(1)),
    ("1.004873", 8, Some(2)),
    ("1.001022", 6, Some(3)),
    ("1.004873", 0, None),
    ("1.001022", 0, None),
];

const NAMES: &[&str] = &[
    "Trần Thị Bích Ngọc",
    "Lê Văn Hùng",
    "Phạm Thị Lan",
    "Nguyễn Hoàng Nam",
    "Võ Thị Thanh Tâm",
    "Đỗ Minh Tuấn",
    "Huỳnh Thị Mỹ Linh",
    "Bùi Quang Vinh",
    "Ngô Thị Hồng Nhung",
    "Đặng Văn Phúc",
    "Lương Thị Thu Hà",
    "Trương Công Danh",
];

/// Creates the demo dossiers once. Returns false when they already exist (or the demo
/// organisation is missing).
pub async fn seed(p: &Platform) -> Result<bool> {
    if p.setting(SETTING).await?.is_some() {
        return Ok(false);
    }
    let Some(seeder) = Seeder::new(p).await? else {
        return Ok(false);
    };
    for (n, (procedure, days_ago, fate)) in PLAN.iter().enumerate() {
        seeder
            .counter_dossier(n, procedure, *days_ago, *fate)
            .await?;
    }
    for (n, (procedure, days_ago, rating)) in ONLINE.iter().enumerate() {
        seeder
            .online_dossier(n, procedure, *days_ago, *rating)
            .await?;
    }
    let mut tx = p.db.begin_write().await?;
    sqlx::query("INSERT INTO settings (key, value) VALUES ($1, $2)")
        .bind(SETTING)
        .bind(seeder.now.to_string())
        .execute(&mut *tx.tx)
        .await?;
    tx.commit().await?;
    Ok(true)
}

struct Seeder<'a> {
    p: &'a Platform,
    now: i64,
    counter: Ctx,
    specialist: Ctx,
    leader: Ctx,
    citizen: Ctx,
}

async fn user_ctx(p: &Platform, username: &str) -> Result<Option<Ctx>> {
    let Some(user) = user_by_username(p, username).await? else {
        return Ok(None);
    };
    let principal = principal_for(p, &user).await?;
    Ok(Some(Ctx {
        actor: format!("user:{}", user.id),
        caller: Caller::User(principal),
        request_id: "demo-dossiers".into(),
        source_addr: "local".into(),
        now_ms: 0,
    }))
}

fn at(ctx: &Ctx, now_ms: i64) -> Ctx {
    Ctx {
        now_ms,
        ..ctx.clone()
    }
}

/// When a late demo dossier is decided: a day past its appointment (`due_at`, RFC 3339), and
/// no sooner than five days after filing. A fixed offset from filing alone was late or not
/// depending on the weekends and holidays between, so on some dates the demo had no late one.
fn late_decision(filed: i64, due_at: Option<&str>) -> i64 {
    let due = due_at
        .and_then(|due| chrono::DateTime::parse_from_rfc3339(due).ok())
        .map_or(filed, |due| due.timestamp_millis());
    (due + DAY).max(filed + 5 * DAY)
}

impl<'a> Seeder<'a> {
    async fn new(p: &'a Platform) -> Result<Option<Seeder<'a>>> {
        if resolve_agency_code(p, DEMO_AGENCY).await?.is_none() {
            return Ok(None);
        }
        let citizen_username = tinhso_platform::demo::DEMO_CITIZEN.0;
        let (Some(counter), Some(specialist), Some(leader), Some(citizen)) = (
            user_ctx(p, "motcua").await?,
            user_ctx(p, "chuyenvien").await?,
            user_ctx(p, "lanhdao").await?,
            user_ctx(p, citizen_username).await?,
        ) else {
            return Ok(None);
        };
        Ok(Some(Seeder {
            p,
            now: p.now_ms(),
            counter,
            specialist,
            leader,
            citizen,
        }))
    }

    /// 08:00 + `minutes` (Vietnam time) `days_ago` days before today
    /// (Saturdays and Sundays step back to Friday), never later than ten minutes ago.
    fn filed_at(&self, days_ago: i64, minutes: i64) -> i64 {
        let today = tinhso_core::calendar::vietnam_instant(self.now).date_naive();
        let mut day = today - Duration::days(days_ago);
        while matches!(day.weekday(), Weekday::Sat | Weekday::Sun) {
            day -= Duration::days(1);
        }
        let eight = NaiveTime::from_hms_opt(8, 0, 0).unwrap_or_default();
        let local = tinhso_core::calendar::vietnam_instant(self.now)
            .timezone()
            .from_local_datetime(&day.and_time(eight))
            .single()
            .map(|t| t.timestamp_millis())
            .unwrap_or(self.now);
        (local + minutes * MINUTE).min(self.now - 10 * MINUTE)
    }

    /// A filing instant from which the statutory time of `spec` runs out between one and six
    /// hours from now (searched back in half hours over the last four days).
    async fn due_soon_start(&self, spec: &ProcedureSpec) -> Result<i64> {
        let agency = resolve_agency_code(self.p, DEMO_AGENCY)
            .await?
            .ok_or_else(|| Error::Other("demo agency".into()))?;
        let calendar = tinhso_platform::calendar::working_calendar(self.p, Some(&agency)).await?;
        let mut start = self.now - 10 * MINUTE;
        for _ in 0..(4 * 48) {
            let mut clock = DeadlineClock::new(spec.processing_time.hours() * 60);
            if clock
                .start(tinhso_core::calendar::vietnam_instant(start))
                .is_ok()
                && let Ok(Some(due)) = clock.due(&calendar)
            {
                let left = due.timestamp_millis() - self.now;
                if (HOUR..=6 * HOUR).contains(&left) {
                    return Ok(start);
                }
            }
            start -= 30 * MINUTE;
        }
        Ok(self.now - 10 * MINUTE)
    }

    async fn counter_dossier(
        &self,
        n: usize,
        procedure: &str,
        days_ago: i64,
        fate: Fate,
    ) -> Result<()> {
        let spec = catalog::get(self.p, procedure).await?.spec;
        let t0 = if fate == Fate::DueSoon {
            self.due_soon_start(&spec).await?
        } else {
            self.filed_at(days_ago, 30 + (n as i64 % 7) * 35)
        };
        let documents = (0..spec.required_documents.len())
            .map(|i| DocumentInput {
                requirement: RequirementRef::Index(i),
                upload_id: None,
                store_document_id: None,
                paper: true,
            })
            .collect();
        let name = NAMES[n % NAMES.len()];
        let view = dossiers::submit(
            self.p,
            &at(&self.counter, t0),
            &NewDossier {
                procedure_code: spec.code.clone(),
                agency_code: DEMO_AGENCY.into(),
                channel: if n % 5 == 4 && spec.accepts(Channel::Postal) {
                    Channel::Postal
                } else {
                    Channel::Counter
                },
                applicant: Applicant {
                    name: name.into(),
                    id_number: format!("0562{:08}", 1_000 + n * 37),
                    phone: format!("0905{:06}", 100_000 + n * 11),
                    email: String::new(),
                },
                proxy: None,
                form: answers(&spec, name, n),
                documents,
            },
        )
        .await?;
        self.process(&view.code, t0, fate).await
    }

    /// Runs the dossier from receipt (at `t0`) to its fate, each action a little later.
    async fn process(&self, code: &str, t0: i64, fate: Fate) -> Result<()> {
        let p = self.p;
        if fate == Fate::Received {
            return Ok(());
        }
        dossiers::act(
            p,
            &at(&self.specialist, t0 + 25 * MINUTE),
            code,
            &Command::StartProcessing,
        )
        .await?;
        match fate {
            Fate::DueSoon | Fate::Overdue => return Ok(()),
            Fate::Supplement => {
                let command = Command::RequestSupplement {
                    items: vec!["Bản sao giấy tờ chứng minh nơi cư trú".into()],
                    reason: "Hồ sơ còn thiếu giấy tờ theo quy định".into(),
                };
                dossiers::act(p, &at(&self.specialist, t0 + HOUR), code, &command).await?;
                return Ok(());
            }
            Fate::AwaitingFee => {
                let command = Command::RequestPayment { amount: 150_000 };
                dossiers::act(p, &at(&self.specialist, t0 + 2 * HOUR), code, &command).await?;
                return Ok(());
            }
            Fate::Refused => {
                let command = Command::Refuse {
                    reason: "Không đủ điều kiện theo quy định của pháp luật".into(),
                };
                dossiers::act(p, &at(&self.leader, t0 + 3 * HOUR), code, &command).await?;
                return Ok(());
            }
            _ => {}
        }
        let forward = Command::CompleteStep {
            note: "Hồ sơ hợp lệ, đề nghị lãnh đạo phê duyệt".into(),
        };
        let forwarded =
            dossiers::act(p, &at(&self.specialist, t0 + 2 * HOUR), code, &forward).await?;
        if fate == Fate::InProgress {
            return Ok(());
        }
        let decided = if fate == Fate::ReturnedLate {
            late_decision(t0, forwarded.due_at.as_deref())
        } else {
            t0 + 3 * HOUR
        };
        let approve = Command::Approve {
            note: String::new(),
            result_documents: Vec::new(),
        };
        dossiers::act(p, &at(&self.leader, decided), code, &approve).await?;
        if fate == Fate::Resolved {
            return Ok(());
        }
        let returned = Command::ReturnResult {
            method: Channel::Counter,
        };
        dossiers::act(p, &at(&self.counter, decided + HOUR), code, &returned).await?;
        Ok(())
    }

    async fn online_dossier(
        &self,
        n: usize,
        procedure: &str,
        days_ago: i64,
        rating: Option<u8>,
    ) -> Result<()> {
        let p = self.p;
        let spec = catalog::get(p, procedure).await?.spec;
        let t0 = self.filed_at(days_ago, 60 + n as i64 * 20);
        let citizen = at(&self.citizen, t0 - MINUTE);
        let mut docs = Vec::new();
        for i in 0..spec.required_documents.len() {
            let upload = documents::upload(
                p,
                &citizen,
                &format!("giay-to-{}.pdf", i + 1),
                &sample_pdf(n, i),
            )
            .await?;
            docs.push(DocumentInput {
                requirement: RequirementRef::Index(i),
                upload_id: Some(upload.id),
                store_document_id: None,
                paper: false,
            });
        }
        let view = dossiers::submit(
            p,
            &at(&self.citizen, t0),
            &NewDossier {
                procedure_code: spec.code.clone(),
                agency_code: DEMO_AGENCY.into(),
                channel: Channel::Online,
                applicant: Applicant::default(),
                proxy: None,
                form: answers(&spec, tinhso_platform::demo::DEMO_CITIZEN.1, n + 50),
                documents: docs,
            },
        )
        .await?;
        let Some(level) = rating else {
            return Ok(());
        };
        dossiers::accept(p, &at(&self.counter, t0 + 20 * MINUTE), &view.code).await?;
        self.process(&view.code, t0 + 20 * MINUTE, Fate::Returned)
            .await?;
        let comment = match level {
            1 => "Cán bộ hướng dẫn tận tình, trả kết quả đúng hẹn",
            2 => "Thủ tục nhanh",
            _ => "Phải chờ lâu ở quầy",
        };
        dossiers::rate(
            p,
            &at(&self.citizen, t0 + 6 * HOUR),
            &view.code,
            level,
            comment,
        )
        .await
    }
}

/// A small, valid PDF standing in for a scanned document.
fn sample_pdf(n: usize, i: usize) -> Vec<u8> {
    format!(
        "%PDF-1.4\n1 0 obj << /Type /Catalog /Pages 2 0 R >> endobj\n2 0 obj << /Type /Pages /Kids [] /Count 0 >> endobj\n% demo document {n}-{i}\ntrailer << /Root 1 0 R >>\n%%EOF\n"
    )
    .into_bytes()
}

/// Plausible answers to a procedure's form: one valid value per field type.
pub fn answers(spec: &ProcedureSpec, name: &str, n: usize) -> Map<String, Value> {
    spec.form
        .fields
        .iter()
        .map(|f| {
            let value = match f.field_type {
                FieldType::Date => format!("20{:02}-0{}-1{}", 20 + n % 5, 1 + n % 9, n % 10),
                FieldType::Number => (1 + n % 3).to_string(),
                FieldType::Select => f
                    .options
                    .get(n % f.options.len().max(1))
                    .cloned()
                    .unwrap_or_default(),
                FieldType::PersonalId => format!("0562{:08}", 5_000 + n * 41),
                FieldType::Phone => format!("0914{:06}", 200_000 + n * 13),
                FieldType::Email => format!("nguoidan{n}@example.vn"),
                FieldType::Address => format!(
                    "{} đường Trần Phú, phường Nha Trang, tỉnh Khánh Hòa",
                    10 + n
                ),
                FieldType::Text | FieldType::Textarea => {
                    if f.key.contains("name") || f.label_vi.contains("Họ") {
                        name.to_owned()
                    } else {
                        "Theo giấy tờ kèm theo".to_owned()
                    }
                }
            };
            (f.key.clone(), Value::String(value))
        })
        .collect()
}
