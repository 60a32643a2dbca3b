//! Administrative units (đơn vị hành chính) with effective dates.
//!
//! Vietnam's unit list changed shape on 1 July 2025 (three levels → two). Codes were reused
//! (a new commune usually keeps one merged commune's 5-digit code), so a code alone does not
//! say which unit a record means: every lookup takes the record's date and picks the unit
//! set ("era") in force on that date. Eras are data, loaded from the shared files.

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

use crate::error::DomainError;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum UnitLevel {
    Province,
    District,
    Commune,
}

impl UnitLevel {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Province => "province",
            Self::District => "district",
            Self::Commune => "commune",
        }
    }

    pub fn parse(s: &str) -> Result<Self, DomainError> {
        match s {
            "province" => Ok(Self::Province),
            "district" => Ok(Self::District),
            "commune" => Ok(Self::Commune),
            other => Err(DomainError::invalid(format!(
                "unknown unit level `{other}`"
            ))),
        }
    }
}

/// One unit as stored: its code is unique within its era only.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AdminUnit {
    pub era: String,
    pub code: String,
    pub name: String,
    pub level: UnitLevel,
    pub parent_code: Option<String>,
}

/// A unit set in force over a date range (`valid_to` exclusive; `None` = still in force).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UnitEra {
    pub name: String,
    pub valid_from: NaiveDate,
    pub valid_to: Option<NaiveDate>,
}

impl UnitEra {
    pub fn covers(&self, date: NaiveDate) -> bool {
        date >= self.valid_from && self.valid_to.is_none_or(|end| date < end)
    }
}

/// Picks the era in force on `date`.
pub fn era_on(eras: &[UnitEra], date: NaiveDate) -> Option<&UnitEra> {
    eras.iter().find(|era| era.covers(date))
}

/// The two unit sets shipped with Tỉnh số. The three-level set was cut before the merger and
/// stays authoritative for records dated before the two-level reform took effect.
pub fn shipped_eras() -> Vec<UnitEra> {
    let reform = NaiveDate::from_ymd_opt(2025, 7, 1).unwrap_or_default();
    vec![
        UnitEra {
            name: THREE_LEVEL_ERA.to_owned(),
            valid_from: NaiveDate::from_ymd_opt(2004, 1, 1).unwrap_or_default(),
            valid_to: Some(reform),
        },
        UnitEra {
            name: TWO_LEVEL_ERA.to_owned(),
            valid_from: reform,
            valid_to: None,
        },
    ]
}

pub const THREE_LEVEL_ERA: &str = "three-level-2025-03";
pub const TWO_LEVEL_ERA: &str = "two-level-2026";

/// Shape of the shared data files (GSO list via thanglequoc/vietnamese-provinces-database).
#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct ProvinceRecord {
    code: String,
    full_name: String,
    // Some records in the published files carry `null` instead of an empty list.
    #[serde(default)]
    wards: Option<Vec<WardRecord>>,
    #[serde(default)]
    district: Option<Vec<DistrictRecord>>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct DistrictRecord {
    code: String,
    full_name: String,
    #[serde(default)]
    ward: Option<Vec<WardRecord>>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct WardRecord {
    code: String,
    full_name: String,
}

/// Parses one shared unit file; the era is recognised from its shape (districts present or
/// not), so the administrator does not have to say which file is which.
pub fn parse_unit_file(json: &str) -> Result<Vec<AdminUnit>, DomainError> {
    let provinces: Vec<ProvinceRecord> = serde_json::from_str(json).map_err(|e| {
        DomainError::invalid(format!("unit file is not in the expected shape: {e}"))
    })?;
    if provinces.is_empty() {
        return Err(DomainError::invalid("unit file holds no provinces"));
    }
    let three_level = provinces.iter().any(|p| p.district.is_some());
    let era = if three_level {
        THREE_LEVEL_ERA
    } else {
        TWO_LEVEL_ERA
    };
    let mut units = Vec::new();
    for p in provinces {
        units.push(unit(era, &p.code, &p.full_name, UnitLevel::Province, None));
        for w in p.wards.iter().flatten() {
            units.push(unit(
                era,
                &w.code,
                &w.full_name,
                UnitLevel::Commune,
                Some(&p.code),
            ));
        }
        for d in p.district.iter().flatten() {
            units.push(unit(
                era,
                &d.code,
                &d.full_name,
                UnitLevel::District,
                Some(&p.code),
            ));
            for w in d.ward.iter().flatten() {
                units.push(unit(
                    era,
                    &w.code,
                    &w.full_name,
                    UnitLevel::Commune,
                    Some(&d.code),
                ));
            }
        }
    }
    for u in &units {
        validate_code(u)?;
    }
    Ok(units)
}

fn unit(era: &str, code: &str, name: &str, level: UnitLevel, parent: Option<&str>) -> AdminUnit {
    AdminUnit {
        era: era.to_owned(),
        code: code.trim().to_owned(),
        name: name.trim().to_owned(),
        level,
        parent_code: parent.map(str::to_owned),
    }
}

fn validate_code(u: &AdminUnit) -> Result<(), DomainError> {
    let expected = match u.level {
        UnitLevel::Province => 2,
        UnitLevel::District => 3,
        UnitLevel::Commune => 5,
    };
    if u.code.len() != expected || !u.code.bytes().all(|b| b.is_ascii_digit()) {
        return Err(DomainError::invalid(format!(
            "{} code `{}` must be {expected} digits",
            u.level.as_str(),
            u.code
        )));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn date(y: i32, m: u32, d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, d).unwrap()
    }

    #[test]
    fn eras_split_at_the_reform() {
        let eras = shipped_eras();
        assert_eq!(
            era_on(&eras, date(2024, 5, 1)).unwrap().name,
            THREE_LEVEL_ERA
        );
        assert_eq!(
            era_on(&eras, date(2025, 6, 30)).unwrap().name,
            THREE_LEVEL_ERA
        );
        assert_eq!(era_on(&eras, date(2025, 7, 1)).unwrap().name, TWO_LEVEL_ERA);
        assert_eq!(era_on(&eras, date(2026, 3, 1)).unwrap().name, TWO_LEVEL_ERA);
    }

    #[test]
    fn parses_both_shapes() {
        let two = r#"[{"Code":"56","FullName":"Tỉnh Khánh Hòa","Wards":[{"Code":"22333","FullName":"Phường Nha Trang","ProvinceCode":"56"}]}]"#;
        let units = parse_unit_file(two).unwrap();
        assert_eq!(units.len(), 2);
        assert_eq!(units[1].era, TWO_LEVEL_ERA);
        assert_eq!(units[1].parent_code.as_deref(), Some("56"));
        let three = r#"[{"Code":"56","FullName":"Tỉnh Khánh Hòa","District":[{"Code":"568","FullName":"Thành phố Nha Trang","ProvinceCode":"56","Ward":[{"Code":"22333","FullName":"Phường Vĩnh Hòa","DistrictCode":"568"}]}]}]"#;
        let units = parse_unit_file(three).unwrap();
        assert_eq!(units.len(), 3);
        assert_eq!(units[2].era, THREE_LEVEL_ERA);
        assert_eq!(units[2].parent_code.as_deref(), Some("568"));
    }

    #[test]
    fn rejects_bad_files() {
        assert!(parse_unit_file("{}").is_err());
        assert!(parse_unit_file("[]").is_err());
        let bad = r#"[{"Code":"5","FullName":"X","Wards":[]}]"#;
        assert!(
            parse_unit_file(bad)
                .unwrap_err()
                .detail
                .contains("2 digits")
        );
    }
}
