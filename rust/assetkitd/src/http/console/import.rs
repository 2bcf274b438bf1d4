//! Purchase-list import: upload (bounded, checked before it is read), preview with row errors,
//! apply or cancel.
use std::time::Instant;

use axum::body::Body;
use axum::extract::{Multipart, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};

use super::page::{csrf_ok, forbidden, page, posted, write};
use super::roles::{Operator, User};
use super::views;
use crate::domain::import;
use crate::http::request::read;
use crate::http::state::AppState;

pub(super) async fn import_page(user: User<Operator>) -> Response {
    let started = Instant::now();
    page(StatusCode::OK, started, views::import(&user, None, None, None))
}

/// Reads a multipart field within `limit` bytes.
async fn field_bytes(field: &mut axum::extract::multipart::Field<'_>, limit: usize) -> Result<Vec<u8>, String> {
    let mut out = Vec::new();
    while let Some(chunk) = field.chunk().await.map_err(|e| format!("upload failed: {e}"))? {
        if out.len() + chunk.len() > limit {
            return Err(format!("the file exceeds the limit of {limit} bytes"));
        }
        out.extend_from_slice(&chunk);
    }
    Ok(out)
}

pub(super) async fn import_preview(
    State(state): State<AppState>,
    user: User<Operator>,
    mut multipart: Multipart,
) -> Response {
    let started = Instant::now();
    let failed = |status, message: &str| page(status, started, views::import(&user, None, None, Some(message)));
    // The form sends its CSRF token first; nothing else is read until it matches.
    match multipart.next_field().await {
        Ok(Some(mut field)) if field.name() == Some("csrf") => {
            let token = field_bytes(&mut field, 256).await.unwrap_or_default();
            if !csrf_ok(&user.csrf, std::str::from_utf8(&token).ok()) {
                return forbidden(started);
            }
        }
        Ok(_) => return forbidden(started),
        Err(e) => return failed(StatusCode::BAD_REQUEST, &format!("Upload failed: {e}")),
    }
    let limit = usize::try_from(state.config.import.file_bytes).unwrap_or(usize::MAX);
    let (mut encoding, mut file_name, mut bytes) = (None, String::from("upload"), Vec::new());
    loop {
        match multipart.next_field().await {
            Ok(Some(mut field)) => match field.name().unwrap_or("") {
                "encoding" => {
                    encoding = field_bytes(&mut field, 64).await.ok().and_then(|b| String::from_utf8(b).ok());
                }
                "file" => {
                    file_name = crate::log::clip(field.file_name().unwrap_or("upload"));
                    match field_bytes(&mut field, limit).await {
                        Ok(b) => bytes = b,
                        Err(e) => return failed(StatusCode::PAYLOAD_TOO_LARGE, &format!("Not imported: {e}.")),
                    }
                }
                _ => {}
            },
            Ok(None) => break,
            Err(e) => return failed(StatusCode::BAD_REQUEST, &format!("Upload failed: {e}")),
        }
    }
    if bytes.is_empty() {
        return failed(StatusCode::UNPROCESSABLE_ENTITY, "Choose an .xlsx or .csv file.");
    }
    let limits = state.config.import;
    let parsed =
        tokio::task::spawn_blocking(move || import::parse_within(&file_name, &bytes, encoding.as_deref(), limits))
            .await;
    let mut preview = match parsed {
        Ok(Ok(p)) => p,
        Ok(Err(e)) => return failed(StatusCode::UNPROCESSABLE_ENTITY, &format!("Not imported: {e}.")),
        Err(e) => return failed(StatusCode::INTERNAL_SERVER_ERROR, &e.to_string()),
    };
    let checked = read(&state, move |db| import::check_against(db, &mut preview).map(|()| preview)).await;
    let preview = match checked {
        Ok(p) => p,
        Err(e) => return e.into_response(),
    };
    match state.console.previews.insert(&user.name, preview) {
        Ok((token, preview)) => page(StatusCode::OK, started, views::import(&user, Some(&preview), Some(&token), None)),
        Err(e) => failed(StatusCode::SERVICE_UNAVAILABLE, &e.to_string()),
    }
}

pub(super) async fn import_apply(
    State(state): State<AppState>,
    user: User<Operator>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let started = Instant::now();
    let form = match posted(&user, &headers, body).await {
        Ok(form) => form,
        Err(r) => return r,
    };
    let token = form.get("token").unwrap_or("");
    let Some(preview) = state.console.previews.take(token, &user.name) else {
        return page(
            StatusCode::GONE,
            started,
            views::import(&user, None, None, Some("This preview expired; upload the file again.")),
        );
    };
    let actor = format!("console:{}", user.name);
    let result = write(&state, move |db, now| {
        // Re-check against the database inside the write: rows added since the preview are refused.
        let mut preview = preview;
        import::check_against(db, &mut preview)?;
        import::apply(db, &preview, &actor, now)
    })
    .await;
    match result {
        Ok(v) => {
            let msg = format!("Imported: {} asset(s) created in stock, {} row(s) skipped.", v.created, v.skipped);
            page(StatusCode::OK, started, views::import(&user, None, None, Some(&msg)))
        }
        Err(e) => page(
            StatusCode::UNPROCESSABLE_ENTITY,
            started,
            views::import(&user, None, None, Some(&format!("Nothing imported: {e}"))),
        ),
    }
}

pub(super) async fn import_cancel(
    State(state): State<AppState>,
    user: User<Operator>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let started = Instant::now();
    let form = match posted(&user, &headers, body).await {
        Ok(form) => form,
        Err(r) => return r,
    };
    let dropped = state.console.previews.take(form.get("token").unwrap_or(""), &user.name).is_some();
    let msg = if dropped { "Preview discarded; nothing was imported." } else { "Nothing to discard." };
    page(StatusCode::OK, started, views::import(&user, None, None, Some(msg)))
}
