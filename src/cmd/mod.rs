//! One file per subcommand. Each has `parse`, which reads and checks its arguments without any
//! system call (so a usage error changes nothing), and `run`, which does the work.

pub mod addr_change;
pub mod deprecate;
pub mod prefer;
pub mod show;
pub mod undeprecate;
pub mod unit;
pub mod which;

use std::ffi::OsString;
use std::os::unix::ffi::OsStringExt;

pub use crate::apply::{Mode, execute};
use crate::failure::Failure;
use crate::nl::request::Conn;
use crate::output::Output;

/// Options that come before the command.
#[derive(Debug, Clone, Default)]
pub struct Globals {
    pub netns: Option<OsString>,
    pub json: bool,
    pub quiet: bool,
}

/// What a successful command asks of the exit code.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    Done,
    /// `--check` found work to do: exit 3.
    WorkFound,
}

/// What the commands share while they run.
pub struct Context {
    pub conn: Conn,
    pub out: Output,
    pub globals: Globals,
}

/// An interface name from the command line, as bytes.
pub fn interface_name(value: OsString) -> Vec<u8> {
    value.into_vec()
}

/// Turns a lexopt error into a usage failure; lexopt's text already names the value.
pub fn usage_error(error: lexopt::Error) -> Failure {
    Failure::usage(error.to_string())
}

/// A positional value that must be text.
pub fn text_value(value: OsString, what: &str) -> Result<String, Failure> {
    value.into_string().map_err(|value| {
        Failure::usage(format!(
            "invalid {what} \"{}\"",
            value.to_string_lossy().escape_debug()
        ))
    })
}
