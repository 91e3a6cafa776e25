//! Photos and documents on a case: uploaded as multipart, checked by their content (not by the
//! name or the declared type), stored in the database, recorded on the trail with their SHA-256.

use axum::extract::multipart::MultipartRejection;
use axum::extract::{Multipart, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use jiesu_domain::case::{AttachmentRef, Command};
use jiesu_store::{AttachmentMeta, NewAttachment};
use serde_json::json;
use sha2::{Digest, Sha256};

use crate::AppState;
use crate::auth::Authed;
use crate::cases::visible_case;
use crate::dto::time_ms;
use crate::extract::ApiPath;
use crate::problem::ApiError;

/// The largest file taken (the request may be a little larger: the multipart framing).
pub const MAX_FILE_BYTES: usize = 10 * 1024 * 1024;
/// The longest side of a thumbnail, in pixels.
const THUMB_SIDE: u32 = 320;

/// What the first bytes say the file is; nothing else is trusted.
pub fn sniff(bytes: &[u8]) -> Option<&'static str> {
    if bytes.starts_with(&[0xFF, 0xD8, 0xFF]) {
        Some("image/jpeg")
    } else if bytes.starts_with(b"\x89PNG\r\n\x1a\n") {
        Some("image/png")
    } else if bytes.starts_with(b"%PDF-") {
        Some("application/pdf")
    } else {
        None
    }
}

/// A JPEG thumbnail of an image, or why it does not decode. Decoding is bounded, so a small file
/// claiming a huge picture is refused instead of eating memory.
pub fn thumbnail(bytes: &[u8], mime: &str) -> Result<Vec<u8>, String> {
    let format = match mime {
        "image/jpeg" => image::ImageFormat::Jpeg,
        "image/png" => image::ImageFormat::Png,
        _ => return Err("not an image".into()),
    };
    let mut reader = image::ImageReader::with_format(std::io::Cursor::new(bytes), format);
    let mut limits = image::Limits::default();
    limits.max_image_width = Some(12_000);
    limits.max_image_height = Some(12_000);
    limits.max_alloc = Some(256 * 1024 * 1024);
    reader.limits(limits);
    let img = reader.decode().map_err(|e| e.to_string())?;
    let small = img.thumbnail(THUMB_SIDE, THUMB_SIDE).to_rgb8();
    let mut out = Vec::new();
    image::codecs::jpeg::JpegEncoder::new_with_quality(&mut out, 80)
        .encode_image(&small)
        .map_err(|e| e.to_string())?;
    Ok(out)
}

/// The name as a person would read it: no folders, no control characters, at most 100 characters.
fn clean_name(raw: Option<&str>, mime: &str) -> String {
    let base = raw
        .unwrap_or("")
        .rsplit(['/', '\\'])
        .next()
        .unwrap_or("")
        .chars()
        .filter(|c| !c.is_control())
        .take(100)
        .collect::<String>();
    let base = base.trim().to_string();
    if !base.is_empty() {
        return base;
    }
    match mime {
        "application/pdf" => "附件.pdf".into(),
        "image/png" => "照片.png".into(),
        _ => "照片.jpg".into(),
    }
}

fn meta_json(m: &AttachmentMeta) -> serde_json::Value {
    json!({
        "id": m.id, "case_id": m.case_id, "name": m.name, "mime": m.mime, "size": m.size,
        "sha256": m.sha256, "has_thumbnail": m.has_thumbnail, "uploaded_by": m.uploaded_by,
        "at": time_ms(m.at_ms),
    })
}

pub async fn upload(
    State(state): State<AppState>,
    auth: Authed,
    ApiPath(id): ApiPath<String>,
    multipart: Result<Multipart, MultipartRejection>,
) -> Result<Response, ApiError> {
    let juris = state.juris();
    let case = visible_case(&state, &auth, &juris, &id).await?;
    let mut multipart = multipart.map_err(|e| {
        ApiError::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported_media_type",
            format!("send multipart/form-data with a `file` field: {e}"),
        )
    })?;
    let mut file: Option<(Option<String>, Vec<u8>)> = None;
    loop {
        let field = multipart.next_field().await.map_err(multipart_error)?;
        let Some(mut field) = field else { break };
        // One part, `file`: anything else is refused rather than silently dropped.
        if field.name() != Some("file") || file.is_some() {
            return Err(ApiError::unprocessable(
                "invalid_body",
                format!(
                    "one part only, named `file` (got {:?})",
                    field.name().unwrap_or_default()
                ),
            ));
        }
        let name = field.file_name().map(str::to_string);
        let mut bytes = Vec::new();
        while let Some(chunk) = field.chunk().await.map_err(multipart_error)? {
            if bytes.len() + chunk.len() > MAX_FILE_BYTES {
                return Err(too_large());
            }
            bytes.extend_from_slice(&chunk);
        }
        file = Some((name, bytes));
    }
    let Some((name, bytes)) = file else {
        return Err(with_field(ApiError::unprocessable(
            "validation_failed",
            "no `file` field",
        )));
    };
    let mime = sniff(&bytes).ok_or_else(|| {
        ApiError::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported_file_type",
            "the file is neither JPEG, PNG nor PDF",
        )
    })?;
    let sha256 = hex::encode(Sha256::digest(&bytes));
    let now = state.now();
    let att = AttachmentRef {
        attachment: format!("att_{}", ulid::Ulid::new()),
        name: clean_name(name.as_deref(), mime),
        mime: mime.to_string(),
        size: bytes.len() as u64,
        sha256,
    };
    let cmd = Command::Attach(att.clone());
    // Refused before anything is stored: role, scope, a merged case.
    case.apply(&cmd, &auth.actor, now, &juris.ctx())?;
    let (bytes, thumb) = if mime.starts_with("image/") {
        tokio::task::spawn_blocking(move || {
            let t = thumbnail(&bytes, mime);
            (bytes, t)
        })
        .await
        .map_err(ApiError::internal)
        .map(|(b, t)| (b, Some(t)))?
    } else {
        (bytes, None)
    };
    let thumbnail = match thumb {
        None => None,
        Some(Ok(t)) => Some(t),
        Some(Err(e)) => {
            return Err(with_field(ApiError::unprocessable(
                "validation_failed",
                format!("the image does not decode: {e}"),
            )));
        }
    };
    let meta = AttachmentMeta {
        id: att.attachment.clone(),
        case_id: case.id.clone(),
        name: att.name.clone(),
        mime: att.mime.clone(),
        size: att.size as i64,
        sha256: att.sha256.clone(),
        has_thumbnail: thumbnail.is_some(),
        uploaded_by: auth.actor.user_id.clone(),
        at_ms: now.timestamp_millis(),
    };
    state
        .store
        .insert_attachment(&NewAttachment {
            meta: meta.clone(),
            data: bytes,
            thumbnail,
        })
        .await?;
    state
        .store
        .command(juris.clone(), &case.id, cmd, &auth.actor, now)
        .await?;
    Ok((StatusCode::CREATED, axum::Json(meta_json(&meta))).into_response())
}

fn with_field(mut e: ApiError) -> ApiError {
    e.field = Some("file".into());
    e
}

fn multipart_error(e: axum::extract::multipart::MultipartError) -> ApiError {
    if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
        return too_large();
    }
    ApiError::bad_request("invalid_body", format!("malformed multipart body: {e}"))
}

fn too_large() -> ApiError {
    ApiError::new(
        StatusCode::PAYLOAD_TOO_LARGE,
        "file_too_large",
        format!("files are limited to {MAX_FILE_BYTES} bytes"),
    )
}

pub async fn list(
    State(state): State<AppState>,
    auth: Authed,
    ApiPath(id): ApiPath<String>,
) -> Result<Response, ApiError> {
    let juris = state.juris();
    let case = visible_case(&state, &auth, &juris, &id).await?;
    let items: Vec<_> = state
        .store
        .attachments(&case.id)
        .await?
        .iter()
        .map(meta_json)
        .collect();
    Ok(axum::Json(json!({"items": items})).into_response())
}

pub async fn download(
    state: State<AppState>,
    auth: Authed,
    ApiPath(id): ApiPath<String>,
) -> Result<Response, ApiError> {
    serve(state, auth, id, false).await
}

pub async fn download_thumbnail(
    state: State<AppState>,
    auth: Authed,
    ApiPath(id): ApiPath<String>,
) -> Result<Response, ApiError> {
    serve(state, auth, id, true).await
}

/// A file goes to whoever may read its case; to anyone else it does not exist.
async fn serve(
    State(state): State<AppState>,
    auth: Authed,
    id: String,
    thumb: bool,
) -> Result<Response, ApiError> {
    let missing = || ApiError::not_found("attachment_not_found", "no such attachment");
    let Some((meta, bytes)) = state.store.attachment_bytes(&id, thumb).await? else {
        return Err(missing());
    };
    let juris = state.juris();
    visible_case(&state, &auth, &juris, &meta.case_id)
        .await
        .map_err(|_| missing())?;
    let mime = if thumb {
        "image/jpeg"
    } else {
        meta.mime.as_str()
    };
    let mut res = bytes.into_response();
    let h = res.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_str(mime).unwrap_or(HeaderValue::from_static("application/octet-stream")),
    );
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    // Files are private to the case's readers: never kept by shared caches.
    h.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("private, max-age=3600"),
    );
    let kind = if thumb || mime.starts_with("image/") {
        "inline"
    } else {
        "attachment"
    };
    let ascii = format!("{}.{}", meta.id, mime.rsplit('/').next().unwrap_or("bin"));
    if let Ok(v) = HeaderValue::from_str(&crate::reports::disposition(kind, &meta.name, &ascii)) {
        h.insert(header::CONTENT_DISPOSITION, v);
    }
    Ok(res)
}
