//! One file per subcommand. Each has `parse`, which reads and checks its arguments without any
//! system call (so a usage error changes nothing), and `run`, which does the work.

pub mod addr_change;
pub mod deprecate;
pub mod prefer;
pub mod show;
pub mod undeprecate;
pub mod which;

use std::ffi::OsString;
use std::os::unix::ffi::OsStringExt;

use crate::failure::{ChangeError, Failure};
use crate::json;
use crate::model::{Interface, name_of};
use crate::nl::Emit;
use crate::nl::header::{NlmFlags, RTM_NEWADDR};
use crate::nl::request::Conn;
use crate::output::Output;
use crate::plan::{Change, Plan, Step, address_text};

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

/// Whether a plan is carried out, printed as commands, or only checked.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Mode {
    #[default]
    Apply,
    DryRun,
    Check,
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

fn change_description(change: &Change<'_>, interfaces: &[Interface]) -> String {
    format!(
        "{} {} dev {}",
        change.action.name(),
        address_text(change.address),
        String::from_utf8_lossy(&name_of(interfaces, change.address.ifindex))
    )
}

/// Carries out `plan` (or prints it, under `--dry-run`/`--check`), then reports each step.
pub fn execute(
    ctx: &mut Context,
    plan: &Plan<'_>,
    interfaces: &[Interface],
    mode: Mode,
) -> Result<Outcome, Failure> {
    let changes: Vec<&Change<'_>> = plan.changes().collect();
    let mut applied: Vec<bool> = vec![mode == Mode::Apply; changes.len()];
    let mut failure = None;
    if mode == Mode::Apply && !changes.is_empty() {
        let messages: Vec<_> = changes
            .iter()
            .map(|change| {
                change
                    .address
                    .change_message(change.preferred_lft, change.valid_lft)
            })
            .collect();
        let bodies: Vec<&dyn Emit> = messages
            .iter()
            .map(|message| message as &dyn Emit)
            .collect();
        // REPLACE and never CREATE: only addresses just read from the dump are named. (The kernel
        // creates a missing IPv6 address even without NLM_F_CREATE.)
        let outcome = ctx.conn.batch(RTM_NEWADDR, NlmFlags::REPLACE, &bodies);
        for (slot, result) in applied.iter_mut().zip(&outcome.results) {
            *slot = matches!(result, Some(Ok(())));
        }
        let refused = outcome
            .results
            .iter()
            .enumerate()
            .find_map(|(i, result)| match result {
                Some(Err(error)) => Some((i, ChangeError::Kernel(error.clone()))),
                _ => None,
            });
        let unanswered = || {
            let i = outcome
                .results
                .iter()
                .position(Option::is_none)
                .unwrap_or(0);
            outcome
                .failure
                .map(|error| (i, ChangeError::Request(error)))
        };
        failure = refused.or_else(unanswered).map(|(i, error)| {
            let change = changes.get(i).map(|c| change_description(c, interfaces));
            (change.unwrap_or_default(), error)
        });
    }

    report(ctx, plan, interfaces, mode, &changes, &applied);
    for &ifindex in &plan.no_preferred_kept {
        eprintln!(
            "nlsel: warning: {}: no kept address is preferred; the kernel may still choose a deprecated one",
            String::from_utf8_lossy(&name_of(interfaces, ifindex))
        );
    }
    if let Some((change, error)) = failure {
        let applied_count = applied.iter().filter(|ok| **ok).count();
        return Err(Failure::Partial {
            change,
            error,
            applied: applied_count,
            not_applied: changes.len().saturating_sub(applied_count),
        });
    }
    Ok(if mode == Mode::Check && !changes.is_empty() {
        Outcome::WorkFound
    } else {
        Outcome::Done
    })
}

fn report(
    ctx: &mut Context,
    plan: &Plan<'_>,
    interfaces: &[Interface],
    mode: Mode,
    changes: &[&Change<'_>],
    applied: &[bool],
) {
    let mut change_index = 0;
    let mut items = Vec::new();
    for step in &plan.steps {
        match step {
            Step::Change(change) => {
                let was_applied = applied.get(change_index).copied().unwrap_or(false);
                change_index += 1;
                if ctx.globals.json {
                    items.push(change_json(change, interfaces, was_applied));
                    continue;
                }
                let line = match mode {
                    Mode::DryRun => change.ip_command(interfaces),
                    Mode::Check => format!(
                        "would {}",
                        describe(change, interfaces, change.action.name())
                    ),
                    Mode::Apply if was_applied => {
                        describe(change, interfaces, change.action.past_tense())
                    }
                    Mode::Apply => continue,
                };
                ctx.out.line(&line);
            }
            Step::LeaveAlone { ifindex } => {
                let name = name_of(interfaces, *ifindex);
                if ctx.globals.json {
                    let mut item = String::new();
                    let mut object = json::Object::begin(&mut item);
                    object
                        .string("action", "leave")
                        .number("ifindex", *ifindex)
                        .string("ifname", &name)
                        .string("reason", LEFT_ALONE_REASON);
                    object.end();
                    items.push(item);
                } else {
                    ctx.out.line(&format!(
                        "left alone: {} ({LEFT_ALONE_REASON})",
                        String::from_utf8_lossy(&name)
                    ));
                }
            }
        }
    }
    debug_assert_eq!(change_index, changes.len());
    if ctx.globals.json {
        ctx.out.line(&json::array(&items));
    }
}

const LEFT_ALONE_REASON: &str = "no global IPv6 address matches --except";

fn describe(change: &Change<'_>, interfaces: &[Interface], verb: &str) -> String {
    format!(
        "{verb} {} dev {}",
        address_text(change.address),
        String::from_utf8_lossy(&name_of(interfaces, change.address.ifindex))
    )
}

fn change_json(change: &Change<'_>, interfaces: &[Interface], applied: bool) -> String {
    let address = change.address;
    let mut item = String::new();
    let mut object = json::Object::begin(&mut item);
    object
        .string("action", change.action.name())
        .number("ifindex", address.ifindex)
        .string("ifname", name_of(interfaces, address.ifindex))
        .display("local", address.local);
    if let Some(peer) = address.peer {
        object.display("address", peer);
    }
    object
        .number("prefixlen", address.prefixlen)
        .number("preferred_life_time", change.preferred_lft)
        .number("valid_life_time", change.valid_lft)
        .boolean("applied", applied);
    object.end();
    item
}
