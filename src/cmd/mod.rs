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
    let quote = |text: &str| format!("\"{}\"", text.escape_debug());
    let message = match error {
        lexopt::Error::MissingValue {
            option: Some(option),
        } => {
            format!("missing value for option {}", quote(&option))
        }
        lexopt::Error::MissingValue { option: None } => "missing value".to_string(),
        lexopt::Error::UnexpectedOption(option) => format!("unknown option {}", quote(&option)),
        lexopt::Error::UnexpectedArgument(value) => {
            format!("unexpected argument {}", quote(&value.to_string_lossy()))
        }
        lexopt::Error::UnexpectedValue { option, value } => format!(
            "option {} takes no value, got {}",
            quote(&option),
            quote(&value.to_string_lossy())
        ),
        lexopt::Error::NonUnicodeValue(value) => {
            format!(
                "argument {} is not valid UTF-8",
                quote(&value.to_string_lossy())
            )
        }
        other => other.to_string(),
    };
    Failure::usage(message)
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

/// The mode `--dry-run` and `--check` ask for; giving both is a usage error.
pub fn mode_of(dry_run: bool, check: bool) -> Result<Mode, Failure> {
    match (dry_run, check) {
        (true, true) => Err(Failure::usage(
            "--dry-run and --check cannot be used together",
        )),
        (true, false) => Ok(Mode::DryRun),
        (false, true) => Ok(Mode::Check),
        (false, false) => Ok(Mode::Apply),
    }
}
