//! The repository's text reads as a reference, not as a diary: no file may name the working
//! periods it was written in (an ordinal and the word for such a period, or that word alone), the
//! hour, day or night of writing, a checklist label of a task, or an issue number. Measurements and their commits belong in `BENCHMARKS.md` and `.ci/README.md`, stated
//! as facts.
//!
//! The files are git's tracked ones plus untracked files git does not ignore (so a new file is
//! checked before it is added); without git, a walk of the workspace that skips `target/`,
//! `.git/`, `.venv*/`, `runs/` and `__pycache__/`. Data is skipped (`datasets/`, images,
//! safetensors, gzip, `Cargo.lock`, anything that is not UTF-8 text).
//!
//! The checks are case-insensitive. The word for a working period is allowed only inside the
//! API names the repository uses ([`ALLOWED`]: ONNX Runtime's and Selenium's), which are removed
//! from a line before it is checked. The forbidden words are built from fragments, so this file
//! is checked like any other.

use std::path::{Path, PathBuf};
use std::process::Command;

/// The word for a working period.
const PERIOD: &str = concat!("ses", "sion");
/// Times of writing, matched as whole words.
const WHEN: [&str; 3] = [
    concat!("to", "day"),
    concat!("to", "night"),
    concat!("this ", "hour"),
];
/// A task's checklist label, matched as whole words.
const LABELS: [&str; 2] = [concat!("must", "-show"), concat!("must", " show")];
/// Words that make an issue number of the digits after them.
const ISSUE: &str = concat!("is", "sue");
/// Ordinals that number working periods.
const ORDINALS: [&str; 20] = [
    "first",
    "second",
    "third",
    "fourth",
    "fifth",
    "sixth",
    "seventh",
    "eighth",
    "ninth",
    "tenth",
    "eleventh",
    "twelfth",
    "thirteenth",
    "fourteenth",
    "fifteenth",
    "sixteenth",
    "seventeenth",
    "eighteenth",
    "nineteenth",
    "twentieth",
];

/// API names that contain the word for a working period (ONNX Runtime's Python API and the
/// `tools/onnx` scripts' helpers around it, Selenium's WebDriver), exact and case-sensitive,
/// removed from a line in this order (the longer ones first).
const ALLOWED: [&str; 10] = [
    concat!("ses", "sion = open_", "ses", "sion"),
    concat!("from ", "ses", "sion import"),
    concat!("compare(", "ses", "sion,"),
    concat!("Inference", "Ses", "sion"),
    concat!("Ses", "sion", "Options"),
    concat!("ses", "sion_id"),
    concat!("open_", "ses", "sion"),
    concat!("ses", "sion.py"),
    concat!("ses", "sion.run"),
    concat!("ses", "sion.get_inputs"),
];

/// The workspace root (this crate is `tests/` in it).
fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("tests/ has a parent")
        .to_path_buf()
}

/// The files to check, relative to `root`.
fn files(root: &Path) -> Vec<PathBuf> {
    let listed = Command::new("git")
        .arg("-C")
        .arg(root)
        .args([
            "ls-files",
            "-z",
            "--cached",
            "--others",
            "--exclude-standard",
        ])
        .output();
    match listed {
        Ok(out) if out.status.success() => out
            .stdout
            .split(|&b| b == 0)
            .filter(|name| !name.is_empty())
            .map(|name| PathBuf::from(String::from_utf8_lossy(name).into_owned()))
            .collect(),
        _ => {
            let mut found = Vec::new();
            walk(root, root, &mut found);
            found
        }
    }
}

/// Every file under `dir`, relative to `root`, outside build output, git and virtual
/// environments.
fn walk(root: &Path, dir: &Path, found: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        let Ok(kind) = entry.file_type() else {
            continue;
        };
        let path = entry.path();
        if kind.is_dir() {
            let skipped = ["target", ".git", "runs", "__pycache__"].contains(&name.as_str())
                || name.starts_with(".venv");
            if !skipped {
                walk(root, &path, found);
            }
        } else if kind.is_file()
            && let Ok(relative) = path.strip_prefix(root)
        {
            found.push(relative.to_path_buf());
        }
    }
}

/// Whether `path` (relative, `/`-separated) is data rather than text to check.
fn is_data(path: &str) -> bool {
    const EXTENSIONS: [&str; 14] = [
        "png",
        "jpg",
        "jpeg",
        "gif",
        "webp",
        "bmp",
        "ico",
        "safetensors",
        "gz",
        "bpk",
        "onnx",
        "pt",
        "pth",
        "bin",
    ];
    let name = path.rsplit('/').next().unwrap_or(path);
    let extension = name.rsplit_once('.').map(|(_, e)| e.to_ascii_lowercase());
    path.starts_with("datasets/")
        || name == "Cargo.lock"
        || extension.is_some_and(|e| EXTENSIONS.contains(&e.as_str()))
}

/// Whether a bare `#` and digits may be a colour, not an issue (style sheets, scripts, markup).
fn has_colours(path: &str) -> bool {
    [".css", ".js", ".html", ".svg"]
        .iter()
        .any(|e| path.ends_with(e))
}

fn is_word_char(c: Option<char>) -> bool {
    c.is_some_and(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// The char before byte `at` of `s`, and the one at byte `end`.
fn around(s: &str, at: usize, end: usize) -> (Option<char>, Option<char>) {
    (s[..at].chars().next_back(), s[end..].chars().next())
}

/// Byte offsets of every occurrence of `needle` in `hay`.
fn occurrences<'a>(hay: &'a str, needle: &'a str) -> impl Iterator<Item = usize> + 'a {
    hay.match_indices(needle).map(|(i, _)| i)
}

/// Whether `hay` holds `needle` as a whole word (or words).
fn has_word(hay: &str, needle: &str) -> bool {
    occurrences(hay, needle).any(|i| {
        let (before, after) = around(hay, i, i + needle.len());
        !is_word_char(before) && !is_word_char(after)
    })
}

/// What is wrong with one line, as labels (empty: nothing).
fn line_problems(line: &str, colours: bool) -> Vec<String> {
    let mut cleaned = line.to_string();
    for name in ALLOWED {
        cleaned = cleaned.replace(name, " ");
    }
    let text = cleaned.to_lowercase();
    let mut found = Vec::new();
    for i in occurrences(&text, PERIOD) {
        let before = text[..i].chars().next_back();
        if before.is_some_and(|c| c.is_ascii_alphabetic()) {
            continue; // inside another word
        }
        let previous = text[..i]
            .trim_end()
            .rsplit(|c: char| !c.is_ascii_alphabetic())
            .next();
        if previous.is_some_and(|w| ORDINALS.contains(&w)) {
            found.push(format!("an ordinal {PERIOD}"));
        } else {
            found.push(format!("'{PERIOD}' outside an allowed API name"));
        }
    }
    for word in WHEN.iter().chain(&LABELS) {
        if has_word(&text, word) {
            found.push(format!("'{word}'"));
        }
    }
    for i in occurrences(&text, ISSUE) {
        if is_word_char(text[..i].chars().next_back()) {
            continue;
        }
        let rest = text[i + ISSUE.len()..].trim_start_matches('s');
        let rest = rest.trim_start().trim_start_matches('#').trim_start();
        if rest.starts_with(|c: char| c.is_ascii_digit()) {
            found.push("an issue number".into());
        }
    }
    if !colours {
        for (i, _) in text.match_indices('#') {
            let before = text[..i].chars().next_back();
            if is_word_char(before) || matches!(before, Some('&' | '#')) {
                continue;
            }
            let digits = text[i + 1..].len()
                - text[i + 1..]
                    .trim_start_matches(|c: char| c.is_ascii_digit())
                    .len();
            let after = text[i + 1 + digits..].chars().next();
            if digits > 0 && !is_word_char(after) {
                found.push("an issue number".into());
            }
        }
    }
    found
}

/// `path:line: problem` for every problem of a file's text.
fn file_problems(path: &str, text: &str) -> Vec<String> {
    let colours = has_colours(path);
    text.lines()
        .enumerate()
        .flat_map(|(n, line)| {
            line_problems(line, colours)
                .into_iter()
                .map(move |p| format!("{path}:{}: {p}: {}", n + 1, line.trim()))
        })
        .collect()
}

#[test]
fn no_diary_language_in_the_repository() {
    let root = root();
    let mut checked = 0;
    let mut problems = Vec::new();
    for relative in files(&root) {
        let path = relative.to_string_lossy().replace('\\', "/");
        if is_data(&path) {
            continue;
        }
        // Listed but deleted in the work tree, or unreadable: nothing to check.
        let Ok(bytes) = std::fs::read(root.join(&relative)) else {
            continue;
        };
        let Ok(text) = String::from_utf8(bytes) else {
            continue; // not text
        };
        if text.contains('\0') {
            continue;
        }
        checked += 1;
        problems.extend(file_problems(&path, &text));
    }
    assert!(checked > 0, "no files found under {}", root.display());
    assert!(
        problems.is_empty(),
        "diary language in {} place(s); state facts (figures and their commits go in \
         BENCHMARKS.md or .ci/README.md):\n{}",
        problems.len(),
        problems.join("\n")
    );
}

#[test]
fn the_checks_catch_each_form_and_allow_the_api_names() {
    let bad = [
        format!("Measured in the ninth {PERIOD}."),
        format!("as measured this {PERIOD}"),
        format!("{}s of the week", PERIOD.to_uppercase()),
        format!("Runs {} on 2 cores", WHEN[0]),
        format!("ran {}, slower", WHEN[1]),
        format!("noisier {}", WHEN[2]),
        format!("{} 1 is met", LABELS[0]),
        format!("what {} #{} asked", ISSUE, 13),
        format!("that is {} 13's work", ISSUE),
        format!("see #{} for the plan", 13),
    ];
    for line in &bad {
        assert!(!line_problems(line, false).is_empty(), "not caught: {line}");
    }
    let good = [
        concat!("s = ort.Inference", "Ses", "sion(path, opts)"),
        concat!("opts = ort.Ses", "sionOptions()"),
        concat!("from ", "ses", "sion import open_", "ses", "sion"),
        concat!(
            "        ",
            "ses",
            "sion = open_",
            "ses",
            "sion(args.model, args.threads)"
        ),
        concat!(
            "    (theirs,) = ",
            "ses",
            "sion.run([\"logits\"], {\"input\": x})"
        ),
        concat!("driver.", "ses", "sion_id"),
        concat!("an ob", "ses", "sion with pos", "ses", "sion"),
        concat!("the to", "days_count variable, a to", "nightly build"),
        concat!("#[derive(Debug)] and r#\"raw\"# and #fff and &#", "123;"),
        "The first pass; the second run; 2 cores",
    ];
    for line in good {
        assert!(line_problems(line, false).is_empty(), "flagged: {line}");
    }
    let colour = concat!("color: \"#", "008000\";");
    assert!(line_problems(colour, true).is_empty());
    assert!(!line_problems(colour, false).is_empty());
}

#[test]
fn data_files_are_skipped() {
    for path in [
        "datasets/fashion-mnist/README.md",
        "docs/serve.png",
        "crates/convzoo-models/tests/fixtures/lenet.safetensors",
        "Cargo.lock",
        "x/y.GZ",
    ] {
        assert!(is_data(path), "{path}");
    }
    for path in [
        "README.md",
        "tests/docs_language.rs",
        ".ci/run",
        concat!("tools/onnx/ses", "sion.py"),
    ] {
        assert!(!is_data(path), "{path}");
    }
}
