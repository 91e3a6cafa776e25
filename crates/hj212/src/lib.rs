//! HJ 212 (HJ/T 212-2005, HJ 212-2017, and the framing of HJ 212-2025) packet codec.
//! Pure: bytes in, packets or named rejections out. The TCP server lives elsewhere.

pub mod crc;
pub mod packet;
pub mod stream;

pub use crc::CrcMode;
pub use packet::{
    Packet, PacketRef, Rejection, check_crc, frame, parse, parse_data_segment,
    parse_data_segment_ref, parse_ref, split_frame,
};
pub use stream::{Decoder, Frame, Reassembler};

/// Builds the host's data acknowledgement (CN=9014) for an upload that asked for one.
pub fn data_ack(to: &Packet) -> Packet {
    reply(to, "9014", vec![])
}

/// [`data_ack`] for a packet parsed without copying.
pub fn data_ack_ref(to: &PacketRef<'_>) -> Packet {
    reply_fields(to.qn, to.pw, to.mn, to.flag, "9014", vec![])
}

/// The request answer (CN=9011) with a `QnRtn` code (1 ready, 3 PW error, 4 MN error, …).
pub fn request_answer(to: &Packet, qn_rtn: u16) -> Packet {
    reply(to, "9011", vec![vec![("QnRtn".into(), qn_rtn.to_string())]])
}

/// The execution result (CN=9012) with an `ExeRtn` code (1 success, …).
pub fn execution_result(to: &Packet, exe_rtn: u16) -> Packet {
    reply(
        to,
        "9012",
        vec![vec![("ExeRtn".into(), exe_rtn.to_string())]],
    )
}

fn reply(to: &Packet, cn: &str, cp: Vec<Vec<packet::Pair>>) -> Packet {
    reply_fields(to.qn.as_deref(), to.pw.as_deref(), &to.mn, to.flag, cn, cp)
}

fn reply_fields(
    qn: Option<&str>,
    pw: Option<&str>,
    mn: &str,
    flag: Option<u8>,
    cn: &str,
    cp: Vec<Vec<packet::Pair>>,
) -> Packet {
    // Replies reuse the request's QN, speak ST=91, and ask for no answer (Flag = version bits only).
    Packet {
        qn: qn.map(str::to_string),
        st: "91".into(),
        cn: cn.into(),
        pw: pw.map(str::to_string),
        mn: mn.to_string(),
        flag: Some(flag.map_or(4, |f| f & !0b11)),
        pnum: None,
        pno: None,
        cp,
    }
}
