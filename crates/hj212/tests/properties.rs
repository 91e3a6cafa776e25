//! Round trips and robustness: build then parse gives the packet back; no input panics; a stream
//! cut anywhere yields the same packets.

use jiesu_hj212::{
    CrcMode, Decoder, Frame, Packet, Reassembler, data_ack, data_ack_ref, parse, parse_ref,
};
use proptest::prelude::*;

fn token() -> impl Strategy<Value = String> {
    "[A-Za-z0-9.]{1,12}"
}

fn packet() -> impl Strategy<Value = Packet> {
    (
        proptest::option::of("[0-9]{17}"),
        "[0-9]{2}",
        "[0-9]{4}",
        proptest::option::of("[A-Za-z0-9]{6}"),
        "[A-Za-z0-9_]{6,24}",
        proptest::option::of(any::<u8>()),
        prop::collection::vec(prop::collection::vec((token(), token()), 1..4), 0..6),
    )
        .prop_map(|(qn, st, cn, pw, mn, flag, cp)| Packet {
            qn,
            st,
            cn,
            pw,
            mn,
            flag,
            pnum: None,
            pno: None,
            cp,
        })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 1000, ..ProptestConfig::default() })]

    #[test]
    fn parse_of_build_is_identity(p in packet()) {
        for mode in [CrcMode::Standard, CrcMode::Modbus, CrcMode::ModbusSwapped] {
            let bytes = p.encode(mode);
            prop_assert_eq!(parse(bytes.as_bytes(), mode).unwrap(), p.clone());
        }
    }

    #[test]
    fn the_borrowed_parse_agrees_with_the_owning_one(p in packet()) {
        let bytes = p.encode(CrcMode::Standard);
        let r = parse_ref(bytes.as_bytes(), CrcMode::Standard).unwrap();
        prop_assert_eq!(r.to_packet(), p.clone());
        prop_assert_eq!(r.is_split(), p.is_split());
        prop_assert_eq!(data_ack_ref(&r), data_ack(&p));
    }

    #[test]
    fn no_input_panics(bytes in prop::collection::vec(any::<u8>(), 0..300)) {
        let _ = parse(&bytes, CrcMode::Standard);
        let mut d = Decoder::new();
        d.push(&bytes);
        while let Some(f) = d.next_frame() {
            if let Frame::Packet(p) = f { let _ = parse(&p, CrcMode::Standard); }
        }
    }

    #[test]
    fn mutated_packets_never_panic(p in packet(), at in any::<prop::sample::Index>(), byte in any::<u8>()) {
        let mut b = p.encode(CrcMode::Standard).into_bytes();
        let i = at.index(b.len());
        b[i] = byte;
        let _ = parse(&b, CrcMode::Standard);
    }

    #[test]
    fn a_stream_cut_anywhere_yields_the_same_packets(ps in prop::collection::vec(packet(), 1..5), cuts in prop::collection::vec(1usize..40, 1..20)) {
        let mut stream = b"noise".to_vec();
        for p in &ps { stream.extend_from_slice(p.encode(CrcMode::Standard).as_bytes()); }
        let mut d = Decoder::new();
        let mut got = Vec::new();
        let mut rest: &[u8] = &stream;
        let mut cuts = cuts.into_iter().cycle();
        while !rest.is_empty() {
            let n = cuts.next().unwrap_or(7).min(rest.len());
            d.push(&rest[..n]);
            rest = &rest[n..];
            while let Some(f) = d.next_frame() {
                if let Frame::Packet(b) = f { got.push(parse(&b, CrcMode::Standard).unwrap()); }
            }
        }
        prop_assert_eq!(got, ps);
    }
}

#[test]
fn split_uploads_are_reassembled_in_part_order() {
    let part = |no: u32, code: &str| Packet {
        qn: Some(format!("2019122515520000{no}")),
        st: "21".into(),
        cn: "2011".into(),
        pw: Some("123456".into()),
        mn: "DM000001".into(),
        flag: Some(7),
        pnum: Some(2),
        pno: Some(no),
        cp: vec![vec![(format!("{code}-Rtd"), "1.5".into())]],
    };
    let mut r = Reassembler::default();
    assert_eq!(r.push(part(2, "w21011")).unwrap(), None);
    assert_eq!(r.pending(), 1);
    let whole = r.push(part(1, "w21003")).unwrap().unwrap();
    assert_eq!(whole.cp.len(), 2);
    assert_eq!(whole.cp[0][0].0, "w21003-Rtd");
    assert_eq!(whole.cp[1][0].0, "w21011-Rtd");
    assert_eq!((whole.pnum, whole.pno, whole.flag), (None, None, Some(5)));
    assert_eq!(r.pending(), 0);
    // Bounded: stale incomplete uploads are dropped, not hoarded.
    let mut r = Reassembler::new(2);
    for mn in ["a", "b", "c"] {
        let mut p = part(1, "w21003");
        p.mn = mn.into();
        r.push(p).unwrap();
    }
    assert_eq!(r.pending(), 2);
}

#[test]
fn decoder_takes_packets_without_trailer_and_skips_junk() {
    let p = Packet {
        st: "32".into(),
        cn: "2011".into(),
        mn: "m".into(),
        ..Packet::default()
    };
    let one = p.encode(CrcMode::Standard);
    let bare = one.trim_end_matches("\r\n").to_string();
    let mut d = Decoder::new();
    d.push(format!("junk##zz{bare}{one}").as_bytes());
    let mut packets = 0;
    let mut skipped = 0;
    while let Some(f) = d.next_frame() {
        match f {
            Frame::Packet(b) => {
                parse(&b, CrcMode::Standard).unwrap();
                packets += 1;
            }
            Frame::Skipped(n) => skipped += n,
        }
    }
    assert_eq!(packets, 2);
    assert_eq!(skipped, 8, "\"junk\", the false \"##\" and \"zz\"");
    assert_eq!(d.buffered(), 0);
}
