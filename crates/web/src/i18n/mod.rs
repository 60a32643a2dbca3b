//! The one translation table of the UI. Vietnamese is the default; English is the switch.
//!
//! Every user-visible string is a key here, including the messages of the stable error codes
//! (`error.<code>`). A unit test checks that every key the templates and handlers use exists,
//! so a missing translation fails the build's tests rather than showing a raw key to a
//! citizen.

mod admin;
mod citizen;
mod documents;
mod officer;
mod portal;

use std::collections::HashMap;
use std::sync::OnceLock;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Lang {
    #[default]
    Vi,
    En,
}

impl Lang {
    pub fn code(self) -> &'static str {
        match self {
            Self::Vi => "vi",
            Self::En => "en",
        }
    }

    pub fn from_code(code: &str) -> Option<Self> {
        match code {
            "vi" => Some(Self::Vi),
            "en" => Some(Self::En),
            _ => None,
        }
    }

    pub fn other(self) -> Self {
        match self {
            Self::Vi => Self::En,
            Self::En => Self::Vi,
        }
    }
}

/// The foundation's texts (layout, login, accounts, administration of the organisation).
/// The systems' texts live beside it in this module's parts; `all_entries` joins them.
/// (key, Vietnamese, English)
pub const TABLE: &[(&str, &str, &str)] = &[
    ("app.name", "Tỉnh số", "Tỉnh số"),
    (
        "app.tagline",
        "Nền tảng chính quyền số của tỉnh",
        "The province's digital government platform",
    ),
    (
        "a11y.skip",
        "Bỏ qua, đến nội dung chính",
        "Skip to main content",
    ),
    ("lang.switch", "English", "Tiếng Việt"),
    ("nav.label", "Điều hướng chính", "Main navigation"),
    ("nav.home", "Trang chủ", "Home"),
    ("nav.account", "Tài khoản", "Account"),
    ("nav.agencies", "Cơ quan, đơn vị", "Agencies"),
    ("nav.users", "Người dùng", "Users"),
    ("nav.audit", "Nhật ký kiểm tra", "Audit log"),
    ("nav.calendar", "Lịch làm việc", "Working calendar"),
    ("nav.units", "Đơn vị hành chính", "Administrative units"),
    ("nav.procedures", "Thủ tục hành chính", "Procedures"),
    ("nav.statistics", "Thống kê", "Statistics"),
    ("nav.my_dossiers", "Hồ sơ của tôi", "My dossiers"),
    ("nav.my_documents", "Kho giấy tờ", "My documents"),
    ("nav.counter", "Một cửa", "Counter"),
    ("nav.inbox", "Hồ sơ cần xử lý", "Inbox"),
    ("nav.catalog", "Danh mục thủ tục", "Procedure catalogue"),
    ("nav.documents", "Văn bản", "Documents"),
    ("nav.login", "Đăng nhập", "Log in"),
    ("nav.logout", "Đăng xuất", "Log out"),
    (
        "footer.text",
        "Tỉnh số — phần mềm nguồn mở cho chính quyền số.",
        "Tỉnh số — open-source software for digital government.",
    ),
    (
        "home.title",
        "Chào mừng đến với Tỉnh số",
        "Welcome to Tỉnh số",
    ),
    (
        "home.lead",
        "Dịch vụ công, văn bản điện tử, tích hợp dữ liệu và báo cáo của tỉnh trên một nền tảng.",
        "Public services, electronic documents, data integration and reporting of the province on one platform.",
    ),
    (
        "home.login_prompt",
        "Cán bộ, công chức và người dân đăng nhập để sử dụng các chức năng.",
        "Officials and citizens log in to use the services.",
    ),
    ("home.greeting", "Xin chào", "Hello"),
    ("home.your_roles", "Vai trò của bạn", "Your roles"),
    (
        "home.no_roles",
        "Tài khoản chưa được phân quyền. Liên hệ quản trị cơ quan.",
        "This account has no roles yet. Contact your agency administrator.",
    ),
    (
        "home.demo_notice",
        "Đây là bản trình diễn với dữ liệu mẫu.",
        "This is a demo with sample data.",
    ),
    ("role.citizen", "Công dân", "Citizen"),
    ("role.counter_officer", "Cán bộ một cửa", "Counter officer"),
    ("role.specialist", "Chuyên viên", "Specialist"),
    ("role.leader", "Lãnh đạo", "Leader"),
    ("role.clerk", "Văn thư", "Clerk"),
    (
        "role.agency_admin",
        "Quản trị cơ quan",
        "Agency administrator",
    ),
    (
        "role.provincial_admin",
        "Quản trị tỉnh",
        "Provincial administrator",
    ),
    ("role.auditor", "Kiểm tra, giám sát", "Auditor"),
    ("role.at", "tại", "at"),
    ("login.title", "Đăng nhập", "Log in"),
    (
        "login.username",
        "Tên đăng nhập hoặc số định danh cá nhân",
        "Username or personal ID number",
    ),
    ("login.password", "Mật khẩu", "Password"),
    ("login.submit", "Đăng nhập", "Log in"),
    (
        "login.oidc",
        "Đăng nhập bằng định danh điện tử",
        "Log in with electronic identity",
    ),
    (
        "login.totp_title",
        "Xác thực hai lớp",
        "Two-step verification",
    ),
    (
        "login.totp_code",
        "Mã 6 chữ số trên ứng dụng xác thực",
        "6-digit code from your authenticator app",
    ),
    ("login.totp_submit", "Xác nhận", "Confirm"),
    ("account.title", "Tài khoản của tôi", "My account"),
    ("account.username", "Tên đăng nhập", "Username"),
    ("account.name", "Họ và tên", "Full name"),
    (
        "account.totp",
        "Xác thực hai lớp (TOTP)",
        "Two-step verification (TOTP)",
    ),
    ("account.totp_on", "Đã bật", "On"),
    ("account.totp_off", "Chưa bật", "Off"),
    (
        "account.totp_enrol",
        "Bật xác thực hai lớp",
        "Turn on two-step verification",
    ),
    (
        "account.totp_required",
        "Tài khoản quản trị phải bật xác thực hai lớp trước khi tiếp tục.",
        "Administrator accounts must turn on two-step verification before continuing.",
    ),
    (
        "account.totp_scan",
        "Quét mã QR bằng ứng dụng xác thực (ví dụ Google Authenticator), hoặc nhập khóa bí mật, rồi nhập mã 6 chữ số để xác nhận.",
        "Scan the QR code with an authenticator app (e.g. Google Authenticator), or type the secret key, then enter the 6-digit code to confirm.",
    ),
    ("account.totp_secret", "Khóa bí mật", "Secret key"),
    (
        "account.totp_done",
        "Đã bật xác thực hai lớp.",
        "Two-step verification is on.",
    ),
    ("account.password_change", "Đổi mật khẩu", "Change password"),
    (
        "account.password_current",
        "Mật khẩu hiện tại",
        "Current password",
    ),
    (
        "account.password_new",
        "Mật khẩu mới (ít nhất 10 ký tự)",
        "New password (at least 10 characters)",
    ),
    (
        "account.password_changed",
        "Đã đổi mật khẩu.",
        "Password changed.",
    ),
    (
        "account.logout_all",
        "Đăng xuất khỏi mọi thiết bị",
        "Log out on every device",
    ),
    ("account.save", "Lưu", "Save"),
    ("agencies.title", "Cơ quan, đơn vị", "Agencies"),
    ("agencies.code", "Mã định danh", "Identifier"),
    ("agencies.name", "Tên cơ quan", "Name"),
    (
        "agencies.parent",
        "Cơ quan cấp trên (mã định danh)",
        "Parent agency (identifier)",
    ),
    ("agencies.level", "Cấp", "Level"),
    ("agencies.status", "Trạng thái", "Status"),
    ("agencies.active", "Hoạt động", "Active"),
    ("agencies.merged", "Đã sáp nhập", "Merged"),
    ("agencies.create", "Thêm cơ quan", "Add agency"),
    ("agencies.created", "Đã thêm cơ quan.", "Agency added."),
    ("users.title", "Người dùng", "Users"),
    ("users.create", "Thêm cán bộ", "Add official"),
    (
        "users.agency",
        "Cơ quan (mã định danh)",
        "Agency (identifier)",
    ),
    ("users.role", "Vai trò", "Role"),
    (
        "users.initial_password",
        "Mật khẩu ban đầu (người dùng phải đổi khi đăng nhập)",
        "Initial password (the user must change it at login)",
    ),
    (
        "users.created",
        "Đã thêm người dùng và phân quyền.",
        "User added and role granted.",
    ),
    ("users.locked", "Tạm khóa", "Locked"),
    ("audit.title", "Nhật ký kiểm tra", "Audit log"),
    ("audit.seq", "Số", "No."),
    ("audit.time", "Thời gian", "Time"),
    ("audit.actor", "Người thực hiện", "Actor"),
    ("audit.action", "Hành động", "Action"),
    ("audit.object", "Đối tượng", "Object"),
    ("audit.verify", "Kiểm tra tính toàn vẹn", "Verify integrity"),
    (
        "audit.intact",
        "Chuỗi nhật ký toàn vẹn",
        "The audit chain is intact",
    ),
    (
        "audit.broken",
        "Chuỗi nhật ký bị sửa đổi",
        "The audit chain was tampered with",
    ),
    ("calendar.title", "Lịch làm việc", "Working calendar"),
    ("calendar.holidays", "Ngày nghỉ năm", "Days off in"),
    ("calendar.compute", "Tính hạn xử lý", "Compute a due date"),
    ("calendar.from", "Thời điểm tiếp nhận", "Received at"),
    ("calendar.days", "Số ngày làm việc", "Working days"),
    ("calendar.due", "Hạn trả kết quả", "Due"),
    ("calendar.submit", "Tính", "Compute"),
    (
        "units.title",
        "Tra cứu đơn vị hành chính",
        "Look up an administrative unit",
    ),
    ("units.code", "Mã đơn vị (5 chữ số)", "Unit code (5 digits)"),
    (
        "units.date",
        "Ngày của hồ sơ, văn bản",
        "Date of the record",
    ),
    ("units.submit", "Tra cứu", "Look up"),
    ("lookup.title", "Tra cứu hồ sơ", "Look up a dossier"),
    ("lookup.code", "Mã hồ sơ", "Dossier code"),
    (
        "lookup.check",
        "4 số cuối số định danh cá nhân hoặc số điện thoại",
        "Last 4 digits of the personal ID or phone number",
    ),
    ("lookup.submit", "Tra cứu", "Look up"),
    ("lookup.procedure", "Thủ tục", "Procedure"),
    ("lookup.agency", "Cơ quan tiếp nhận", "Receiving agency"),
    ("lookup.status", "Tình trạng", "Status"),
    ("lookup.submitted", "Ngày nộp", "Filed"),
    ("lookup.received", "Ngày tiếp nhận", "Received"),
    ("lookup.due", "Ngày hẹn trả kết quả", "Appointment"),
    ("lookup.steps", "Quá trình xử lý", "Steps"),
    (
        "dossier_status.submitted",
        "Chờ tiếp nhận",
        "Waiting for the counter",
    ),
    ("dossier_status.received", "Đã tiếp nhận", "Received"),
    (
        "dossier_status.not_accepted",
        "Không tiếp nhận",
        "Not accepted",
    ),
    (
        "dossier_status.processing",
        "Đang giải quyết",
        "Being processed",
    ),
    (
        "dossier_status.supplement_requested",
        "Yêu cầu bổ sung hồ sơ",
        "Supplement requested",
    ),
    (
        "dossier_status.awaiting_payment",
        "Chờ thực hiện nghĩa vụ tài chính",
        "Awaiting payment",
    ),
    ("dossier_status.withdrawn", "Đã rút hồ sơ", "Withdrawn"),
    ("dossier_status.stopped", "Dừng xử lý", "Stopped"),
    ("dossier_status.resolved", "Đã có kết quả", "Result ready"),
    (
        "dossier_status.returned",
        "Đã trả kết quả",
        "Result returned",
    ),
    ("dossier_action.submit", "Nộp hồ sơ", "Filed"),
    ("dossier_action.accept", "Tiếp nhận hồ sơ", "Accepted"),
    (
        "dossier_action.start_processing",
        "Bắt đầu giải quyết",
        "Processing started",
    ),
    (
        "dossier_action.request_supplement",
        "Yêu cầu bổ sung, hoàn thiện hồ sơ",
        "Supplement requested",
    ),
    ("dossier_action.supplement", "Bổ sung hồ sơ", "Supplemented"),
    (
        "dossier_action.request_payment",
        "Yêu cầu thực hiện nghĩa vụ tài chính",
        "Payment requested",
    ),
    ("dossier_action.confirm_payment", "Đã thanh toán", "Paid"),
    ("dossier_action.approve", "Phê duyệt kết quả", "Approved"),
    ("dossier_action.refuse", "Từ chối giải quyết", "Refused"),
    ("dossier_action.suspend", "Tạm dừng giải quyết", "Suspended"),
    ("dossier_action.withdraw", "Rút hồ sơ", "Withdrawn"),
    (
        "dossier_action.return_result",
        "Trả kết quả",
        "Result returned",
    ),
    (
        "dossier_action.transfer",
        "Chuyển xử lý liên thông",
        "Transferred",
    ),
    (
        "dossier_action.apologize",
        "Xin lỗi và hẹn lại ngày trả kết quả",
        "Apology and new appointment",
    ),
    ("units.result", "Kết quả", "Result"),
    (
        "agency_id.length",
        "Mã phải có đúng 13 ký tự theo dạng NNN.NN.NN.XNN.",
        "It must be exactly 13 characters, shaped NNN.NN.NN.XNN.",
    ),
    (
        "agency_id.groups",
        "Mã gồm 4 nhóm ngăn cách bằng dấu chấm (NNN.NN.NN.XNN).",
        "It has four groups separated by dots (NNN.NN.NN.XNN).",
    ),
    (
        "agency_id.level4",
        "Nhóm thứ nhất (cấp 4) phải gồm 3 chữ số.",
        "The first group (level 4) must be 3 digits.",
    ),
    (
        "agency_id.level3",
        "Nhóm thứ hai (cấp 3) phải gồm 2 chữ số.",
        "The second group (level 3) must be 2 digits.",
    ),
    (
        "agency_id.level2",
        "Nhóm thứ ba (cấp 2) phải gồm 2 chữ số.",
        "The third group (level 2) must be 2 digits.",
    ),
    (
        "agency_id.level1",
        "Nhóm cuối (cấp 1) phải là một chữ cái in hoa và 2 chữ số, ví dụ H32.",
        "The last group (level 1) must be a capital letter and 2 digits, e.g. H32.",
    ),
    ("form.required", "Bắt buộc", "Required"),
    ("form.submit", "Gửi", "Submit"),
    ("form.optional", "không bắt buộc", "optional"),
    ("form.error_prefix", "Lỗi:", "Error:"),
    ("form.choose", "— Chọn —", "— Choose —"),
    (
        "form_hint.date",
        "Chọn ngày, ví dụ 25/04/2027",
        "Pick a date, for example 25/04/2027",
    ),
    (
        "form_hint.personal_id",
        "12 chữ số trên căn cước hoặc căn cước công dân",
        "The 12 digits on the identity card",
    ),
    (
        "form_hint.phone",
        "Ví dụ 0912345678",
        "For example 0912345678",
    ),
    (
        "form_error.required",
        "Bạn chưa điền mục này",
        "This is required",
    ),
    (
        "form_error.too_long",
        "Nội dung dài quá mức cho phép",
        "This is too long",
    ),
    (
        "form_error.date",
        "Ngày không hợp lệ",
        "This is not a valid date",
    ),
    ("form_error.number", "Hãy nhập một số", "Enter a number"),
    (
        "form_error.option",
        "Hãy chọn một trong các lựa chọn",
        "Choose one of the options",
    ),
    (
        "form_error.personal_id",
        "Số định danh cá nhân gồm đúng 12 chữ số",
        "A personal ID number has exactly 12 digits",
    ),
    (
        "form_error.phone",
        "Số điện thoại gồm 9 đến 12 chữ số",
        "A phone number has 9 to 12 digits",
    ),
    (
        "form_error.email",
        "Địa chỉ thư điện tử không hợp lệ, ví dụ ten@example.vn",
        "Enter an e-mail address like name@example.vn",
    ),
    (
        "form_error.unknown_field",
        "Mục này không có trong biểu mẫu",
        "This is not part of the form",
    ),
    (
        "form_error.not_text",
        "Giá trị không hợp lệ",
        "Invalid value",
    ),
    ("error.title", "Có lỗi xảy ra", "Something went wrong"),
    (
        "error.request_id",
        "Mã yêu cầu (cung cấp khi cần hỗ trợ)",
        "Request id (quote it when asking for help)",
    ),
    ("error.back_home", "Về trang chủ", "Back to the home page"),
    (
        "error.not_found_title",
        "Không tìm thấy trang",
        "Page not found",
    ),
    (
        "error.not_found",
        "Không tìm thấy trang hoặc dữ liệu bạn yêu cầu. Kiểm tra lại địa chỉ.",
        "We could not find the page or record you asked for. Check the address.",
    ),
    (
        "error.invalid_input",
        "Dữ liệu nhập chưa hợp lệ.",
        "The input is not valid.",
    ),
    (
        "error.invalid_agency_id",
        "Mã định danh cơ quan không hợp lệ.",
        "The agency identifier is not valid.",
    ),
    (
        "error.conflict",
        "Dữ liệu đã tồn tại hoặc vừa bị thay đổi.",
        "The record already exists or was just changed.",
    ),
    (
        "error.unauthenticated",
        "Vui lòng đăng nhập để tiếp tục.",
        "Please log in to continue.",
    ),
    (
        "error.invalid_credentials",
        "Tên đăng nhập hoặc mật khẩu không đúng.",
        "The username or password is not correct.",
    ),
    (
        "error.account_locked",
        "Tài khoản tạm khóa do nhập sai nhiều lần. Vui lòng thử lại sau hoặc liên hệ quản trị.",
        "The account is temporarily locked after repeated failures. Try again later or contact an administrator.",
    ),
    (
        "error.totp_required",
        "Cần xác thực hai lớp để tiếp tục.",
        "Two-step verification is required to continue.",
    ),
    (
        "error.invalid_totp",
        "Mã xác thực không đúng hoặc đã được dùng.",
        "The code is wrong or was already used.",
    ),
    (
        "error.forbidden",
        "Bạn không có quyền thực hiện thao tác này.",
        "You are not allowed to do this.",
    ),
    (
        "error.csrf_rejected",
        "Biểu mẫu đã hết hạn. Vui lòng tải lại trang và thử lại.",
        "The form has expired. Reload the page and try again.",
    ),
    (
        "error.payload_too_large",
        "Dữ liệu gửi lên quá lớn.",
        "The request is too large.",
    ),
    (
        "error.rate_limited",
        "Bạn thao tác quá nhanh. Vui lòng đợi một lát rồi thử lại.",
        "Too many attempts. Wait a moment and try again.",
    ),
    (
        "error.unavailable",
        "Dịch vụ cần thiết tạm thời không hoạt động; yêu cầu chưa được thực hiện. Vui lòng thử lại sau.",
        "A service this request needs is unavailable; nothing was done. Please try again later.",
    ),
    (
        "error.internal",
        "Hệ thống gặp lỗi. Vui lòng thử lại sau.",
        "The system hit an error. Please try again later.",
    ),
    (
        "error.oidc_unavailable",
        "Không kết nối được với hệ thống định danh điện tử. Vui lòng thử lại sau hoặc đăng nhập bằng mật khẩu.",
        "The electronic identity service cannot be reached. Please try again later or log in with your password.",
    ),
    (
        "error.oidc_rejected",
        "Không hoàn tất được việc đăng nhập bằng định danh điện tử (phiên đăng nhập đã hết hạn hoặc không hợp lệ). Vui lòng đăng nhập lại.",
        "Logging in with electronic identity could not be completed (the login expired or is not valid). Please log in again.",
    ),
    (
        "error.oidc_personal_id",
        "Tài khoản định danh điện tử không cung cấp số định danh cá nhân hợp lệ (12 chữ số).",
        "The electronic identity account did not provide a valid personal identification number (12 digits).",
    ),
    (
        "sandbox.title",
        "Cổng thanh toán thử nghiệm",
        "Sandbox payment gateway",
    ),
    (
        "sandbox.notice",
        "Đây là cổng thanh toán thử nghiệm của hệ thống: không có tiền thật được chuyển.",
        "This is the system's sandbox payment gateway: no real money is moved.",
    ),
    ("sandbox.merchant", "Đơn vị thụ hưởng", "Merchant"),
    (
        "sandbox.order_info",
        "Nội dung thanh toán",
        "Payment details",
    ),
    ("sandbox.pay", "Thanh toán", "Pay"),
    ("sandbox.cancel", "Hủy giao dịch", "Cancel transaction"),
    ("payment.amount", "Số tiền", "Amount"),
    ("payment.reference", "Mã giao dịch", "Payment reference"),
    ("payment.dossier", "Mã hồ sơ", "Dossier code"),
    (
        "payment.paid_title",
        "Thanh toán thành công",
        "Payment successful",
    ),
    (
        "payment.paid_message",
        "Phí, lệ phí của hồ sơ đã được ghi nhận; hồ sơ tiếp tục được giải quyết.",
        "The dossier's fee has been recorded; processing continues.",
    ),
    (
        "payment.unapplied_title",
        "Đã nhận tiền, chờ hoàn trả",
        "Payment received, to be refunded",
    ),
    (
        "payment.unapplied_message",
        "Hồ sơ không còn chờ nộp phí nên khoản tiền này sẽ được cơ quan hoàn trả; giao dịch đã được ghi nhận.",
        "The dossier no longer awaits this fee, so the agency will refund it; the transaction is on record.",
    ),
    (
        "payment.cancelled_title",
        "Giao dịch đã hủy",
        "Transaction cancelled",
    ),
    (
        "payment.cancelled_message",
        "Giao dịch đã được hủy. Hồ sơ vẫn chờ nộp phí, lệ phí; ông/bà có thể thanh toán lại.",
        "The transaction was cancelled. The dossier still awaits its fee; you may pay again.",
    ),
    (
        "payment.failed_title",
        "Thanh toán không thành công",
        "Payment failed",
    ),
    (
        "payment.failed_message",
        "Giao dịch không thành công. Hồ sơ vẫn chờ nộp phí, lệ phí; ông/bà có thể thanh toán lại.",
        "The payment did not go through. The dossier still awaits its fee; you may pay again.",
    ),
    (
        "payment.bad_signature",
        "Chữ ký của thông báo thanh toán không hợp lệ.",
        "The payment message's signature is not valid.",
    ),
    (
        "payment.malformed",
        "Thông báo thanh toán thiếu hoặc sai thông tin.",
        "The payment message is missing or has wrong data.",
    ),
    (
        "payment.unknown_reference",
        "Không tìm thấy giao dịch thanh toán này.",
        "This payment is unknown.",
    ),
    (
        "payment.amount_mismatch",
        "Số tiền thanh toán không khớp với số tiền phải nộp.",
        "The amount paid does not match the amount due.",
    ),
    (
        "payment.amount_range",
        "Số tiền phải nộp không hợp lệ.",
        "The amount due is not valid.",
    ),
    (
        "payment.not_pending",
        "Giao dịch này đã kết thúc (đã hủy hoặc không thành công).",
        "This payment is closed (cancelled or failed).",
    ),
    (
        "payment.already_paid",
        "Giao dịch này đã được thanh toán.",
        "This payment has already been paid.",
    ),
    (
        "payment.duplicate_transaction",
        "Mã giao dịch của cổng thanh toán đã được dùng cho giao dịch khác.",
        "The gateway's transaction number settled another payment.",
    ),
    (
        "payment.not_awaiting",
        "Hồ sơ không ở trạng thái chờ nộp phí, lệ phí.",
        "The dossier is not awaiting a fee.",
    ),
    (
        "dossier.fee_amount",
        "Số tiền phí, lệ phí phải là số dương (đồng).",
        "The fee must be a positive amount of đồng.",
    ),
    (
        "error.method_not_allowed",
        "Thao tác không được hỗ trợ tại địa chỉ này.",
        "This action is not supported at this address.",
    ),
];

/// Every entry of the table, foundation first, then each part.
fn all_entries() -> impl Iterator<Item = &'static (&'static str, &'static str, &'static str)> {
    TABLE
        .iter()
        .chain(portal::TABLE)
        .chain(citizen::TABLE)
        .chain(officer::TABLE)
        .chain(admin::TABLE)
        .chain(documents::TABLE)
}

fn index() -> &'static HashMap<&'static str, (&'static str, &'static str)> {
    static INDEX: OnceLock<HashMap<&'static str, (&'static str, &'static str)>> = OnceLock::new();
    INDEX.get_or_init(|| all_entries().map(|(k, vi, en)| (*k, (*vi, *en))).collect())
}

/// The text of `key` in `lang`; an unknown key shows itself (and fails the key test).
pub fn t(lang: Lang, key: &str) -> &str {
    match index().get(key) {
        Some((vi, en)) => match lang {
            Lang::Vi => vi,
            Lang::En => en,
        },
        None => key,
    }
}

pub fn has_key(key: &str) -> bool {
    index().contains_key(key)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_unique() {
        assert_eq!(
            index().len(),
            all_entries().count(),
            "duplicate key in the translation table"
        );
    }

    /// Every `t("…")` literal in templates and sources names a key of the table.
    #[test]
    fn every_used_key_exists() {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
        let mut missing = Vec::new();
        let mut dirs = vec![root.join("templates"), root.join("src")];
        while let Some(dir) = dirs.pop() {
            let Ok(entries) = std::fs::read_dir(&dir) else {
                continue;
            };
            for entry in entries.flatten() {
                if entry.path().is_dir() {
                    dirs.push(entry.path());
                    continue;
                }
                let text = std::fs::read_to_string(entry.path()).unwrap_or_default();
                for (i, _) in text.match_indices("t(\"") {
                    let rest = &text[i + 3..];
                    let key = &rest[..rest.find('"').unwrap_or(0)];
                    if key.contains('.') && !key.contains(' ') && !has_key(key) {
                        missing.push(format!("{}: {key}", entry.path().display()));
                    }
                }
            }
        }
        assert!(missing.is_empty(), "untranslated keys: {missing:?}");
    }
}
