//! Reports (周调度、月分析、季考核) as JSON or as `.xlsx` workbooks.

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use jiesu_domain::{Role, assessment, assessment::PeerGroup};
use jiesu_reports::{ReportError, ReportKind};
use serde::Deserialize;

use crate::AppState;
use crate::auth::Authed;
use crate::extract::{ApiPath, ApiQuery};
use crate::problem::ApiError;

/// The content type of an `.xlsx` workbook.
pub const XLSX: &str = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet";

/// The roles that read reports, when granted over every street, town and department.
pub const REPORT_READERS: &[Role] = &[Role::Dispatcher, Role::Leader, Role::Inspector];

#[derive(Debug, Default, Deserialize, Clone, Copy, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum ReportFormat {
    #[default]
    Json,
    Xlsx,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReportQuery {
    period: String,
    #[serde(default)]
    format: ReportFormat,
}

/// `Content-Disposition` for a download named `name`: an ASCII fallback and the UTF-8 name
/// percent-encoded (RFC 6266, RFC 5987).
pub fn content_disposition(name: &str, ascii_fallback: &str) -> String {
    disposition("attachment", name, ascii_fallback)
}

/// `disposition` is `attachment` (save) or `inline` (show in the browser).
pub fn disposition(disposition: &str, name: &str, ascii_fallback: &str) -> String {
    let mut encoded = String::new();
    for b in name.bytes() {
        if b.is_ascii_alphanumeric() || b"!#$&+-.^_`|~".contains(&b) {
            encoded.push(b as char);
        } else {
            encoded.push_str(&format!("%{b:02X}"));
        }
    }
    format!("{disposition}; filename=\"{ascii_fallback}\"; filename*=UTF-8''{encoded}")
}

pub async fn report(
    State(state): State<AppState>,
    auth: Authed,
    ApiPath(kind): ApiPath<String>,
    ApiQuery(q): ApiQuery<ReportQuery>,
) -> Result<Response, ApiError> {
    let kind = ReportKind::parse(&kind).ok_or_else(|| {
        ApiError::not_found(
            "unknown_report",
            format!("no report {kind:?}: use weekly, monthly or quarterly"),
        )
    })?;
    let juris = state.juris();
    // A report covers the whole jurisdiction: its reader must hold a reading role over all of it.
    let org = &juris.org;
    let covered = auth
        .actor
        .grants
        .iter()
        .any(|g| REPORT_READERS.contains(&g.role))
        && [PeerGroup::Street, PeerGroup::Department]
            .into_iter()
            .flat_map(|g| assessment::peers(org, g, None))
            .all(|u| auth.actor.may_act_on(org, REPORT_READERS, &u));
    if !covered {
        return Err(ApiError::forbidden(
            "role_forbidden",
            "reports need the dispatcher, leader or inspector role over the whole jurisdiction",
        ));
    }
    let report = jiesu_reports::build(&state.store, &juris, kind, &q.period, state.now())
        .await
        .map_err(|e| match e {
            ReportError::Period(p) => ApiError::bad_request("invalid_period", p.to_string()),
            ReportError::Store(s) => s.into(),
            other => ApiError::internal(other),
        })?;
    match q.format {
        ReportFormat::Json => Ok(Json(report).into_response()),
        ReportFormat::Xlsx => {
            let name = report.file_name();
            let ascii = format!("{}-{}.xlsx", kind.as_str(), report.period());
            let bytes = tokio::task::spawn_blocking(move || report.to_xlsx())
                .await
                .map_err(ApiError::internal)?
                .map_err(ApiError::internal)?;
            let mut res = bytes.into_response();
            let h = res.headers_mut();
            h.insert(header::CONTENT_TYPE, HeaderValue::from_static(XLSX));
            h.insert(
                header::CONTENT_DISPOSITION,
                HeaderValue::from_str(&content_disposition(&name, &ascii))
                    .map_err(ApiError::internal)?,
            );
            Ok(res)
        }
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn disposition_carries_the_chinese_name_percent_encoded() {
        assert_eq!(
            super::content_disposition("月分析-2026-10.xlsx", "monthly-2026-10.xlsx"),
            "attachment; filename=\"monthly-2026-10.xlsx\"; \
             filename*=UTF-8''%E6%9C%88%E5%88%86%E6%9E%90-2026-10.xlsx"
        );
    }
}
