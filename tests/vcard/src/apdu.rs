//! Command APDU parsing (short and extended forms) and status words.

/// A status word the card answers with.
pub type Sw = u16;

pub const SW_OK: Sw = 0x9000;
pub const SW_WRONG_LENGTH: Sw = 0x6700;
pub const SW_SECURITY_NOT_SATISFIED: Sw = 0x6982;
pub const SW_AUTH_BLOCKED: Sw = 0x6983;
pub const SW_CONDITIONS_NOT_SATISFIED: Sw = 0x6985;
pub const SW_WRONG_DATA: Sw = 0x6A80;
pub const SW_FILE_NOT_FOUND: Sw = 0x6A82;
pub const SW_NOT_ENOUGH_MEMORY: Sw = 0x6A84;
pub const SW_WRONG_P1P2: Sw = 0x6A86;
pub const SW_REF_NOT_FOUND: Sw = 0x6A88;
pub const SW_INS_NOT_SUPPORTED: Sw = 0x6D00;
pub const SW_CLA_NOT_SUPPORTED: Sw = 0x6E00;
pub const SW_NO_PRECISE_DIAGNOSIS: Sw = 0x6F00;
pub const SW_MEMORY_FAILURE: Sw = 0x6581;

/// `63Cx`: verification failed, `x` tries left.
pub fn sw_retries(left: u8) -> Sw {
    0x63C0 | Sw::from(left.min(0x0F))
}

/// One parsed command APDU.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Command<'a> {
    pub cla: u8,
    pub ins: u8,
    pub p1: u8,
    pub p2: u8,
    pub data: &'a [u8],
    /// Expected response length; an absent Le is read as "up to 256" (lenient, as most cards).
    pub ne: usize,
}

impl<'a> Command<'a> {
    /// Parses cases 1–4, short and extended; `Err(6700)` for any inconsistent length.
    pub fn parse(apdu: &'a [u8]) -> Result<Command<'a>, Sw> {
        let (header, body) = apdu.split_at_checked(4).ok_or(SW_WRONG_LENGTH)?;
        let mut cmd = Command {
            cla: header[0],
            ins: header[1],
            p1: header[2],
            p2: header[3],
            data: &[],
            ne: 256,
        };
        match body {
            [] => {}
            [le] => cmd.ne = short_ne(*le),
            [0, rest @ ..] if rest.len() >= 2 => parse_extended(&mut cmd, rest)?,
            [lc, rest @ ..] => {
                let lc = usize::from(*lc);
                if rest.len() == lc {
                    cmd.data = rest;
                } else if rest.len() == lc + 1 {
                    cmd.data = &rest[..lc];
                    cmd.ne = short_ne(rest[lc]);
                } else {
                    return Err(SW_WRONG_LENGTH);
                }
            }
        }
        Ok(cmd)
    }
}

fn short_ne(le: u8) -> usize {
    if le == 0 {
        256
    } else {
        usize::from(le)
    }
}

fn extended_ne(hi: u8, lo: u8) -> usize {
    match (usize::from(hi) << 8) | usize::from(lo) {
        0 => 65536,
        n => n,
    }
}

/// `rest` follows the 00 that marks an extended APDU.
fn parse_extended<'a>(cmd: &mut Command<'a>, rest: &'a [u8]) -> Result<(), Sw> {
    if rest.len() == 2 {
        cmd.ne = extended_ne(rest[0], rest[1]);
        return Ok(());
    }
    let lc = (usize::from(rest[0]) << 8) | usize::from(rest[1]);
    let rest = &rest[2..];
    if lc == 0 {
        return Err(SW_WRONG_LENGTH);
    }
    if rest.len() == lc {
        cmd.data = rest;
    } else if rest.len() == lc + 2 {
        cmd.data = &rest[..lc];
        cmd.ne = extended_ne(rest[lc], rest[lc + 1]);
    } else {
        return Err(SW_WRONG_LENGTH);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_all_short_cases() {
        let c = Command::parse(&[0, 0x20, 0, 0x80]).expect("case 1");
        assert_eq!((c.ins, c.data.len()), (0x20, 0));
        let c = Command::parse(&[0, 0xC0, 0, 0, 0x10]).expect("case 2");
        assert_eq!(c.ne, 16);
        let c = Command::parse(&[0, 0xCB, 0x3F, 0xFF, 2, 0x5C, 0]).expect("case 3");
        assert_eq!(c.data, &[0x5C, 0]);
        let c = Command::parse(&[0, 0xCB, 0x3F, 0xFF, 1, 0x5C, 0]).expect("case 4");
        assert_eq!((c.data, c.ne), (&[0x5C][..], 256));
        assert_eq!(
            Command::parse(&[0, 0xCB, 0x3F, 0xFF, 3, 1]),
            Err(SW_WRONG_LENGTH)
        );
        assert_eq!(Command::parse(&[0, 0xCB]), Err(SW_WRONG_LENGTH));
    }

    #[test]
    fn parses_extended_cases() {
        let c = Command::parse(&[0, 0x87, 7, 0x9A, 0, 0, 2, 0xAA, 0xBB, 0, 0]).expect("case 4E");
        assert_eq!((c.data, c.ne), (&[0xAA, 0xBB][..], 65536));
        assert_eq!(
            Command::parse(&[0, 0x87, 7, 0x9A, 0, 0, 3, 0xAA]),
            Err(SW_WRONG_LENGTH)
        );
    }
}
