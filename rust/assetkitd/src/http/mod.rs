//! The HTTP layer: the signed API, the console, health and metrics, and the server that bounds
//! connections and time. It turns requests into domain calls and domain errors into answers.
//!
//! - [`server`]: `serve(listener, config, shutdown)`, the accept loop, the router and its layers.
//! - [`state`]: `ServerConfig`, `HttpLimits`, `AppState`.
//! - [`auth`]: `Signed<Scope>`, checked before the body is read; [`budgets`]: reports and
//!   bytes per minute per key, checked before a body is parsed.
//! - [`api`]: the JSON API; [`error`]: its one error shape.
//! - [`export`]: the asset list as streamed CSV and xlsx; [`software`]: the fleet's packages.
//! - [`console`]: the web console; [`metrics`]: Prometheus metrics.

pub mod api;
pub mod auth;
pub mod budgets;
pub mod console;
pub mod error;
pub mod export;
pub mod keycache;
pub mod metrics;
pub mod ownership;
pub mod params;
pub mod request;
pub mod server;
pub mod software;
pub mod state;
pub mod webhooks;
