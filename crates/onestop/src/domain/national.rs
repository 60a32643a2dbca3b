//! Payloads of the national public-service portal (Cổng DVCQG) for one-stop dossiers:
//! `DongBoHoSoMC` (upsert a dossier) and `CapNhatTienDoHoSoMC` (progress), field names as the
//! portal's integration API uses them (vn-standards §5.5). Every date is `yyyyMMddHHmmss` in
//! Vietnam time. Pure functions: the connector that sends them (through the outbox) is a port.

use chrono::{DateTime, FixedOffset};
use serde::Serialize;

use super::catalog::Channel;
use super::dossier::Status;

/// What the payloads need to know about a dossier.
#[derive(Debug, Clone)]
pub struct DossierFacts {
    pub code: String,
    pub procedure_code: String,
    pub procedure_name: String,
    pub field_code: String,
    pub field_name: String,
    pub applicant_name: String,
    /// 1 citizen, 2 business or organisation.
    pub applicant_kind: u8,
    pub applicant_id_number: String,
    pub phone: String,
    pub email: String,
    pub summary: String,
    pub channel: Channel,
    pub status: Status,
    pub received_at: Option<DateTime<FixedOffset>>,
    pub due_at: Option<DateTime<FixedOffset>>,
    pub returned_at: Option<DateTime<FixedOffset>>,
    pub resolved_at: Option<DateTime<FixedOffset>>,
    pub handling_agency: String,
    pub result_by_post: bool,
}

/// `yyyyMMddHHmmss` in Vietnam time (UTC+7), whatever offset the instant carries.
pub fn portal_time(t: &DateTime<FixedOffset>) -> String {
    t.with_timezone(&tinhso_core::calendar::vietnam_offset())
        .format("%Y%m%d%H%M%S")
        .to_string()
}

fn optional_time(t: &Option<DateTime<FixedOffset>>) -> String {
    t.as_ref().map(portal_time).unwrap_or_default()
}

/// One record of `DongBoHoSoMC`.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct DongBoHoSoMc {
    pub ma_ho_so: String,
    #[serde(rename = "MaTTHC")]
    pub ma_tthc: String,
    #[serde(rename = "TenTTHC")]
    pub ten_tthc: String,
    pub ma_linh_vuc: String,
    pub ten_linh_vuc: String,
    pub so_bien_nhan: String,
    pub chu_ho_so: String,
    pub loai_doi_tuong: String,
    pub ma_doi_tuong: String,
    pub so_dien_thoai: String,
    pub email: String,
    pub trich_yeu_ho_so: String,
    pub ngay_tiep_nhan: String,
    pub ngay_hen_tra: String,
    pub trang_thai_ho_so: String,
    pub ngay_tra: String,
    /// 1 when the result goes by post.
    pub hinh_thuc: String,
    pub ngay_ket_thuc_xu_ly: String,
    pub don_vi_xu_ly: String,
    pub kenh_thuc_hien: String,
}

pub fn dong_bo_ho_so(d: &DossierFacts) -> DongBoHoSoMc {
    DongBoHoSoMc {
        ma_ho_so: d.code.clone(),
        ma_tthc: d.procedure_code.clone(),
        ten_tthc: d.procedure_name.clone(),
        ma_linh_vuc: d.field_code.clone(),
        ten_linh_vuc: d.field_name.clone(),
        so_bien_nhan: d.code.clone(),
        chu_ho_so: d.applicant_name.clone(),
        loai_doi_tuong: d.applicant_kind.to_string(),
        ma_doi_tuong: d.applicant_id_number.clone(),
        so_dien_thoai: d.phone.clone(),
        email: d.email.clone(),
        trich_yeu_ho_so: d.summary.clone(),
        ngay_tiep_nhan: optional_time(&d.received_at),
        ngay_hen_tra: optional_time(&d.due_at),
        trang_thai_ho_so: d.status.national_code().to_string(),
        ngay_tra: optional_time(&d.returned_at),
        hinh_thuc: if d.result_by_post { "1" } else { "0" }.into(),
        ngay_ket_thuc_xu_ly: optional_time(&d.resolved_at),
        don_vi_xu_ly: d.handling_agency.clone(),
        // Channel codes 1 counter, 2 online, 3 postal: not confirmed against the portal's
        // specification (vn-standards lists only the labels); kept in this one place.
        kenh_thuc_hien: match d.channel {
            Channel::Counter => "1",
            Channel::Online => "2",
            Channel::Postal => "3",
        }
        .into(),
    }
}

/// The `DongBoHoSoMC` request body: `{"service": …, "isUpdating": …, "data": [...]}`.
pub fn dong_bo_request(records: &[DongBoHoSoMc], is_updating: bool) -> serde_json::Value {
    serde_json::json!({ "service": "DongBoHoSoMC", "isUpdating": is_updating, "data": records })
}

/// One record of `CapNhatTienDoHoSoMC`: a processing step.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct CapNhatTienDo {
    pub ma_ho_so: String,
    pub nguoi_xu_ly: String,
    pub chuc_danh: String,
    pub thoi_diem_xu_ly: String,
    pub phong_ban_xu_ly: String,
    pub noi_dung_xu_ly: String,
    pub trang_thai: String,
    pub ngay_bat_dau: String,
    pub ngay_ket_thuc_theo_quy_dinh: String,
}

#[derive(Debug, Clone)]
pub struct StepFacts {
    pub officer: String,
    pub title: String,
    pub department: String,
    pub content: String,
    pub at: DateTime<FixedOffset>,
    pub started_at: DateTime<FixedOffset>,
    pub due_at: Option<DateTime<FixedOffset>>,
    pub status: Status,
}

pub fn cap_nhat_tien_do(code: &str, s: &StepFacts) -> CapNhatTienDo {
    CapNhatTienDo {
        ma_ho_so: code.to_owned(),
        nguoi_xu_ly: s.officer.clone(),
        chuc_danh: s.title.clone(),
        thoi_diem_xu_ly: portal_time(&s.at),
        phong_ban_xu_ly: s.department.clone(),
        noi_dung_xu_ly: s.content.clone(),
        trang_thai: s.status.national_code().to_string(),
        ngay_bat_dau: portal_time(&s.started_at),
        ngay_ket_thuc_theo_quy_dinh: optional_time(&s.due_at),
    }
}

/// `NoiDungXuLy` of a history line: what was done, in Vietnamese, with the note if any.
pub fn step_content(action: &str, note: &str) -> String {
    let label = match action {
        "submit" => "Nộp hồ sơ",
        "accept" => "Tiếp nhận hồ sơ",
        "reject_at_intake" => "Từ chối tiếp nhận hồ sơ",
        "start_processing" => "Bắt đầu xử lý",
        "request_supplement" => "Yêu cầu bổ sung hồ sơ",
        "supplement" => "Bổ sung hồ sơ",
        "request_payment" => "Yêu cầu thực hiện nghĩa vụ tài chính",
        "approve" => "Đã xử lý xong",
        "refuse" => "Từ chối giải quyết",
        "suspend" => "Dừng xử lý",
        "withdraw" => "Rút hồ sơ",
        "return_result" => "Trả kết quả",
        "transfer" => "Chuyển xử lý liên thông",
        "apologize" => "Xin lỗi và hẹn lại ngày trả kết quả",
        other => other,
    };
    let note = note.trim();
    if note.is_empty() {
        label.to_owned()
    } else {
        format!("{label}: {note}")
    }
}

pub fn cap_nhat_request(records: &[CapNhatTienDo]) -> serde_json::Value {
    serde_json::json!({ "service": "CapNhatTienDoHoSoMC", "data": records })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(s: &str) -> DateTime<FixedOffset> {
        DateTime::parse_from_rfc3339(s).unwrap()
    }

    fn facts() -> DossierFacts {
        DossierFacts {
            code: "000.00.31.H32-270301-0001".into(),
            procedure_code: "1.001193".into(),
            procedure_name: "Đăng ký khai sinh".into(),
            field_code: String::new(),
            field_name: "Hộ tịch".into(),
            applicant_name: "Nguyễn Văn An".into(),
            applicant_kind: 1,
            applicant_id_number: "001099000001".into(),
            phone: "0905000001".into(),
            email: String::new(),
            summary: "Đăng ký khai sinh cho con".into(),
            channel: Channel::Online,
            status: Status::Processing,
            // Given in UTC: the payload must still say Vietnam time.
            received_at: Some(at("2027-03-01T02:00:00+00:00")),
            due_at: Some(at("2027-03-02T09:00:00+07:00")),
            returned_at: None,
            resolved_at: None,
            handling_agency: "Ủy ban nhân dân phường Nha Trang".into(),
            result_by_post: false,
        }
    }

    /// Conformance: exactly the portal's field names, its status code, and its date format.
    #[test]
    fn dong_bo_ho_so_conforms() {
        let body = dong_bo_request(&[dong_bo_ho_so(&facts())], false);
        assert_eq!(body["service"], "DongBoHoSoMC");
        assert_eq!(body["isUpdating"], false);
        let record = body["data"][0].as_object().unwrap();
        let mut names: Vec<&str> = record.keys().map(String::as_str).collect();
        names.sort_unstable();
        let mut expected = vec![
            "MaHoSo",
            "MaTTHC",
            "TenTTHC",
            "MaLinhVuc",
            "TenLinhVuc",
            "SoBienNhan",
            "ChuHoSo",
            "LoaiDoiTuong",
            "MaDoiTuong",
            "SoDienThoai",
            "Email",
            "TrichYeuHoSo",
            "NgayTiepNhan",
            "NgayHenTra",
            "TrangThaiHoSo",
            "NgayTra",
            "HinhThuc",
            "NgayKetThucXuLy",
            "DonViXuLy",
            "KenhThucHien",
        ];
        expected.sort_unstable();
        assert_eq!(names, expected);
        assert_eq!(record["NgayTiepNhan"], "20270301090000");
        assert_eq!(record["NgayHenTra"], "20270302090000");
        assert_eq!(record["NgayTra"], "");
        assert_eq!(record["TrangThaiHoSo"], "4");
        for key in ["NgayTiepNhan", "NgayHenTra"] {
            let value = record[key].as_str().unwrap();
            assert!(
                value.len() == 14 && value.bytes().all(|b| b.is_ascii_digit()),
                "{key}: {value}"
            );
        }
    }

    #[test]
    fn cap_nhat_tien_do_conforms() {
        let step = StepFacts {
            officer: "Nguyễn Thị Hoa".into(),
            title: "Chuyên viên".into(),
            department: "Bộ phận Một cửa".into(),
            content: "Yêu cầu bổ sung giấy chứng sinh".into(),
            at: at("2027-03-01T14:00:00+07:00"),
            started_at: at("2027-03-01T10:00:00+07:00"),
            due_at: None,
            status: Status::SupplementRequested,
        };
        let body = cap_nhat_request(&[cap_nhat_tien_do("000.00.31.H32-270301-0001", &step)]);
        assert_eq!(body["service"], "CapNhatTienDoHoSoMC");
        let record = &body["data"][0];
        assert_eq!(record["ThoiDiemXuLy"], "20270301140000");
        assert_eq!(record["NgayBatDau"], "20270301100000");
        assert_eq!(record["NgayKetThucTheoQuyDinh"], "");
        assert_eq!(record["TrangThai"], "5");
        assert_eq!(record.as_object().unwrap().len(), 9);
    }
}
