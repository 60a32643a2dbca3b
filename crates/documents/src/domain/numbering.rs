//! Numbers, notations and document identifiers (Phụ lục I, II.3; Điều 15; edXML `DocumentId`).
//!
//! A number (số) is the position of a document in its agency's yearly series, written with a
//! leading 0 below 10 (`05`). The notation (ký hiệu) is the type abbreviation and the
//! issuer's abbreviation (`KH-UBND`); a Công văn has no type abbreviation, so it carries the
//! issuer and the drafting unit or field instead (`UBND-VX`). Uppercase, no spaces, `-`
//! between groups, `/` between number and notation. The identifier is
//! `OrganId,yyyy/MM/dd,Số/KýHiệu`.

use chrono::NaiveDate;
use tinhso_core::DomainError;
use tinhso_core::agency::AgencyId;

use super::invalid;
use super::types::DocType;

/// `5` → `05`, `145` → `145`.
pub fn format_number(number: i64) -> String {
    format!("{number:02}")
}

/// Checks an abbreviation of an issuer or a unit: 1–20 letters or digits, uppercase (the
/// decree writes `QyĐ`, `CTr` for types, but issuers and units are uppercase), no spaces,
/// no `-` or `/` (they separate groups).
pub fn check_abbreviation(value: &str, rule: &'static str) -> Result<(), DomainError> {
    let ok = !value.is_empty()
        && value.chars().count() <= 20
        && value
            .chars()
            .all(|c| c.is_alphanumeric() && !c.is_lowercase());
    if ok {
        Ok(())
    } else {
        Err(invalid(
            rule,
            format!(
                "`{value}` is not an abbreviation: 1–20 uppercase letters or digits, no spaces or separators"
            ),
        ))
    }
}

/// The notation of a document of `doc_type` issued by `issuer` (e.g. `UBND`), drafted by
/// `unit` (e.g. `VX`; required for a Công văn, ignored otherwise).
pub fn notation(
    doc_type: &DocType,
    issuer: &str,
    unit: Option<&str>,
) -> Result<String, DomainError> {
    check_abbreviation(issuer, "document.issuer_abbreviation.invalid")?;
    match doc_type.abbreviation {
        Some(abbr) => Ok(format!("{abbr}-{issuer}")),
        None => {
            let unit = unit.filter(|u| !u.is_empty()).ok_or_else(|| {
                invalid(
                    "document.unit_abbreviation.required",
                    "a Công văn's notation needs the drafting unit's abbreviation",
                )
            })?;
            check_abbreviation(unit, "document.unit_abbreviation.invalid")?;
            Ok(format!("{issuer}-{unit}"))
        }
    }
}

/// `Số/KýHiệu`, e.g. `145/KH-UBND`.
pub fn code(number: i64, notation: &str) -> String {
    format!("{}/{notation}", format_number(number))
}

/// `OrganId,yyyy/MM/dd,Số/KýHiệu` — the document identifier of edXML and Phụ lục VI.
pub fn document_identifier(organ_id: &str, issued: NaiveDate, code: &str) -> String {
    format!("{organ_id},{},{code}", issued.format("%Y/%m/%d"))
}

/// The parts of a document identifier.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParsedIdentifier {
    pub organ_id: String,
    pub issued: NaiveDate,
    pub number: String,
    pub notation: String,
}

/// Reads a document identifier, checking the agency identifier and the date.
pub fn parse_document_identifier(id: &str) -> Result<ParsedIdentifier, DomainError> {
    let bad = || {
        invalid(
            "document.document_id.invalid",
            format!("`{id}` is not OrganId,yyyy/MM/dd,Số/KýHiệu"),
        )
    };
    let mut parts = id.splitn(3, ',');
    let (Some(organ), Some(date), Some(code)) = (parts.next(), parts.next(), parts.next()) else {
        return Err(bad());
    };
    AgencyId::parse(organ).map_err(|_| bad())?;
    let issued = NaiveDate::parse_from_str(date, "%Y/%m/%d").map_err(|_| bad())?;
    let (number, notation) = code.split_once('/').ok_or_else(bad)?;
    if number.is_empty() || notation.is_empty() || code.contains(' ') {
        return Err(bad());
    }
    Ok(ParsedIdentifier {
        organ_id: organ.to_owned(),
        issued,
        number: number.to_owned(),
        notation: notation.to_owned(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_below_ten_have_a_leading_zero() {
        assert_eq!(format_number(1), "01");
        assert_eq!(format_number(9), "09");
        assert_eq!(format_number(10), "10");
        assert_eq!(format_number(145), "145");
    }

    #[test]
    fn notation_of_typed_documents_and_official_letters() {
        let plan = DocType::parse("plan").unwrap();
        assert_eq!(
            code(145, &notation(&plan, "UBND", None).unwrap()),
            "145/KH-UBND"
        );
        let decision = DocType::parse("decision").unwrap();
        assert_eq!(
            code(15, &notation(&decision, "BNV", Some("VP")).unwrap()),
            "15/QĐ-BNV"
        );
        let letter = DocType::parse("official_letter").unwrap();
        assert_eq!(
            code(12, &notation(&letter, "UBND", Some("VX")).unwrap()),
            "12/UBND-VX"
        );
        assert_eq!(
            code(5, &notation(&letter, "BNV", Some("VP")).unwrap()),
            "05/BNV-VP"
        );
    }

    #[test]
    fn official_letter_needs_a_unit_and_abbreviations_are_checked() {
        let letter = DocType::parse("official_letter").unwrap();
        assert_eq!(
            notation(&letter, "UBND", None).unwrap_err().rule,
            Some("document.unit_abbreviation.required")
        );
        assert_eq!(
            notation(&letter, "UBND", Some("v x")).unwrap_err().rule,
            Some("document.unit_abbreviation.invalid")
        );
        for bad in ["", "ub nd", "UB-ND", "UB/ND", "ubnd"] {
            assert_eq!(
                check_abbreviation(bad, "r").unwrap_err().rule,
                Some("r"),
                "{bad}"
            );
        }
        assert!(check_abbreviation("SNNMT", "r").is_ok());
        assert!(check_abbreviation("TĐ", "r").is_ok());
    }

    #[test]
    fn identifier_round_trips() {
        let issued = NaiveDate::from_ymd_opt(2015, 9, 30).unwrap();
        let id = document_identifier("000.00.00.G22", issued, "7816/VPCP-TTĐT");
        assert_eq!(id, "000.00.00.G22,2015/09/30,7816/VPCP-TTĐT");
        let parsed = parse_document_identifier(&id).unwrap();
        assert_eq!(parsed.organ_id, "000.00.00.G22");
        assert_eq!(parsed.issued, issued);
        assert_eq!(parsed.number, "7816");
        assert_eq!(parsed.notation, "VPCP-TTĐT");
        for bad in [
            "000.00.00.G22,2015-09-30,1/A",
            "nope,2015/09/30,1/A",
            "000.00.00.G22,2015/09/30,1A",
            "000.00.00.G22,2015/09/30",
        ] {
            assert_eq!(
                parse_document_identifier(bad).unwrap_err().rule,
                Some("document.document_id.invalid"),
                "{bad}"
            );
        }
    }
}
