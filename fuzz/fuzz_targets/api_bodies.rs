//! Any bytes as an API command body: a typed error or a command, never a panic.
#![no_main]

use jiesu_api::extract::parse_json;
use jiesu_domain::Command;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = parse_json::<Command>(data);
});
