//! Libraries never print: no `print!`, `println!`, `eprint!` or `eprintln!` in any source file
//! under `crates/*/src` of the workspace, except the binaries' own files (each crate's
//! `src/main.rs`, and the `convzoo` binary's command modules in `src/cli/`). Comment lines (doc examples) are not code and are
//! skipped.

use std::path::{Path, PathBuf};

/// The binaries' own files: each crate's `src/main.rs`, and everything in the `convzoo` binary's
/// command folder (relative to this crate). They are the only ones that may print.
const BINARY_MAIN: &str = "src/main.rs";
const BINARY_COMMANDS: &str = "src/cli";

const MACROS: [&str; 4] = ["eprintln!", "eprint!", "println!", "print!"];

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let mut entries: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.unwrap().path())
        .collect();
    entries.sort();
    for path in entries {
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// The first printing macro in `line`, if it is code (not a comment line).
fn printing_macro(line: &str) -> Option<&'static str> {
    let code = line.trim_start();
    if code.starts_with("//") {
        return None;
    }
    MACROS.into_iter().find(|m| {
        code.match_indices(m).any(|(i, _)| {
            // `print!` inside `eprint!`/`sprint!`-like names is another macro.
            !code[..i].ends_with(|c: char| c.is_alphanumeric() || c == '_')
        })
    })
}

#[test]
fn libraries_never_print() {
    let here = Path::new(env!("CARGO_MANIFEST_DIR"))
        .canonicalize()
        .unwrap();
    let crates = here.parent().unwrap().to_path_buf();
    let commands = here.join(BINARY_COMMANDS).canonicalize().unwrap();
    let allowed = |f: &Path| f.ends_with(BINARY_MAIN) || f.starts_with(&commands);
    let mut files = Vec::new();
    let mut crate_dirs: Vec<PathBuf> = std::fs::read_dir(&crates)
        .unwrap()
        .map(|e| e.unwrap().path().join("src"))
        .filter(|p| p.is_dir())
        .collect();
    crate_dirs.sort();
    assert!(
        crate_dirs.len() >= 2,
        "no crates under {}",
        crates.display()
    );
    for dir in crate_dirs {
        rust_files(&dir, &mut files);
    }
    let mut found = Vec::new();
    for file in files.iter().filter(|f| !allowed(f)) {
        let text = std::fs::read_to_string(file).unwrap();
        for (n, line) in text.lines().enumerate() {
            if let Some(m) = printing_macro(line) {
                let shown = file.strip_prefix(&crates).unwrap_or(file);
                found.push(format!(
                    "crates/{}:{}: {m} {}",
                    shown.display(),
                    n + 1,
                    line.trim()
                ));
            }
        }
    }
    assert!(
        found.is_empty(),
        "libraries must not print (report through a return value, an observer or a callback):\n{}",
        found.join("\n")
    );
}

#[test]
fn the_check_sees_each_macro() {
    assert_eq!(printing_macro(r#"    println!("x");"#), Some("println!"));
    assert_eq!(printing_macro(r#"eprint!("\r");"#), Some("eprint!"));
    assert_eq!(printing_macro(r#"let _ = 1; print!("x")"#), Some("print!"));
    assert_eq!(printing_macro(r#"eprintln!("{e}")"#), Some("eprintln!"));
    assert_eq!(printing_macro(r#"/// println!("doc example")"#), None);
    assert_eq!(printing_macro(r#"let s = format!("x");"#), None);
}
