//! Plans and changes: each step of a plan as `--dry-run`'s `ip` command, `--check`'s "would",
//! a real run's report or JSON, and the warnings a plan or its carrying out gives.

use std::fmt;

use super::show::address_protocol_name;
use super::{address_text, flag_words, json, lifetime_text, lossy, shell_word};
use crate::model::{Interface, PRESERVED_FLAGS, name_of};
use crate::plan::{Action, Change, Mode, Plan, Step, Warning};

/// Why an interface is left alone, in text and JSON alike.
const LEFT_ALONE_REASON: &str = "no global IPv6 address matches --except";

/// `VERB ADDR/LEN dev IFACE`, with the new lifetimes for `addr change`: the one way a change
/// is named, in reports, warnings and errors.
pub fn describe(change: &Change<'_>, interfaces: &[Interface], verb: &str) -> String {
    let mut line = format!(
        "{verb} {} dev {}",
        address_text(change.address),
        lossy(&name_of(interfaces, change.address.ifindex))
    );
    if change.action == Action::Change {
        line.push_str(&format!(
            " preferred_lft {} valid_lft {}",
            lifetime_text(change.preferred_lft),
            lifetime_text(change.valid_lft)
        ));
    }
    line
}

/// The iproute2 command that would make the same change, for `--dry-run`. Unlike a bare
/// `ip addr change`, it spells out what must be kept: the valid lifetime, the flags, the
/// metric and the protocol.
pub fn ip_command(change: &Change<'_>, interfaces: &[Interface]) -> String {
    let address = change.address;
    let mut words = vec![
        "ip addr change".to_string(),
        address_text(address),
        "dev".to_string(),
        shell_word(&name_of(interfaces, address.ifindex)),
        format!("preferred_lft {}", lifetime_text(change.preferred_lft)),
        format!("valid_lft {}", lifetime_text(change.valid_lft)),
    ];
    words.extend(flag_words(address.flags & PRESERVED_FLAGS, address.family).map(str::to_string));
    if let Some(metric) = address.rt_priority {
        words.push(format!("metric {metric}"));
    }
    // iproute2 before 6.2 refuses `proto` for an address (Debian 12 has 6.1), and without it
    // the kernel resets the protocol: said after the command, where the shell ignores it.
    if let Some(proto) = address.proto {
        words.push(format!(
            "# proto {} with iproute2 6.2+",
            address_protocol_name(proto)
        ));
    }
    words.join(" ")
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

fn left_alone_json(ifindex: u32, interfaces: &[Interface]) -> String {
    let mut item = String::new();
    let mut object = json::Object::begin(&mut item);
    object
        .string("action", "leave")
        .number("ifindex", ifindex)
        .string("ifname", name_of(interfaces, ifindex))
        .string("reason", LEFT_ALONE_REASON);
    object.end();
    item
}

/// The report of a plan carried out in `mode`: one line per step in text (changes that were
/// not applied are left out), or one JSON array. `applied` has one entry per change.
pub fn plan_report(
    plan: &Plan<'_>,
    interfaces: &[Interface],
    mode: Mode,
    applied: &[bool],
    as_json: bool,
) -> Vec<String> {
    let mut applied = applied.iter().copied();
    let mut lines = Vec::new();
    for step in &plan.steps {
        let line = match step {
            Step::Change(change) => {
                let was_applied = applied.next().unwrap_or(false);
                if as_json {
                    change_json(change, interfaces, was_applied)
                } else {
                    match mode {
                        Mode::DryRun => ip_command(change, interfaces),
                        Mode::Check => format!(
                            "would {}",
                            describe(change, interfaces, change.action.name())
                        ),
                        Mode::Apply if was_applied => {
                            describe(change, interfaces, change.action.past_tense())
                        }
                        Mode::Apply => continue,
                    }
                }
            }
            Step::LeaveAlone { ifindex } if as_json => left_alone_json(*ifindex, interfaces),
            // A comment among --dry-run's commands, so that the output runs as a script.
            Step::LeaveAlone { ifindex } => format!(
                "{}left alone: {} ({LEFT_ALONE_REASON})",
                if mode == Mode::DryRun { "# " } else { "" },
                lossy(&name_of(interfaces, *ifindex))
            ),
        };
        lines.push(line);
    }
    if as_json {
        return vec![json::array(&lines)];
    }
    lines
}

/// A warning in words, written straight into the diagnostic line.
pub fn warning<'a>(
    warning: &'a Warning<'a>,
    interfaces: &'a [Interface],
) -> impl fmt::Display + 'a {
    Words(warning, interfaces)
}

struct Words<'a>(&'a Warning<'a>, &'a [Interface]);

impl fmt::Display for Words<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let interfaces = self.1;
        let name = |ifindex| lossy(&name_of(interfaces, ifindex)).into_owned();
        match *self.0 {
            Warning::Recreated(change) => write!(
                f,
                "{}: deleted by another process during the change; removed the copy the kernel re-created",
                describe(change, interfaces, change.action.name())
            ),
            Warning::PrefixRoute {
                address,
                prefix,
                len,
                reinstalled,
            } => {
                let name = name(address.ifindex);
                let verb = if reinstalled {
                    "re-installed"
                } else {
                    "may re-install"
                };
                write!(
                    f,
                    "{} dev {name}: the change {verb} the prefix route {prefix}/{len} dev {name}, which was missing (deleted by hand?); the kernel adds it back on every change of an address without noprefixroute",
                    address_text(address),
                )
            }
            Warning::TentativeKept(ifindex) => write!(
                f,
                "{}: every address matching --except is still tentative (duplicate address detection running, or the link is down); nothing deprecated there",
                name(ifindex)
            ),
            Warning::DadFailedKept(ifindex) => write!(
                f,
                "{}: every address matching --except failed duplicate address detection; nothing deprecated there",
                name(ifindex)
            ),
            Warning::NoPreferredKept(ifindex) => write!(
                f,
                "{}: no kept address is preferred; the kernel may still choose a deprecated one",
                name(ifindex)
            ),
            Warning::TemporariesWin(address) => {
                let ifname = name(address.ifindex);
                // sysctl(8) writes a dot in an interface name (eth0.100) as a slash.
                let key = ifname.replace('.', "/");
                write!(
                    f,
                    "{ifname}: kept {} stays preferred, but the kernel prefers its temporary (privacy) addresses over it (use_tempaddr=2); set net.ipv6.conf.{key}.use_tempaddr=1 to keep them but prefer public addresses",
                    address_text(address)
                )
            }
            Warning::RouterDeprecates(address) => write!(
                f,
                "{} dev {}: its router is deprecating the address you prefer (preferred lifetime 0 in its Router Advertisements); it stays deprecated, since prefer keeps the lifetimes a router gives",
                address_text(address),
                name(address.ifindex)
            ),
            Warning::Ipv4PreferredIgnored { address, preferred } => write!(
                f,
                "{} dev {}: IPv4 keeps an address with valid_lft forever preferred forever; preferred_lft {} is ignored by the kernel",
                address.local,
                name(address.ifindex),
                lifetime_text(preferred)
            ),
        }
    }
}
