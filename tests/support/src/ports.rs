//! Picking a vpcd port pair: vpcd listens on `port` (reader `00 00`) and `port + 1` (`00 01`)
//! on all interfaces, so both must be free there.

use std::net::{Ipv4Addr, TcpListener};
use std::sync::atomic::{AtomicU32, Ordering};

/// Ports are drawn from this even-aligned range, away from the system vpcd's 35963/35964 and
/// from Linux's ephemeral range (32768–60999 by default, where a stale client port could sit).
const FIRST: u32 = 20_000;
const LAST: u32 = 32_000;

/// Next candidate, shared by all threads so parallel tests in one process never draw the
/// same pair; seeded from the pid so parallel processes start apart.
static NEXT: AtomicU32 = AtomicU32::new(0);

fn next_candidate() -> u16 {
    let span = (LAST - FIRST) / 2;
    let seed = std::process::id().wrapping_mul(7919) % span;
    let n = NEXT.fetch_add(1, Ordering::Relaxed);
    let port = FIRST + 2 * ((seed + n) % span);
    // FIRST + 2 * span <= LAST < u16::MAX, so this never saturates.
    u16::try_from(port).unwrap_or(u16::MAX - 1)
}

/// True if nothing listens on `port` on any interface.
pub fn is_free(port: u16) -> bool {
    TcpListener::bind((Ipv4Addr::UNSPECIFIED, port)).is_ok()
}

/// An even port whose successor is also free. Another process may still take it before pcscd
/// binds it; `Stack::start` checks that its own pcscd got it and retries otherwise.
pub fn pick_pair() -> Option<u16> {
    (0..(LAST - FIRST) / 2)
        .map(|_| next_candidate())
        .find(|&p| is_free(p) && is_free(p + 1))
}

/// Inodes of the IPv4 sockets listening on `port` (from `/proc/net/tcp`, state `0A`).
fn listening_inodes(port: u16) -> Vec<String> {
    let table = std::fs::read_to_string("/proc/net/tcp").unwrap_or_default();
    let suffix = format!(":{port:04X}");
    table
        .lines()
        .skip(1)
        .filter_map(|line| {
            let fields: Vec<&str> = line.split_whitespace().collect();
            let local = fields.get(1)?;
            let listening = fields.get(3)? == &"0A";
            (listening && local.ends_with(&suffix))
                .then(|| fields.get(9).map(|s| (*s).to_owned()))?
        })
        .collect()
}

/// True if process `pid` itself holds a socket listening on `port`: tells our pcscd's vpcd
/// from anything else that may have taken the port.
pub fn held_by(pid: u32, port: u16) -> bool {
    let inodes = listening_inodes(port);
    if inodes.is_empty() {
        return false;
    }
    let Ok(fds) = std::fs::read_dir(format!("/proc/{pid}/fd")) else {
        return false;
    };
    fds.filter_map(Result::ok)
        .filter_map(|fd| std::fs::read_link(fd.path()).ok())
        .any(|target| {
            let target = target.to_string_lossy();
            inodes
                .iter()
                .any(|inode| target == format!("socket:[{inode}]"))
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pair_is_even_and_free() {
        let port = pick_pair().expect("a free pair");
        assert_eq!(port % 2, 0);
        assert!((FIRST..LAST).contains(&u32::from(port)));
        assert!(is_free(port) && is_free(port + 1));
    }

    #[test]
    fn consecutive_picks_differ() {
        let a = pick_pair().expect("pair");
        let b = pick_pair().expect("pair");
        assert_ne!(a, b);
    }

    #[test]
    fn a_taken_port_is_skipped() {
        let port = pick_pair().expect("pair");
        let _held = TcpListener::bind((Ipv4Addr::UNSPECIFIED, port + 1)).expect("bind");
        assert!(!is_free(port + 1));
        let other = pick_pair().expect("pair");
        assert_ne!(other, port);
    }

    #[test]
    fn held_by_sees_our_own_listener_only() {
        let port = pick_pair().expect("pair");
        assert!(!held_by(std::process::id(), port));
        let _held = TcpListener::bind((Ipv4Addr::UNSPECIFIED, port)).expect("bind");
        assert!(held_by(std::process::id(), port));
        // pid 1 does not hold our socket.
        assert!(!held_by(1, port));
    }
}
