//! Counting APDUs and bytes in a pcscd log written with `--apdu --debug`, where pcsc-lite logs
//! each command as `APDU: <hex bytes>` and each response (data and status word) as
//! `SW: <hex bytes>`.

/// Traffic between PC/SC clients and the card over some stretch of a pcscd log.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Traffic {
    pub commands: usize,
    pub command_bytes: usize,
    pub responses: usize,
    pub response_bytes: usize,
}

impl Traffic {
    pub fn total_bytes(&self) -> usize {
        self.command_bytes + self.response_bytes
    }
}

/// Number of hex byte tokens after `marker` on `line`, if the marker is there.
fn bytes_after(line: &str, marker: &str) -> Option<usize> {
    let rest = &line[line.find(marker)? + marker.len()..];
    Some(
        rest.split_whitespace()
            .filter(|t| t.len() == 2 && t.chars().all(|c| c.is_ascii_hexdigit()))
            .count(),
    )
}

/// The traffic logged in `log`.
pub fn count(log: &str) -> Traffic {
    let mut traffic = Traffic::default();
    for line in log.lines() {
        if let Some(n) = bytes_after(line, "APDU: ") {
            traffic.commands += 1;
            traffic.command_bytes += n;
        } else if let Some(n) = bytes_after(line, "SW: ") {
            traffic.responses += 1;
            traffic.response_bytes += n;
        }
    }
    traffic
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_commands_responses_and_bytes() {
        let log = "\
00000008 APDU: 00 A4 04 00 09 A0 00 00 03 08 00 00 10 00 \n\
00000142 SW: 61 11 \n\
00000010 ifdhandler.c:1234:IFDHTransmitToICC() rx 2 bytes\n\
00000005 APDU: 00 C0 00 00 11 \n\
00000120 SW: 4F 06 00 00 10 00 01 00 79 07 4F 05 A0 00 00 03 08 90 00 \n";
        let t = count(log);
        assert_eq!(t.commands, 2);
        assert_eq!(t.command_bytes, 14 + 5);
        assert_eq!(t.responses, 2);
        assert_eq!(t.response_bytes, 2 + 19);
        assert_eq!(t.total_bytes(), 40);
    }

    #[test]
    fn other_lines_do_not_count() {
        assert_eq!(
            count("pcscdaemon.c:123:main() pcsc-lite 1.9.9 daemon ready.\n"),
            Traffic::default()
        );
    }
}
