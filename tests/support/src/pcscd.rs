//! The private pcscd of a stack: its reader.conf and how it is launched.

use std::path::Path;

/// The vpcd driver shipped by Debian's `vsmartcard-vpcd`.
pub const VPCD_DRIVER: &str = "/usr/lib/pcsc/drivers/serial/libifdvpcd.so";

/// reader.conf text making vpcd listen on `port` (and `port + 1`) instead of its default.
/// DEVICENAME `/dev/null:<port>` tells vpcd to act as a server (no host) on that port.
pub fn reader_conf(port: u16) -> String {
    format!(
        "FRIENDLYNAME \"Virtual PCD\"\nDEVICENAME   /dev/null:0x{port:04X}\nLIBPATH      {VPCD_DRIVER}\nCHANNELID    0x{port:04X}\n"
    )
}

/// Shell script run under `unshare -m`: a private bind mount puts pcscd's hard-wired socket
/// folder `/run/pcscd` onto the stack's own `run/`, so the system pcscd never sees it.
/// `$1` is the stack's run dir, `$2` its reader.conf.d, the rest extra pcscd arguments.
pub const LAUNCH_SCRIPT: &str =
    "run=$1; conf=$2; shift 2; mount --bind \"$run\" /run/pcscd && exec pcscd -f -c \"$conf\" \"$@\"";

/// The argument list after the program `unshare`.
pub fn launch_args(run_dir: &Path, conf_dir: &Path, extra: &[String]) -> Vec<std::ffi::OsString> {
    let mut args: Vec<std::ffi::OsString> = vec![
        "-m".into(),
        "sh".into(),
        "-c".into(),
        LAUNCH_SCRIPT.into(),
        "sh".into(),
        run_dir.into(),
        conf_dir.into(),
    ];
    args.extend(extra.iter().map(Into::into));
    args
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reader_conf_names_the_port_in_hex_twice() {
        let text = reader_conf(35963);
        assert_eq!(
            text,
            "FRIENDLYNAME \"Virtual PCD\"\nDEVICENAME   /dev/null:0x8C7B\n\
             LIBPATH      /usr/lib/pcsc/drivers/serial/libifdvpcd.so\nCHANNELID    0x8C7B\n"
        );
    }

    #[test]
    fn launch_passes_paths_as_arguments_not_inside_the_script() {
        let args = launch_args(
            Path::new("/tmp/a b/run"),
            Path::new("/tmp/a b/conf"),
            &["-a".into()],
        );
        assert_eq!(args[0], "-m");
        assert_eq!(args[5], "/tmp/a b/run");
        assert_eq!(args[6], "/tmp/a b/conf");
        assert_eq!(args[7], "-a");
        assert!(!LAUNCH_SCRIPT.contains("/tmp"));
    }
}
