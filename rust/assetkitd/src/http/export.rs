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
//! whole one. The same holds when the client stops reading for longer than the request timeout:
//! the body ends with an error, never with the encoding's last chunk. Every export says how many
//! rows it holds (`X-Assetkit-Row-Count`), counted in the read-only snapshot the rows come from.

use std::io::{Read, Seek};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use serde_json::Value;
use tokio::sync::{mpsc, oneshot};

use crate::domain::export::{CsvRows, XLSX_MAX_ROWS, XlsxSheet};
use crate::domain::inventory::{self, AssetFilter};
use crate::http::auth::signed_get;
use crate::http::auth::{Read as ReadScope, Signed};
use crate::http::error::ApiError;
use crate::http::params::Params;
use crate::http::params::list_filter;
use crate::http::request::counted;
use crate::http::state::AppState;
use crate::store::{Db, Engine, Readers};

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
        export_csv(&state, filter).await
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
    use crate::http::params::{NARROWING_PARAMS, PACKAGE_PARAMS};
    params.only(&[&["status", "business_unit", "idc", "q"], PACKAGE_PARAMS, NARROWING_PARAMS].concat())?;
    Ok(AssetFilter { page: None, per_page: None, sort: None, after_id: None, ..list_filter(params)? })
}

/// The header carrying the number of rows an export holds (the CSV's lines after the header,
/// the sheet's rows after the header), counted in the same snapshot the rows are read from.
pub const ROW_COUNT_HEADER: &str = "x-assetkit-row-count";

/// What the reading thread says before the first byte: how many rows follow, or why none will.
type Start = Result<u64, ApiError>;

/// The CSV export of the assets matching `filter`, streamed (shared with the console).
pub async fn export_csv(state: &AppState, filter: AssetFilter) -> Result<Response, ApiError> {
    let permit = permit(state)?;
    let (tx, rx) = mpsc::channel(CHUNKS_IN_FLIGHT);
    let (start_tx, start_rx) = oneshot::channel::<Start>();
    let done = Arc::new(AtomicBool::new(false));
    let (readers, cutoff, stall) = (state.readers.clone(), state.offline_cutoff(), state.config.http.request_timeout);
    let (handle, finished) = (tokio::runtime::Handle::current(), done.clone());
    tokio::task::spawn_blocking(move || {
        let _permit = permit;
        let sink = Sink { tx, handle, stall };
        let mut start = Some(start_tx);
        let walked = snapshot(&readers, |db| {
            let mut rows = CsvRows::new(&custom_names(db)?);
            let count = inventory::count_matching(db, &filter, cutoff, u64::MAX >> 1)?;
            if let Some(s) = start.take() {
                let _ = s.send(Ok(count));
            }
            let all = walk(db, &filter, cutoff, |batch| {
                batch.iter().for_each(|asset| rows.push(asset));
                sink.send(rows.take())
            })?;
            // The header alone when nothing matched.
            Ok::<_, crate::domain::Error>(all && sink.send(rows.take()))
        });
        match walked {
            Ok(true) => finished.store(true, Ordering::SeqCst),
            Ok(false) => tracing::info!("export cut: the client stopped reading"),
            Err(e) => sink.fail(start, "csv", e),
        }
    });
    let rows = start_rx.await.map_err(|_| ApiError::internal("the export thread ended before it started"))??;
    Ok(attachment("text/csv; charset=utf-8", "csv", rows, stream(rx, done)))
}

/// The xlsx export of the assets matching `filter` (shared with the console).
pub async fn export_xlsx(state: &AppState, filter: AssetFilter) -> Result<Response, ApiError> {
    let permit = permit(state)?;
    let (tx, rx) = mpsc::channel(CHUNKS_IN_FLIGHT);
    let (start_tx, start_rx) = oneshot::channel::<Start>();
    let done = Arc::new(AtomicBool::new(false));
    let (readers, cutoff, stall) = (state.readers.clone(), state.offline_cutoff(), state.config.http.request_timeout);
    let (handle, finished) = (tokio::runtime::Handle::current(), done.clone());
    tokio::task::spawn_blocking(move || {
        let _permit = permit;
        let sink = Sink { tx, handle, stall };
        let mut start = Some(start_tx);
        let built = snapshot(&readers, |db| sheet(db, &filter, cutoff, &mut start));
        let mut file = match built {
            Ok(Some(file)) => file,
            Ok(None) => return,
            Err(e) => return sink.fail(start, "xlsx", e),
        };
        let mut buf = vec![0u8; 64 * 1024];
        loop {
            match file.read(&mut buf) {
                Ok(0) => return finished.store(true, Ordering::SeqCst),
                Ok(n) => {
                    if !sink.send(buf[..n].to_vec()) {
                        return;
                    }
                }
                Err(e) => return sink.fail(None, "xlsx", e),
            }
        }
    });
    let rows = start_rx.await.map_err(|_| ApiError::internal("the export thread ended before it started"))??;
    Ok(attachment("application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", "xlsx", rows, stream(rx, done)))
}

/// The sheet of the assets matching `filter`, written to an anonymous file (its row count sent
/// on `start`), or `None` when it could not hold them (the refusal sent on `start`).
fn sheet(
    db: &mut dyn Db,
    filter: &AssetFilter,
    cutoff: i64,
    start: &mut Option<oneshot::Sender<Start>>,
) -> anyhow::Result<Option<std::fs::File>> {
    // Refused before any work when the sheet cannot hold the result.
    let count = inventory::count_matching(db, filter, cutoff, u64::from(XLSX_MAX_ROWS))?;
    if count >= u64::from(XLSX_MAX_ROWS) {
        if let Some(s) = start.take() {
            let _ = s.send(Err(too_many_rows()));
        }
        return Ok(None);
    }
    let mut sheet = XlsxSheet::new(&custom_names(db)?)?;
    let mut failed = None;
    walk(db, filter, cutoff, |batch| {
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
    if let Some(s) = start.take() {
        let _ = s.send(Ok(count));
    }
    Ok(Some(file))
}

/// The custom fields' names: a `cf_NAME` column each.
fn custom_names(db: &mut dyn Db) -> crate::domain::Result<Vec<String>> {
    Ok(crate::domain::fields::list(db)?.into_iter().map(|f| f.name).collect())
}

fn too_many_rows() -> ApiError {
    ApiError::new(
        StatusCode::UNPROCESSABLE_ENTITY,
        "too_many_rows",
        format!(
            "more than {} assets match: an xlsx sheet holds {XLSX_MAX_ROWS} rows; narrow the filter or export CSV",
            XLSX_MAX_ROWS - 1
        ),
    )
}

/// Runs `f` on one read connection inside one read-only transaction: the count and every batch
/// see the same inventory, so the row count header is exactly the rows that follow.
fn snapshot<T, E: From<crate::store::DbError>>(
    readers: &Readers,
    f: impl FnOnce(&mut dyn Db) -> Result<T, E>,
) -> Result<T, E> {
    readers.with(|db| {
        db.batch(match db.engine() {
            Engine::Sqlite => "BEGIN",
            Engine::Postgres => "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY",
        })?;
        let result = f(db);
        // Nothing was written: ending a read transaction cannot lose anything.
        let _ = db.batch("ROLLBACK");
        result
    })
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
/// `each` until it returns false (the client left: false) or the list ends (true).
fn walk(
    db: &mut dyn Db,
    filter: &AssetFilter,
    cutoff: i64,
    mut each: impl FnMut(Vec<Value>) -> bool,
) -> crate::domain::Result<bool> {
    let mut after = 0;
    let extras = inventory::ownership::any_extras(db)?;
    loop {
        let batch = inventory::assets_after(db, filter, after, BATCH, cutoff, extras)?;
        let (Some(last), full) = (batch.last().and_then(|a| a["id"].as_i64()), batch.len() as u32 == BATCH) else {
            return Ok(true);
        };
        if !each(batch) {
            return Ok(false);
        }
        if !full {
            return Ok(true);
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

    /// Ends the export after an error: before the first byte the handler answers 500; after it
    /// the response is cut (logged; the client sees no end of the body).
    fn fail(&self, start: Option<oneshot::Sender<Start>>, format: &str, error: impl std::fmt::Display) {
        tracing::warn!(format, error = %crate::log::clip(&error.to_string()), "export stopped");
        if let Some(start) = start {
            let _ = start.send(Err(ApiError::internal(error)));
            return;
        }
        let abort = self.tx.send(Err(std::io::Error::other("the export stopped on a server error")));
        let _ = self.handle.block_on(tokio::time::timeout(self.stall, abort));
    }
}

/// The response body: the chunks as they come, then a clean end only if the reading thread
/// finished (`done`). A thread that stopped early (the client fell behind, an error) ends the
/// body with an error, so the connection is cut without the chunked encoding's last chunk and
/// no client can take a cut export for a whole one.
fn stream(rx: mpsc::Receiver<Result<Bytes, std::io::Error>>, done: Arc<AtomicBool>) -> Body {
    Body::from_stream(futures_util::stream::unfold(Some((rx, done)), |state| async move {
        let (mut rx, done) = state?;
        match rx.recv().await {
            Some(item) => Some((item, Some((rx, done)))),
            None if done.load(Ordering::SeqCst) => None,
            None => Some((Err(std::io::Error::other("the export was cut short")), None)),
        }
    }))
}

fn attachment(content_type: &'static str, extension: &str, rows: u64, body: Body) -> Response {
    let day = jiff::Timestamp::now().strftime("%Y%m%d");
    (
        [
            (header::CONTENT_TYPE, content_type.to_owned()),
            (header::CONTENT_DISPOSITION, format!("attachment; filename=\"assets-{day}.{extension}\"")),
            (header::CACHE_CONTROL, "no-store".to_owned()),
            (header::HeaderName::from_static(ROW_COUNT_HEADER), rows.to_string()),
        ],
        body,
    )
        .into_response()
}
