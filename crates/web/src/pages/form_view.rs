//! A procedure's application form (its `FormSchema`) as the fields a page renders: label,
//! input kind, current answer and the translated error beside it. One piece serves every page
//! that shows the form — the citizen's application, the counter's intake on a citizen's
//! behalf and the catalogue editor's preview — so the three cannot drift apart.
//!
//! Templates include `partials/form_fields.html`, which reads `fields: Vec<FieldView>`.

use std::collections::HashMap;

use serde_json::{Map, Value};
use tinhso_onestop::domain::catalog::{FieldError, FieldType, FormSchema};

use crate::i18n::{Lang, t};

/// One option of a select field.
#[derive(Debug, Clone)]
pub struct OptionView {
    pub value: String,
    pub selected: bool,
}

/// One input of the form, ready for the template.
#[derive(Debug, Clone)]
pub struct FieldView {
    /// The schema key; also the input's `name`, prefixed by `name_prefix`.
    pub key: String,
    pub name: String,
    /// The element id (`field-<key>`), which error summaries link to.
    pub id: String,
    pub label: String,
    /// `text`, `textarea`, `date`, `number`, `select`, `tel`, `email`.
    pub input: &'static str,
    /// `inputmode` and `autocomplete` hints for phones (empty when none applies).
    pub inputmode: &'static str,
    pub autocomplete: &'static str,
    pub required: bool,
    pub max_length: Option<u32>,
    pub options: Vec<OptionView>,
    pub value: String,
    pub hint: Option<&'static str>,
    pub error: Option<String>,
}

/// The fields of `schema` with the answers in `values` and the messages of `errors`.
/// `name_prefix` (e.g. `"form."`) keeps the answers apart from a page's other inputs.
pub fn field_views(
    lang: Lang,
    schema: &FormSchema,
    values: &Map<String, Value>,
    errors: &HashMap<String, String>,
    name_prefix: &str,
) -> Vec<FieldView> {
    schema
        .fields
        .iter()
        .map(|field| {
            let value = values
                .get(&field.key)
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_owned();
            let (input, inputmode, autocomplete, hint) = input_kind(field.field_type);
            FieldView {
                key: field.key.clone(),
                name: format!("{name_prefix}{}", field.key),
                id: format!("field-{}", field.key),
                label: field.label_vi.clone(),
                input,
                inputmode,
                autocomplete,
                required: field.required,
                max_length: field.max_length,
                options: field
                    .options
                    .iter()
                    .map(|o| OptionView {
                        value: o.clone(),
                        selected: *o == value,
                    })
                    .collect(),
                value,
                hint: hint.map(|key| t(lang, key)),
                error: errors.get(&field.key).cloned(),
            }
        })
        .collect()
}

fn input_kind(
    field_type: FieldType,
) -> (
    &'static str,
    &'static str,
    &'static str,
    Option<&'static str>,
) {
    match field_type {
        FieldType::Text => ("text", "", "", None),
        FieldType::Address => ("text", "", "street-address", None),
        FieldType::Textarea => ("textarea", "", "", None),
        FieldType::Date => ("date", "", "", Some("form_hint.date")),
        FieldType::Number => ("number", "decimal", "", None),
        FieldType::Select => ("select", "", "", None),
        FieldType::PersonalId => ("text", "numeric", "", Some("form_hint.personal_id")),
        FieldType::Phone => ("tel", "tel", "tel", Some("form_hint.phone")),
        FieldType::Email => ("email", "email", "email", None),
    }
}

/// The translated message of each field's first problem, keyed by field.
pub fn field_messages(lang: Lang, errors: &[FieldError]) -> HashMap<String, String> {
    let mut out = HashMap::new();
    for error in errors {
        out.entry(error.field.clone()).or_insert_with(|| {
            t(lang, &format!("form_error.{}", rule_suffix(error.rule))).to_owned()
        });
    }
    out
}

fn rule_suffix(rule: &str) -> &str {
    rule.strip_prefix("form.").unwrap_or(rule)
}

/// Answers of a submitted page: the inputs named `name_prefix + key` for the schema's keys,
/// trimmed; empty answers are left out so that "not answered" and "answered empty" agree.
pub fn answers_from_form(
    schema: &FormSchema,
    posted: &[(String, String)],
    name_prefix: &str,
) -> Map<String, Value> {
    let mut answers = Map::new();
    for field in &schema.fields {
        let name = format!("{name_prefix}{}", field.key);
        if let Some((_, value)) = posted.iter().find(|(k, _)| *k == name) {
            let value = value.trim();
            if !value.is_empty() {
                answers.insert(field.key.clone(), Value::String(value.to_owned()));
            }
        }
    }
    answers
}

#[cfg(test)]
mod tests {
    use super::*;
    use tinhso_onestop::domain::catalog::validate_form;

    fn schema() -> FormSchema {
        serde_json::from_value(serde_json::json!({"fields": [
            {"key": "child_name", "label_vi": "Họ tên trẻ", "type": "text", "required": true},
            {"key": "sex", "label_vi": "Giới tính", "type": "select", "options": ["Nam", "Nữ"], "required": true},
            {"key": "phone", "label_vi": "Điện thoại", "type": "phone"}
        ]}))
        .unwrap()
    }

    #[test]
    fn errors_sit_beside_their_fields_and_answers_are_kept() {
        let schema = schema();
        let posted = vec![
            ("form.sex".to_owned(), "Nữ".to_owned()),
            ("form.phone".to_owned(), " 09 ".to_owned()),
            ("csrf_token".to_owned(), "x".to_owned()),
        ];
        let answers = answers_from_form(&schema, &posted, "form.");
        assert_eq!(answers.len(), 2, "only schema keys, trimmed: {answers:?}");
        let messages = field_messages(Lang::Vi, &validate_form(&schema, &answers));
        let views = field_views(Lang::Vi, &schema, &answers, &messages, "form.");
        assert_eq!(
            views[0].error.as_deref(),
            Some(t(Lang::Vi, "form_error.required"))
        );
        assert!(views[1].error.is_none());
        assert!(
            views[1]
                .options
                .iter()
                .any(|o| o.value == "Nữ" && o.selected)
        );
        assert_eq!(views[2].value, "09");
        assert_eq!(
            views[2].error.as_deref(),
            Some(t(Lang::Vi, "form_error.phone"))
        );
        assert_eq!(views[2].input, "tel");
    }

    #[test]
    fn every_rule_has_a_message() {
        for rule in [
            "required",
            "too_long",
            "date",
            "number",
            "option",
            "personal_id",
            "phone",
            "email",
            "unknown_field",
            "not_text",
        ] {
            assert!(
                crate::i18n::has_key(&format!("form_error.{rule}")),
                "{rule}"
            );
        }
    }
}
