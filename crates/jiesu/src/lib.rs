//! The `jiesu` binary's library: demo county, load generator and HTTP client used by the CLI,
//! the benchmarks and the end-to-end tests.

pub mod admin_watch;
pub mod bench_clock;
pub mod bench_geo;
pub mod bench_monitor;
pub mod calendar_watch;
pub mod client;
pub mod clock;
pub mod console;
pub mod demo;
mod demo_data;
pub mod demo_places;
pub mod geo_import;
pub mod ingest;
pub mod loadgen;
pub mod open311_keys;
pub mod rng;
pub mod routing;
pub mod search_index;
pub mod server;
pub mod simulate;
pub mod stations;
