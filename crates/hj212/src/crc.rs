//! The HJ 212 check value (Appendix A) and the CRC-16/MODBUS variant some devices send instead.

/// The 8 reflected shifts with 0xA001 applied to every byte value (the CRC-16/ARC table).
const TABLE: [u16; 256] = {
    let mut t = [0u16; 256];
    let mut i = 0;
    while i < 256 {
        let mut c = i as u16;
        let mut k = 0;
        while k < 8 {
            c = if c & 1 == 1 {
                (c >> 1) ^ 0xA001
            } else {
                c >> 1
            };
            k += 1;
        }
        t[i] = c;
        i += 1;
    }
    t
};

/// `POW[j][x]`: the high byte of the table applied `j` times (`POW[0]` is the identity).
///
/// Each step of the standard's algorithm keeps only the high byte of the previous value:
/// `x' = hi(TABLE[x]) ^ byte`, and the check value is `TABLE[x]` of the last `x`. The table is
/// linear over GF(2) (a CRC table maps XOR to XOR), so eight steps unroll to
/// `x'' = POW[8][x] ^ POW[7][b1] ^ … ^ POW[1][b7] ^ b8`: eight independent lookups and one that
/// depends on the previous state, instead of a chain of eight dependent lookups.
const POW: [[u8; 256]; 9] = {
    let mut p = [[0u8; 256]; 9];
    let mut v = 0;
    while v < 256 {
        p[0][v] = v as u8;
        v += 1;
    }
    let mut j = 1;
    while j < 9 {
        let mut v = 0;
        while v < 256 {
            p[j][v] = (TABLE[p[j - 1][v] as usize] >> 8) as u8;
            v += 1;
        }
        j += 1;
    }
    p
};

/// HJ 212-2017 Appendix A: `crc = (crc >> 8) ^ byte`, then 8 reflected shifts with 0xA001 —
/// which, as `(crc >> 8) ^ byte` fits in a byte, is one table lookup. Not CRC-16/MODBUS, which
/// XORs the byte into the low half and keeps the high byte. Computed eight bytes at a time (see
/// [`POW`]); tested against the bit-by-bit loop.
pub fn hj212(data: &[u8]) -> u16 {
    let Some((&first, rest)) = data.split_first() else {
        return 0xFFFF;
    };
    let mut x = 0xFF ^ first;
    let mut blocks = rest.chunks_exact(8);
    for c in &mut blocks {
        x = POW[8][usize::from(x)]
            ^ POW[7][usize::from(c[0])]
            ^ POW[6][usize::from(c[1])]
            ^ POW[5][usize::from(c[2])]
            ^ POW[4][usize::from(c[3])]
            ^ POW[3][usize::from(c[4])]
            ^ POW[2][usize::from(c[5])]
            ^ POW[1][usize::from(c[6])]
            ^ c[7];
    }
    for &b in blocks.remainder() {
        x = POW[1][usize::from(x)] ^ b;
    }
    TABLE[usize::from(x)]
}

/// CRC-16/MODBUS (init 0xFFFF, reflected 0xA001, no final XOR).
pub fn modbus(data: &[u8]) -> u16 {
    data.iter().fold(0xFFFF, |crc, &b| {
        (crc >> 8) ^ TABLE[usize::from((crc ^ u16::from(b)) & 0xFF)]
    })
}

/// The standard's algorithm exactly as Appendix A writes it, bit by bit (kept to test the table).
pub fn hj212_bitwise(data: &[u8]) -> u16 {
    let mut crc: u16 = 0xFFFF;
    for &b in data {
        crc = (crc >> 8) ^ u16::from(b);
        for _ in 0..8 {
            let lsb = crc & 1;
            crc >>= 1;
            if lsb == 1 {
                crc ^= 0xA001;
            }
        }
    }
    crc
}

/// Which check value a station's packets carry. The standard's is the default; the others exist
/// for known-deviant devices and are set per station, never guessed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum CrcMode {
    #[default]
    Standard,
    /// CRC-16/MODBUS printed high byte first.
    Modbus,
    /// CRC-16/MODBUS printed low byte first (seen in real receiver logs).
    ModbusSwapped,
}

impl CrcMode {
    pub fn compute(self, data: &[u8]) -> u16 {
        match self {
            CrcMode::Standard => hj212(data),
            CrcMode::Modbus => modbus(data),
            CrcMode::ModbusSwapped => modbus(data).swap_bytes(),
        }
    }
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "standard" | "hj212" => Some(CrcMode::Standard),
            "modbus" => Some(CrcMode::Modbus),
            "modbus_swapped" => Some(CrcMode::ModbusSwapped),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn self_checks_from_the_reference() {
        assert_eq!(hj212(b""), 0xFFFF);
        assert_eq!(hj212(b"123456789"), 0x2F80);
        let seg = b"QN=20160801085857223;ST=32;CN=1062;PW=100000;MN=010000A8900016F000169DC0;Flag=5;CP=&&RtdInterval=30&&";
        assert_eq!(seg.len(), 101);
        assert_eq!(hj212(seg), 0x1C80);
        assert_eq!(
            modbus(seg),
            0x0759,
            "MODBUS gives a different value for the same segment"
        );
        assert_eq!(modbus(b"123456789"), 0x4B37);
    }

    #[test]
    fn table_form_equals_the_appendix_a_loop() {
        let mut data = Vec::new();
        for i in 0..3000u32 {
            data.push((i.wrapping_mul(2_654_435_761) >> 13) as u8);
            assert_eq!(hj212(&data), hj212_bitwise(&data));
        }
    }

    #[test]
    fn low_byte_is_one_of_eight_values() {
        // A property of the standard's algorithm (its output is T[x] of a CRC-16/ARC table).
        for i in 0..2000u32 {
            let data = i.to_le_bytes();
            assert!(
                [0x00, 0x01, 0x40, 0x41, 0x80, 0x81, 0xC0, 0xC1].contains(&(hj212(&data) & 0xFF))
            );
        }
    }
}
