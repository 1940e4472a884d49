//! The command line: global options, then a command whose arguments are all read and checked
//! before nlsel enters a namespace or opens a socket, so a usage error changes nothing.

use std::ffi::OsString;
use std::path::PathBuf;
use std::process::ExitCode;

use lexopt::prelude::*;

use crate::apply::ADDRESS_GROUPS;
use crate::cmd::{self, Context, Globals, Outcome, usage_error};
use crate::failure::Failure;
use crate::nl::header::{RTM_DELADDR, RTM_NEWADDR};
use crate::nl::request::Conn;
use crate::nl::socket::enter_netns;
use crate::output::Output;

pub const HELP: &str = "\
nlsel: choose the IPv6 source address a Linux host uses, over raw netlink

Usage: nlsel [-n NETNS] [-j] [-q] COMMAND ...

Commands:
  show [[dev] IFACE]             list addresses with scope, flags and lifetimes
                                 (also: addr show)
  deprecate --except PATTERN... [--dev IFACE]... [--dry-run | --check | --watch]
                                 deprecate every global IPv6 address matching no PATTERN
  prefer ADDR [--watch]          make ADDR preferred, deprecate the others on its interface
  undeprecate [--dev IFACE]...   make deprecated global IPv6 addresses preferred again
  addr change ADDR[/LEN] dev IFACE [preferred_lft LFT] [valid_lft LFT]
                                 change lifetimes, keeping everything not given
  which DEST                     print the source address the kernel would use for DEST
  unit deprecate|prefer ARGS...  print a systemd unit that runs that command

Options:
  -n, --netns NETNS   work in network namespace /run/netns/NETNS (a path if it has a '/')
  -j, --json          print JSON
  -q, --quiet         print nothing on stdout
  -h, --help          show this help; COMMAND --help shows the command's
  -V, --version       show the version

Only preferred lifetimes change: valid lifetimes, flags, protocol and metric are kept.
No address is created or deleted, except that an address the kernel re-creates because
another process deleted it during the change is removed again.

Exit status: 0 success, 1 failure (kernel error, missing interface or address, no
permission), 2 usage error, 3 `deprecate --check` found work to do.
";

enum Command {
    Show(cmd::show::Args),
    Deprecate(cmd::deprecate::Args),
    Prefer(cmd::prefer::Args),
    Undeprecate(cmd::undeprecate::Args),
    AddrChange(cmd::addr_change::Args),
    Which(cmd::which::Args),
    Unit(cmd::unit::Args),
}

impl Command {
    /// Whether the command may send changes, and must so watch for concurrent deletions.
    fn may_change(&self) -> bool {
        match self {
            Command::Deprecate(args) => args.mode == cmd::Mode::Apply,
            Command::Prefer(_) | Command::Undeprecate(_) | Command::AddrChange(_) => true,
            Command::Show(_) | Command::Which(_) | Command::Unit(_) => false,
        }
    }

    fn run(&self, ctx: &mut Context) -> Result<Outcome, Failure> {
        match self {
            Command::Show(args) => cmd::show::run(args, ctx),
            Command::Deprecate(args) => cmd::deprecate::run(args, ctx),
            Command::Prefer(args) => cmd::prefer::run(args, ctx),
            Command::Undeprecate(args) => cmd::undeprecate::run(args, ctx),
            Command::AddrChange(args) => cmd::addr_change::run(args, ctx),
            Command::Which(args) => cmd::which::run(args, ctx),
            // Handled before the socket is opened: printing a unit touches no kernel state.
            Command::Unit(_) => Ok(Outcome::Done),
        }
    }
}

pub fn main() -> ExitCode {
    match run(lexopt::Parser::from_env()) {
        Ok(Outcome::Done) => ExitCode::SUCCESS,
        Ok(Outcome::WorkFound) => ExitCode::from(3),
        Err(Failure::Help(text)) => {
            let mut out = Output::new(false);
            out.line(text.trim_end());
            match out.finish() {
                Some(_) => ExitCode::FAILURE,
                None => ExitCode::SUCCESS,
            }
        }
        Err(failure) => {
            crate::output::diagnostic(format_args!("{failure}"));
            ExitCode::from(failure.exit_code())
        }
    }
}

fn parse_command(parser: &mut lexopt::Parser, word: OsString) -> Result<Command, Failure> {
    let word = cmd::text_value(word, "command")?;
    Ok(match word.as_str() {
        "show" => Command::Show(cmd::show::parse(parser)?),
        "deprecate" => Command::Deprecate(cmd::deprecate::parse(parser)?),
        "prefer" => Command::Prefer(cmd::prefer::parse(parser)?),
        "undeprecate" => Command::Undeprecate(cmd::undeprecate::parse(parser)?),
        "which" => Command::Which(cmd::which::parse(parser)?),
        "unit" => Command::Unit(cmd::unit::parse(parser)?),
        "addr" | "address" => {
            let sub = match parser.next().map_err(usage_error)? {
                Some(Value(sub)) => cmd::text_value(sub, "addr command")?,
                Some(Short('h') | Long("help")) => return Err(Failure::Help(HELP)),
                Some(other) => return Err(usage_error(other.unexpected())),
                None => return Err(Failure::usage("addr needs a command: show or change")),
            };
            match sub.as_str() {
                "show" | "list" => Command::Show(cmd::show::parse(parser)?),
                "change" => Command::AddrChange(cmd::addr_change::parse(parser)?),
                other => {
                    return Err(Failure::usage(format!(
                        "unknown addr command \"{}\" (expected show or change)",
                        other.escape_debug()
                    )));
                }
            }
        }
        "help" => return Err(Failure::Help(HELP)),
        other => {
            return Err(Failure::usage(format!(
                "unknown command \"{}\"",
                other.escape_debug()
            )));
        }
    })
}

fn run(mut parser: lexopt::Parser) -> Result<Outcome, Failure> {
    let mut globals = Globals::default();
    let command = loop {
        match parser.next().map_err(usage_error)? {
            Some(Short('n') | Long("netns")) => {
                globals.netns = Some(parser.value().map_err(usage_error)?)
            }
            Some(Short('j') | Long("json")) => globals.json = true,
            Some(Short('q') | Long("quiet")) => globals.quiet = true,
            Some(Short('h') | Long("help")) => return Err(Failure::Help(HELP)),
            Some(Short('V') | Long("version")) => {
                return Err(Failure::Help(concat!("nlsel ", env!("CARGO_PKG_VERSION"))));
            }
            Some(Value(word)) => break parse_command(&mut parser, word)?,
            Some(other) => return Err(usage_error(other.unexpected())),
            None => return Err(Failure::usage("missing command")),
        }
    };

    if let Command::Unit(args) = &command {
        // -q and -j are for the unit's command, not for printing the unit.
        let mut out = Output::new(false);
        let outcome = cmd::unit::run(args, &globals, &mut out)?;
        return out
            .finish()
            .map_or(Ok(outcome), |error| Err(Failure::Output(error)));
    }

    // Every argument has been checked: only now touch the system.
    if let Some(netns) = &globals.netns {
        enter_named_netns(netns)?;
    }
    let mut conn = Conn::open().map_err(Failure::request("opening a netlink socket"))?;
    if command.may_change() {
        // Before any dump: see crate::apply for why.
        conn.subscribe(&ADDRESS_GROUPS, &[RTM_NEWADDR, RTM_DELADDR])
            .map_err(Failure::request("subscribing to address notifications"))?;
    }
    let quiet = globals.quiet;
    let mut ctx = Context {
        conn,
        out: Output::new(quiet),
        globals,
    };
    let result = command.run(&mut ctx);
    let output_error = ctx.out.finish();
    match (result, output_error) {
        (Ok(outcome), None) => Ok(outcome),
        (Ok(_), Some(error)) => Err(Failure::Output(error)),
        (Err(failure), _) => Err(failure),
    }
}

/// `-n NAME` means /run/netns/NAME, as for `ip -n`; a value with a '/' is a path.
fn enter_named_netns(netns: &OsString) -> Result<(), Failure> {
    let name = netns.to_string_lossy().into_owned();
    let path = if name.contains('/') {
        PathBuf::from(netns)
    } else {
        PathBuf::from("/run/netns").join(netns)
    };
    enter_netns(&path).map_err(|source| Failure::Netns { name, source })
}
