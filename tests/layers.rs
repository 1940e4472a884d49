//! The layers point one way: `cli → cmd → (watch → apply) → … → nl → sys`. A module may name only
//! modules of a lower layer (`crate::NAME`, or `super::NAME` from a top-level file), so that
//! a change low down never needs to know who calls it. ARCHITECTURE.md explains the layers;
//! this test keeps the two honest. A second check keeps the words a user reads in
//! `src/present/`. Both read the source as text and need no privileges.

use std::collections::BTreeMap;
use std::path::Path;

/// Each top-level module of src/ and its layer; a module may import only lower layers.
const LAYERS: &[(&str, u8)] = &[
    // Every system call, and with them every `unsafe` block.
    ("sys", 0),
    ("nl", 1),
    ("netns", 1),
    ("output", 2),
    ("pattern", 2),
    ("model", 2),
    ("notify", 2),
    ("hostfiles", 2),
    ("plan", 3),
    ("srcsel", 3),
    ("failure", 4),
    ("context", 4),
    ("present", 5),
    ("apply", 6),
    ("watch", 7),
    ("cmd", 8),
    ("cli", 9),
];

fn layer(module: &str) -> Option<u8> {
    LAYERS
        .iter()
        .find(|(name, _)| *name == module)
        .map(|(_, layer)| *layer)
}

/// The top-level module a file under src/ belongs to: `src/cmd/show.rs` → `cmd`.
fn module_of(path: &Path, src: &Path) -> Option<String> {
    let relative = path.strip_prefix(src).ok()?;
    let first = relative.components().next()?.as_os_str().to_str()?;
    Some(first.trim_end_matches(".rs").to_string())
}

fn rust_files(dir: &Path, out: &mut Vec<std::path::PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|ext| ext == "rs") {
            out.push(path);
        }
    }
}

/// The names after each `crate::` in the code (comments dropped), with their line numbers.
fn crate_paths(text: &str) -> Vec<(usize, String)> {
    let mut found = Vec::new();
    for (number, line) in text.lines().enumerate() {
        let code = line.split("//").next().unwrap_or_default();
        let mut rest = code;
        while let Some(at) = rest.find("crate::") {
            rest = &rest[at + "crate::".len()..];
            let name: String = rest
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                .collect();
            found.push((number + 1, name));
        }
    }
    found
}

/// The module path of a file under src/: `src/srcsel/select.rs` → `[srcsel, select]`,
/// `src/apply/mod.rs` → `[apply]`.
fn module_path(path: &Path, src: &Path) -> Vec<String> {
    let relative = path.strip_prefix(src).unwrap().with_extension("");
    let mut names: Vec<String> = relative
        .components()
        .map(|c| c.as_os_str().to_str().unwrap().to_string())
        .collect();
    if names.last().is_some_and(|name| name == "mod") {
        names.pop();
    }
    names
}

/// The top-level modules that `super::` paths reach, with their line numbers: each `super`
/// leaves one module, the file's own or an inline one (`mod tests {`, which rustfmt closes
/// with a `}` at its own indentation). A path that stays inside the file's top-level module
/// names that module.
fn super_paths(text: &str, file_path: &[String]) -> Vec<(usize, String)> {
    let mut found = Vec::new();
    let mut inline: Vec<(String, usize)> = Vec::new();
    for (number, line) in text.lines().enumerate() {
        let indent = line.len() - line.trim_start().len();
        if inline
            .last()
            .is_some_and(|(_, open)| *open == indent && line.trim() == "}")
        {
            inline.pop();
        }
        let code = line.split("//").next().unwrap_or_default();
        let mut rest = code;
        while let Some(at) = rest.find("super::") {
            rest = &rest[at..];
            let mut ups = 0;
            while let Some(after) = rest.strip_prefix("super::") {
                ups += 1;
                rest = after;
            }
            let mut path: Vec<String> = file_path.to_vec();
            path.extend(inline.iter().map(|(name, _)| name.clone()));
            path.truncate(path.len().saturating_sub(ups));
            let names: Vec<String> = match rest.strip_prefix('{') {
                Some(group) => group
                    .split('}')
                    .next()
                    .unwrap_or_default()
                    .split(',')
                    .map(|item| {
                        item.trim()
                            .split("::")
                            .next()
                            .unwrap_or_default()
                            .to_string()
                    })
                    .filter(|name| !name.is_empty())
                    .collect(),
                None => vec![
                    rest.chars()
                        .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                        .collect(),
                ],
            };
            for name in names {
                let top = path.first().cloned().unwrap_or(name);
                found.push((number + 1, top));
            }
        }
        let words: Vec<&str> = code.split_whitespace().collect();
        if let [.., "mod", name, "{"] = words.as_slice() {
            inline.push((name.to_string(), indent));
        }
    }
    found
}

#[test]
fn no_module_imports_from_a_higher_layer() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    rust_files(&src, &mut files);
    files.sort();
    let mut violations = Vec::new();
    let mut checked = BTreeMap::new();
    for file in &files {
        let module = module_of(file, &src).unwrap();
        if module == "lib" || module == "main" {
            continue;
        }
        let own = layer(&module).unwrap_or_else(|| {
            panic!("src/{module} has no layer: add it to LAYERS in tests/layers.rs and to ARCHITECTURE.md")
        });
        let text = std::fs::read_to_string(file).unwrap();
        let mut paths = crate_paths(&text);
        paths.extend(super_paths(&text, &module_path(file, &src)));
        for (line, name) in paths {
            // Macros exported at the crate root (`crate::warn!`) live in `output`.
            let target = if name == "warn" { "output" } else { &name };
            if target == module {
                continue;
            }
            let Some(theirs) = layer(target) else {
                violations.push(format!(
                    "{}:{line}: crate::{name} is not a known module",
                    file.display()
                ));
                continue;
            };
            *checked.entry(module.clone()).or_insert(0) += 1;
            if theirs >= own {
                violations.push(format!(
                    "{}:{line}: {module} (layer {own}) imports crate::{name} (layer {theirs})",
                    file.display()
                ));
            }
        }
    }
    assert!(
        violations.is_empty(),
        "imports against the layers:\n{}",
        violations.join("\n")
    );
    // The check saw the modules that import the most; an empty map would mean it read nothing.
    for module in ["cli", "cmd", "apply", "watch"] {
        assert!(
            checked.get(module).is_some_and(|n| *n > 0),
            "no imports read for {module}"
        );
    }
}

#[test]
fn super_paths_are_followed_out_of_files_and_inline_modules() {
    let path = |names: &[&str]| names.iter().map(|n| n.to_string()).collect::<Vec<_>>();
    let top = "use super::cmd::run;\nuse super::{plan::Plan, model};\n";
    let names: Vec<String> = super_paths(top, &path(&["apply"]))
        .into_iter()
        .map(|(_, name)| name)
        .collect();
    assert_eq!(names, ["cmd", "plan", "model"]);
    let nested = "use super::read;\n#[cfg(test)]\nmod tests {\n    use super::super::cli;\n    use super::*;\n}\nuse super::super::watch;\n";
    let found = super_paths(nested, &path(&["srcsel", "select"]));
    assert_eq!(
        found,
        [
            (1, "srcsel".to_string()),
            (4, "srcsel".to_string()),
            (5, "srcsel".to_string()),
            (7, "watch".to_string())
        ]
    );
}

#[test]
fn the_crate_path_scanner_finds_imports_and_skips_comments() {
    let text = "use crate::apply::{Rule};\n// crate::cli is a comment\nlet x = crate::plan::Mode::Apply; crate::warn!(\"\");";
    let names: Vec<String> = crate_paths(text)
        .into_iter()
        .map(|(_, name)| name)
        .collect();
    assert_eq!(names, ["apply", "plan", "warn"]);
}

/// The string literals of a file's code before its tests, with their line numbers and the byte
/// offsets of their opening and past their closing quote: comments (`//`, `///`, `//!`) dropped, raw strings and escapes read as Rust reads
/// them, a string that spans lines reported at its first.
fn string_literals(text: &str) -> Vec<(usize, usize, usize, String)> {
    let code = text.split("\n#[cfg(test)]").next().unwrap_or_default();
    let mut found = Vec::new();
    let mut chars = code.char_indices().peekable();
    let line_of = |at: usize| code[..at].matches('\n').count() + 1;
    while let Some((at, c)) = chars.next() {
        match c {
            '/' if chars.peek().is_some_and(|&(_, next)| next == '/') => {
                for (_, c) in chars.by_ref() {
                    if c == '\n' {
                        break;
                    }
                }
            }
            // A char literal: '"' must not open a string. Lifetimes ('a) have no closing quote
            // within three characters, and are skipped one character at a time.
            '\'' => {
                let rest = &code[at..];
                if rest.starts_with("'\"'") || rest.starts_with("'\\\"'") {
                    let skip = if rest.starts_with("'\"'") { 2 } else { 3 };
                    for _ in 0..skip {
                        chars.next();
                    }
                }
            }
            'r' if code[at..].starts_with("r\"") || code[at..].starts_with("r#") => {
                let hashes = code[at + 1..].chars().take_while(|&c| c == '#').count();
                let open = at + 1 + hashes;
                if code[open..].starts_with('"') {
                    let close = format!("\"{}", "#".repeat(hashes));
                    if let Some(end) = code[open + 1..].find(&close) {
                        let stop = open + 1 + end + close.len();
                        found.push((
                            line_of(at),
                            at,
                            stop,
                            code[open + 1..open + 1 + end].to_string(),
                        ));
                        while chars.peek().is_some_and(|&(i, _)| i < stop) {
                            chars.next();
                        }
                    }
                }
            }
            '"' => {
                let mut literal = String::new();
                let mut stop = code.len();
                while let Some((i, c)) = chars.next() {
                    match c {
                        '\\' => {
                            if let Some((_, escaped)) = chars.next() {
                                literal.push(if escaped == 'n' { '\n' } else { escaped });
                            }
                        }
                        '"' => {
                            stop = i + 1;
                            break;
                        }
                        c => literal.push(c),
                    }
                }
                found.push((line_of(at), at, stop, literal));
            }
            _ => {}
        }
    }
    found
}

/// Where a literal with words in it may stand outside `present/`: the code of its statement
/// before it names one of these. `--help` is the subcommand's own text (ARCHITECTURE.md,
/// "Where to add"); a context phrase ("reading addresses") is part of a typed error, which
/// `present/failure.rs` composes into its one line; a usage error is written where its option
/// is parsed, beside the option's `--help` (the mode options' in one place, `cmd::ModeOptions`).
const WORDS_MAY_FOLLOW: &[&str] = &[
    "const HELP",
    "Failure::request(",
    "Failure::usage(",
    "reading(",
    "what:",
    "truncated(",
    // Text looked for in another program's file (`hostfiles/`), never shown.
    "_MARKERS:",
];

/// Modules compiled for tests only (`#[cfg(test)] mod NAME;`), whose words no user reads.
const TEST_ONLY: &[&str] = &[
    "nl/replay.rs",
    "nl/strategies.rs",
    "nl/captures.rs",
    "nl/objects.rs",
];

/// Whether a literal reads as words for a person: three words in a row.
fn is_prose(literal: &str) -> bool {
    literal
        .split(|c: char| !c.is_ascii_alphabetic() && c != ' ' && c != '\'')
        .any(|run| run.split(' ').filter(|word| word.len() >= 2).count() >= 3)
}

/// The code of the statement before offset `at`: back to the last `;`, `{` or `}`. `code` has
/// its string literals blanked ([`blank_literals`]), so a `{}` in a format string ends nothing.
fn statement_before(code: &str, at: usize) -> &str {
    let start = code[..at].rfind([';', '{', '}']).map_or(0, |i| i + 1);
    &code[start..at]
}

/// `text` with the inside of each literal (`start..stop` from [`string_literals`]) turned to
/// spaces, byte for byte, so that offsets stay the same.
fn blank_literals(text: &str, literals: &[(usize, usize, usize, String)]) -> String {
    let mut bytes = text.as_bytes().to_vec();
    for (_, start, stop, _) in literals {
        for byte in &mut bytes[start + 1..stop - 1] {
            *byte = b' ';
        }
    }
    String::from_utf8_lossy(&bytes).into_owned()
}

#[test]
fn words_a_user_reads_come_from_present() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    rust_files(&src, &mut files);
    files.sort();
    let mut violations = Vec::new();
    let mut exempt_seen = 0;
    for file in &files {
        let relative = file.strip_prefix(&src).unwrap().to_str().unwrap();
        if relative.starts_with("present/")
            || relative == "output.rs"
            || TEST_ONLY.contains(&relative)
        {
            continue;
        }
        let text = std::fs::read_to_string(file).unwrap();
        let literals = string_literals(&text);
        let code = blank_literals(&text, &literals);
        for (line, at, _, literal) in literals {
            let lead = statement_before(&code, at);
            if !is_prose(&literal) {
                continue;
            }
            if WORDS_MAY_FOLLOW.iter().any(|m| lead.contains(m)) {
                exempt_seen += 1;
                continue;
            }
            violations.push(format!(
                "src/{relative}:{line}: \"{}\"",
                literal.escape_debug()
            ));
        }
    }
    assert!(
        violations.is_empty(),
        "words for the user outside src/present/ (return a typed value and word it in present/):\n{}",
        violations.join("\n")
    );
    // The scanner read words outside present/ (the usage errors and contexts it lets stand):
    // a scanner that found no literal at all would pass the check above by reading nothing.
    assert!(
        exempt_seen > 0,
        "no words found outside present/: the scanner read nothing"
    );
}

#[test]
fn the_literal_scanner_reads_strings_as_rust_does() {
    let text = "let a = \"one two three\"; // \"not this one either\"\nlet c = '\"'; let r = r#\"raw \"quoted\" words here\"#;\n#[cfg(test)]\nlet t = \"never read at all\";";
    let literals: Vec<(usize, String)> = string_literals(text)
        .into_iter()
        .map(|(line, _, _, literal)| (line, literal))
        .collect();
    assert_eq!(
        literals,
        [
            (1, "one two three".to_string()),
            (2, "raw \"quoted\" words here".to_string())
        ]
    );
    assert!(is_prose("deleted by another process") && !is_prose("dev {}: {}"));
    let code = "x(); Failure::usage(format!(\"a b c\"))";
    assert!(statement_before(code, code.find('"').unwrap()).contains("Failure::usage("));
    // A brace inside an earlier literal of the statement does not end it.
    let code = "Failure::usage(format!(\"{} {}{}\", a, b, \"({c} kept; give it)\"))";
    let literals = string_literals(code);
    let second = literals.get(1).unwrap().1;
    let blanked = blank_literals(code, &literals);
    assert!(statement_before(&blanked, second).contains("Failure::usage("));
    assert!(!statement_before(code, second).contains("Failure::usage("));
}
