//! The layers point one way: `cli → cmd → (watch → apply) → … → nl`. A module may name only
//! modules of a lower layer (`crate::NAME`), so that a change low down never needs to know
//! who calls it. ARCHITECTURE.md explains the layers; this test keeps the two honest. It reads
//! the source as text and needs no privileges.

use std::collections::BTreeMap;
use std::path::Path;

/// Each top-level module of src/ and its layer; a module may import only lower layers.
const LAYERS: &[(&str, u8)] = &[
    ("nl", 0),
    ("output", 1),
    ("pattern", 1),
    ("model", 1),
    ("notify", 1),
    ("hostfiles", 1),
    ("plan", 2),
    ("srcsel", 2),
    ("present", 3),
    ("failure", 3),
    ("context", 3),
    ("apply", 4),
    ("watch", 5),
    ("cmd", 6),
    ("cli", 7),
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
        for (line, name) in crate_paths(&text) {
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
fn the_crate_path_scanner_finds_imports_and_skips_comments() {
    let text = "use crate::apply::{Rule};\n// crate::cli is a comment\nlet x = crate::plan::Mode::Apply; crate::warn!(\"\");";
    let names: Vec<String> = crate_paths(text)
        .into_iter()
        .map(|(_, name)| name)
        .collect();
    assert_eq!(names, ["apply", "plan", "warn"]);
}
