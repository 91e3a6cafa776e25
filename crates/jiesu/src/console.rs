//! The web console: `web/dist` (built by `npm run build` in `web/`) served at `/` beside the API.
//!
//! Release builds embed the files; debug builds read them from `web/dist` at run time, so a
//! console rebuilt during development shows without recompiling. Paths that are not files get
//! `index.html` (the console routes in the browser); hashed assets under `assets/` are cached
//! for a year, `index.html` never, so a new release is picked up on the next load.

use axum::Router;
use axum::http::{HeaderValue, StatusCode, Uri, header};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::get;

#[derive(rust_embed::RustEmbed)]
#[folder = "../../web/dist"]
#[allow_missing = true]
struct Assets;

pub fn router() -> Router {
    Router::new()
        .fallback(get(serve))
        .layer(tower_http::compression::CompressionLayer::new().gzip(true))
}

/// Whether the console's files are present (embedded, or on disk for a debug build).
pub fn built() -> bool {
    Assets::get("index.html").is_some()
}

async fn serve(uri: Uri) -> Response {
    let path = uri.path().trim_start_matches('/');
    if !path.is_empty()
        && let Some(file) = Assets::get(path)
    {
        let cache = if path.starts_with("assets/") {
            "public, max-age=31536000, immutable"
        } else {
            "no-cache"
        };
        return file_response(file.data.into_owned(), file.metadata.mimetype(), cache);
    }
    // A missing asset is a 404, not the console: a stale page asking for an old chunk must fail
    // visibly rather than parse HTML as JavaScript.
    let last = path.rsplit('/').next().unwrap_or("");
    if path.starts_with("assets/") || last.contains('.') {
        return (StatusCode::NOT_FOUND, "not found").into_response();
    }
    match Assets::get("index.html") {
        Some(index) => file_response(
            index.data.into_owned(),
            "text/html; charset=utf-8",
            "no-cache",
        ),
        None => not_built().into_response(),
    }
}

fn file_response(body: Vec<u8>, mime: &str, cache: &'static str) -> Response {
    let mut res = body.into_response();
    let h = res.headers_mut();
    if let Ok(v) = HeaderValue::from_str(mime) {
        h.insert(header::CONTENT_TYPE, v);
    }
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static(cache));
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    res
}

fn not_built() -> (
    StatusCode,
    [(header::HeaderName, &'static str); 1],
    Html<&'static str>,
) {
    (
        StatusCode::OK,
        [(header::CACHE_CONTROL, "no-cache")],
        Html(concat!(
            "<!doctype html><meta charset=utf-8><title>jiesu</title>",
            "<h1>jiesu 接诉即办</h1>",
            "<p>此程序构建时未包含网页控制台。API 正常服务于 <code>/api/v1/</code>。",
            "构建控制台：<code>cd web &amp;&amp; npm ci &amp;&amp; npm run build</code>，",
            "然后重新编译 <code>cargo build --release -p jiesu</code>（或直接运行 ",
            "<code>bash scripts/demo.sh</code>）。</p>",
            "<p>This binary was built without the web console. The API serves at ",
            "<code>/api/v1/</code>. To build the console: <code>cd web &amp;&amp; npm ci &amp;&amp; ",
            "npm run build</code>, then rebuild with <code>cargo build --release -p jiesu</code> ",
            "(or run <code>bash scripts/demo.sh</code>).</p>",
        )),
    )
}
