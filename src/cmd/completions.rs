//! `nlsel completions bash|zsh|fish`: print a completion script, so that one copied binary
//! is all an install needs. The scripts complete commands and options, and read live values
//! (interface names after `dev`/`--dev`, addresses after `prefer` and `addr change`) from
//! `nlsel [-n NETNS] show` in the namespace named on the command line being completed.

use lexopt::prelude::*;

use super::{Parsed, text_value, usage_error};
use crate::context::Outcome;
use crate::failure::Failure;
use crate::output::Output;

pub const HELP: &str = "\
Usage: nlsel completions bash|zsh|fish

Print a completion script for the shell. For example:

  nlsel completions bash > /usr/share/bash-completion/completions/nlsel
  nlsel completions zsh > /usr/local/share/zsh/site-functions/_nlsel
  nlsel completions fish > /usr/share/fish/vendor_completions.d/nlsel.fish

Options:
  -h, --help   show this help
";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Shell {
    Bash,
    Zsh,
    Fish,
}

pub fn parse(parser: &mut lexopt::Parser) -> Result<Parsed<Shell>, Failure> {
    let mut shell = None;
    while let Some(arg) = parser.next().map_err(usage_error)? {
        match arg {
            Value(value) if shell.is_none() => {
                shell = Some(match text_value(value, "shell")?.as_str() {
                    "bash" => Shell::Bash,
                    "zsh" => Shell::Zsh,
                    "fish" => Shell::Fish,
                    other => {
                        return Err(Failure::usage(format!(
                            "unknown shell \"{}\" (expected bash, zsh or fish)",
                            other.escape_debug()
                        )));
                    }
                });
            }
            Short('h') | Long("help") => return Ok(Parsed::Help(HELP)),
            _ => return Err(usage_error(arg.unexpected())),
        }
    }
    shell
        .map(Parsed::Run)
        .ok_or_else(|| Failure::usage("completions needs a shell: bash, zsh or fish"))
}

/// The scripts in src/cmd/completions/, compacted and packed into one stream by build.rs:
/// 4.5 KiB in the binary instead of 12.6 KiB.
static PACKED: &[u8] = include_bytes!(concat!(env!("OUT_DIR"), "/completions.lz"));
/// Where the bash, zsh and fish scripts end in the unpacked stream.
const ENDS: [usize; 3] = include!(concat!(env!("OUT_DIR"), "/completions_ends.rs"));

pub fn run(shell: Shell, out: &mut Output) -> Outcome {
    let all = unpack(PACKED);
    let [bash, zsh, fish] = ENDS;
    let script = match shell {
        Shell::Bash => all.get(..bash),
        Shell::Zsh => all.get(bash..zsh),
        Shell::Fish => all.get(zsh..fish),
    };
    out.line(script.unwrap_or_default().trim_end());
    Outcome::Done
}

/// Undoes build.rs's `pack`: a byte below 0x80 is itself; `0x80 | n` and a little-endian u16
/// offset repeat the `n + 4` bytes that start that far back, byte by byte, so a repeat may
/// overlap what it writes.
fn unpack(packed: &[u8]) -> String {
    let mut text = Vec::new();
    let mut bytes = packed.iter().copied();
    while let Some(byte) = bytes.next() {
        if byte < 0x80 {
            text.push(byte);
            continue;
        }
        let offset = u16::from_le_bytes([bytes.next().unwrap_or(0), bytes.next().unwrap_or(0)]);
        let start = text.len().saturating_sub(usize::from(offset));
        for i in start..start.saturating_add(usize::from(byte & 0x7f) + 4) {
            text.push(text.get(i).copied().unwrap_or(0));
        }
    }
    // Only ASCII is packed (build.rs checks), so this never fails.
    String::from_utf8(text).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unpacking_gives_each_compacted_script_back() {
        let all = unpack(PACKED);
        assert!(PACKED.len() * 2 < all.len(), "packing saves less than half");
        let [bash, zsh, fish] = ENDS;
        assert_eq!(fish, all.len());
        assert_eq!(
            all.get(..bash),
            Some(include_str!(concat!(env!("OUT_DIR"), "/nlsel.bash")))
        );
        assert_eq!(
            all.get(bash..zsh),
            Some(include_str!(concat!(env!("OUT_DIR"), "/_nlsel.zsh")))
        );
        assert_eq!(
            all.get(zsh..fish),
            Some(include_str!(concat!(env!("OUT_DIR"), "/nlsel.fish")))
        );
    }

    #[test]
    fn unpack_repeats_overlapping_matches_and_survives_truncation() {
        // "ab" then a 6-byte repeat from 2 back: "abababab".
        assert_eq!(unpack(&[b'a', b'b', 0x82, 2, 0]), "abababab");
        // A repeat from before the start starts at the start; one cut short repeats from
        // the end, where nothing is yet: NULs, not a panic.
        assert_eq!(unpack(&[b'x', 0x80, 9, 0]), "xxxxx");
        assert_eq!(unpack(&[b'x', 0x80]), "x\0\0\0\0");
    }
}
