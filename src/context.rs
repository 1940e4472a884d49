//! What a running command carries: the global options, the netlink connection, standard
//! output, and what it asks of the exit code. It lives below `cmd` so that `apply` and `watch`,
//! which every changing command shares, never reach up into `cmd` for it.

use std::ffi::OsString;

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
    /// `doctor` found a problem: exit 1, with the findings as the only report.
    ProblemFound,
}

/// What the commands share while they run.
pub struct Context {
    pub conn: Conn,
    pub out: Output,
    pub globals: Globals,
}
