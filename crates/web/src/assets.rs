//! The files the browser loads, compiled into the binary (`assets/`, see its README for where
//! the vendored ones come from). Names carry a version, so they are cached for a year.

use axum::extract::Path;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};

/// Apache ECharts, minified, as published on npm.
pub const ECHARTS: &str = "echarts-6.1.0.min.js";
/// Our script: draws the charts of a page, follows server-sent depth.
pub const APP_JS: &str = "app-1.js";
/// Our style sheet.
pub const APP_CSS: &str = "app-1.css";

/// A file's bytes and content type, by its served name.
pub fn file(name: &str) -> Option<(&'static [u8], &'static str)> {
    Some(match name {
        ECHARTS => (
            include_bytes!("../assets/echarts-6.1.0.min.js"),
            "text/javascript; charset=utf-8",
        ),
        APP_JS => (
            include_bytes!("../assets/app.js"),
            "text/javascript; charset=utf-8",
        ),
        APP_CSS => (
            include_bytes!("../assets/app.css"),
            "text/css; charset=utf-8",
        ),
        _ => return None,
    })
}

/// `GET /static/{file}`.
pub async fn serve(Path(name): Path<String>) -> Response {
    match file(&name) {
        Some((bytes, kind)) => (
            [
                (header::CONTENT_TYPE, kind),
                (header::CACHE_CONTROL, "public, max-age=31536000, immutable"),
            ],
            bytes,
        )
            .into_response(),
        None => (StatusCode::NOT_FOUND, "no such file").into_response(),
    }
}
