//! Cutting a TCP byte stream into packets, with a bounded buffer, and putting split packets
//! (Flag D, PNUM/PNO) back together.

use std::collections::{BTreeMap, HashMap};

use crate::packet::{MAX_DATA, Packet, Rejection};

/// The most bytes one whole packet can take: `##`, 4 digits, data, 4 hex, CR LF.
pub const MAX_PACKET: usize = MAX_DATA + 12;

/// What the decoder yields: a whole packet's bytes, or garbage it skipped to resynchronise.
#[derive(Debug, PartialEq, Eq)]
pub enum Frame {
    Packet(Vec<u8>),
    /// Bytes that could not start a packet (line noise, a bad length field).
    Skipped(usize),
}

/// Incremental framer: feed bytes as they arrive, take packets out. Never holds more than
/// `MAX_PACKET` bytes of one packet, so a client cannot make it grow without bound.
#[derive(Debug, Default)]
pub struct Decoder {
    buf: Vec<u8>,
}

impl Decoder {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn push(&mut self, bytes: &[u8]) {
        self.buf.extend_from_slice(bytes);
    }

    pub fn buffered(&self) -> usize {
        self.buf.len()
    }

    /// The next frame, or `None` when more bytes are needed.
    pub fn next_frame(&mut self) -> Option<Frame> {
        let start = self.buf.windows(2).position(|w| w == b"##");
        match start {
            None => {
                // Keep a trailing '#' that may begin the next header.
                let keep = usize::from(self.buf.last() == Some(&b'#'));
                let n = self.buf.len() - keep;
                if n > 0 {
                    self.buf.drain(..n);
                    return Some(Frame::Skipped(n));
                }
                return None;
            }
            Some(0) => {}
            Some(n) => {
                self.buf.drain(..n);
                return Some(Frame::Skipped(n));
            }
        }
        if self.buf.len() < 6 {
            return None;
        }
        let digits = &self.buf[2..6];
        if !digits.iter().all(u8::is_ascii_digit) {
            // Not a real header: drop the "##" and look again.
            self.buf.drain(..2);
            return Some(Frame::Skipped(2));
        }
        let len = digits
            .iter()
            .fold(0usize, |n, d| n * 10 + usize::from(d - b'0'));
        let body = 6 + len + 4;
        if self.buf.len() < body {
            return None;
        }
        // CR LF is optional in the wild: take it when present, do not wait for it otherwise.
        let mut end = body;
        if self.buf.len() >= body + 2 && &self.buf[body..body + 2] == b"\r\n" {
            end += 2;
        } else if self.buf.len() == body + 1 && self.buf[body] == b'\r' {
            return None;
        }
        let packet: Vec<u8> = self.buf.drain(..end).collect();
        Some(Frame::Packet(packet))
    }
}

/// Collects the parts of split uploads and returns the whole when the last part arrives.
/// Parts are keyed by station, command and part count; the CP items are joined in PNO order.
/// (MN, CN, PNUM) of an upload in parts.
type PartsKey = (String, String, u32);
/// When a part last arrived (a logical clock), and the parts so far by PNO.
type Parts = (u64, BTreeMap<u32, Packet>);

#[derive(Debug)]
pub struct Reassembler {
    pending: HashMap<PartsKey, Parts>,
    max_pending: usize,
    tick: u64,
}

impl Default for Reassembler {
    fn default() -> Self {
        Self::new(1024)
    }
}

impl Reassembler {
    pub fn new(max_pending: usize) -> Self {
        Self {
            pending: HashMap::new(),
            max_pending: max_pending.max(1),
            tick: 0,
        }
    }

    pub fn pending(&self) -> usize {
        self.pending.len()
    }

    /// A whole packet passes straight through; a part returns `Ok(None)` until all parts are in.
    pub fn push(&mut self, p: Packet) -> Result<Option<Packet>, Rejection> {
        let (Some(total), Some(no)) = (p.pnum, p.pno) else {
            return Ok(Some(p));
        };
        if total == 1 {
            return Ok(Some(p));
        }
        if total > 256 {
            return Err(Rejection::BadSplit("more than 256 parts"));
        }
        self.tick += 1;
        if self.pending.len() >= self.max_pending {
            // Forget the stalest incomplete upload rather than grow.
            if let Some(k) = self
                .pending
                .iter()
                .min_by_key(|(_, v)| v.0)
                .map(|(k, _)| k.clone())
            {
                self.pending.remove(&k);
            }
        }
        let key = (p.mn.clone(), p.cn.clone(), total);
        let entry = self
            .pending
            .entry(key.clone())
            .or_insert((self.tick, BTreeMap::new()));
        entry.0 = self.tick;
        entry.1.insert(no, p);
        if entry.1.len() < total as usize {
            return Ok(None);
        }
        let Some((_, parts)) = self.pending.remove(&key) else {
            return Ok(None);
        };
        let mut parts = parts.into_values();
        let Some(mut whole) = parts.next() else {
            return Ok(None);
        };
        for part in parts {
            whole.cp.extend(part.cp);
        }
        whole.pnum = None;
        whole.pno = None;
        whole.flag = whole.flag.map(|f| f & !crate::packet::FLAG_SPLIT);
        Ok(Some(whole))
    }
}
