//! The command line: global options, then a command whose arguments are all read and checked
//! before nlsel enters a namespace or opens a socket, so a usage error changes nothing.

use std::ffi::OsString;
use std::process::ExitCode;

use lexopt::prelude::*;

use crate::cmd::doctor::Policy;
use crate::cmd::{self, Parsed, usage_error};
use crate::context::{Context, Globals, Outcome};
use crate::failure::{Failure, Kind};
use crate::netns::{enter_netns, netns_path};
use crate::nl::request::Conn;
use crate::output::Output;
use crate::present::packed::Text;
use crate::sys::block_signals;
use crate::watch::WATCH_SIGNALS;

/// A parsed command line.
enum Command {
    /// `--help` or `--version`: text for stdout, exit 0.
    Print(String),
    /// Prints without entering a namespace or opening a socket.
    Unit(cmd::unit::Args),
    Completions(cmd::completions::Shell),
    /// Talks to the kernel, in the namespace `-n` names.
    Kernel(KernelCommand),
}

enum KernelCommand {
    Show(cmd::show::Args),
    Deprecate(cmd::deprecate::Args),
    Prefer(cmd::prefer::Args),
    Undeprecate(cmd::undeprecate::Args),
    AddrChange(cmd::addr_change::Args),
    Which(cmd::which::Args),
    Doctor(cmd::doctor::Args),
}

impl KernelCommand {
    /// Whether this is a `--watch` run, which ends on SIGTERM, SIGINT and SIGHUP with exit 0.
    fn watches(&self) -> bool {
        match self {
            KernelCommand::Deprecate(args) => args.modes.watch,
            KernelCommand::Prefer(args) => args.modes.watch,
            _ => false,
        }
    }

    fn run(&self, ctx: &mut Context) -> Result<Outcome, Failure> {
        match self {
            KernelCommand::Show(args) => cmd::show::run(args, ctx),
            KernelCommand::Deprecate(args) => cmd::deprecate::run(args, ctx),
            KernelCommand::Prefer(args) => cmd::prefer::run(args, ctx),
            KernelCommand::Undeprecate(args) => cmd::undeprecate::run(args, ctx),
            KernelCommand::AddrChange(args) => cmd::addr_change::run(args, ctx),
            KernelCommand::Which(args) => cmd::which::run(args, ctx),
            KernelCommand::Doctor(args) => cmd::doctor::run(args, ctx, read_policy),
        }
    }
}

pub fn main() -> ExitCode {
    // First, before anything can take time: held until the command is known, so that under
    // `--watch` one that comes early still ends it with exit 0 (`watch` unblocks them once its
    // handler is in place), and otherwise has its default effect then. Cannot fail with
    // these valid signal numbers; if it did, signals would only keep their default effect.
    let _ = block_signals(&WATCH_SIGNALS, true);
    match run(lexopt::Parser::from_env()) {
        Ok(Outcome::Done) => ExitCode::SUCCESS,
        Ok(Outcome::WorkFound) => ExitCode::from(3),
        Ok(Outcome::ProblemFound) => ExitCode::FAILURE,
        Err(failure) => {
            crate::output::diagnostic(format_args!("{failure}"));
            ExitCode::from(failure.exit_code())
        }
    }
}

/// A kernel command, or the help it was asked for.
fn kernel<A>(parsed: Parsed<A>, command: fn(A) -> KernelCommand) -> Command {
    match parsed {
        Parsed::Run(args) => Command::Kernel(command(args)),
        Parsed::Help(text) => Command::Print(text.unpack()),
    }
}

fn parse_command(parser: &mut lexopt::Parser, word: OsString) -> Result<Command, Failure> {
    let word = cmd::text_value(word, "command")?;
    Ok(match word.as_str() {
        "show" => kernel(cmd::show::parse(parser)?, KernelCommand::Show),
        "deprecate" => kernel(cmd::deprecate::parse(parser)?, KernelCommand::Deprecate),
        "prefer" => kernel(cmd::prefer::parse(parser)?, KernelCommand::Prefer),
        "undeprecate" => kernel(cmd::undeprecate::parse(parser)?, KernelCommand::Undeprecate),
        "which" => kernel(cmd::which::parse(parser)?, KernelCommand::Which),
        "doctor" => kernel(cmd::doctor::parse(parser)?, KernelCommand::Doctor),
        "unit" => match cmd::unit::parse(parser)? {
            Parsed::Run(args) => Command::Unit(args),
            Parsed::Help(text) => Command::Print(text.unpack()),
        },
        "completions" => match cmd::completions::parse(parser)? {
            Parsed::Run(shell) => Command::Completions(shell),
            Parsed::Help(text) => Command::Print(text.unpack()),
        },
        "addr" | "address" => {
            let sub = match parser.next().map_err(usage_error)? {
                Some(Value(sub)) => cmd::text_value(sub, "addr command")?,
                Some(Short('h') | Long("help")) => return Ok(Command::Print(Text::Help.unpack())),
                Some(other) => return Err(usage_error(other.unexpected())),
                None => return Err(Failure::usage("addr needs a command: show or change")),
            };
            match sub.as_str() {
                "show" | "list" => kernel(cmd::show::parse(parser)?, KernelCommand::Show),
                "change" => kernel(cmd::addr_change::parse(parser)?, KernelCommand::AddrChange),
                other => {
                    return Err(Failure::usage(format!(
                        "unknown addr command \"{}\" (expected show or change)",
                        other.escape_debug()
                    )));
                }
            }
        }
        // `nlsel help COMMAND...` is `nlsel COMMAND... --help`.
        "help" => match parser.next().map_err(usage_error)? {
            Some(Value(command)) if command != "help" => {
                let mut rest: Vec<OsString> = parser.raw_args().map_err(usage_error)?.collect();
                rest.push("--help".into());
                return parse_command(&mut lexopt::Parser::from_args(rest), command);
            }
            _ => Command::Print(Text::Help.unpack()),
        },
        other => {
            return Err(Failure::usage(format!(
                "unknown command \"{}\"",
                other.escape_debug()
            )));
        }
    })
}

/// The first stage, pure: reads and checks the whole command line, touching nothing.
fn parse(mut parser: lexopt::Parser) -> Result<(Globals, Command), Failure> {
    let mut globals = Globals::default();
    let command = loop {
        match parser.next().map_err(usage_error)? {
            Some(Short('n') | Long("netns")) => {
                globals.netns = Some(parser.value().map_err(usage_error)?)
            }
            Some(Short('j') | Long("json")) => globals.json = true,
            Some(Short('q') | Long("quiet")) => globals.quiet = true,
            Some(Short('h') | Long("help")) => break Command::Print(Text::Help.unpack()),
            Some(Short('V') | Long("version")) => {
                break Command::Print(
                    concat!(
                        "nlsel ",
                        env!("CARGO_PKG_VERSION"),
                        " (commit ",
                        env!("NLSEL_COMMIT"),
                        ")"
                    )
                    .to_string(),
                );
            }
            Some(Value(word)) => break parse_command(&mut parser, word)?,
            Some(other) => return Err(usage_error(other.unexpected())),
            None => return Err(Failure::usage("missing command")),
        }
    };
    Ok((globals, command))
}

/// `doctor`'s reading of a unit's `ExecStart=` arguments: this very command line's parser.
fn read_policy(words: &[String]) -> Result<Option<(Option<OsString>, Policy)>, Failure> {
    let (globals, command) = parse(lexopt::Parser::from_args(words.iter().map(OsString::from)))?;
    Ok(match command {
        Command::Kernel(KernelCommand::Deprecate(args)) => {
            Some((globals.netns, Policy::Deprecate(args)))
        }
        Command::Kernel(KernelCommand::Prefer(args)) => Some((globals.netns, Policy::Prefer(args))),
        _ => None,
    })
}

/// The second stage: carries out a command line that [`parse`] accepted.
fn run(parser: lexopt::Parser) -> Result<Outcome, Failure> {
    let parsed = parse(parser);
    if !matches!(&parsed, Ok((_, Command::Kernel(command))) if command.watches()) {
        let _ = block_signals(&WATCH_SIGNALS, false);
    }
    let (globals, command) = parsed?;
    let command = match command {
        // Help goes to stdout, like the output it describes, and exits 0; when it cannot be
        // written, 1 without a message.
        Command::Print(text) => {
            let mut out = Output::new(false);
            out.line(text.trim_end());
            return Ok(match out.finish() {
                Some(_) => Outcome::ProblemFound,
                None => Outcome::Done,
            });
        }
        Command::Unit(args) => {
            // -q and -j are for the unit's command, not for printing the unit.
            let mut out = Output::new(false);
            let outcome = cmd::unit::run(&args, &globals, &mut out)?;
            return out
                .finish()
                .map_or(Ok(outcome), |error| Err(Kind::Output(error).into()));
        }
        Command::Completions(shell) => {
            let mut out = Output::new(false);
            let outcome = cmd::completions::run(shell, &mut out);
            return out
                .finish()
                .map_or(Ok(outcome), |error| Err(Kind::Output(error).into()));
        }
        Command::Kernel(command) => command,
    };

    // Every argument has been checked: only now touch the system.
    if let Some(netns) = &globals.netns {
        enter_named_netns(netns)?;
    }
    let conn = Conn::open().map_err(Failure::request("opening a netlink socket"))?;
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
        (Ok(_), Some(error)) => Err(Kind::Output(error).into()),
        (Err(failure), _) => Err(failure),
    }
}

/// `-n NAME` means /run/netns/NAME, as for `ip -n`; a value with a '/' is a path.
fn enter_named_netns(netns: &OsString) -> Result<(), Failure> {
    let name = netns.to_string_lossy().into_owned();
    enter_netns(&netns_path(netns)).map_err(|source| Kind::Netns { name, source }.into())
}

#[cfg(test)]
mod tests {
    //! The command line's usage errors, checked without a kernel or privileges, as any user:
    //! every word that is refused, and what its message names. tests/usage.rs keeps what needs
    //! the binary in a namespace: that a usage error exits 2 with one line and changes nothing.

    use super::*;

    fn parse_words(words: &[&str]) -> Result<(Globals, Command), Failure> {
        parse(lexopt::Parser::from_args(words.iter().copied()))
    }

    /// `words` is a usage error (exit 2) whose message names every one of `needles`.
    #[track_caller]
    fn rejected(words: &[&str], needles: &[&str]) {
        match parse_words(words) {
            Ok(_) => panic!("{words:?} was accepted"),
            Err(failure) => {
                let message = failure.to_string();
                assert_eq!(failure.exit_code(), 2, "{words:?}: {message}");
                assert!(!message.contains('\n'), "{words:?}: {message}");
                for needle in needles {
                    assert!(
                        message.contains(needle),
                        "{words:?}: {message} lacks {needle}"
                    );
                }
            }
        }
    }

    #[track_caller]
    fn accepted(words: &[&str]) -> (Globals, Command) {
        parse_words(words).unwrap_or_else(|failure| panic!("{words:?}: {failure}"))
    }

    #[test]
    fn unknown_words_are_named() {
        rejected(&["frobnicate"], &["\"frobnicate\""]);
        rejected(&["--frobnicate", "show"], &["\"--frobnicate\""]);
        rejected(
            &["deprecate", "--except", "::2", "--frobnicate"],
            &["\"--frobnicate\""],
        );
        rejected(&["addr", "frob"], &["\"frob\""]);
        rejected(&["show", "eth0", "extra"], &["\"extra\""]);
        rejected(&[], &["missing command"]);
    }

    #[test]
    fn deprecate_patterns_and_modes() {
        rejected(&["deprecate"], &["--except"]);
        rejected(&["deprecate", "--except"], &["--except"]);
        rejected(
            &["deprecate", "--except", "10.0.0.1"],
            &["\"10.0.0.1\"", "IPv4"],
        );
        rejected(&["deprecate", "--except", "zzz"], &["\"zzz\""]);
        rejected(&["deprecate", "--except", "::2/129"], &["\"::2/129\""]);
        rejected(
            &["deprecate", "--except", "::2", "--except", "zzz"],
            &["\"zzz\""],
        );
        rejected(
            &["deprecate", "--except", "::2", "--dry-run", "--check"],
            &["--dry-run", "--check"],
        );
        rejected(
            &["deprecate", "--except", "::2", "--watch", "--check"],
            &["--watch"],
        );
        let (_, command) = accepted(&[
            "-j",
            "deprecate",
            "--except",
            "::2",
            "--dev",
            "venet0",
            "--check",
        ]);
        let Command::Kernel(KernelCommand::Deprecate(args)) = command else {
            panic!("not deprecate");
        };
        assert_eq!(args.modes.mode, crate::plan::Mode::Check);
        assert_eq!(args.devs, [b"venet0".to_vec()]);
        assert_eq!(args.patterns.len(), 1);
    }

    /// The mode options are one set, read in one place: every policy command, and the unit
    /// that runs one, refuses the same combinations with the same words, after its own
    /// arguments.
    #[test]
    fn mode_options_are_refused_alike_everywhere() {
        // The usage error's own words, without the hint every usage error ends with.
        let message = |words: &[&str]| match parse_words(words) {
            Err(failure) if failure.exit_code() == 2 => {
                let text = failure.to_string();
                let hint = text.rfind(" (see ").unwrap_or(text.len());
                text[..hint].to_owned()
            }
            _ => panic!("{words:?} was not a usage error"),
        };
        for (modes, expected) in [
            (
                &["--dry-run", "--check"][..],
                "--dry-run and --check cannot be used together",
            ),
            (
                &["--check", "--dry-run", "--watch"],
                "--dry-run and --check cannot be used together",
            ),
            (
                &["--watch", "--probe", "::9"],
                "--probe cannot be used with --watch",
            ),
            (
                &["--probe", "::9", "--watch", "--check"],
                "--probe cannot be used with --watch",
            ),
            (
                &["--watch", "--dry-run"],
                "--watch cannot be used with --dry-run or --check",
            ),
            (
                &["--check", "--watch"],
                "--watch cannot be used with --dry-run or --check",
            ),
            (
                &["--probe", "zzz"],
                "invalid destination \"zzz\": not an IP address",
            ),
            (&["--probe"], "missing value for option \"--probe\""),
        ] {
            for policy in [&["deprecate", "--except", "::2"][..], &["prefer", "::2"]] {
                for unit in [&[][..], &["unit"]] {
                    let words = [unit, policy, modes].concat();
                    assert_eq!(message(&words), expected, "{words:?}");
                }
            }
        }
        // A unit changes addresses for real, whichever policy it runs.
        for policy in [&["deprecate", "--except", "::2"][..], &["prefer", "::2"]] {
            for mode in ["--dry-run", "--check"] {
                let words = [&["unit"][..], policy, &[mode]].concat();
                assert_eq!(
                    message(&words),
                    "a unit runs the command for real: drop --dry-run or --check",
                    "{words:?}"
                );
                accepted(&[policy, &[mode]].concat());
            }
            let Command::Unit(args) =
                accepted(&[&["unit"][..], policy, &["--probe", "::9"]].concat()).1
            else {
                panic!("not unit");
            };
            assert!(!args.watch);
        }
        // The command's own arguments are checked first.
        assert_eq!(
            message(&["deprecate", "--dry-run", "--check"]),
            "deprecate needs at least one --except PATTERN"
        );
        assert_eq!(
            message(&["prefer", "--watch", "--check"]),
            "prefer needs an address"
        );
        let Command::Kernel(KernelCommand::Deprecate(args)) =
            accepted(&["deprecate", "--watch", "--except", "::2"]).1
        else {
            panic!("not deprecate");
        };
        assert_eq!(
            args.modes,
            cmd::Modes {
                mode: crate::plan::Mode::Apply,
                watch: true,
                probes: Vec::new()
            }
        );
        let Command::Kernel(KernelCommand::Prefer(args)) =
            accepted(&["prefer", "--dry-run", "::2", "--probe", "::9"]).1
        else {
            panic!("not prefer");
        };
        assert_eq!(args.address, "::2".parse::<std::net::IpAddr>().unwrap());
        assert_eq!(
            args.modes,
            cmd::Modes {
                mode: crate::plan::Mode::DryRun,
                watch: false,
                probes: vec!["::9".parse().unwrap()]
            }
        );
    }

    #[test]
    fn prefer_and_which_need_an_address() {
        rejected(&["prefer", "notanaddr"], &["\"notanaddr\""]);
        rejected(&["prefer"], &["address"]);
        rejected(&["which", "notanaddr"], &["\"notanaddr\""]);
        rejected(&["which"], &["destination"]);
        assert!(matches!(
            accepted(&["which", "2001:db8::9"]).1,
            Command::Kernel(KernelCommand::Which(_))
        ));
    }

    #[test]
    fn explain_and_probe_arguments() {
        let Command::Kernel(KernelCommand::Which(args)) =
            accepted(&["which", "2001:db8::9", "--explain"]).1
        else {
            panic!("not which");
        };
        assert!(args.explain);
        rejected(&["which", "2001:db8::9", "--explain=yes"], &["--explain"]);
        let Command::Kernel(KernelCommand::Which(args)) = accepted(&[
            "which",
            "fe80::1%e0",
            "--dev",
            "e1",
            "--tcp",
            "--sport",
            "1",
            "--dport",
            "53",
        ])
        .1
        else {
            panic!("not which");
        };
        assert_eq!(args.scope, Some(b"e0".to_vec()));
        assert_eq!(args.dev, Some(b"e1".to_vec()));
        assert!(args.tcp && !args.explain);
        assert_eq!((args.sport, args.dport), (Some(1), Some(53)));
        rejected(&["which", "192.0.2.1%e0"], &["\"192.0.2.1%e0\""]);
        rejected(
            &["which", "::1", "--dport", "65536"],
            &["--dport", "\"65536\""],
        );
        rejected(&["which", "::1", "--sport"], &["--sport"]);
        rejected(
            &["deprecate", "--except", "::2", "--probe", "zzz"],
            &["\"zzz\""],
        );
        rejected(&["deprecate", "--except", "::2", "--probe"], &["--probe"]);
        rejected(
            &["deprecate", "--except", "::2", "--watch", "--probe", "::9"],
            &["--probe", "--watch"],
        );
        rejected(&["prefer", "::2", "--dry-run", "--check"], &["--dry-run"]);
        rejected(
            &["prefer", "::2", "--watch", "--probe", "::9"],
            &["--watch"],
        );
        let Command::Kernel(KernelCommand::Prefer(args)) = accepted(&[
            "prefer",
            "::2",
            "--check",
            "--probe",
            "::9",
            "--probe",
            "192.0.2.1",
        ])
        .1
        else {
            panic!("not prefer");
        };
        assert_eq!(args.modes.mode, crate::plan::Mode::Check);
        assert_eq!(args.modes.probes.len(), 2);
    }

    #[test]
    fn addr_change_arguments() {
        let beef = "2001:db8:f1c1:8454:964::beef/80";
        rejected(
            &[
                "addr",
                "change",
                beef,
                "dev",
                "venet0",
                "preferred_lft",
                "abc",
            ],
            &["\"abc\""],
        );
        rejected(
            &[
                "addr",
                "change",
                "zzz",
                "dev",
                "venet0",
                "preferred_lft",
                "0",
            ],
            &["\"zzz\""],
        );
        rejected(
            &[
                "addr",
                "change",
                "10.0.0.1/33",
                "dev",
                "venet0",
                "preferred_lft",
                "0",
            ],
            &["0 to 32"],
        );
        rejected(&["addr", "change", beef, "dev"], &["dev"]);
        rejected(
            &["addr", "change", beef, "dev", "venet0", "preferred_lft"],
            &["preferred_lft"],
        );
        rejected(
            &["addr", "change", beef, "dev", "venet0"],
            &["preferred_lft or valid_lft"],
        );
        rejected(
            &["addr", "change", beef, "preferred_lft", "0"],
            &["dev IFACE"],
        );
        rejected(
            &["addr", "change", beef, "dev", "venet0", "valid_lft", "0"],
            &["\"0\""],
        );
        rejected(
            &[
                "addr",
                "change",
                beef,
                "dev",
                "venet0",
                "preferred_lft",
                "forever",
                "valid_lft",
                "10",
            ],
            &["exceeds"],
        );
        let (_, command) = accepted(&[
            "addr",
            "change",
            beef,
            "dev",
            "venet0",
            "preferred_lft",
            "0",
        ]);
        let Command::Kernel(KernelCommand::AddrChange(args)) = command else {
            panic!("not addr change");
        };
        assert_eq!(
            (args.prefixlen, args.preferred_lft, args.valid_lft),
            (Some(80), Some(0), None)
        );
    }

    #[test]
    fn unit_checks_the_command_it_would_run() {
        rejected(&["unit"], &["deprecate or prefer"]);
        rejected(&["unit", "show"], &["\"show\""]);
        rejected(&["unit", "deprecate"], &["--except"]);
        rejected(
            &["unit", "deprecate", "--except", "::2", "--dry-run"],
            &["--dry-run"],
        );
        // prefer's unit was written with --dry-run, and then never changed anything.
        rejected(&["unit", "prefer", "::2", "--dry-run"], &["--dry-run"]);
        rejected(
            &["unit", "prefer", "::2", "--check", "--watch"],
            &["--check"],
        );
        let (globals, command) = accepted(&[
            "-n",
            "vps",
            "unit",
            "deprecate",
            "--except",
            "::2",
            "--watch",
        ]);
        assert_eq!(globals.netns.as_deref(), Some(std::ffi::OsStr::new("vps")));
        let Command::Unit(args) = command else {
            panic!("not unit")
        };
        assert!(args.watch);
        assert_eq!(args.words, ["deprecate", "--except", "::2", "--watch"]);
    }

    /// `doctor` reads a unit's ExecStart arguments with this very parser.
    #[test]
    fn read_policy_reads_a_units_arguments_like_the_command_line() {
        let words = |list: &[&str]| list.iter().map(|w| w.to_string()).collect::<Vec<_>>();
        let Ok(Some((netns, Policy::Deprecate(args)))) = read_policy(&words(&[
            "-n",
            "vps",
            "deprecate",
            "--except",
            "::2",
            "--watch",
        ])) else {
            panic!("not a deprecate policy");
        };
        assert_eq!(netns.as_deref(), Some(std::ffi::OsStr::new("vps")));
        assert!(args.modes.watch);
        assert!(matches!(
            read_policy(&words(&["prefer", "2001:db8::2"])),
            Ok(Some((None, Policy::Prefer(_))))
        ));
        assert!(matches!(read_policy(&words(&["show"])), Ok(None)));
        assert!(matches!(
            read_policy(&words(&["deprecate", "--help"])),
            Ok(None)
        ));
        let failure = read_policy(&words(&["deprecate", "--except", "zzz"])).err();
        assert_eq!(failure.map(|f| f.exit_code()), Some(2));
        let (_, command) = accepted(&["-j", "doctor", "--dev", "e0", "--probe", "::9"]);
        let Command::Kernel(KernelCommand::Doctor(args)) = command else {
            panic!("not doctor");
        };
        assert_eq!((args.devs.len(), args.probes.len()), (1, 1));
        rejected(&["doctor", "--probe", "zzz"], &["\"zzz\""]);
        rejected(&["doctor", "extra"], &["\"extra\""]);
    }

    /// `nlsel help COMMAND` prints that command's help, as `nlsel COMMAND --help` does.
    #[test]
    fn help_command_is_the_command_s_help() {
        for (words, help) in [
            (&["help", "deprecate"][..], Text::DeprecateHelp),
            (&["help", "unit"], Text::UnitHelp),
            (&["help", "addr", "change"], Text::AddrChangeHelp),
            (&["help"], Text::Help),
            (&["help", "help"], Text::Help),
        ] {
            match parse_words(words) {
                Ok((_, Command::Print(text))) => assert_eq!(text, help.unpack(), "{words:?}"),
                _ => panic!("{words:?} gave no help"),
            }
        }
        rejected(&["help", "frobnicate"], &["\"frobnicate\""]);
    }

    #[test]
    fn help_and_version_are_not_failures() {
        for words in [
            &["--help"][..],
            &["-h"],
            &["help"],
            &["deprecate", "--help"],
            &["addr", "-h"],
            &["-V"],
        ] {
            match parse_words(words) {
                Ok((_, Command::Print(help))) => {
                    assert!(
                        help.starts_with(if words == ["-V"] { "nlsel " } else { "Usage" })
                            || help.starts_with("nlsel:"),
                        "{words:?}"
                    );
                }
                _ => panic!("{words:?} gave no help"),
            }
        }
    }
}
