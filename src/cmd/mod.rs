//! One file per subcommand. Each has `parse`, which reads and checks its arguments without any
//! system call (so a usage error changes nothing), and `run`, which does the work.

pub mod addr_change;
pub mod completions;
pub mod deprecate;
pub mod doctor;
pub mod prefer;
pub mod show;
pub mod undeprecate;
pub mod unit;
pub mod which;

use std::ffi::OsString;
use std::net::IpAddr;
use std::os::unix::ffi::OsStringExt;

use crate::failure::Failure;
use crate::plan::Mode;
use crate::present::packed::Text;

/// What a command's arguments ask for: the command, or its help.
pub enum Parsed<A> {
    Run(A),
    /// `--help`: this text is printed and nlsel exits 0; it is not a failure.
    Help(Text),
}

/// An interface name from the command line, as bytes.
pub fn interface_name(value: OsString) -> Vec<u8> {
    value.into_vec()
}

/// Turns a lexopt error into a usage failure that names the value in double quotes.
pub fn usage_error(error: lexopt::Error) -> Failure {
    Failure::usage(crate::present::option_error(error))
}

/// The value after a keyword such as `dev` or `preferred_lft`; its absence names the keyword.
pub fn keyword_value(parser: &mut lexopt::Parser, keyword: &str) -> Result<OsString, Failure> {
    parser.value().map_err(|error| match error {
        lexopt::Error::MissingValue { .. } => {
            Failure::usage(format!("missing value after \"{keyword}\""))
        }
        other => usage_error(other),
    })
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

/// `--dry-run`, `--check`, `--watch` and `--probe DEST`: how a policy command (`deprecate`,
/// `prefer`, and the `unit` that runs them) carries out its rule. Only [`ModeOptions`] reads
/// them, so every command accepts the same words and refuses the same combinations with the
/// same messages.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Modes {
    pub mode: Mode,
    /// Keep running and apply the rule to every change (`--watch`).
    pub watch: bool,
    /// Destinations whose source to report (`--probe`).
    pub probes: Vec<IpAddr>,
}

/// One of the options [`Modes`] holds, as given on the command line.
#[derive(Clone, Copy)]
pub enum ModeOption {
    DryRun,
    Check,
    Watch,
    Probe,
    /// `-h` or `--help`: the command's help, not a mode.
    Help,
}

impl ModeOption {
    /// The mode option `arg` is, for a command whose other options are already read; `-h` and
    /// `--help` ask for the command's help, and anything else is a usage error naming it.
    pub fn of(arg: lexopt::Arg) -> Result<ModeOption, Failure> {
        Ok(match arg {
            lexopt::Arg::Long("dry-run") => ModeOption::DryRun,
            lexopt::Arg::Long("check") => ModeOption::Check,
            lexopt::Arg::Long("watch") => ModeOption::Watch,
            lexopt::Arg::Long("probe") => ModeOption::Probe,
            lexopt::Arg::Short('h') | lexopt::Arg::Long("help") => ModeOption::Help,
            _ => return Err(usage_error(arg.unexpected())),
        })
    }
}

/// The mode options of one command line, gathered in any order and checked together once the
/// command's own arguments are (so that a missing `--except` is reported first).
#[derive(Default)]
pub struct ModeOptions {
    dry_run: bool,
    check: bool,
    modes: Modes,
}

impl ModeOptions {
    /// Takes `option`, and `--probe`'s value from `parser`; passes on the usage error of an
    /// argument that is no mode option ([`ModeOption::of`]), so a caller has one `?`. True
    /// when the option asks for the command's help, which the caller returns.
    pub fn read(
        &mut self,
        option: Result<ModeOption, Failure>,
        parser: &mut lexopt::Parser,
    ) -> Result<bool, Failure> {
        match option? {
            ModeOption::Help => return Ok(true),
            ModeOption::DryRun => self.dry_run = true,
            ModeOption::Check => self.check = true,
            ModeOption::Watch => self.modes.watch = true,
            ModeOption::Probe => self.modes.probes.push(which::destination_value(
                parser.value().map_err(usage_error)?,
            )?),
        }
        Ok(false)
    }

    /// The modes asked for, or the usage error for a combination that cannot be carried out.
    pub fn finish(self) -> Result<Modes, Failure> {
        let mut modes = self.modes;
        modes.mode = match (self.dry_run, self.check) {
            (true, true) => {
                return Err(Failure::usage(
                    "--dry-run and --check cannot be used together",
                ));
            }
            (true, false) => Mode::DryRun,
            (false, true) => Mode::Check,
            (false, false) => Mode::Apply,
        };
        if modes.watch && !modes.probes.is_empty() {
            return Err(Failure::usage("--probe cannot be used with --watch"));
        }
        if modes.watch && modes.mode != Mode::Apply {
            return Err(Failure::usage(
                "--watch cannot be used with --dry-run or --check",
            ));
        }
        Ok(modes)
    }
}

/// The mode a systemd unit may run its command in: a unit changes addresses for real, so
/// `--dry-run` and `--check` are refused, for every command a unit can run.
pub fn unit_mode(mode: Mode) -> Result<(), Failure> {
    if mode != Mode::Apply {
        return Err(Failure::usage(
            "a unit runs the command for real: drop --dry-run or --check",
        ));
    }
    Ok(())
}
