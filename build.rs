//! Embeds the git commit the binary is built from as `NLSEL_COMMIT`, for `nlsel --version`,
//! and writes the shell completion scripts into `OUT_DIR` without their comments and indentation
//! (a third of their size, which the binary carries), for `nlsel completions`: each one alone
//! (for the tests), and the three with the --help texts of src/present/help/ packed into one
//! `texts.lz` (see [`pack`]), which the binary carries and `src/present/packed.rs` unpacks.
//!
//! No network and no build dependency: the commit comes from the `NLSEL_COMMIT` environment
//! variable when set (a release script or a distribution package may set it), else from the
//! checkout's own `.git` files (`HEAD`, the loose ref it names, or `packed-refs`; a worktree's
//! `.git` file and its `commondir` are followed), else it is "unknown" (a source tarball).
//! Nothing else about the build machine is embedded, so the build stays reproducible. When
//! `git` can say that a file the binary is built from differs from that commit, the commit
//! gets a `-dirty` suffix, so that such a binary never passes for the commit's.

use std::env;
use std::fs;
use std::path::{Path, PathBuf};

fn main() {
    println!("cargo::rerun-if-env-changed=NLSEL_COMMIT");
    let commit = match env::var("NLSEL_COMMIT") {
        Ok(commit) if !commit.is_empty() => commit,
        _ => {
            let root = PathBuf::from(env::var_os("CARGO_MANIFEST_DIR").unwrap_or_default());
            match git_commit(&root) {
                Some(commit) if is_dirty(&root) => format!("{commit}-dirty"),
                Some(commit) => commit,
                None => "unknown".to_string(),
            }
        }
    };
    println!("cargo::rustc-env=NLSEL_COMMIT={commit}");

    let out_dir = PathBuf::from(env::var_os("OUT_DIR").unwrap_or_default());
    let mut all = String::new();
    let mut ends = Vec::new();
    for script in ["nlsel.bash", "_nlsel.zsh", "nlsel.fish"] {
        let source = format!("src/cmd/completions/{script}");
        let compact = compact_script(&read(&source));
        assert!(
            compact.is_ascii(),
            "{source} is not ASCII, which pack needs"
        );
        fs::write(out_dir.join(script), &compact)
            .unwrap_or_else(|e| panic!("writing {script}: {e}"));
        all.push_str(&compact);
        ends.push(all.len());
    }
    // The --help texts, verbatim, after the scripts: in one stream, the words they share
    // (commands, options) are packed once, 0.7 KiB less than two streams.
    for help in HELPS {
        let source = format!("src/present/help/{help}.txt");
        let text = read(&source);
        assert!(text.is_ascii(), "{source} is not ASCII, which pack needs");
        all.push_str(&text);
        ends.push(all.len());
    }
    fs::write(out_dir.join("texts.lz"), pack(all.as_bytes()))
        .unwrap_or_else(|e| panic!("writing texts.lz: {e}"));
    // Where each text ends in the unpacked stream, in the order of `present::packed::Text`.
    let ends: Vec<String> = ends.iter().map(usize::to_string).collect();
    fs::write(
        out_dir.join("texts_ends.rs"),
        format!("[{}]", ends.join(", ")),
    )
    .unwrap_or_else(|e| panic!("writing texts_ends.rs: {e}"));
}

/// The --help texts in src/present/help/, in the order of `present::packed::Text`.
const HELPS: [&str; 10] = [
    "nlsel",
    "show",
    "deprecate",
    "prefer",
    "undeprecate",
    "addr_change",
    "which",
    "doctor",
    "unit",
    "completions",
];

/// The text of a source file, whose changes rerun this.
fn read(source: &str) -> String {
    println!("cargo::rerun-if-changed={source}");
    fs::read_to_string(source).unwrap_or_else(|e| panic!("{source}: {e}"))
}

/// The shortest match [`pack`] writes, and the longest.
const MIN_MATCH: usize = 4;
const MAX_MATCH: usize = MIN_MATCH + 0x7f;

/// Packs ASCII `text` as a byte-oriented LZ77 stream (24.8 KiB of scripts and help texts
/// become 9.2 KiB): a byte below 0x80 is itself; a byte `0x80 | n` and a little-endian u16
/// `offset` repeat the `n + MIN_MATCH` bytes that start `offset` bytes back in the output (they
/// may overlap what they write). Each position takes the longest earlier match, and a backward
/// pass then picks the cheapest mix of literals and match lengths (optimal parsing).
/// Deterministic, so the build stays reproducible.
fn pack(text: &[u8]) -> Vec<u8> {
    let n = text.len();
    // Longest match at each position: (length, offset), length 0 when none.
    let mut longest = vec![(0, 0); n];
    let mut seen: std::collections::HashMap<&[u8], Vec<usize>> = Default::default();
    for i in 0..n.saturating_sub(MIN_MATCH - 1) {
        let key = &text[i..i + MIN_MATCH];
        let earlier = seen.entry(key).or_default();
        for &j in earlier.iter().rev().take(512) {
            if i - j > usize::from(u16::MAX) {
                break;
            }
            let len = (0..MAX_MATCH.min(n - i))
                .take_while(|&k| text[j + k] == text[i + k])
                .count();
            if len > longest[i].0 {
                longest[i] = (len, i - j);
            }
        }
        earlier.push(i);
    }
    // cost[i]: the fewest bytes that encode text[i..]; step[i]: the match length taken there
    // (0 for a literal).
    let mut cost = vec![0; n + 1];
    let mut step = vec![0; n];
    for i in (0..n).rev() {
        cost[i] = 1 + cost[i + 1];
        for len in MIN_MATCH..=longest[i].0 {
            if 3 + cost[i + len] < cost[i] {
                cost[i] = 3 + cost[i + len];
                step[i] = len;
            }
        }
    }
    let mut packed = Vec::with_capacity(cost[0]);
    let mut i = 0;
    while i < n {
        match step[i] {
            0 => {
                packed.push(text[i]);
                i += 1;
            }
            len => {
                let offset = u16::try_from(longest[i].1).expect("offset checked above");
                packed.push(0x80 | (len - MIN_MATCH) as u8);
                packed.extend_from_slice(&offset.to_le_bytes());
                i += len;
            }
        }
    }
    packed
}

/// A shell script without its comment lines (the first comment block, which says what the
/// script is and where it goes, stays), blank lines and leading white space. The scripts have
/// no here-documents and no string that spans lines with meaningful indentation.
fn compact_script(text: &str) -> String {
    let mut out = String::new();
    let mut header = true;
    for line in text.lines() {
        let trimmed = line.trim_start();
        let is_comment = trimmed.starts_with('#') && !trimmed.starts_with("#compdef");
        header &= is_comment || trimmed.starts_with("#compdef");
        if trimmed.is_empty() || (is_comment && !header) {
            continue;
        }
        out.push_str(trimmed);
        out.push('\n');
    }
    out
}

/// The commit `HEAD` points at, reading git's files directly.
fn git_commit(root: &Path) -> Option<String> {
    let dot_git = root.join(".git");
    println!("cargo::rerun-if-changed={}", dot_git.display());
    let git_dir = if dot_git.is_dir() {
        dot_git
    } else {
        // A worktree or submodule: `.git` is a file saying "gitdir: PATH".
        let text = fs::read_to_string(&dot_git).ok()?;
        root.join(text.strip_prefix("gitdir:")?.trim())
    };
    // A worktree keeps its own HEAD but shares refs with the main repository.
    let common_dir = match fs::read_to_string(git_dir.join("commondir")) {
        Ok(text) => git_dir.join(text.trim()),
        Err(_) => git_dir.clone(),
    };
    let head_path = git_dir.join("HEAD");
    println!("cargo::rerun-if-changed={}", head_path.display());
    let head = fs::read_to_string(head_path).ok()?;
    let head = head.trim();
    let Some(reference) = head.strip_prefix("ref:").map(str::trim) else {
        return is_commit(head).then(|| head.to_string());
    };
    // Cargo reruns this script on every build for a watched path that does not exist, and
    // relinks the binary under any test still running from it: so only what exists is watched.
    // A ref not found loose (a worktree's refs live in the common directory; a packed ref has
    // no file) is watched through the directory it would be written to.
    for dir in [&git_dir, &common_dir] {
        let loose = dir.join(reference);
        if let Ok(text) = fs::read_to_string(&loose) {
            println!("cargo::rerun-if-changed={}", loose.display());
            let text = text.trim();
            return is_commit(text).then(|| text.to_string());
        }
        if let Some(parent) = loose.parent().filter(|parent| parent.is_dir()) {
            println!("cargo::rerun-if-changed={}", parent.display());
        }
    }
    let packed_path = common_dir.join("packed-refs");
    if packed_path.exists() {
        println!("cargo::rerun-if-changed={}", packed_path.display());
    }
    let packed = fs::read_to_string(packed_path).ok()?;
    packed.lines().find_map(|line| {
        let (commit, name) = line.split_once(' ')?;
        (name == reference && is_commit(commit)).then(|| commit.to_string())
    })
}

/// The sources of the binary, whose changes `git status` is asked about.
const SOURCES: [&str; 5] = ["src", "build.rs", "Cargo.toml", "Cargo.lock", ".cargo"];

/// Whether `git status` reports a change to a tracked file among [`SOURCES`]; false when
/// there is no git to ask (a source tarball, a machine without git).
fn is_dirty(root: &Path) -> bool {
    for source in SOURCES {
        // A directory is scanned whole by cargo, so any edit under src/ runs this again.
        println!("cargo::rerun-if-changed={}", root.join(source).display());
    }
    std::process::Command::new("git")
        .arg("-C")
        .arg(root)
        .args([
            "--no-optional-locks",
            "status",
            "--porcelain",
            "--untracked-files=no",
            "--",
        ])
        .args(SOURCES)
        .output()
        .is_ok_and(|out| out.status.success() && !out.stdout.is_empty())
}

fn is_commit(text: &str) -> bool {
    text.len() >= 40 && text.bytes().all(|byte| byte.is_ascii_hexdigit())
}
