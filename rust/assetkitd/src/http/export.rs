//! `GET /api/v1/assets.csv` and `GET /api/v1/assets.xlsx`: the asset list with the list's
//! filters, for the `read` scope (and the console's Export button, which calls the same code).
//!
//! Bounded in memory and time: assets are read a batch at a time in id order (keyset, no
//! OFFSET) on a blocking thread, and handed to the response through a channel of a few chunks,
//! so a million rows never sit in memory; a client that stops reading for longer than the
//! request timeout ends its export. At most [`EXPORTS_AT_ONCE`] run at once (503 beyond).
//! CSV streams from the first batch; xlsx is written row by row in constant memory to an
//! anonymous temporary file, then streamed from it. A database error midway aborts the
//! response (the chunked encoding is never finished), so a cut-short export cannot pass for a
//! whole one.

use std::io::{Read, Seek};
use std::time::Duration;

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use serde_json::Value;
use tokio::sync::mpsc;

use crate::domain::export::{CsvRows, XLSX_MAX_ROWS, XlsxSheet};
use crate::domain::inventory::{self, AssetFilter};
use crate::http::api::{counted, list_filter, read, signed_get};
use crate::http::auth::{Read as ReadScope, Signed};
use crate::http::error::ApiError;
use crate::http::params::Params;
use crate::http::state::AppState;
use crate::store::Readers;

/// Exports running at once; more wait for none of them but get 503 `busy`.
pub const EXPORTS_AT_ONCE: usize = 4;
/// Assets read per batch.
const BATCH: u32 = 1000;
/// Chunks in flight between the reading thread and the response.
const CHUNKS_IN_FLIGHT: usize = 4;

/// The export routes.
pub fn routes() -> Router<AppState> {
    Router::new().route("/api/v1/assets.csv", get(csv)).route("/api/v1/assets.xlsx", get(xlsx))
}

async fn csv(State(state): State<AppState>, signed: Signed<ReadScope>, params: Params) -> Response {
    let result = async {
        let filter = export_filter(&params)?;
        signed_get(&state, signed).await?;
        export_csv(&state, filter)
    }
    .await;
    counted(&state, result)
}

async fn xlsx(State(state): State<AppState>, signed: Signed<ReadScope>, params: Params) -> Response {
    let result = async {
        let filter = export_filter(&params)?;
        signed_get(&state, signed).await?;
        export_xlsx(&state, filter).await
    }
    .await;
    counted(&state, result)
}

/// The list's filters; paging and sort are the export's own (everything, by id).
fn export_filter(params: &Params) -> Result<AssetFilter, ApiError> {
    params.only(&["status", "business_unit", "idc", "q"])?;
    Ok(AssetFilter { page: None, per_page: None, sort: None, after_id: None, ..list_filter(params)? })
}

/// The CSV export of the assets matching `filter`, streamed (shared with the console).
pub fn export_csv(state: &AppState, filter: AssetFilter) -> Result<Response, ApiError> {
    let permit = permit(state)?;
    let (tx, rx) = mpsc::channel(CHUNKS_IN_FLIGHT);
    let (readers, cutoff, stall) = (state.readers.clone(), state.offline_cutoff(), state.config.http.request_timeout);
    let handle = tokio::runtime::Handle::current();
    tokio::task::spawn_blocking(move || {
        let _permit = permit;
        let sink = Sink { tx, handle, stall };
        let mut rows = CsvRows::new();
        let walked = walk(&readers, &filter, cutoff, |batch| {
            batch.iter().for_each(|asset| rows.push(asset));
            sink.send(rows.take())
        });
        match walked {
            // The header alone when nothing matched.
            Ok(()) => drop(sink.send(rows.take())),
            Err(e) => sink.fail("csv", e),
        }
    });
    Ok(attachment("text/csv; charset=utf-8", "csv", stream(rx)))
}

/// The xlsx export of the assets matching `filter` (shared with the console).
pub async fn export_xlsx(state: &AppState, filter: AssetFilter) -> Result<Response, ApiError> {
    let permit = permit(state)?;
    // Refused before any work when the sheet cannot hold the result.
    let cutoff = state.offline_cutoff();
    let counted_filter = filter.clone();
    let matching =
        read(state, move |c| inventory::count_matching(c, &counted_filter, cutoff, u64::from(XLSX_MAX_ROWS))).await?;
    if matching >= u64::from(XLSX_MAX_ROWS) {
        return Err(ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "too_many_rows",
            format!(
                "more than {} assets match: an xlsx sheet holds {XLSX_MAX_ROWS} rows; narrow the filter or export CSV",
                XLSX_MAX_ROWS - 1
            ),
        ));
    }
    let (tx, rx) = mpsc::channel(CHUNKS_IN_FLIGHT);
    let (readers, stall) = (state.readers.clone(), state.config.http.request_timeout);
    let handle = tokio::runtime::Handle::current();
    tokio::task::spawn_blocking(move || {
        let _permit = permit;
        let sink = Sink { tx, handle, stall };
        let built = (|| -> anyhow::Result<std::fs::File> {
            let mut sheet = XlsxSheet::new()?;
            let mut failed = None;
            walk(&readers, &filter, cutoff, |batch| {
                for asset in &batch {
                    if let Err(e) = sheet.push(asset) {
                        failed = Some(e);
                        return false;
                    }
                }
                true
            })?;
            if let Some(e) = failed {
                return Err(e.into());
            }
            let mut file = tempfile::tempfile()?;
            sheet.finish(&mut file)?;
            file.rewind()?;
            Ok(file)
        })();
        let mut file = match built {
            Ok(file) => file,
            Err(e) => return sink.fail("xlsx", e),
        };
        let mut buf = vec![0u8; 64 * 1024];
        loop {
            match file.read(&mut buf) {
                Ok(0) => return,
                Ok(n) => {
                    if !sink.send(buf[..n].to_vec()) {
                        return;
                    }
                }
                Err(e) => return sink.fail("xlsx", e),
            }
        }
    });
    Ok(attachment("application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", "xlsx", stream(rx)))
}

/// A slot among the exports allowed at once, or 503.
fn permit(state: &AppState) -> Result<tokio::sync::OwnedSemaphorePermit, ApiError> {
    state.exports.clone().try_acquire_owned().map_err(|_| {
        ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "busy",
            format!("{EXPORTS_AT_ONCE} exports are running; try again when one has finished"),
        )
    })
}

/// Reads the assets matching `filter` a batch at a time, in id order, handing each batch to
/// `each` until it returns false (the client left) or the list ends.
fn walk(
    readers: &Readers,
    filter: &AssetFilter,
    cutoff: i64,
    mut each: impl FnMut(Vec<Value>) -> bool,
) -> crate::domain::Result<()> {
    let mut after = 0;
    loop {
        let batch = readers.with(|c| inventory::assets_after(c, filter, after, BATCH, cutoff))?;
        let (Some(last), full) = (batch.last().and_then(|a| a["id"].as_i64()), batch.len() as u32 == BATCH) else {
            return Ok(());
        };
        if !each(batch) || !full {
            return Ok(());
        }
        after = last;
    }
}

/// The reading thread's end of the channel.
struct Sink {
    tx: mpsc::Sender<Result<Bytes, std::io::Error>>,
    handle: tokio::runtime::Handle,
    /// How long a client may stop reading before its export ends.
    stall: Duration,
}

impl Sink {
    /// Hands `bytes` to the response; false when the client has gone or stopped reading.
    fn send(&self, bytes: Vec<u8>) -> bool {
        if bytes.is_empty() {
            return true;
        }
        let send = self.tx.send(Ok(Bytes::from(bytes)));
        matches!(self.handle.block_on(tokio::time::timeout(self.stall, send)), Ok(Ok(())))
    }

    /// Aborts the response after an error (logged; the client sees a cut connection).
    fn fail(&self, format: &str, error: impl std::fmt::Display) {
        tracing::warn!(format, error = %crate::log::clip(&error.to_string()), "export stopped");
        let abort = self.tx.send(Err(std::io::Error::other("the export stopped on a server error")));
        let _ = self.handle.block_on(tokio::time::timeout(self.stall, abort));
    }
}

fn stream(rx: mpsc::Receiver<Result<Bytes, std::io::Error>>) -> Body {
    Body::from_stream(futures_util::stream::unfold(rx, |mut rx| async move { rx.recv().await.map(|item| (item, rx)) }))
}

fn attachment(content_type: &'static str, extension: &str, body: Body) -> Response {
    let day = jiff::Timestamp::now().strftime("%Y%m%d");
    (
        [
            (header::CONTENT_TYPE, content_type.to_owned()),
            (header::CONTENT_DISPOSITION, format!("attachment; filename=\"assets-{day}.{extension}\"")),
            (header::CACHE_CONTROL, "no-store".to_owned()),
        ],
        body,
    )
        .into_response()
}
