//! Every packet of the reference vectors file (tests/data/hj212_vectors.tsv, copied from
//! shared/reference): valid ones parse to the right fields, known-bad ones are refused for the
//! reason the file states.

use jiesu_hj212::{CrcMode, Packet, Rejection, data_ack, execution_result, parse, request_answer};

struct Row {
    packet: Vec<u8>,
    verified: String,
    stated_crc: String,
    computed_crc: String,
    notes: String,
}

fn rows() -> Vec<Row> {
    let text = include_str!("data/hj212_vectors.tsv");
    let mut lines = text.lines();
    let header: Vec<&str> = lines.next().unwrap().split('\t').collect();
    let col = |name: &str| header.iter().position(|h| *h == name).unwrap();
    let (p, v, e, c, n) = (
        col("packet"),
        col("crc_verified"),
        col("expected_crc_hex"),
        col("computed_hj212_crc"),
        col("notes"),
    );
    lines
        .filter(|l| !l.trim().is_empty())
        .map(|l| {
            let f: Vec<&str> = l.split('\t').collect();
            Row {
                // The file writes CR LF as the four characters \r\n.
                packet: f[p].replace("\\r\\n", "\r\n").into_bytes(),
                verified: f[v].to_string(),
                stated_crc: f[e].to_string(),
                computed_crc: f[c].to_string(),
                notes: f[n].to_string(),
            }
        })
        .collect()
}

#[test]
fn the_file_has_all_its_rows() {
    assert_eq!(rows().len(), 26);
}

#[test]
fn valid_packets_parse_and_bad_ones_are_refused_for_their_reason() {
    for r in rows() {
        let res = parse(&r.packet, CrcMode::Standard);
        let shown = String::from_utf8_lossy(&r.packet);
        if r.verified == "yes" || r.verified.starts_with("n/a") {
            let p = res.unwrap_or_else(|e| panic!("{shown}: {e}"));
            assert!(!p.st.is_empty() && !p.cn.is_empty() && !p.mn.is_empty());
        } else {
            match res {
                Err(Rejection::CrcMismatch { stated, computed }) => {
                    assert_eq!(
                        format!("{stated:04X}"),
                        r.stated_crc.to_uppercase(),
                        "{shown}"
                    );
                    assert_eq!(format!("{computed:04X}"), r.computed_crc, "{shown}");
                }
                other => panic!("{shown}: expected crc_mismatch, got {other:?}"),
            }
            // The MODBUS-swapped devices pass once their station is set to that mode.
            if r.verified.contains("MODBUS byte-swapped") {
                parse(&r.packet, CrcMode::ModbusSwapped).unwrap_or_else(|e| panic!("{shown}: {e}"));
                assert!(r.notes.contains("MODBUS"));
            }
        }
    }
}

fn packet(i: usize) -> Packet {
    let r = &rows()[i];
    parse(&r.packet, CrcMode::Standard).unwrap()
}

#[test]
fn fields_of_the_standards_example() {
    let p = packet(0);
    assert_eq!(p.qn.as_deref(), Some("20160801085857223"));
    assert_eq!((p.st.as_str(), p.cn.as_str()), ("32", "1062"));
    assert_eq!(p.pw.as_deref(), Some("100000"));
    assert_eq!(p.mn, "010000A8900016F000169DC0");
    assert_eq!(p.flag, Some(5));
    assert!(p.needs_ack());
    assert!(!p.is_split());
    assert_eq!(p.version(), Some(1));
    assert_eq!(p.cp_value("RtdInterval"), Some("30"));
    // Building it again gives the standard's bytes exactly.
    assert_eq!(
        p.encode(CrcMode::Standard).as_bytes(),
        rows()[0].packet.as_slice()
    );
}

#[test]
fn surface_water_packet_with_2025_flag() {
    let p = rows()
        .iter()
        .find(|r| r.notes.starts_with("SURFACE WATER"))
        .map(|r| parse(&r.packet, CrcMode::Standard).unwrap())
        .unwrap();
    assert_eq!(p.st, "21");
    assert_eq!(p.flag, Some(8));
    assert_eq!(p.version(), Some(2));
    assert!(!p.needs_ack());
    assert_eq!(p.data_time(), Some("20210301111100"));
    let nh3: Vec<_> = p
        .factor_fields()
        .filter(|(c, f, _)| *c == "w21003" && *f == "Rtd")
        .collect();
    assert_eq!(nh3, vec![("w21003", "Rtd", "0.09055002")]);
    assert_eq!(p.cp_value("w01001-Flag"), Some("N"));
}

#[test]
fn packets_without_qn_flag_or_trailer() {
    let bare = rows()
        .into_iter()
        .find(|r| r.notes.starts_with("No QN and no Flag"))
        .unwrap();
    let p = parse(&bare.packet, CrcMode::Standard).unwrap();
    assert_eq!((p.qn.clone(), p.flag), (None, None));
    assert_eq!(p.cp_value("ele02-Rtd"), Some("0"));
    let dust = rows()
        .into_iter()
        .find(|r| r.notes.starts_with("Real log, ST=39"))
        .unwrap();
    assert!(!dust.packet.ends_with(b"\r\n"));
    let p = parse(&dust.packet, CrcMode::Standard).unwrap();
    assert_eq!(
        p.cp_value("Flag"),
        Some("N"),
        "the malformed CP still reads"
    );
    let split = rows()
        .into_iter()
        .find(|r| r.notes.starts_with("Split packet 1/2"))
        .unwrap();
    let p = parse(&split.packet, CrcMode::Standard).unwrap();
    assert_eq!((p.pno, p.pnum), (Some(1), Some(2)));
    assert!(p.is_split());
}

#[test]
fn replies_match_the_standards_tables() {
    let computed: Vec<Row> = rows()
        .into_iter()
        .filter(|r| r.verified.starts_with("n/a"))
        .collect();
    let request = parse(&computed[0].packet, CrcMode::Standard).unwrap();
    assert_eq!(request.cn, "1000");
    assert_eq!(
        request_answer(&request, 1)
            .encode(CrcMode::Standard)
            .as_bytes(),
        computed[1].packet.as_slice()
    );
    assert_eq!(
        execution_result(&request, 1)
            .encode(CrcMode::Standard)
            .as_bytes(),
        computed[2].packet.as_slice()
    );
    assert_eq!(
        data_ack(&request).encode(CrcMode::Standard).as_bytes(),
        computed[4].packet.as_slice()
    );
}

#[test]
fn framing_refusals_have_names() {
    let good = rows()[0].packet.clone();
    let code = |b: &[u8]| parse(b, CrcMode::Standard).unwrap_err().code();
    assert_eq!(code(b"xx0101"), "bad_header");
    assert_eq!(
        code(b"##01a1QN=1;ST=32;CN=1;MN=x;CP=&&&&1234"),
        "bad_length"
    );
    let mut longer = good.clone();
    longer.insert(20, b'0');
    assert_eq!(code(&longer), "length_mismatch");
    let mut bad_crc = good.clone();
    let n = bad_crc.len();
    bad_crc[n - 3] = b'Z';
    assert_eq!(code(&bad_crc), "bad_crc");
    let mut flipped = good.clone();
    flipped[30] = b'9';
    assert_eq!(code(&flipped), "crc_mismatch");
    let seg = "QN=1;ST=32;CN=2011;PW=1;CP=&&a=1&&";
    let p = format!(
        "##{:04}{seg}{:04X}",
        seg.len(),
        jiesu_hj212::crc::hj212(seg.as_bytes())
    );
    assert_eq!(code(p.as_bytes()), "missing_field");
    let seg = "ST=32;CN=2011;MN=m;Flag=300;CP=&&a=1&&";
    let p = format!(
        "##{:04}{seg}{:04X}",
        seg.len(),
        jiesu_hj212::crc::hj212(seg.as_bytes())
    );
    assert_eq!(code(p.as_bytes()), "bad_flag");
    let seg = "ST=32;CN=2011;MN=m;CP=&&a=1,,b=2&&";
    let p = format!(
        "##{:04}{seg}{:04X}",
        seg.len(),
        jiesu_hj212::crc::hj212(seg.as_bytes())
    );
    assert_eq!(code(p.as_bytes()), "bad_cp");
}
