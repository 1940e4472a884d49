//! `nlsel completions bash|zsh|fish`: print a completion script, so that one copied binary
//! is all an install needs. The scripts complete commands and options, and read live values
//! (interface names after `dev`/`--dev`, addresses after `prefer` and `addr change`) from
//! `nlsel [-n NETNS] show` in the namespace named on the command line being completed.

use lexopt::prelude::*;

use super::{Parsed, text_value, usage_error};
use crate::context::Outcome;
use crate::failure::Failure;
use crate::output::Output;
use crate::present::packed::Text;

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
            Short('h') | Long("help") => return Ok(Parsed::Help(Text::CompletionsHelp)),
            _ => return Err(usage_error(arg.unexpected())),
        }
    }
    shell
        .map(Parsed::Run)
        .ok_or_else(|| Failure::usage("completions needs a shell: bash, zsh or fish"))
}

pub fn run(shell: Shell, out: &mut Output) -> Outcome {
    let script = match shell {
        Shell::Bash => Text::BashCompletion,
        Shell::Zsh => Text::ZshCompletion,
        Shell::Fish => Text::FishCompletion,
    };
    out.line(script.unpack().trim_end());
    Outcome::Done
}
