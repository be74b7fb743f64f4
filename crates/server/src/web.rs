//! The Web SDK bundles (`/sdk/...`) and the demo page (`/`, `/demo/...`), embedded at build time so the binary is
//! self-contained. The bundles are built from `web/src` and committed in `web/dist`; `npm run check` in `web/`
//! fails when they are stale.

use std::sync::Arc;

use axum::Router;
use axum::extract::{Path, Request, State};
use axum::http::{HeaderValue, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::get;

use crate::gateway::Shared;

const SDK_UMD: &str = include_str!("../../../web/dist/stoa-rtc.js");
const SDK_ESM: &str = include_str!("../../../web/dist/stoa-rtc.mjs");
const SDK_TYPES: &str = include_str!("../../../web/dist/stoa-rtc.d.ts");
const DEMO_INDEX: &str = include_str!("../../../web/demo/index.html");

const JAVASCRIPT: &str = "text/javascript; charset=utf-8";
const TYPESCRIPT: &str = "application/typescript; charset=utf-8";
const HTML: &str = "text/html; charset=utf-8";
const CSS: &str = "text/css; charset=utf-8";

/// The demo's files under `/demo/`, with their content types.
const DEMO_FILES: &[(&str, &str, &str)] = &[
    ("index.html", HTML, DEMO_INDEX),
    ("demo.js", JAVASCRIPT, include_str!("../../../web/demo/demo.js")),
    ("demo.css", CSS, include_str!("../../../web/demo/demo.css")),
];

/// What the demo page's app id field is pre-filled with.
const DEV_APP_PLACEHOLDER: &str = "__STOA_DEV_APP_ID__";

pub fn routes() -> Router<Arc<Shared>> {
    Router::new()
        .route("/", get(demo_index))
        .route("/sdk/stoa-rtc.js", get(|| async { asset(JAVASCRIPT, SDK_UMD) }))
        .route("/sdk/stoa-rtc.mjs", get(|| async { asset(JAVASCRIPT, SDK_ESM) }))
        .route("/sdk/stoa-rtc.d.ts", get(|| async { asset(TYPESCRIPT, SDK_TYPES) }))
        .route("/demo/{file}", get(demo_file))
}

/// CORS for what pages on other origins use: discovery (`/api/`) and the bundles (`/sdk/`, which an ES module
/// import fetches in CORS mode). Any origin may call them: they take no cookies or other credentials, and the token
/// travels in the body. Preflights are answered here; the WebSocket needs no CORS.
pub async fn cors(request: Request, next: Next) -> Response {
    let path = request.uri().path();
    if !(path.starts_with("/api/") || path.starts_with("/sdk/")) {
        return next.run(request).await;
    }
    if request.method() == Method::OPTIONS {
        return (
            StatusCode::NO_CONTENT,
            [
                (header::ACCESS_CONTROL_ALLOW_ORIGIN, "*"),
                (header::ACCESS_CONTROL_ALLOW_METHODS, "GET, POST, OPTIONS"),
                (header::ACCESS_CONTROL_ALLOW_HEADERS, "content-type"),
                (header::ACCESS_CONTROL_MAX_AGE, "600"),
            ],
        )
            .into_response();
    }
    let mut response = next.run(request).await;
    response
        .headers_mut()
        .insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, HeaderValue::from_static("*"));
    response
}

/// Embedded files change only with the binary, so clients revalidate rather than cache blindly.
fn asset(content_type: &'static str, body: &'static str) -> Response {
    (
        [
            (header::CONTENT_TYPE, HeaderValue::from_static(content_type)),
            (header::CACHE_CONTROL, HeaderValue::from_static("no-cache")),
        ],
        body,
    )
        .into_response()
}

/// The development app's id when the server runs without configured apps, else nothing.
fn development_app_id(shared: &Shared) -> &str {
    if shared.config.apps.is_empty() && shared.apps.len() == 1 {
        shared.apps.keys().next().map(String::as_str).unwrap_or("")
    } else {
        ""
    }
}

/// The demo page with the development app's id filled in (empty when the server has configured apps).
pub fn render_demo_index(dev_app_id: &str) -> String {
    DEMO_INDEX.replace(DEV_APP_PLACEHOLDER, dev_app_id)
}

async fn demo_index(State(shared): State<Arc<Shared>>) -> Response {
    (
        [
            (header::CONTENT_TYPE, HeaderValue::from_static(HTML)),
            (header::CACHE_CONTROL, HeaderValue::from_static("no-cache")),
        ],
        render_demo_index(development_app_id(&shared)),
    )
        .into_response()
}

async fn demo_file(State(shared): State<Arc<Shared>>, Path(file): Path<String>) -> Response {
    if file == "index.html" {
        return demo_index(State(shared)).await;
    }
    match DEMO_FILES.iter().find(|(name, _, _)| *name == file) {
        Some((_, content_type, body)) => asset(content_type, body),
        None => (StatusCode::NOT_FOUND, "no such demo file").into_response(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_placeholder_is_replaced() {
        assert!(DEMO_INDEX.contains(DEV_APP_PLACEHOLDER));
        let page = render_demo_index("0123456789abcdef0123456789abcdef");
        assert!(!page.contains(DEV_APP_PLACEHOLDER));
        assert!(page.contains("0123456789abcdef0123456789abcdef"));
    }

    #[test]
    fn the_bundles_define_agora_rtc() {
        assert!(SDK_UMD.contains("AgoraRTC"));
        assert!(SDK_ESM.contains("export"));
        assert!(SDK_TYPES.contains("export default AgoraRTC"));
    }
}
