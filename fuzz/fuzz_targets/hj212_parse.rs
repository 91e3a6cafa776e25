//! Any bytes through the HJ 212 framer, parser and stream decoder: never a panic; whatever parses
//! encodes and parses back to the same packet.
#![no_main]

use jiesu_hj212::{CrcMode, Decoder, Frame, parse};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    for mode in [CrcMode::Standard, CrcMode::ModbusSwapped] {
        if let Ok(p) = parse(data, mode) {
            let again = parse(p.encode(mode).as_bytes(), mode).expect("re-encoded packet parses");
            assert_eq!(again.mn, p.mn);
            assert_eq!(again.cn, p.cn);
        }
    }
    let mut d = Decoder::new();
    for chunk in data.chunks(7) {
        d.push(chunk);
        while let Some(f) = d.next_frame() {
            if let Frame::Packet(b) = f {
                let _ = parse(&b, CrcMode::Standard);
            }
        }
    }
});
