//! The little BER-TLV the card needs: encode one object, walk the objects of a buffer.
//!
//! Kept local (not `carecard_card::tlv`) so the virtual card is an independent implementation:
//! a bug in the host's codec must not be mirrored by the card it is tested against.

/// One decoded object: its tag bytes (as one number) and its value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tlv<'a> {
    pub tag: u32,
    pub value: &'a [u8],
}

/// Encodes `tag` (1–3 bytes, given as the number its bytes spell) with a BER length.
pub fn encode(tag: u32, value: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(value.len() + 8);
    push_tag(&mut out, tag);
    push_len(&mut out, value.len());
    out.extend_from_slice(value);
    out
}

fn push_tag(out: &mut Vec<u8>, tag: u32) {
    if tag > 0xFFFF {
        out.push((tag >> 16) as u8);
    }
    if tag > 0xFF {
        out.push((tag >> 8) as u8);
    }
    out.push(tag as u8);
}

fn push_len(out: &mut Vec<u8>, len: usize) {
    match len {
        0..=0x7F => out.push(len as u8),
        0x80..=0xFF => out.extend_from_slice(&[0x81, len as u8]),
        _ => out.extend_from_slice(&[0x82, (len >> 8) as u8, len as u8]),
    }
}

/// Parses every top-level object of `data`; `None` if anything is malformed or truncated.
pub fn parse(mut data: &[u8]) -> Option<Vec<Tlv<'_>>> {
    let mut out = Vec::new();
    while !data.is_empty() {
        let (tlv, rest) = parse_one(data)?;
        out.push(tlv);
        data = rest;
    }
    Some(out)
}

/// The value of the first top-level object with `tag`.
pub fn find(data: &[u8], tag: u32) -> Option<&[u8]> {
    parse(data)?
        .into_iter()
        .find(|t| t.tag == tag)
        .map(|t| t.value)
}

fn parse_one(data: &[u8]) -> Option<(Tlv<'_>, &[u8])> {
    let (tag, data) = parse_tag(data)?;
    let (len, data) = parse_len(data)?;
    if data.len() < len {
        return None;
    }
    let (value, rest) = data.split_at(len);
    Some((Tlv { tag, value }, rest))
}

fn parse_tag(data: &[u8]) -> Option<(u32, &[u8])> {
    let first = *data.first()?;
    let mut tag = u32::from(first);
    let mut used = 1;
    if first & 0x1F == 0x1F {
        // Subsequent bytes carry on while their top bit is set; PIV tags stay within 3 bytes.
        loop {
            let byte = *data.get(used)?;
            tag = (tag << 8) | u32::from(byte);
            used += 1;
            if byte & 0x80 == 0 {
                break;
            }
            if used >= 3 {
                return None;
            }
        }
    }
    Some((tag, &data[used..]))
}

fn parse_len(data: &[u8]) -> Option<(usize, &[u8])> {
    let first = *data.first()?;
    match first {
        0..=0x7F => Some((usize::from(first), &data[1..])),
        0x81 => Some((usize::from(*data.get(1)?), &data[2..])),
        0x82 => {
            let len = (usize::from(*data.get(1)?) << 8) | usize::from(*data.get(2)?);
            Some((len, &data[3..]))
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_long_lengths_and_multi_byte_tags() {
        let value = vec![0xAB; 300];
        let encoded = encode(0x5FC105, &value);
        assert_eq!(&encoded[..6], &[0x5F, 0xC1, 0x05, 0x82, 0x01, 0x2C]);
        let parsed = parse(&encoded).expect("parses");
        assert_eq!(
            parsed,
            vec![Tlv {
                tag: 0x5FC105,
                value: &value
            }]
        );
    }

    #[test]
    fn rejects_truncated_values() {
        assert_eq!(parse(&[0x53, 0x05, 1, 2]), None);
        assert_eq!(parse(&[0x5F]), None);
        assert_eq!(parse(&[0x53, 0x83, 0, 0, 1]), None);
    }
}
