//! The procedure catalogue (thủ tục hành chính) as data: what a procedure requires, how long
//! it may take, what it costs, the form the portal renders and the internal process.
//!
//! A procedure's specification is immutable once a dossier was filed under it: editing makes
//! a new version, and a dossier keeps the version it was filed under. Validation here is
//! what an import or an administrator's edit must pass.

use serde::{Deserialize, Serialize};
use tinhso_core::DomainError;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Level {
    Commune,
    Province,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TimeUnit {
    WorkingDays,
    WorkingHours,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProcessingTime {
    pub amount: u32,
    pub unit: TimeUnit,
    #[serde(default)]
    pub note: String,
}

impl ProcessingTime {
    /// The statutory time in working hours (8 h per working day).
    pub fn hours(&self) -> u64 {
        match self.unit {
            TimeUnit::WorkingDays => u64::from(self.amount) * 8,
            TimeUnit::WorkingHours => u64::from(self.amount),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Field {
    #[serde(default)]
    pub code: String,
    pub name: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LegalBasis {
    pub number: String,
    pub title: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Fee {
    pub name: String,
    /// Vietnamese đồng.
    pub amount: u64,
    #[serde(default = "applicant")]
    pub payer: String,
    #[serde(default)]
    pub exemptions: String,
}

fn applicant() -> String {
    "applicant".into()
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DocumentKind {
    Original,
    CertifiedCopy,
    Photocopy,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RequiredDocument {
    pub name: String,
    pub kind: DocumentKind,
    #[serde(default = "one")]
    pub count: u32,
    #[serde(default)]
    pub template: Option<String>,
    /// May be taken from the citizen's document store instead of uploaded again.
    #[serde(default)]
    pub reusable: bool,
}

fn one() -> u32 {
    1
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FieldType {
    Text,
    Textarea,
    Date,
    Number,
    Select,
    PersonalId,
    Phone,
    Email,
    Address,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FormField {
    pub key: String,
    pub label_vi: String,
    #[serde(rename = "type")]
    pub field_type: FieldType,
    #[serde(default)]
    pub required: bool,
    #[serde(default)]
    pub max_length: Option<u32>,
    #[serde(default)]
    pub options: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FormSchema {
    pub fields: Vec<FormField>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OnlineLevel {
    /// Toàn trình: the whole procedure online.
    Full,
    /// Một phần: filed online, some steps in person.
    Partial,
    None,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Channel {
    Online,
    Counter,
    Postal,
}

impl Channel {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Online => "online",
            Self::Counter => "counter",
            Self::Postal => "postal",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProcessStep {
    pub name: String,
    pub role: tinhso_core::access::Role,
    /// Working hours; fractions allowed (a half-hour check at the counter).
    pub duration_hours: f64,
    /// Inter-agency transfer (liên thông), e.g. `province`, `tax`, `police`.
    #[serde(default)]
    pub transfer_to: Option<String>,
}

/// One procedure as catalogued.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProcedureSpec {
    pub code: String,
    #[serde(default = "verified")]
    pub code_verified: bool,
    pub name: String,
    pub field: Field,
    pub levels: Vec<Level>,
    pub implementing_agency: String,
    #[serde(default)]
    pub legal_basis: Vec<LegalBasis>,
    pub processing_time: ProcessingTime,
    #[serde(default)]
    pub fees: Vec<Fee>,
    #[serde(default)]
    pub required_documents: Vec<RequiredDocument>,
    #[serde(default)]
    pub form: FormSchema,
    pub online_level: OnlineLevel,
    pub channels: Vec<Channel>,
    #[serde(default)]
    pub process: Vec<ProcessStep>,
    #[serde(default)]
    pub results: Vec<String>,
    #[serde(default)]
    pub notes: String,
}

fn verified() -> bool {
    true
}

/// A catalogue file: the import/export format.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CatalogFile {
    pub version: u32,
    pub procedures: Vec<ProcedureSpec>,
}

/// National procedure code `N.NNNNNN`.
pub fn check_procedure_code(code: &str) -> Result<(), DomainError> {
    let ok = code.len() == 8
        && code.as_bytes()[1] == b'.'
        && code
            .bytes()
            .enumerate()
            .all(|(i, b)| i == 1 || b.is_ascii_digit());
    if ok {
        Ok(())
    } else {
        Err(
            DomainError::invalid(format!("procedure code `{code}` must look like 1.001193"))
                .with_rule("procedure.code"),
        )
    }
}

/// Which part of a specification a validation problem is about, so an importer can point
/// at the cell that holds it (the spreadsheet import names sheet, row and column).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SpecPart {
    Code,
    Name,
    Levels,
    Channels,
    ProcessingTime,
    /// The step at this index of `process`.
    Step(usize),
    /// The key of the form field at this index.
    FormFieldKey(usize),
    /// The options of the form field at this index.
    FormFieldOptions(usize),
}

impl ProcedureSpec {
    /// Checks everything an import or an edit must satisfy; names the first problem.
    pub fn validate(&self) -> Result<(), DomainError> {
        self.first_problem().map_or(Ok(()), |(_, e)| Err(e))
    }

    /// The first problem [`validate`](Self::validate) reports, with the part it is about.
    pub fn first_problem(&self) -> Option<(SpecPart, DomainError)> {
        if let Err(e) = check_procedure_code(&self.code) {
            return Some((SpecPart::Code, e));
        }
        let problem = |part: SpecPart, what: String| {
            Some((
                part,
                DomainError::invalid(format!("procedure {}: {what}", self.code)),
            ))
        };
        if self.name.trim().is_empty() || self.name.chars().count() > 500 {
            return problem(
                SpecPart::Name,
                "name is required (at most 500 characters)".into(),
            );
        }
        if self.levels.is_empty() {
            return problem(
                SpecPart::Levels,
                "at least one level and one channel".into(),
            );
        }
        if self.channels.is_empty() {
            return problem(
                SpecPart::Channels,
                "at least one level and one channel".into(),
            );
        }
        if self.processing_time.amount == 0 {
            return problem(
                SpecPart::ProcessingTime,
                "processing time must be positive".into(),
            );
        }
        if let Some(i) = self
            .process
            .iter()
            .position(|s| !(s.duration_hours.is_finite() && s.duration_hours >= 0.0))
        {
            return problem(
                SpecPart::Step(i),
                "step durations must be non-negative numbers of hours".into(),
            );
        }
        let step_hours: f64 = self.process.iter().map(|s| s.duration_hours).sum();
        if step_hours > self.processing_time.hours() as f64 {
            return problem(
                SpecPart::ProcessingTime,
                format!(
                    "process steps take {step_hours} working hours, more than the statutory {}",
                    self.processing_time.hours()
                ),
            );
        }
        let mut keys = std::collections::BTreeSet::new();
        for (i, field) in self.form.fields.iter().enumerate() {
            let key_ok = !field.key.is_empty()
                && field
                    .key
                    .bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_');
            if !key_ok || !keys.insert(field.key.as_str()) {
                return problem(
                    SpecPart::FormFieldKey(i),
                    format!("form field key `{}` must be unique snake_case", field.key),
                );
            }
            if field.field_type == FieldType::Select && field.options.is_empty() {
                return problem(
                    SpecPart::FormFieldOptions(i),
                    format!("select field `{}` needs options", field.key),
                );
            }
        }
        None
    }

    pub fn accepts(&self, channel: Channel) -> bool {
        self.channels.contains(&channel)
            && (channel != Channel::Online || self.online_level != OnlineLevel::None)
    }
}

/// One invalid answer of a form: which field and the stable key of the rule it broke, so the
/// portal can show the Vietnamese message beside the field.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FieldError {
    pub field: String,
    pub rule: &'static str,
}

/// Checks submitted answers against the form schema. Unknown keys are refused (a client that
/// sends them is out of date), every problem is reported, not only the first.
pub fn validate_form(
    schema: &FormSchema,
    answers: &serde_json::Map<String, serde_json::Value>,
) -> Vec<FieldError> {
    let mut errors = Vec::new();
    for key in answers.keys() {
        if !schema.fields.iter().any(|f| &f.key == key) {
            errors.push(FieldError {
                field: key.clone(),
                rule: "form.unknown_field",
            });
        }
    }
    for field in &schema.fields {
        let value = answers
            .get(&field.key)
            .and_then(|v| v.as_str())
            .map(str::trim)
            .unwrap_or_default();
        let present = answers.get(&field.key).is_some_and(|v| !v.is_null());
        if present && !answers.get(&field.key).is_some_and(|v| v.is_string()) {
            errors.push(FieldError {
                field: field.key.clone(),
                rule: "form.not_text",
            });
            continue;
        }
        if value.is_empty() {
            if field.required {
                errors.push(FieldError {
                    field: field.key.clone(),
                    rule: "form.required",
                });
            }
            continue;
        }
        let max = field.max_length.unwrap_or(match field.field_type {
            FieldType::Textarea => 4000,
            _ => 500,
        });
        if value.chars().count() > max as usize {
            errors.push(FieldError {
                field: field.key.clone(),
                rule: "form.too_long",
            });
            continue;
        }
        if let Some(rule) = type_problem(field, value) {
            errors.push(FieldError {
                field: field.key.clone(),
                rule,
            });
        }
    }
    errors
}

fn type_problem(field: &FormField, value: &str) -> Option<&'static str> {
    let digits = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
    let ok = match field.field_type {
        FieldType::Text | FieldType::Textarea | FieldType::Address => true,
        FieldType::Date => chrono::NaiveDate::parse_from_str(value, "%Y-%m-%d").is_ok(),
        FieldType::Number => value.parse::<f64>().is_ok_and(f64::is_finite),
        FieldType::Select => field.options.iter().any(|o| o == value),
        FieldType::PersonalId => value.len() == 12 && digits(value),
        FieldType::Phone => {
            let number = value.strip_prefix('+').unwrap_or(value);
            (9..=12).contains(&number.len()) && digits(number)
        }
        FieldType::Email => {
            let mut parts = value.splitn(2, '@');
            let (local, domain) = (
                parts.next().unwrap_or_default(),
                parts.next().unwrap_or_default(),
            );
            !local.is_empty() && domain.contains('.') && !value.contains(char::is_whitespace)
        }
    };
    if ok {
        None
    } else {
        Some(match field.field_type {
            FieldType::Date => "form.date",
            FieldType::Number => "form.number",
            FieldType::Select => "form.option",
            FieldType::PersonalId => "form.personal_id",
            FieldType::Phone => "form.phone",
            _ => "form.email",
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn spec() -> ProcedureSpec {
        serde_json::from_value(json!({
            "code": "1.001193", "name": "Đăng ký khai sinh",
            "field": {"name": "Hộ tịch"}, "levels": ["commune"], "implementing_agency": "UBND cấp xã",
            "processing_time": {"amount": 1, "unit": "working_days"},
            "form": {"fields": [
                {"key": "child_name", "label_vi": "Họ tên trẻ", "type": "text", "required": true, "max_length": 10},
                {"key": "birth_date", "label_vi": "Ngày sinh", "type": "date", "required": true},
                {"key": "sex", "label_vi": "Giới tính", "type": "select", "options": ["Nam", "Nữ"], "required": true},
                {"key": "phone", "label_vi": "Điện thoại", "type": "phone"}
            ]},
            "online_level": "full", "channels": ["online", "counter"],
            "process": [{"name": "Tiếp nhận", "role": "counter_officer", "duration_hours": 2}, {"name": "Duyệt", "role": "leader", "duration_hours": 6}]
        }))
        .unwrap()
    }

    #[test]
    fn validates_specs() {
        assert!(spec().validate().is_ok());
        let mut slow = spec();
        slow.process[0].duration_hours = 9.0;
        assert!(
            slow.validate()
                .unwrap_err()
                .detail
                .contains("more than the statutory 8")
        );
        let mut bad_code = spec();
        bad_code.code = "1-001193".into();
        assert_eq!(
            bad_code.validate().unwrap_err().rule,
            Some("procedure.code")
        );
        assert!(spec().accepts(Channel::Online) && !spec().accepts(Channel::Postal));
    }

    #[test]
    fn reports_every_form_problem() {
        let answers = json!({"child_name": "Nguyễn Văn Một Hai Ba", "birth_date": "2026-02-30", "sex": "X", "phone": "abc", "extra": "1"});
        let errors = validate_form(&spec().form, answers.as_object().unwrap());
        let rules: Vec<_> = errors.iter().map(|e| (e.field.as_str(), e.rule)).collect();
        assert_eq!(
            rules,
            vec![
                ("extra", "form.unknown_field"),
                ("child_name", "form.too_long"),
                ("birth_date", "form.date"),
                ("sex", "form.option"),
                ("phone", "form.phone")
            ]
        );
        let ok = json!({"child_name": "Nguyễn An", "birth_date": "2026-02-03", "sex": "Nữ"});
        assert!(validate_form(&spec().form, ok.as_object().unwrap()).is_empty());
        let missing = json!({});
        assert_eq!(
            validate_form(&spec().form, missing.as_object().unwrap()).len(),
            3
        );
    }
}
