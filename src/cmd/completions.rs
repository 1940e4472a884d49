//! `nlsel completions bash|zsh|fish`: print a completion script, so that one copied binary
//! is all an install needs. The scripts complete commands and options, and read live values
//! (interface names after `dev`/`--dev`, addresses after `prefer` and `addr change`) from
//! `nlsel [-n NETNS] show` in the namespace named on the command line being completed.

use lexopt::prelude::*;

use super::{text_value, usage_error};
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

pub fn parse(parser: &mut lexopt::Parser) -> Result<Shell, Failure> {
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
            Short('h') | Long("help") => return Err(Failure::Help(HELP)),
            _ => return Err(usage_error(arg.unexpected())),
        }
    }
    shell.ok_or_else(|| Failure::usage("completions needs a shell: bash, zsh or fish"))
}

pub fn run(shell: Shell, out: &mut Output) -> Outcome {
    let script = match shell {
        // The scripts in src/cmd/completions/, compacted by build.rs.
        Shell::Bash => include_str!(concat!(env!("OUT_DIR"), "/nlsel.bash")),
        Shell::Zsh => include_str!(concat!(env!("OUT_DIR"), "/_nlsel.zsh")),
        Shell::Fish => include_str!(concat!(env!("OUT_DIR"), "/nlsel.fish")),
    };
    out.line(script.trim_end());
    Outcome::Done
}
