//! Packets: `##` + 4-digit length + data segment + 4-hex CRC + CR LF, and the data segment's fields.

use crate::crc::CrcMode;

/// Why a packet was refused. `code()` is the stable name shown to operators and in logs.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Rejection {
    #[error("packet does not start with ##")]
    BadHeader,
    #[error("length field is not 4 decimal digits")]
    BadLength,
    #[error("length field says {declared} bytes, the data segment has {actual}")]
    LengthMismatch { declared: usize, actual: usize },
    #[error("CRC field is not 4 hex digits")]
    BadCrcField,
    #[error("CRC mismatch: packet says {stated:04X}, data gives {computed:04X}")]
    CrcMismatch { stated: u16, computed: u16 },
    #[error("data segment is not UTF-8")]
    NotUtf8,
    #[error("missing field {0}")]
    MissingField(&'static str),
    #[error("bad field {name}: {reason}")]
    BadField { name: String, reason: &'static str },
    #[error("bad Flag (0-255 expected)")]
    BadFlag,
    #[error("bad CP data area: {0}")]
    BadCp(&'static str),
    #[error("packet longer than {0} bytes")]
    TooLong(usize),
    #[error("split packet: {0}")]
    BadSplit(&'static str),
}

impl Rejection {
    pub fn code(&self) -> &'static str {
        match self {
            Rejection::BadHeader => "bad_header",
            Rejection::BadLength => "bad_length",
            Rejection::LengthMismatch { .. } => "length_mismatch",
            Rejection::BadCrcField => "bad_crc",
            Rejection::CrcMismatch { .. } => "crc_mismatch",
            Rejection::NotUtf8 => "not_utf8",
            Rejection::MissingField(_) => "missing_field",
            Rejection::BadField { .. } => "bad_field",
            Rejection::BadFlag => "bad_flag",
            Rejection::BadCp(_) => "bad_cp",
            Rejection::TooLong(_) => "too_long",
            Rejection::BadSplit(_) => "bad_split",
        }
    }
}

/// The 4-digit length field caps the data segment.
pub const MAX_DATA: usize = 9999;

/// One `name=value` of the CP data area.
pub type Pair = (String, String);

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Packet {
    pub qn: Option<String>,
    pub st: String,
    pub cn: String,
    pub pw: Option<String>,
    pub mn: String,
    pub flag: Option<u8>,
    pub pnum: Option<u32>,
    pub pno: Option<u32>,
    /// Items separated by `;`, each a list of pairs separated by `,`, in packet order.
    pub cp: Vec<Vec<Pair>>,
}

/// Flag bit 0: the sender wants an answer (9011/9012 for requests, 9014 for data).
pub const FLAG_ACK: u8 = 0b01;
/// Flag bit 1: the packet carries PNUM/PNO.
pub const FLAG_SPLIT: u8 = 0b10;

impl Packet {
    pub fn needs_ack(&self) -> bool {
        self.flag.is_some_and(|f| f & FLAG_ACK != 0)
    }
    pub fn is_split(&self) -> bool {
        self.flag.is_some_and(|f| f & FLAG_SPLIT != 0) || self.pnum.is_some_and(|n| n > 1)
    }
    /// Version bits: 0 = HJ/T 212-2005, 1 = HJ 212-2017, 2 = HJ 212-2025.
    pub fn version(&self) -> Option<u8> {
        self.flag.map(|f| f >> 2)
    }
    /// The first value of a CP field by name, e.g. `DataTime` or `w21003-Rtd`.
    pub fn cp_value(&self, name: &str) -> Option<&str> {
        self.cp
            .iter()
            .flatten()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }
    pub fn data_time(&self) -> Option<&str> {
        self.cp_value("DataTime")
    }
    /// Per-factor fields (`w21003-Rtd=0.5` → (`w21003`, `Rtd`, `0.5`)), in packet order.
    pub fn factor_fields(&self) -> impl Iterator<Item = (&str, &str, &str)> {
        self.cp.iter().flatten().filter_map(|(k, v)| {
            let (code, field) = k.split_once('-')?;
            Some((code, field, v.as_str()))
        })
    }

    /// The data segment in the standard's field order.
    pub fn data_segment(&self) -> String {
        let mut s = String::with_capacity(128);
        let mut field = |name: &str, v: &str| {
            s.push_str(name);
            s.push('=');
            s.push_str(v);
            s.push(';');
        };
        if let Some(qn) = &self.qn {
            field("QN", qn);
        }
        field("ST", &self.st);
        field("CN", &self.cn);
        if let Some(pw) = &self.pw {
            field("PW", pw);
        }
        field("MN", &self.mn);
        if let Some(f) = self.flag {
            field("Flag", &f.to_string());
        }
        if let Some(n) = self.pnum {
            field("PNUM", &n.to_string());
        }
        if let Some(n) = self.pno {
            field("PNO", &n.to_string());
        }
        s.push_str("CP=&&");
        for (i, item) in self.cp.iter().enumerate() {
            if i > 0 {
                s.push(';');
            }
            for (j, (k, v)) in item.iter().enumerate() {
                if j > 0 {
                    s.push(',');
                }
                s.push_str(k);
                s.push('=');
                s.push_str(v);
            }
        }
        s.push_str("&&");
        s
    }

    /// The whole packet, CR LF included, with the check value `mode` computes.
    pub fn encode(&self, mode: CrcMode) -> String {
        let seg = self.data_segment();
        let crc = mode.compute(seg.as_bytes());
        format!("##{:04}{seg}{crc:04X}\r\n", seg.len())
    }
}

/// Splits a whole packet into its data segment after checking header, length and check value.
pub fn frame(bytes: &[u8], mode: CrcMode) -> Result<&str, Rejection> {
    let (data, stated) = split_frame(bytes)?;
    check_crc(data, stated, mode)?;
    std::str::from_utf8(data).map_err(|_| Rejection::NotUtf8)
}

/// Checks a data segment against the stated check value under `mode`.
pub fn check_crc(data: &[u8], stated: u16, mode: CrcMode) -> Result<(), Rejection> {
    let computed = mode.compute(data);
    if stated == computed {
        Ok(())
    } else {
        Err(Rejection::CrcMismatch { stated, computed })
    }
}

/// Header, length and CRC field checked, the check value itself not yet: a server reads the MN
/// first to learn which check value that station's device sends.
pub fn split_frame(bytes: &[u8]) -> Result<(&[u8], u16), Rejection> {
    let b = bytes.strip_suffix(b"\r\n").unwrap_or(bytes);
    if !b.starts_with(b"##") {
        return Err(Rejection::BadHeader);
    }
    if b.len() < 10 {
        return Err(Rejection::BadLength);
    }
    let len_field = &b[2..6];
    if !len_field.iter().all(u8::is_ascii_digit) {
        return Err(Rejection::BadLength);
    }
    let declared = len_field
        .iter()
        .fold(0usize, |n, d| n * 10 + usize::from(d - b'0'));
    let actual = b.len() - 10;
    if actual > MAX_DATA {
        return Err(Rejection::TooLong(MAX_DATA));
    }
    if declared != actual {
        return Err(Rejection::LengthMismatch { declared, actual });
    }
    let data = &b[6..6 + actual];
    let crc_field = &b[6 + actual..];
    let stated = std::str::from_utf8(crc_field)
        .ok()
        .filter(|s| s.len() == 4 && s.bytes().all(|c| c.is_ascii_hexdigit()))
        .and_then(|s| u16::from_str_radix(s, 16).ok())
        .ok_or(Rejection::BadCrcField)?;
    Ok((data, stated))
}

/// Parses and validates one whole packet.
pub fn parse(bytes: &[u8], mode: CrcMode) -> Result<Packet, Rejection> {
    parse_ref(bytes, mode).map(|p| p.to_packet())
}

/// Parses and validates one whole packet without copying its text.
pub fn parse_ref(bytes: &[u8], mode: CrcMode) -> Result<PacketRef<'_>, Rejection> {
    parse_data_segment_ref(frame(bytes, mode)?)
}

/// A packet borrowed from its bytes: the hot path (ingest) allocates two small vectors per packet
/// instead of a `String` per field.
#[derive(Debug, Clone, PartialEq)]
pub struct PacketRef<'a> {
    pub qn: Option<&'a str>,
    pub st: &'a str,
    pub cn: &'a str,
    pub pw: Option<&'a str>,
    pub mn: &'a str,
    pub flag: Option<u8>,
    pub pnum: Option<u32>,
    pub pno: Option<u32>,
    /// Every CP pair in order.
    pub pairs: Vec<(&'a str, &'a str)>,
    /// For each CP item, the index in `pairs` where it ends.
    pub item_ends: Vec<usize>,
}

impl<'a> PacketRef<'a> {
    pub fn to_packet(&self) -> Packet {
        let mut cp = Vec::with_capacity(self.item_ends.len());
        let mut start = 0;
        for &end in &self.item_ends {
            cp.push(
                self.pairs[start..end]
                    .iter()
                    .map(|(k, v)| (k.to_string(), v.to_string()))
                    .collect(),
            );
            start = end;
        }
        Packet {
            qn: self.qn.map(str::to_string),
            st: self.st.to_string(),
            cn: self.cn.to_string(),
            pw: self.pw.map(str::to_string),
            mn: self.mn.to_string(),
            flag: self.flag,
            pnum: self.pnum,
            pno: self.pno,
            cp,
        }
    }
    pub fn cp_value(&self, name: &str) -> Option<&'a str> {
        self.pairs.iter().find(|(k, _)| *k == name).map(|(_, v)| *v)
    }
    pub fn needs_ack(&self) -> bool {
        self.flag.is_some_and(|f| f & FLAG_ACK != 0)
    }
    pub fn is_split(&self) -> bool {
        self.flag.is_some_and(|f| f & FLAG_SPLIT != 0) || self.pnum.is_some_and(|n| n > 1)
    }
    /// Per-factor fields (`w21003-Rtd=0.5` → (`w21003`, `Rtd`, `0.5`)), in packet order.
    pub fn factor_fields(&self) -> impl Iterator<Item = (&'a str, &'a str, &'a str)> + '_ {
        self.pairs.iter().filter_map(|(k, v)| {
            let (code, field) = k.split_once('-')?;
            Some((code, field, *v))
        })
    }
}

fn bad(name: &str, reason: &'static str) -> Rejection {
    Rejection::BadField {
        name: name.to_string(),
        reason,
    }
}

fn number<T: std::str::FromStr>(name: &str, v: &str) -> Result<T, Rejection> {
    if v.is_empty() || v.len() > 9 || !v.bytes().all(|c| c.is_ascii_digit()) {
        return Err(bad(name, "not a number"));
    }
    v.parse().map_err(|_| bad(name, "not a number"))
}

/// Parses the fields of a data segment (everything between the length and the CRC).
pub fn parse_data_segment(seg: &str) -> Result<Packet, Rejection> {
    parse_data_segment_ref(seg).map(|p| p.to_packet())
}

/// Parses the fields of a data segment without copying.
pub fn parse_data_segment_ref(seg: &str) -> Result<PacketRef<'_>, Rejection> {
    let cp_at = seg.find("CP=&&").ok_or(Rejection::MissingField("CP"))?;
    let (head, cp) = seg.split_at(cp_at);
    let cp = &cp[5..];
    let cp = cp
        .strip_suffix("&&")
        .ok_or(Rejection::BadCp("must end with &&"))?;
    let (mut qn, mut st, mut cn, mut pw, mut mn) = (None, None, None, None, None);
    let (mut flag, mut pnum, mut pno) = (None, None, None);
    // Fields split on ';' and at the first '=' by one byte loop each (they are a few bytes long).
    let hb = head.as_bytes();
    let mut at = 0;
    while at < hb.len() {
        let start = at;
        let mut eq = None;
        while at < hb.len() && hb[at] != b';' {
            if eq.is_none() && hb[at] == b'=' {
                eq = Some(at);
            }
            at += 1;
        }
        let field = &head[start..at];
        at += 1;
        if field.is_empty() {
            continue;
        }
        let Some(eq) = eq else {
            return Err(bad(field, "expected Name=value"));
        };
        let (name, value) = (&head[start..eq], &head[eq + 1..at - 1]);
        if value.len() > 64 {
            return Err(bad(name, "value too long"));
        }
        if value.bytes().any(|c| c.is_ascii_control()) {
            return Err(bad(name, "control character"));
        }
        match name {
            "QN" => qn = Some(value),
            "ST" => st = Some(value),
            "CN" => cn = Some(value),
            "PW" => pw = Some(value),
            "MN" => mn = Some(value),
            "Flag" => {
                flag = Some(
                    value
                        .parse::<u8>()
                        .ok()
                        .filter(|_| value.bytes().all(|c| c.is_ascii_digit()))
                        .ok_or(Rejection::BadFlag)?,
                )
            }
            "PNUM" => pnum = Some(number("PNUM", value)?),
            "PNO" => pno = Some(number("PNO", value)?),
            // Unknown header fields are tolerated (devices add their own) but not kept.
            _ => {}
        }
    }
    let st = st
        .filter(|s| !s.is_empty())
        .ok_or(Rejection::MissingField("ST"))?;
    let cn = cn
        .filter(|s| !s.is_empty())
        .ok_or(Rejection::MissingField("CN"))?;
    let mn = mn
        .filter(|s| !s.is_empty())
        .ok_or(Rejection::MissingField("MN"))?;
    if !cn.bytes().all(|c| c.is_ascii_digit()) {
        return Err(bad("CN", "not a number"));
    }
    if let (Some(n), Some(no)) = (pnum, pno)
        && (n == 0 || no == 0 || no > n)
    {
        return Err(Rejection::BadSplit("PNO must be 1..=PNUM"));
    }
    let (pairs, item_ends) = parse_cp(cp)?;
    Ok(PacketRef {
        qn,
        st,
        cn,
        pw,
        mn,
        flag,
        pnum,
        pno,
        pairs,
        item_ends,
    })
}

type CpPairs<'a> = (Vec<(&'a str, &'a str)>, Vec<usize>);

/// `k=v,k=v;k=v` with `//…//` log text that may contain separators. One pass over the bytes: the
/// fields are a few characters long, where a byte loop beats a search per separator.
fn parse_cp(cp: &str) -> Result<CpPairs<'_>, Rejection> {
    let b = cp.as_bytes();
    let mut pairs = Vec::with_capacity(24);
    let mut ends = Vec::with_capacity(12);
    if b.is_empty() {
        return Ok((pairs, ends));
    }
    // Every index below sits on an ASCII separator or just after one, so slicing is safe.
    let mut i = 0;
    loop {
        let start = i;
        let mut bad_key = false;
        while i < b.len() && b[i] != b'=' {
            bad_key |= matches!(b[i], b';' | b',' | b'&');
            i += 1;
        }
        if i == b.len() {
            return Err(Rejection::BadCp("a field has no '='"));
        }
        if i == start || bad_key {
            return Err(Rejection::BadCp("bad field name"));
        }
        let key = &cp[start..i];
        i += 1;
        let value_start = i;
        if b[i..].starts_with(b"//") {
            let end = cp[i + 2..]
                .find("//")
                .ok_or(Rejection::BadCp("unterminated //text//"))?;
            i += end + 4;
        } else {
            while i < b.len() && b[i] != b',' && b[i] != b';' {
                i += 1;
            }
        }
        pairs.push((key, &cp[value_start..i]));
        match b.get(i) {
            None => {
                ends.push(pairs.len());
                return Ok((pairs, ends));
            }
            Some(b',') => i += 1,
            Some(b';') => {
                ends.push(pairs.len());
                i += 1;
            }
            Some(_) => return Err(Rejection::BadCp("text after //…//")),
        }
        if i == b.len() {
            return Err(Rejection::BadCp("trailing separator"));
        }
    }
}
