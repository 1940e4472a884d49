//! `nlsel deprecate --except PATTERN… [--dev IFACE]… [--dry-run | --check | --watch]`: deprecate
//! every global IPv6 address that matches no pattern, so the kernel picks a kept one as source.

use lexopt::prelude::*;

use super::{interface_name, mode_of, text_value, usage_error};
use crate::apply::{Rule, apply_rule};
use crate::context::{Context, Outcome};
use crate::failure::Failure;
use crate::model::{Address, Interface, prefers_temporaries, selected_interfaces};
use crate::pattern::Pattern;
use crate::plan::Mode;
use crate::plan::{self, Plan};
use crate::watch::watch;

pub const HELP: &str = "\
Usage: nlsel [-n NETNS] [-j] [-q] deprecate --except PATTERN [--except PATTERN]...
                                  [--dev IFACE]... [--dry-run | --check | --watch]
                                  [--probe DEST]...

Deprecate (preferred_lft 0) every global IPv6 address that matches no PATTERN, on every
interface or on those named with --dev. Only the preferred lifetime changes: the valid
lifetime, flags, protocol and metric stay as they are. Addresses already deprecated are
not touched, so a second run sends nothing. Temporary (privacy) addresses are never
changed: deprecating their SLAAC parent deprecates them.

PATTERN is matched by bits, never by text:
  ADDR/LEN   keep addresses inside this IPv6 prefix
  ADDR       keep ADDR itself, and every address whose host part (the bits after its own
             prefix length) equals ADDR: ::2 keeps 2001:db8::2/64 and ::2/128,
             but not 2001:db8::a:2/64

An interface where no global IPv6 address matches is left alone; naming it with --dev is
an error and then nothing is changed anywhere.

Options:
  --except PATTERN   address or prefix to keep preferred (at least one)
  --dev IFACE        only this interface (repeatable)
  --dry-run          change nothing; print the equivalent ip commands
  --check            change nothing; list what would change, exit 3 if anything would
  --probe DEST       print the source the kernel uses for DEST after the run, and the
                     one nlsel's model predicts; with --dry-run or --check, the one it
                     uses now and the prediction (repeatable; see `which --explain`)
  --watch            after the first pass keep running, and apply the same rule to every
                     new address, every address whose preferred lifetime comes back (a
                     Router Advertisement), and new interfaces, until SIGTERM, SIGINT
                     or SIGHUP
  -h, --help         show this help
";

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Args {
    pub patterns: Vec<Pattern>,
    pub devs: Vec<Vec<u8>>,
    pub mode: Mode,
    /// Keep running and apply the rule to every change (`--watch`).
    pub watch: bool,
    /// Destinations whose source to report (`--probe`).
    pub probes: Vec<std::net::IpAddr>,
}

pub fn parse(parser: &mut lexopt::Parser) -> Result<Args, Failure> {
    let mut patterns = Vec::new();
    let mut devs = Vec::new();
    let mut dry_run = false;
    let mut check = false;
    let mut watch = false;
    let mut probes = Vec::new();
    while let Some(arg) = parser.next().map_err(usage_error)? {
        match arg {
            Long("except") => {
                let text = text_value(parser.value().map_err(usage_error)?, "pattern")?;
                patterns.push(Pattern::parse(&text).map_err(|e| Failure::usage(e.to_string()))?);
            }
            Long("dev") => devs.push(interface_name(parser.value().map_err(usage_error)?)),
            Long("dry-run") => dry_run = true,
            Long("check") => check = true,
            Long("watch") => watch = true,
            Long("probe") => probes.push(super::which::destination_value(
                parser.value().map_err(usage_error)?,
            )?),
            Short('h') | Long("help") => return Err(Failure::Help(HELP)),
            _ => return Err(usage_error(arg.unexpected())),
        }
    }
    if patterns.is_empty() {
        return Err(Failure::usage(
            "deprecate needs at least one --except PATTERN",
        ));
    }
    let mode = mode_of(dry_run, check)?;
    if watch && !probes.is_empty() {
        return Err(Failure::usage("--probe cannot be used with --watch"));
    }
    if watch && mode != Mode::Apply {
        return Err(Failure::usage(
            "--watch cannot be used with --dry-run or --check",
        ));
    }
    Ok(Args {
        patterns,
        devs,
        mode,
        watch,
        probes,
    })
}

impl Rule for Args {
    fn reads(&self, address: &Address) -> bool {
        address.is_global_ipv6()
    }

    fn plan<'a>(
        &self,
        addresses: &'a [Address],
        interfaces: &[Interface],
    ) -> Result<Plan<'a>, Failure> {
        let only =
            selected_interfaces(interfaces, &self.devs).map_err(Failure::InterfaceNotFound)?;
        let prefers_temporaries = |ifindex| prefers_temporaries(interfaces, ifindex);
        plan::deprecate(
            addresses,
            &self.patterns,
            only.as_deref(),
            &prefers_temporaries,
        )
        .map_err(|error| Failure::from_policy(error, interfaces))
    }
}

pub fn run(args: &Args, ctx: &mut Context) -> Result<Outcome, Failure> {
    if args.watch {
        return watch(ctx, args);
    }
    let probes = crate::apply::probe::predict_probes(ctx, args, &args.probes)?;
    let outcome = apply_rule(ctx, args, args.mode)?;
    crate::apply::probe::report_probes(ctx, args.mode, probes)?;
    Ok(outcome)
}
