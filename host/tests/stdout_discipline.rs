//! stdout carries protocol frames only: every print to stdout in the host's source is one a
//! person asked for (--version, --help, diagnose) and is marked `// stdout-ok`.

use std::fs;
use std::path::Path;

fn sources(dir: &Path, out: &mut Vec<(String, String)>) {
    for entry in fs::read_dir(dir).expect("src dir").flatten() {
        let path = entry.path();
        if path.is_dir() {
            sources(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            let text = fs::read_to_string(&path).expect("source");
            out.push((path.display().to_string(), text));
        }
    }
}

#[test]
fn every_stdout_print_is_marked_and_in_a_cli_path() {
    let mut files = Vec::new();
    sources(
        &Path::new(env!("CARGO_MANIFEST_DIR")).join("src"),
        &mut files,
    );
    assert!(files.len() > 5, "found the sources");
    let mut marked = 0;
    for (path, text) in &files {
        for (n, line) in text.lines().enumerate() {
            let code = line.split("//").next().unwrap_or_default();
            let prints = ["print!(", "println!(", "dbg!("]
                .iter()
                .any(|p| code.contains(p) && !code.contains(&format!("e{p}")));
            if prints {
                assert!(
                    line.contains("// stdout-ok"),
                    "{path}:{}: unmarked stdout print: {line}",
                    n + 1
                );
                assert!(
                    path.ends_with("main.rs") || path.ends_with("diagnose.rs"),
                    "{path}:{}: stdout print outside the CLI paths",
                    n + 1
                );
                marked += 1;
            }
            if code.contains("io::stdout()") {
                assert!(
                    path.ends_with("main.rs"),
                    "{path}: stdout used outside main.rs (the frame writer)"
                );
            }
        }
    }
    assert!(marked > 0, "the CLI prints were found");
}
