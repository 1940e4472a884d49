//! `nlsel doctor [--dev IFACE]... [--probe DEST]...`: will the choice survive this host? Reads
//! the systemd units that run nlsel, the other programs that manage the same addresses
//! (systemd-networkd, ifupdown, NetworkManager, netplan), the privacy-address sysctl and the
//! kernel's source now, and prints findings with the exact fix. Changes nothing.
//!
//! A unit's policy is its `ExecStart=` arguments read by nlsel's own command-line parser (the
//! caller passes it in: `cli` is above `cmd`) and planned by the same `Rule` the command runs,
//! so what doctor calls "not applied" is what `--check` exits 3 for. Files are read under a
//! root directory, `/` in the binary, a temporary tree in tests; a file that cannot be read
//! or parsed is a warning naming it, never an `ok`.

use std::ffi::OsString;
use std::io;
use std::net::{IpAddr, Ipv6Addr};
use std::os::unix::ffi::OsStringExt;
use std::path::{Path, PathBuf};

use lexopt::prelude::*;

use super::{Parsed, interface_name, usage_error};
use crate::apply::Rule;
use crate::context::{Context, Outcome};
use crate::failure::{Failure, Kind};
use crate::hostfiles::{
    self, ParseError, ifupdown, netplan, networkd,
    unit::{UnitFile, lists},
};
use crate::model::{
    Address, Interface, name_of, read_addresses, read_interfaces, read_ipv6_prefix_routes,
    read_use_tempaddr, selected_interfaces,
};
use crate::nl::Family;
use crate::nl::addr::{INFINITY_LIFE_TIME, IfaFlags};
use crate::plan::Action;
use crate::present::doctor::{self as words, Finding, Level, TooLate};
use crate::present::packed::Text;
use crate::srcsel::read::Flow;
use crate::sys::directory_names;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Args {
    pub devs: Vec<Vec<u8>>,
    pub probes: Vec<IpAddr>,
}

#[inline(never)]
pub fn parse(parser: &mut lexopt::Parser) -> Result<Parsed<Args>, Failure> {
    let mut args = Args {
        devs: Vec::new(),
        probes: Vec::new(),
    };
    while let Some(arg) = parser.next().map_err(usage_error)? {
        match arg {
            Long("dev") => args
                .devs
                .push(interface_name(parser.value().map_err(usage_error)?)),
            Long("probe") => args.probes.push(super::which::destination_value(
                parser.value().map_err(usage_error)?,
            )?),
            Short('h') | Long("help") => return Ok(Parsed::Help(Text::DoctorHelp)),
            _ => return Err(usage_error(arg.unexpected())),
        }
    }
    Ok(Parsed::Run(args))
}

/// A policy a unit runs: `deprecate` or `prefer`, as parsed.
pub enum Policy {
    Deprecate(super::deprecate::Args),
    Prefer(super::prefer::Args),
}

impl Policy {
    fn rule(&self) -> &dyn Rule {
        match self {
            Policy::Deprecate(args) => args,
            Policy::Prefer(args) => args,
        }
    }

    fn watch(&self) -> bool {
        match self {
            Policy::Deprecate(args) => args.modes.watch,
            Policy::Prefer(args) => args.modes.watch,
        }
    }
}

/// nlsel's own command-line parser, for a unit's `ExecStart=` arguments (after the
/// executable): the namespace (`-n`) and the policy, `Ok(None)` for a command that is not a
/// policy (`show`, …).
pub type ReadPolicy = fn(&[String]) -> Result<Option<(Option<OsString>, Policy)>, Failure>;

/// The unit directories, most important first: a unit in an earlier one hides one of the same
/// name in a later one.
const UNIT_DIRS: [&str; 4] = [
    "/etc/systemd/system",
    "/run/systemd/system",
    "/usr/lib/systemd/system",
    "/lib/systemd/system",
];

/// The services that add addresses at boot; a unit must be ordered after those installed.
const MANAGERS: [&str; 3] = [
    "networking.service",
    "systemd-networkd.service",
    "NetworkManager.service",
];

/// A unit that runs an nlsel policy.
struct NlselUnit {
    name: String,
    path: String,
    file: UnitFile,
    /// ExecStart's arguments after the executable.
    words: Vec<String>,
    policy: Result<Policy, Failure>,
}

/// `path` (absolute) under `root`.
fn under(root: &Path, path: &str) -> PathBuf {
    root.join(path.trim_start_matches('/'))
}

/// A file's text; a missing file is `None` without a word, any other failure a warning.
fn read_text(root: &Path, path: &str, findings: &mut Vec<Finding>) -> Option<String> {
    // read_to_string, as the rest of nlsel reads files (one copy of the read loop), says
    // InvalidData for bytes that are not UTF-8.
    std::fs::read_to_string(under(root, path))
        .map_err(|error| io_warning(path, error, findings))
        .ok()
}

/// A read error's warning; none for a missing file.
#[inline(never)]
fn io_warning(path: &str, error: std::io::Error, findings: &mut Vec<Finding>) {
    if error.kind() != std::io::ErrorKind::NotFound {
        findings.push(words::unreadable_file(path, &error));
    }
}

/// The names in a directory, sorted; a missing directory has none, an unreadable one is a
/// warning.
fn list_dir(root: &Path, dir: &str, findings: &mut Vec<Finding>) -> Vec<String> {
    let path = std::ffi::CString::new(under(root, dir).into_os_string().into_vec());
    let entries = match path
        .map_err(io::Error::from)
        .and_then(|p| directory_names(&p))
    {
        Ok(entries) => entries,
        Err(error) => {
            io_warning(dir, error, findings);
            return Vec::new();
        }
    };
    // Sorted by insertion before the first greater name: a sort function costs the shipped
    // binary 4 KiB.
    let mut names: Vec<String> = Vec::new();
    for entry in entries {
        if let Ok(name) = String::from_utf8(entry) {
            let at = names.iter().take_while(|n| **n < name).count();
            names.insert(at, name);
        }
    }
    names
}

fn parse_warning(path: &str, error: ParseError) -> Finding {
    words::unreadable(path, words::parse_error(error.what, error.line))
}

/// Every service unit that runs an nlsel policy in the namespace `netns`, and the names of
/// all service units (to know which managers are installed).
#[inline(never)]
fn find_units(
    root: &Path,
    read_policy: ReadPolicy,
    netns: Option<&OsString>,
    findings: &mut Vec<Finding>,
) -> (Vec<NlselUnit>, Vec<String>) {
    let mut names: Vec<String> = Vec::new();
    let mut units = Vec::new();
    for dir in UNIT_DIRS {
        for name in list_dir(root, dir, findings) {
            if !name.ends_with(".service") || names.contains(&name) {
                continue;
            }
            names.push(name.clone());
            let path = [dir, "/", &name].concat();
            let Some(text) = read_text(root, &path, findings) else {
                continue;
            };
            if hostfiles::find(&text, "nlsel", false).is_none() {
                continue;
            }
            let file = match hostfiles::unit::parse(&text) {
                Ok(file) => file,
                Err(error) => {
                    findings.push(parse_warning(&path, error));
                    continue;
                }
            };
            // The first ExecStart= that runs an nlsel policy is the unit's.
            let mut file = file;
            for mut args in std::mem::take(&mut file.exec_start) {
                // The words after the executable, moved rather than copied.
                if args.is_empty() {
                    continue;
                }
                let exe = args.remove(0);
                let exe = exe.trim_start_matches(['-', '@', ':', '+', '!']);
                if !exe
                    .rsplit('/')
                    .next()
                    .is_some_and(|n| n.starts_with("nlsel"))
                {
                    continue;
                }
                let policy = match read_policy(&args) {
                    Ok(None) => continue,
                    Ok(Some((ns, _))) if ns.as_ref() != netns => continue,
                    Ok(Some((_, policy))) => Ok(policy),
                    Err(failure) => Err(failure),
                };
                units.push(NlselUnit {
                    name,
                    path,
                    file,
                    words: args,
                    policy,
                });
                break;
            }
        }
    }
    (units, names)
}

/// Enabled: a link of that name in a `.wants/` or `.requires/` directory of /etc or /run.
#[inline(never)]
fn enabled(root: &Path, name: &str, findings: &mut Vec<Finding>) -> bool {
    UNIT_DIRS.iter().take(2).any(|dir| {
        list_dir(root, dir, findings)
            .iter()
            .filter(|d| d.ends_with(".wants") || d.ends_with(".requires"))
            .any(|d| {
                under(root, &[dir, "/", d, "/", name].concat())
                    .symlink_metadata()
                    .is_ok()
            })
    })
}

/// Why a unit is not done before network-online.target (issue 15's rules, which
/// `nlsel unit` follows): before it, after each manager installed here, and of a type
/// systemd waits for.
#[inline(never)]
fn too_late(file: &UnitFile, watch: bool, installed: &[String]) -> Option<TooLate> {
    let online = "network-online.target";
    if !lists(&file.before, online) {
        return Some(TooLate::NotBefore);
    }
    if lists(&file.after, online) {
        return Some(TooLate::AfterOnline);
    }
    if let Some(manager) = MANAGERS
        .iter()
        .find(|m| installed.iter().any(|n| n == *m) && !lists(&file.after, m))
    {
        return Some(TooLate::NotAfter(manager));
    }
    let wanted = if watch { "notify" } else { "oneshot" };
    (file.service_type != wanted).then_some(TooLate::Type(wanted))
}

/// The addresses `rule` deprecates, whatever their state now: its plan for the same addresses
/// all preferred.
#[inline(never)]
fn deprecated_by(rule: &dyn Rule, addresses: &[Address], interfaces: &[Interface]) -> Vec<Address> {
    let preferred = read_by(rule, addresses, true);
    let mut deprecated = Vec::new();
    if let Ok(plan) = rule.plan(&preferred, interfaces) {
        for change in plan.changes().filter(|c| c.action == Action::Deprecate) {
            deprecated.push(change.address.clone());
        }
    }
    deprecated
}

/// The addresses `rule` reads, as they are or (`preferred`) all made preferred: one copy
/// of the loop for both.
fn read_by(rule: &dyn Rule, addresses: &[Address], preferred: bool) -> Vec<Address> {
    let mut read = Vec::new();
    for address in addresses.iter().filter(|a| rule.reads(a)) {
        let mut address = address.clone();
        if preferred {
            address.preferred_lft = INFINITY_LIFE_TIME;
            address.flags -= IfaFlags::DEPRECATED;
        }
        read.push(address);
    }
    read
}

/// What doctor knows of the kernel: read once, in the namespace.
pub struct Kernel {
    pub interfaces: Vec<Interface>,
    pub addresses: Vec<Address>,
}

/// Every finding about units and the managers' files under `root`, for the kernel state
/// `kernel`; the interfaces in `only` (all when `None`).
#[inline(never)]
pub fn host_findings(
    root: &Path,
    read_policy: ReadPolicy,
    netns: Option<&OsString>,
    kernel: &Kernel,
    only: Option<&[u32]>,
    findings: &mut Vec<Finding>,
) -> Vec<Address> {
    let (units, installed) = find_units(root, read_policy, netns, findings);
    if units.is_empty() {
        findings.push(words::no_unit());
    }
    let mut deprecated: Vec<Address> = Vec::new();
    // The unit that a fix rewrites, and whether some unit re-applies the policy by itself
    // (--watch) or after networking.service restarts (PartOf=).
    let mut first: Option<&NlselUnit> = None;
    let (mut watched, mut follows_networking) = (false, false);
    for unit in &units {
        if !enabled(root, &unit.name, findings) {
            findings.push(words::unit_disabled(&unit.name));
        }
        // What the unit's command does now: the changes it would make, or its failure (its
        // arguments, or its plan); one not-applied finding for either.
        let planned;
        let outcome = match &unit.policy {
            Err(failure) => Err(failure),
            Ok(policy) => {
                first.get_or_insert(unit);
                watched |= policy.watch();
                follows_networking |= lists(&unit.file.part_of, "networking.service");
                if let Some(reason) = too_late(&unit.file, policy.watch(), &installed) {
                    findings.push(words::unit_too_late(
                        &unit.name,
                        &unit.path,
                        &words::too_late_reason(&reason),
                        &unit.words,
                    ));
                }
                let rule = policy.rule();
                let read = read_by(rule, &kernel.addresses, false);
                planned = rule.plan(&read, &kernel.interfaces);
                deprecated.extend(deprecated_by(rule, &kernel.addresses, &kernel.interfaces));
                match &planned {
                    Ok(plan) => Ok(plan.changes().count()),
                    Err(failure) => Err(failure),
                }
            }
        };
        match outcome {
            Ok(0) => {}
            Ok(changes) => findings.push(words::not_applied(&unit.name, &unit.path, changes, None)),
            Err(failure) => findings.push(words::not_applied(
                &unit.name,
                &unit.path,
                0,
                Some(failure.to_string()),
            )),
        }
    }
    deprecated.retain(|a| only.is_none_or(|only| only.contains(&a.ifindex)));
    if let Some(unit) = first {
        managers(
            root,
            kernel,
            &deprecated,
            unit,
            watched,
            follows_networking,
            findings,
        );
    }
    privacy(kernel, &deprecated, only, findings);
    deprecated
}

/// The other programs that add the addresses the policies deprecate.
#[inline(never)]
fn managers(
    root: &Path,
    kernel: &Kernel,
    deprecated: &[Address],
    unit: &NlselUnit,
    watched: bool,
    follows_networking: bool,
    findings: &mut Vec<Finding>,
) {
    let mut ifindexes: Vec<u32> = Vec::new();
    for address in deprecated {
        if !watched && !ifindexes.contains(&address.ifindex) {
            ifindexes.push(address.ifindex);
        }
    }
    let deprecates = |ifindex: u32, address: IpAddr| {
        deprecated
            .iter()
            .any(|a| a.ifindex == ifindex && a.local == address)
    };
    // netplan: it regenerates networkd's files, whichever unit runs. Read first (its
    // findings still come last), so that the networkd check knows which addresses of
    // netplan's generated files a netplan finding already covers.
    let mut netplan_findings = Vec::new();
    let mut covered: Vec<(u32, IpAddr)> = Vec::new();
    for name in list_dir(root, "/etc/netplan", &mut netplan_findings) {
        if !name.ends_with(".yaml") {
            continue;
        }
        let file = ["/etc/netplan/", &name].concat();
        let Some(text) = read_text(root, &file, &mut netplan_findings) else {
            continue;
        };
        match netplan::addresses(&text) {
            Ok(found) => {
                for address in found.iter().filter(|a| !a.deprecated) {
                    let Some(interface) = named(kernel, address.ifname) else {
                        continue;
                    };
                    if deprecates(interface.ifindex, address.address) {
                        covered.push((interface.ifindex, address.address));
                        netplan_findings.push(words::netplan(
                            &interface.name,
                            &file,
                            address.line,
                            address.indent,
                            address.value,
                        ));
                    }
                }
            }
            Err(error) => netplan_findings.push(parse_warning(&file, error)),
        }
    }
    for &ifindex in &ifindexes {
        let ifname = name_of(&kernel.interfaces, ifindex);
        // systemd-networkd: the link's .network file, as networkd says it applied it.
        let state = format!("/run/systemd/netif/links/{ifindex}");
        let file = read_text(root, &state, findings)
            .as_deref()
            .and_then(networkd::network_file)
            .map(str::to_owned);
        if let Some(file) = file
            && let Some(text) = read_text(root, &file, findings)
        {
            match networkd::addresses(&text) {
                Ok(assigned) => {
                    // Loops, not into_iter().filter().map().collect(): an in-place collect
                    // is a kilobyte of code per use.
                    // In a file netplan generates, an address its netplan finding names
                    // is fixed in the YAML: an edit of the file itself would be lost.
                    let generated = netplan::generated(&file);
                    let mut preferred = Vec::new();
                    for a in assigned {
                        if !a.deprecated
                            && deprecates(ifindex, a.address)
                            && !(generated && covered.contains(&(ifindex, a.address)))
                        {
                            preferred.push(a);
                        }
                    }
                    if !preferred.is_empty() {
                        findings.push(words::undone_by_networkd(&ifname, &file, &preferred));
                    }
                }
                Err(error) => findings.push(parse_warning(&file, error)),
            }
        }
        // NetworkManager: a device it manages has a state file by ifindex.
        let device = format!("/run/NetworkManager/devices/{ifindex}");
        if read_text(root, &device, findings)
            .is_some_and(|text| hostfiles::key_value(&text, "managed") != Some("false"))
        {
            findings.push(words::undone_by_networkmanager(
                &ifname,
                &unit.name,
                &unit.path,
                &unit.words,
            ));
        }
    }
    // ifupdown: /etc/network/interfaces and what it sources.
    if !watched && !follows_networking {
        let mut files = vec!["/etc/network/interfaces".to_string()];
        let mut next = 0;
        while let Some(file) = files.get(next).cloned() {
            next += 1;
            let Some(text) = read_text(root, &file, findings) else {
                continue;
            };
            let parsed = match ifupdown::parse(&text) {
                Ok(parsed) => parsed,
                Err(error) => {
                    findings.push(parse_warning(&file, error));
                    continue;
                }
            };
            // Sources, bounded so that a file sourcing itself ends.
            for (directory, pattern) in &parsed.sources {
                if files.len() < 64 {
                    files.extend(sourced(root, *directory, pattern, findings));
                }
            }
            for assignment in parsed.addresses.iter().filter(|a| !a.deprecated) {
                let Some(interface) = named(kernel, assignment.ifname) else {
                    continue;
                };
                if !deprecates(interface.ifindex, assignment.address) {
                    continue;
                }
                findings.push(if parsed.generated {
                    words::undone_by_generated_ifupdown(
                        &interface.name,
                        assignment.address,
                        &file,
                        &unit.name,
                        &unit.path,
                        &unit.words,
                    )
                } else {
                    words::undone_by_ifupdown(
                        &interface.name,
                        assignment.address,
                        &file,
                        assignment.line,
                        assignment.text,
                        assignment.stanza,
                    )
                });
            }
        }
    }
    findings.append(&mut netplan_findings);
}

/// The interface a manager's file names.
#[inline(never)]
fn named<'a>(kernel: &'a Kernel, name: &str) -> Option<&'a Interface> {
    kernel.interfaces.iter().find(|i| i.name == name.as_bytes())
}

/// The files a `source PATTERN` (a path, or a `*` in its last part) or `source-directory DIR`
/// line names; relative ones are under /etc/network.
#[inline(never)]
fn sourced(
    root: &Path,
    directory: bool,
    pattern: &str,
    findings: &mut Vec<Finding>,
) -> Vec<String> {
    let relative = if pattern.starts_with('/') {
        ""
    } else {
        "/etc/network/"
    };
    let pattern = [relative, pattern].concat();
    let (dir, last) = if directory {
        (pattern.trim_end_matches('/'), "*")
    } else {
        match pattern.rsplit_once('/') {
            Some((dir, last)) if last.contains('*') => (dir, last),
            _ => return vec![pattern],
        }
    };
    let (prefix, suffix) = last.split_once('*').unwrap_or((last, ""));
    let mut files = Vec::new();
    for name in list_dir(root, dir, findings) {
        if name.starts_with(prefix)
            && name.ends_with(suffix)
            && (!directory
                || name
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-'))
        {
            files.push([dir, "/", &name].concat());
        }
    }
    files
}

/// `use_tempaddr` on interfaces where a kept address is a SLAAC one.
#[inline(never)]
fn privacy(
    kernel: &Kernel,
    deprecated: &[Address],
    only: Option<&[u32]>,
    findings: &mut Vec<Finding>,
) {
    let mut seen: Vec<u32> = Vec::new();
    for address in &kernel.addresses {
        let slaac = address.manages_temporaries() || address.lifetimes_from_router();
        if !address.is_global_ipv6()
            || !slaac
            || address.is_temporary()
            || deprecated.iter().any(|d| d.local == address.local)
            || only.is_some_and(|only| !only.contains(&address.ifindex))
            || seen.contains(&address.ifindex)
        {
            continue;
        }
        seen.push(address.ifindex);
        let ifname = name_of(&kernel.interfaces, address.ifindex);
        match read_use_tempaddr(&ifname) {
            Some(value) if value >= 1 => {
                findings.push(words::privacy_addresses(&ifname, value, address.local))
            }
            Some(_) => {}
            None => findings.push(words::use_tempaddr_unreadable(&ifname)),
        }
    }
}

/// The global destination asked through each default route.
const DEFAULT_PROBE: IpAddr = IpAddr::V6(Ipv6Addr::new(0x2000, 0, 0, 0, 0, 0, 0, 1));

pub fn run(args: &Args, ctx: &mut Context, read_policy: ReadPolicy) -> Result<Outcome, Failure> {
    let interfaces =
        read_interfaces(&mut ctx.conn).map_err(Failure::request("reading interfaces"))?;
    let addresses = read_addresses(&mut ctx.conn, Family::Inet6, |_| true)
        .map_err(Failure::request("reading addresses"))?;
    let only = selected_interfaces(&interfaces, &args.devs).map_err(Kind::InterfaceNotFound)?;
    let kernel = Kernel {
        interfaces,
        addresses,
    };
    let mut findings = Vec::new();
    let netns = ctx.globals.netns.clone();
    let deprecated = host_findings(
        Path::new("/"),
        read_policy,
        netns.as_ref(),
        &kernel,
        only.as_deref(),
        &mut findings,
    );
    // The kernel's source now, through each default route unless --probe names destinations.
    let mut probes: Vec<(IpAddr, Option<u32>)> = Vec::new();
    for &destination in &args.probes {
        probes.push((destination, None));
    }
    if probes.is_empty() {
        let routes =
            read_ipv6_prefix_routes(&mut ctx.conn).map_err(Failure::request("reading routes"))?;
        for (oif, _, len) in routes {
            // Each is DEFAULT_PROBE: one per default route's device.
            if len == 0
                && only.as_deref().is_none_or(|only| only.contains(&oif))
                && !probes.iter().any(|&(_, seen)| seen == Some(oif))
            {
                probes.push((DEFAULT_PROBE, Some(oif)));
            }
        }
    }
    let has_policy = !findings.iter().any(|f| f.code == "no-unit");
    for (destination, oif) in probes {
        let flow = Flow { oif, ..Flow::UDP };
        let answer = crate::srcsel::read::probe_route(&mut ctx.conn, destination, &flow, false)
            .map_err(crate::apply::probe::read_failure)?;
        let source = answer.as_ref().and_then(|a| a.source);
        let ifname = answer
            .and_then(|a| a.oif)
            .map(|i| name_of(&kernel.interfaces, i));
        let kept =
            has_policy.then(|| !source.is_some_and(|s| deprecated.iter().any(|d| d.local == s)));
        findings.push(words::source(
            ifname.as_deref(),
            destination,
            oif.is_some(),
            source,
            kept,
        ));
    }
    if ctx.globals.json {
        ctx.out.line(&words::json(&findings));
    } else {
        for line in words::text(&findings) {
            ctx.out.line(&line);
        }
    }
    Ok(if findings.iter().any(|f| f.level == Level::Problem) {
        Outcome::ProblemFound
    } else {
        Outcome::Done
    })
}

#[cfg(test)]
mod tests {
    //! `host_findings` over temporary file trees and a made-up kernel state: the seed's host,
    //! the units of three generations, and each manager's files.

    use super::*;
    use crate::context::Globals;
    use std::sync::atomic::{AtomicUsize, Ordering};

    /// What cli's `read_policy` does, minus the global options (cli.rs tests that one).
    fn read_policy(words: &[String]) -> Result<Option<(Option<OsString>, Policy)>, Failure> {
        let (command, rest) = words.split_first().expect("a command");
        let mut parser = lexopt::Parser::from_args(rest.iter().map(OsString::from));
        Ok(match command.as_str() {
            "deprecate" => match super::super::deprecate::parse(&mut parser)? {
                Parsed::Run(args) => Some((None, Policy::Deprecate(args))),
                Parsed::Help(_) => None,
            },
            "prefer" => match super::super::prefer::parse(&mut parser)? {
                Parsed::Run(args) => Some((None, Policy::Prefer(args))),
                Parsed::Help(_) => None,
            },
            _ => None,
        })
    }

    static TREES: AtomicUsize = AtomicUsize::new(0);

    /// A fresh directory tree with `files` (path, content) in it, removed on drop.
    struct Tree(PathBuf);

    impl Tree {
        fn new(files: &[(&str, &str)]) -> Tree {
            let dir = std::env::temp_dir().join(format!(
                "nlsel-doctor-{}-{}",
                std::process::id(),
                TREES.fetch_add(1, Ordering::Relaxed)
            ));
            let tree = Tree(dir);
            for (path, content) in files {
                tree.write(path, content);
            }
            tree
        }

        fn write(&self, path: &str, content: &str) {
            let path = under(&self.0, path);
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(path, content).unwrap();
        }

        /// `systemctl enable`: the link in multi-user.target.wants.
        fn enable(&self, name: &str) {
            let dir = under(&self.0, "/etc/systemd/system/multi-user.target.wants");
            std::fs::create_dir_all(&dir).unwrap();
            std::os::unix::fs::symlink(format!("/etc/systemd/system/{name}"), dir.join(name))
                .unwrap();
        }
    }

    impl Drop for Tree {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }

    const SEED_2: &str = "2001:db8:f1c1:8454:964::2";
    const SEED_BEEF: &str = "2001:db8:f1c1:8454:964::beef";

    /// venet0 (ifindex 2) with the seed's two addresses; `beef_deprecated` as nlsel leaves it.
    fn seed_kernel(beef_deprecated: bool) -> Kernel {
        let seed = |text| Address {
            prefixlen: 80,
            ..Address::for_test(text)
        };
        let mut beef = seed(SEED_BEEF);
        if beef_deprecated {
            beef.preferred_lft = 0;
        }
        Kernel {
            interfaces: vec![Interface {
                ifindex: 2,
                name: b"venet0".to_vec(),
                alt_names: Vec::new(),
                use_tempaddr: None,
            }],
            addresses: vec![seed(SEED_2), beef],
        }
    }

    /// The unit `nlsel unit deprecate --except ::2 [--watch]` prints now.
    fn current_unit(watch: bool) -> String {
        let mut words: Vec<String> = ["deprecate", "--except", "::2"].map(String::from).to_vec();
        if watch {
            words.push("--watch".into());
        }
        let args = super::super::unit::Args { words, watch };
        super::super::unit::render(&args, &Globals::default(), "/usr/local/bin/nlsel").unwrap()
    }

    /// The unit main c620eee printed (`git show c620eee:src/cmd/unit.rs`), trimmed to the
    /// keys doctor reads.
    const C620EEE_UNIT: &str = "\
[Unit]
Description=Choose the IPv6 source address: nlsel deprecate --except ::2
After=network-online.target
Wants=network-online.target

[Service]
Type=oneshot
RemainAfterExit=yes
ExecStart=/usr/local/bin/nlsel deprecate --except ::2

[Install]
WantedBy=multi-user.target
";

    /// The seed recipe's own unit (/work/shared/seeds/000_551469b0a30cf408.txt).
    const SEED_UNIT: &str = "\
[Unit]
Description=Change preferred_lft
Documentation=https://yoursunny.com/t/2020/preferred-lft-vz7/
After=network-online.target
Wants=network-online.target

[Service]
Environment=\"IFACE=venet0\"
Type=oneshot
ExecStart=/usr/local/bin/network-preferredlft.sh

[Install]
WantedBy=multi-user.target
";

    const SEED_INTERFACES: &str = "\
# This configuration file is auto-generated.
# WARNING: Do not edit this file, otherwise your changes will be lost.
# Please edit template /etc/network/interfaces.template instead.
auto lo
iface lo inet loopback
auto venet0
iface venet0 inet6 static
    address ::2
    netmask 128
    up ip -6 r a default dev venet0
    up ip addr add 2001:db8:f1c1:8454:0964::2/80 dev venet0
    up ip addr add 2001:db8:f1c1:8454:0964::beef/80 dev venet0
";

    const UNIT: &str = "/etc/systemd/system/nlsel.service";

    fn findings_of(tree: &Tree, kernel: &Kernel) -> Vec<Finding> {
        let mut findings = Vec::new();
        host_findings(&tree.0, read_policy, None, kernel, None, &mut findings);
        findings
    }

    fn codes(findings: &[Finding]) -> Vec<(&'static str, Level)> {
        findings.iter().map(|f| (f.code, f.level)).collect()
    }

    #[test]
    fn the_seed_host_with_each_generation_of_unit() {
        let networking = ("/lib/systemd/system/networking.service", "[Unit]\n");
        let interfaces = ("/etc/network/interfaces", SEED_INTERFACES);
        // The seed's own unit does not run nlsel.
        let tree = Tree::new(&[
            networking,
            interfaces,
            (
                "/etc/systemd/system/network-preferredlft.service",
                SEED_UNIT,
            ),
        ]);
        assert_eq!(
            codes(&findings_of(&tree, &seed_kernel(true))),
            [("no-unit", Level::Problem)]
        );
        // c620eee's unit: too late, and not run again after `systemctl restart networking`
        // on a generated interfaces file.
        let tree = Tree::new(&[networking, interfaces, (UNIT, C620EEE_UNIT)]);
        tree.enable("nlsel.service");
        let findings = findings_of(&tree, &seed_kernel(true));
        assert_eq!(
            codes(&findings),
            [
                ("unit-too-late", Level::Problem),
                ("undone-by-ifupdown", Level::Problem)
            ],
            "{findings:#?}"
        );
        assert!(
            findings[0]
                .message
                .contains("no Before=network-online.target")
        );
        let fix = findings[0].fix.as_deref().unwrap();
        assert!(
            fix.starts_with(&format!("nlsel unit deprecate --except '::2' > {UNIT}\n")),
            "{fix}"
        );
        assert!(
            findings[1].message.contains("generated"),
            "{:?}",
            findings[1]
        );
        assert_eq!(findings[1].ifname.as_deref(), Some(&b"venet0"[..]));
        // This turn's unit: nothing to report.
        let tree = Tree::new(&[networking, interfaces, (UNIT, &current_unit(false))]);
        tree.enable("nlsel.service");
        let findings = findings_of(&tree, &seed_kernel(true));
        assert!(findings.is_empty(), "{findings:#?}");
        // ... unless it is disabled, or its policy is not applied.
        let tree = Tree::new(&[networking, interfaces, (UNIT, &current_unit(false))]);
        assert_eq!(
            codes(&findings_of(&tree, &seed_kernel(false))),
            [
                ("unit-disabled", Level::Problem),
                ("not-applied", Level::Problem)
            ]
        );
    }

    #[test]
    fn unit_order_rules() {
        let installed = vec!["networking.service".to_string()];
        let unit = |text: &str| hostfiles::unit::parse(text).unwrap();
        let current = unit(&current_unit(false));
        assert_eq!(too_late(&current, false, &installed), None);
        assert_eq!(too_late(&unit(&current_unit(true)), true, &installed), None);
        assert_eq!(
            too_late(&current, true, &installed),
            Some(TooLate::Type("notify"))
        );
        assert_eq!(
            too_late(&unit(C620EEE_UNIT), false, &installed),
            Some(TooLate::NotBefore)
        );
        assert_eq!(
            too_late(
                &unit("[Unit]\nBefore=network-online.target\nAfter=network-online.target\n"),
                false,
                &installed
            ),
            Some(TooLate::AfterOnline)
        );
        let text = "[Unit]\nBefore=network-online.target\n[Service]\nType=oneshot\n";
        assert_eq!(
            too_late(&unit(text), false, &installed),
            Some(TooLate::NotAfter("networking.service"))
        );
        assert_eq!(too_late(&unit(text), false, &[]), None);
    }

    #[test]
    fn networkd_netplan_networkmanager_and_plain_ifupdown() {
        let network = "/etc/systemd/network/10-venet0.network";
        let network_text = "[Match]\nName=venet0\n[Network]\nAddress=2001:db8:f1c1:8454:964::2/80\nAddress=2001:db8:f1c1:8454:964::beef/80\n";
        let link = "ADMIN_STATE=configured\nNETWORK_FILE=/etc/systemd/network/10-venet0.network\n";
        let tree = Tree::new(&[
            (UNIT, &current_unit(false)),
            (network, network_text),
            ("/run/systemd/netif/links/2", link),
        ]);
        tree.enable("nlsel.service");
        let findings = findings_of(&tree, &seed_kernel(true));
        assert_eq!(codes(&findings), [("undone-by-networkd", Level::Problem)]);
        let fix = findings[0].fix.as_deref().unwrap();
        assert_eq!(
            fix,
            format!(
                "in {network}, write line 5 as:\n[Address]\nAddress=2001:db8:f1c1:8454:964::beef/80\n\
                 PreferredLifetime=0\n[Network]\nnetworkctl reload"
            )
        );
        // The fix applied literally: its lines up to the command replace line 5.
        let replacement: Vec<&str> = fix
            .lines()
            .skip(1)
            .take_while(|l| !l.starts_with("networkctl"))
            .collect();
        let mut fixed: Vec<&str> = network_text.lines().collect();
        fixed.splice(4..5, replacement);
        tree.write(network, &fixed.join("\n"));
        assert!(findings_of(&tree, &seed_kernel(true)).is_empty());
        // The --watch unit sees networkd's resets itself.
        tree.write(network, network_text);
        tree.write(UNIT, &current_unit(true));
        assert!(findings_of(&tree, &seed_kernel(true)).is_empty());

        // NetworkManager, netplan and an interfaces file that is not generated.
        let tree = Tree::new(&[
            (
                UNIT,
                &current_unit(false).replace("PartOf=networking.service\n", ""),
            ),
            ("/run/NetworkManager/devices/2", "[device]\nmanaged=true\n"),
            (
                "/etc/netplan/50-venet0.yaml",
                "network:\n  ethernets:\n    venet0:\n      addresses:\n        - 2001:db8:f1c1:8454:964::beef/80\n",
            ),
            ("/etc/network/interfaces", "source interfaces.d/*\n"),
            (
                "/etc/network/interfaces.d/venet0",
                "iface venet0 inet6 static\n  address 2001:db8:f1c1:8454:964::beef/80\n",
            ),
        ]);
        tree.enable("nlsel.service");
        let findings = findings_of(&tree, &seed_kernel(true));
        assert_eq!(
            codes(&findings),
            [
                ("undone-by-networkmanager", Level::Problem),
                ("undone-by-ifupdown", Level::Problem),
                ("netplan", Level::Problem),
            ],
            "{findings:#?}"
        );
        assert!(findings[0].fix.as_deref().unwrap().contains("--watch > "));
        assert_eq!(
            findings[1].fix.as_deref(),
            Some(
                "in /etc/network/interfaces.d/venet0, add to the stanza of line 2:\n    preferred-lifetime 0"
            )
        );
        assert_eq!(
            findings[2].fix.as_deref(),
            Some(
                "in /etc/netplan/50-venet0.yaml, write line 5 as:\n        - \"2001:db8:f1c1:8454:964::beef/80\":\n            lifetime: 0\nnetplan apply"
            )
        );
        // The netplan fix applied literally is read as deprecated.
        let fixed = "network:\n  ethernets:\n    venet0:\n      addresses:\n        - \"2001:db8:f1c1:8454:964::beef/80\":\n            lifetime: 0\n";
        assert!(netplan::addresses(fixed).unwrap()[0].deprecated);
    }

    #[test]
    fn netplans_generated_network_file_is_left_to_the_netplan_finding() {
        let generated = "/run/systemd/network/10-netplan-venet0.network";
        let rendered = "[Match]\nName=venet0\n\n[Network]\nLinkLocalAddressing=no\n\
                        Address=2001:db8:f1c1:8454:964::2/80\n\
                        Address=2001:db8:f1c1:8454:964::beef/80\n";
        let yaml = "network:\n  ethernets:\n    venet0:\n      addresses:\n        \
                    - 2001:db8:f1c1:8454:964::2/80\n        - 2001:db8:f1c1:8454:964::beef/80\n";
        let link = |file: &str| format!("ADMIN_STATE=configured\nNETWORK_FILE={file}\n");
        let tree = Tree::new(&[
            (UNIT, &current_unit(false)),
            ("/etc/netplan/50-venet0.yaml", yaml),
            (generated, rendered),
            ("/run/systemd/netif/links/2", &link(generated)),
        ]);
        tree.enable("nlsel.service");
        // netplan's finding alone: its fix is the YAML's, and an edit of the file netplan
        // renders would be lost at the next `netplan apply`.
        let findings = findings_of(&tree, &seed_kernel(true));
        assert_eq!(
            codes(&findings),
            [("netplan", Level::Problem)],
            "{findings:#?}"
        );
        assert_eq!(findings[0].ifname.as_deref(), Some(&b"venet0"[..]));
        // The YAML fixed but not applied: netplan has nothing to say, and networkd's file
        // still sets ::beef preferred.
        tree.write(
            "/etc/netplan/50-venet0.yaml",
            &yaml.replace("beef/80\n", "beef/80:\n            lifetime: 0\n"),
        );
        let findings = findings_of(&tree, &seed_kernel(true));
        assert_eq!(codes(&findings), [("undone-by-networkd", Level::Problem)]);
        assert!(findings[0].message.contains(generated), "{findings:#?}");
        // The user's copy under /etc/systemd/network shadows netplan's: both are reported.
        let copy = "/etc/systemd/network/10-netplan-venet0.network";
        tree.write("/etc/netplan/50-venet0.yaml", yaml);
        tree.write(copy, rendered);
        tree.write("/run/systemd/netif/links/2", &link(copy));
        assert_eq!(
            codes(&findings_of(&tree, &seed_kernel(true))),
            [
                ("undone-by-networkd", Level::Problem),
                ("netplan", Level::Problem)
            ]
        );
    }

    #[test]
    fn what_cannot_be_read_is_a_warning_naming_it() {
        let tree = Tree::new(&[
            (
                UNIT,
                "[Service]\nExecStart=/usr/bin/nlsel deprecate \"--except\n",
            ),
            ("/etc/systemd/system/other.service", "nlsel\n"),
        ]);
        let findings = findings_of(&tree, &seed_kernel(true));
        let warnings: Vec<&str> = findings
            .iter()
            .filter(|f| f.level == Level::Warning)
            .map(|f| f.message.as_str())
            .collect();
        assert_eq!(warnings.len(), 2, "{findings:#?}");
        assert!(
            warnings[0].starts_with("/etc/systemd/system/nlsel.service: line 2"),
            "{warnings:?}"
        );
        assert!(
            warnings[1].starts_with("/etc/systemd/system/other.service: line 1"),
            "{warnings:?}"
        );
        // Neither counts as a unit that runs nlsel.
        assert!(codes(&findings).contains(&("no-unit", Level::Problem)));
        // A usage error in the unit's command is its failure, not a wrong ok.
        let tree = Tree::new(&[(
            UNIT,
            "[Service]\nExecStart=/usr/bin/nlsel deprecate --except zzz\n",
        )]);
        tree.enable("nlsel.service");
        let findings = findings_of(&tree, &seed_kernel(true));
        assert_eq!(codes(&findings), [("not-applied", Level::Problem)]);
        let message = &findings[0].message;
        assert!(
            message.starts_with(UNIT) && message.contains("\"zzz\""),
            "{findings:#?}"
        );
        let fix = findings[0].fix.as_deref().unwrap();
        assert!(
            fix.starts_with(&format!("correct ExecStart= in {UNIT}")),
            "{fix}"
        );
    }
}
