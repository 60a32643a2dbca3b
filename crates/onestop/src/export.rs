//! Spreadsheet exports (xlsx) of the catalogue and of the statistics: the format officials
//! file and forward. Headers are Vietnamese; figures stay numbers so they can be summed.

use rust_xlsxwriter::Workbook;
use tinhso_platform::{Error, Result};

use crate::domain::catalog::CatalogFile;
use crate::statistics::Statistics;
use crate::workbook::{header, xlsx_error};

/// The catalogue workbook; [`crate::workbook`] owns its layout and reads it back.
pub fn catalog_xlsx(file: &CatalogFile) -> Result<Vec<u8>> {
    crate::workbook::write(file)
}

/// The KPI table of a period, one indicator per row.
pub fn statistics_xlsx(scope: &str, stats: &Statistics) -> Result<Vec<u8>> {
    let mut workbook = Workbook::new();
    let sheet = workbook.add_worksheet();
    sheet.set_name("Thống kê").map_err(xlsx_error)?;
    header(sheet, &["Chỉ tiêu", "Giá trị"])?;
    let share = |v: Option<f64>| v.unwrap_or(0.0);
    let satisfaction = stats.satisfaction.shares.unwrap_or([0.0; 3]);
    let rows: Vec<(&str, f64)> = vec![
        ("Hồ sơ tiếp nhận", stats.received.total as f64),
        ("  trong đó trực tuyến", stats.received.online as f64),
        ("  trong đó trực tiếp", stats.received.counter as f64),
        ("  trong đó qua bưu chính", stats.received.postal as f64),
        ("Đã giải quyết đúng hạn", stats.resolved.on_time as f64),
        ("Đã giải quyết trễ hạn", stats.resolved.late as f64),
        (
            "Đang giải quyết trong hạn",
            stats.in_progress.on_time as f64,
        ),
        ("Đang giải quyết quá hạn", stats.in_progress.late as f64),
        ("Tỷ lệ hồ sơ trực tuyến", share(stats.online_share)),
        (
            "Thời gian giải quyết bình quân (ngày làm việc)",
            share(stats.average_processing_working_days),
        ),
        ("Tỷ lệ rất hài lòng", satisfaction[0]),
        ("Tỷ lệ hài lòng", satisfaction[1]),
        ("Tỷ lệ không hài lòng", satisfaction[2]),
    ];
    sheet.write_string(1, 0, "Phạm vi").map_err(xlsx_error)?;
    sheet
        .write_string(1, 1, format!("{scope} ({} – {})", stats.from, stats.to))
        .map_err(xlsx_error)?;
    for (i, (label, value)) in rows.iter().enumerate() {
        let row = u32::try_from(i + 2).map_err(|_| Error::Other("too many rows".into()))?;
        sheet.write_string(row, 0, *label).map_err(xlsx_error)?;
        sheet.write_number(row, 1, *value).map_err(xlsx_error)?;
    }
    sheet.autofit();
    workbook.save_to_buffer().map_err(xlsx_error)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn workbooks_are_zip_files() {
        let catalog = catalog_xlsx(&crate::catalog::demo_catalogue().unwrap()).unwrap();
        assert_eq!(&catalog[..2], b"PK");
        let stats = statistics_xlsx("000.00.31.H32", &Statistics::default()).unwrap();
        assert_eq!(&stats[..2], b"PK");
    }
}
