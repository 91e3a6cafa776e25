//! Every API error is `application/problem+json` (RFC 9457) with a stable `code`, a Chinese
//! `title`, an English `title_en` and a `detail`. Internal errors are logged, never echoed.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use jiesu_domain::{CalendarError, DomainError};
use jiesu_store::StoreError;
use serde::Serialize;

#[derive(Debug, Clone, Serialize)]
pub struct Problem {
    #[serde(rename = "type")]
    pub type_uri: String,
    pub code: String,
    pub title: String,
    pub title_en: String,
    pub status: u16,
    pub detail: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
}

#[derive(Debug, Clone)]
pub struct ApiError {
    pub status: StatusCode,
    pub code: &'static str,
    pub detail: String,
    pub field: Option<String>,
}

/// Chinese and English titles of every stable code.
pub fn titles(code: &str) -> (&'static str, &'static str) {
    match code {
        "unauthorized" => (
            "未登录或登录已过期",
            "Not signed in, or the session has expired",
        ),
        "invalid_credentials" => ("用户名或密码错误", "Wrong username or password"),
        "wrong_password" => ("原密码不正确", "The current password is wrong"),
        "weak_password" => (
            "新密码不符合要求",
            "The new password does not meet the policy",
        ),
        "too_many_attempts" => (
            "登录失败次数过多，请稍后再试",
            "Too many failed sign-ins; try again later",
        ),
        "role_forbidden" => ("当前角色无权执行此操作", "Your role may not do this"),
        "out_of_scope" => ("超出本单位管辖范围", "Outside your unit's scope"),
        "channel_forbidden" => ("该渠道不可用", "Channel not allowed"),
        "forbidden" => ("无权访问", "Forbidden"),
        "not_found" => ("资源不存在", "Not found"),
        "case_not_found" => ("工单不存在", "Case not found"),
        "unknown_unit" => ("单位不存在", "No such unit"),
        "card_not_found" => ("该工单没有此牌", "No such card on this case"),
        "appeal_exists" => (
            "此牌已申诉过，不能再次申诉",
            "The card was already appealed",
        ),
        "no_appeal_pending" => ("此牌没有待裁决的申诉", "The card has no appeal waiting"),
        "parts_missing" => (
            "尚有被吹哨单位未提交办理情况",
            "A summoned unit has not recorded its part",
        ),
        "not_summoned" => (
            "本单位未被吹哨报到",
            "Your unit is not summoned to this case",
        ),
        "already_done" => ("本单位已完成此项", "Your unit has already done this"),
        "whistle_not_grassroots" => (
            "只有承办工单的街道、乡镇、社区或村可以吹哨",
            "Only the street, town, community or village holding the case whistles",
        ),
        "case_changed" => (
            "工单已被他人更新，请刷新后重试",
            "The case changed meanwhile; reload and retry",
        ),
        "station_not_found" => ("监测站点不存在", "Station not found"),
        "method_not_allowed" => ("请求方法不被允许", "Method not allowed"),
        "wrong_state" => (
            "工单当前状态不允许此操作",
            "The case's state does not allow this command",
        ),
        "callback_recorded" => ("回访结果已登记", "The callback is already recorded"),
        "callback_missing" => ("尚未回访，不能办结", "No callback recorded yet"),
        "reopen_needs_unsatisfied_callback" => (
            "仅不满意或未解决的工单可重办",
            "Only an unsatisfied or unresolved case can be reopened",
        ),
        "reopen_limit" => ("已达重办次数上限", "Reopen limit reached"),
        "never_dispatched" => ("工单未派单，无法重办", "The case was never dispatched"),
        "extension_pending" => ("已有待审批的延期申请", "An extension request is pending"),
        "no_extension_pending" => ("没有待审批的延期申请", "No extension request is pending"),
        "merge_target_merged" => ("主工单已被合并", "The master case is itself merged"),
        "merge_target_closed" => ("主工单已办结", "The master case is closed"),
        "merge_target_invalid" => (
            "主工单不存在或不在管辖范围内",
            "No such master case in your scope",
        ),
        "idempotency_key_mismatch" => (
            "幂等键已用于不同的请求",
            "Idempotency key reused for a different request",
        ),
        "invalid_idempotency_key" => ("幂等键格式错误", "Invalid idempotency key"),
        "validation_failed" => ("字段校验失败", "Validation failed"),
        "invalid_json" => ("请求体不是合法的 JSON", "The body is not valid JSON"),
        "invalid_utf8" => ("请求体不是合法的 UTF-8 文本", "The body is not valid UTF-8"),
        "invalid_body" => ("请求体字段错误", "The body has wrong or unknown fields"),
        "invalid_query" => ("查询参数错误", "Invalid query parameters"),
        "unsupported_media_type" => ("请使用 application/json", "Use application/json"),
        "payload_too_large" => ("请求体过大", "Request body too large"),
        "unsupported_file_type" => (
            "仅支持 JPEG、PNG 图片和 PDF 文件",
            "Only JPEG and PNG images and PDF files are accepted",
        ),
        "file_too_large" => ("文件超过 10 MB", "The file is larger than 10 MB"),
        "attachment_not_found" => ("附件不存在", "Attachment not found"),
        "invalid_period" => (
            "统计周期格式错误（如 2026-10、2026-W45、2026-Q3、2026、2026-10-15）",
            "Invalid period (e.g. 2026-10, 2026-W45, 2026-Q3, 2026, 2026-10-15)",
        ),
        "unknown_report" => ("没有这种报表", "No such report"),
        "calendar_year_missing" => ("缺少该年度节假日数据", "No holiday data for that year"),
        "unavailable" => ("服务暂时不可用，请重试", "Temporarily unavailable; retry"),
        "unit_closed" => (
            "该单位已撤销，不再接收新工单",
            "The unit is closed and takes no new cases",
        ),
        "category_retired" => ("该分类已停用", "The category is retired"),
        "password_change_required" => (
            "请先修改初始密码",
            "Change the password you were given before doing anything else",
        ),
        "unknown_user" => ("用户不存在", "No such user"),
        "username_taken" => ("用户名已被使用", "The username is taken"),
        "grant_exists" => ("该用户已有此角色", "The user already has this grant"),
        "grant_not_found" => ("该用户没有此角色", "The user has no such grant"),
        "own_account" => ("不能对自己的账号执行此操作", "Not on your own account"),
        "unit_exists" => ("单位编码已存在", "A unit with this id exists"),
        "unit_has_open_cases" => (
            "该单位仍有未办结工单，请先改派",
            "The unit still holds open cases; redispatch them first",
        ),
        "unit_has_open_children" => (
            "该单位下仍有未撤销的下级单位",
            "Units under this one are still open",
        ),
        "root_unit" => (
            "不能移动或撤销根单位",
            "The root unit cannot be moved or closed",
        ),
        "move_into_own_subtree" => (
            "不能移到自己的下级单位之下",
            "A unit cannot move under its own subtree",
        ),
        "category_exists" => ("分类编码已存在", "A category with this id exists"),
        "unknown_category" => ("分类不存在", "No such category"),
        "invalid_policy" => ("时限规则有误", "The deadline policy is invalid"),
        "invalid_calendar" => ("节假日文件有误", "The holiday file is invalid"),
        "search_unavailable" => ("检索服务暂不可用", "Search is not available"),
        _ => ("服务器内部错误", "Internal server error"),
    }
}

impl ApiError {
    pub fn new(status: StatusCode, code: &'static str, detail: impl Into<String>) -> Self {
        ApiError {
            status,
            code,
            detail: detail.into(),
            field: None,
        }
    }
    pub fn unauthorized(detail: impl Into<String>) -> Self {
        Self::new(StatusCode::UNAUTHORIZED, "unauthorized", detail)
    }
    pub fn forbidden(code: &'static str, detail: impl Into<String>) -> Self {
        Self::new(StatusCode::FORBIDDEN, code, detail)
    }
    pub fn not_found(code: &'static str, detail: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, code, detail)
    }
    /// A case that does not exist, or that the caller may not read: one answer for both, so an
    /// out-of-scope caller learns nothing, whether he reads or gives a command.
    pub fn case_not_found() -> Self {
        Self::not_found("case_not_found", "no such case in your scope")
    }
    pub fn bad_request(code: &'static str, detail: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, code, detail)
    }
    pub fn unprocessable(code: &'static str, detail: impl Into<String>) -> Self {
        Self::new(StatusCode::UNPROCESSABLE_ENTITY, code, detail)
    }
    /// The same problem, naming the request field it is about.
    pub fn on_field(mut self, field: &str) -> Self {
        self.field = Some(field.to_string());
        self
    }

    pub fn internal(err: impl std::fmt::Display) -> Self {
        tracing::error!(error = %err, "internal error");
        Self::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal",
            "an internal error occurred; it has been logged",
        )
    }
    pub fn problem(&self) -> Problem {
        let (title, title_en) = titles(self.code);
        Problem {
            type_uri: format!("/problems/{}", self.code),
            code: self.code.to_string(),
            title: title.to_string(),
            title_en: title_en.to_string(),
            status: self.status.as_u16(),
            detail: self.detail.clone(),
            field: self.field.clone(),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = serde_json::to_vec(&self.problem()).unwrap_or_default();
        let mut res = (self.status, body).into_response();
        res.headers_mut().insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/problem+json"),
        );
        res
    }
}

impl From<DomainError> for ApiError {
    fn from(e: DomainError) -> Self {
        match e {
            DomainError::Forbidden {
                code: jiesu_domain::case::CASE_NOT_FOUND,
                ..
            } => ApiError::case_not_found(),
            DomainError::Forbidden { code, message } => ApiError::forbidden(code, message),
            DomainError::WrongState { .. } => {
                ApiError::new(StatusCode::CONFLICT, "wrong_state", e.to_string())
            }
            DomainError::Conflict { code, message } => {
                ApiError::new(StatusCode::CONFLICT, code, message)
            }
            DomainError::Invalid {
                field: "into",
                message,
            } => ApiError {
                status: StatusCode::UNPROCESSABLE_ENTITY,
                code: "merge_target_invalid",
                detail: format!("into: {message}"),
                field: Some("into".into()),
            },
            DomainError::Invalid { field, message } => ApiError {
                status: StatusCode::UNPROCESSABLE_ENTITY,
                code: "validation_failed",
                detail: format!("{field}: {message}"),
                field: Some(field.to_string()),
            },
            // Something named that is not there (a card, a master case) is 404; a unit that is
            // closed is a conflict with the tree as it now is; anything else named wrongly, 422.
            DomainError::Unknown { code, message } => match code {
                "card_not_found" => ApiError::not_found(code, message),
                "merge_target_invalid" => ApiError::not_found(code, message).on_field("into"),
                "unit_closed" => ApiError::new(StatusCode::CONFLICT, code, message),
                _ => ApiError::unprocessable(code, message),
            },
            DomainError::Calendar(CalendarError::YearNotCovered(y)) => ApiError::unprocessable(
                "calendar_year_missing",
                format!("no holiday data for {y}: an admin must import that year's schedule"),
            ),
            DomainError::Calendar(c) => ApiError::unprocessable("validation_failed", c.to_string()),
        }
    }
}

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::Domain(d) => d.into(),
            StoreError::NotFound => ApiError::case_not_found(),
            StoreError::Stale => ApiError::new(
                StatusCode::CONFLICT,
                "case_changed",
                "the case changed meanwhile; reload it and retry",
            ),
            // The key is taken by another request: a conflict with what is stored, not a
            // malformed body.
            StoreError::IdempotencyMismatch => ApiError::new(
                StatusCode::CONFLICT,
                "idempotency_key_mismatch",
                "this Idempotency-Key was first used with a different body",
            ),
            StoreError::Unavailable(m) => {
                tracing::error!(error = %m, "write unavailable");
                ApiError::new(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "unavailable",
                    "the write was not committed; retry with the same Idempotency-Key",
                )
            }
            StoreError::Refused { code, message } => {
                let status = match code {
                    "unknown_user" | "unknown_category" | "unknown_unit" | "grant_not_found" => {
                        StatusCode::NOT_FOUND
                    }
                    "invalid_calendar" => StatusCode::UNPROCESSABLE_ENTITY,
                    _ => StatusCode::CONFLICT,
                };
                ApiError::new(status, code, message)
            }
            other => ApiError::internal(other),
        }
    }
}
