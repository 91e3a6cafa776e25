//! Extractors that turn every kind of bad input into a problem+json error.

use axum::body::Bytes;
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::header;
use axum::http::request::Parts;
use serde::de::DeserializeOwned;

use crate::problem::ApiError;

/// JSON body: checks the media type, the size (at most `LIMIT` bytes), UTF-8 and the shape, each
/// with its own code.
pub struct ApiJson<T, const LIMIT: usize = { crate::MAX_BODY_BYTES }>(pub T);

impl<S, T, const LIMIT: usize> FromRequest<S> for ApiJson<T, LIMIT>
where
    S: Send + Sync,
    T: DeserializeOwned,
{
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let json = req
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.split(';').next())
            .map(|m| {
                let m = m.trim().to_ascii_lowercase();
                m == "application/json" || (m.starts_with("application/") && m.ends_with("+json"))
            })
            .unwrap_or(false);
        if !json {
            return Err(ApiError::new(
                axum::http::StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "unsupported_media_type",
                "send the body as Content-Type: application/json",
            ));
        }
        let _ = state;
        let bytes = read_limited(req.into_body(), LIMIT).await?;
        parse_json(&bytes).map(ApiJson)
    }
}

/// Bodies up to this size are read to the end even when refused, so the client finishes sending
/// and reads our 413 instead of a connection reset.
const DRAIN_LIMIT: usize = 4 * 1024 * 1024;

async fn read_limited(body: axum::body::Body, limit: usize) -> Result<Bytes, ApiError> {
    use http_body_util::BodyExt;
    let mut body = body;
    let mut buf = Vec::new();
    let mut seen = 0usize;
    while let Some(frame) = body.frame().await {
        let frame = frame.map_err(|e| ApiError::bad_request("invalid_body", e.to_string()))?;
        let Ok(data) = frame.into_data() else {
            continue;
        };
        seen += data.len();
        if seen <= limit {
            buf.extend_from_slice(&data);
        } else if seen > DRAIN_LIMIT.max(limit) {
            break;
        }
    }
    if seen > limit {
        return Err(ApiError::new(
            axum::http::StatusCode::PAYLOAD_TOO_LARGE,
            "payload_too_large",
            format!("the body exceeds the limit of {limit} bytes"),
        ));
    }
    Ok(Bytes::from(buf))
}

pub fn parse_json<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, ApiError> {
    if let Err(e) = std::str::from_utf8(bytes) {
        return Err(ApiError::bad_request(
            "invalid_utf8",
            format!("invalid UTF-8 at byte {}", e.valid_up_to()),
        ));
    }
    // Every body jiesu takes is an object; say so plainly instead of serde's positional errors.
    let first = bytes.iter().find(|b| !b.is_ascii_whitespace());
    if first.is_some() && first != Some(&b'{') {
        return Err(
            match serde_json::from_slice::<serde::de::IgnoredAny>(bytes) {
                Ok(_) => ApiError::unprocessable("invalid_body", "the body must be a JSON object"),
                Err(e) => ApiError::bad_request("invalid_json", e.to_string()),
            },
        );
    }
    serde_json::from_slice(bytes).map_err(|e| {
        use serde_json::error::Category;
        match e.classify() {
            Category::Data => ApiError::unprocessable("invalid_body", e.to_string()),
            _ => ApiError::bad_request("invalid_json", e.to_string()),
        }
    })
}

/// A nested object field. serde's derived structs also take a JSON array of their fields in
/// order; the API takes objects only, as its document says.
pub fn object<'de, D, T>(d: D) -> Result<T, D::Error>
where
    D: serde::Deserializer<'de>,
    T: DeserializeOwned,
{
    use serde::Deserialize;
    use serde::de::Error;
    let v = serde_json::Value::deserialize(d)?;
    if !v.is_object() {
        return Err(D::Error::custom(format!("expected an object, got {v}")));
    }
    T::deserialize(v).map_err(D::Error::custom)
}

/// An optional nested object (`null` is absent).
pub fn object_opt<'de, D, T>(d: D) -> Result<Option<T>, D::Error>
where
    D: serde::Deserializer<'de>,
    T: DeserializeOwned,
{
    use serde::Deserialize;
    match serde_json::Value::deserialize(d)? {
        serde_json::Value::Null => Ok(None),
        v => object(v).map(Some).map_err(serde::de::Error::custom),
    }
}

/// A list of objects.
pub fn objects<'de, D, T>(d: D) -> Result<Vec<T>, D::Error>
where
    D: serde::Deserializer<'de>,
    T: DeserializeOwned,
{
    use serde::Deserialize;
    Vec::<serde_json::Value>::deserialize(d)?
        .into_iter()
        .map(|v| object(v).map_err(serde::de::Error::custom))
        .collect()
}

/// Query string, with problem+json on failure.
pub struct ApiQuery<T>(pub T);

impl<S, T> FromRequestParts<S> for ApiQuery<T>
where
    S: Send + Sync,
    T: DeserializeOwned,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        axum::extract::Query::<T>::from_request_parts(parts, state)
            .await
            .map(|q| ApiQuery(q.0))
            .map_err(|e| ApiError::bad_request("invalid_query", e.body_text()))
    }
}

/// Path parameters, with problem+json on failure.
pub struct ApiPath<T>(pub T);

impl<S, T> FromRequestParts<S> for ApiPath<T>
where
    S: Send + Sync,
    T: DeserializeOwned + Send,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        axum::extract::Path::<T>::from_request_parts(parts, state)
            .await
            .map(|p| ApiPath(p.0))
            .map_err(|e| ApiError::bad_request("invalid_query", e.body_text()))
    }
}
