//! Arbitrary bytes into every parser that takes outside input: never a panic, always a typed
//! error or a value.

use jiesu_api::extract::parse_json;
use jiesu_domain::{CalendarYear, Command, DeadlinePolicy, OfficeHours, Span};
use proptest::prelude::*;

fn json_like() -> impl Strategy<Value = Vec<u8>> {
    // Mostly JSON-ish bytes (braces, quotes, keys the API knows), some raw noise.
    let tokens = prop::sample::select(vec![
        "{",
        "}",
        "[",
        "]",
        ":",
        ",",
        "\"",
        "type",
        "dispatch",
        "accept",
        "unit",
        "title",
        "kind",
        "complaint",
        "reply",
        "outcome",
        "resolved",
        "working_days",
        "1",
        "-1",
        "1e999",
        "null",
        "true",
        "\\u0000",
        "\\ud800",
        "字",
        "\u{0}",
        " ",
    ]);
    prop_oneof![
        prop::collection::vec(tokens, 0..40).prop_map(|v| v.concat().into_bytes()),
        prop::collection::vec(any::<u8>(), 0..200),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 2000, ..ProptestConfig::default() })]

    #[test]
    fn commands_and_bodies_never_panic(bytes in json_like()) {
        let _ = parse_json::<Command>(&bytes);
        let _ = parse_json::<serde_json::Value>(&bytes);
    }

    #[test]
    fn calendar_policy_and_spans_never_panic(text in "[a-z_=\\[\\]\"0-9 .\\-:,\n]{0,200}") {
        let _ = CalendarYear::parse_toml(&text);
        let _ = DeadlinePolicy::from_toml(&text);
        let _ = Span::parse(&text);
        let _ = OfficeHours::parse(&text);
    }
}

#[test]
fn a_valid_command_still_parses() {
    let c: Command = parse_json(br#"{"type":"dispatch","unit":"420381D01"}"#).unwrap();
    assert_eq!(c.name(), "dispatch");
    let e = parse_json::<Command>(br#"{"type":"dispatch"}"#).unwrap_err();
    assert_eq!(e.code, "invalid_body");
}
