//! `nlsel prefer ADDR [--watch]`: make ADDR the source address of its interface, by making it preferred
//! and deprecating every other global IPv6 address there.

use std::net::IpAddr;

use lexopt::prelude::*;

use super::{mode_of, text_value, usage_error};
use crate::apply::{Rule, apply_rule};
use crate::context::{Context, Outcome};
use crate::failure::Failure;
use crate::model::{Address, Interface, prefers_temporaries};
use crate::plan::Mode;
use crate::plan::{self, Plan};
use crate::watch::watch;

pub const HELP: &str = "\
Usage: nlsel [-n NETNS] [-j] [-q] prefer ADDR [--dry-run | --check | --watch] [--probe DEST]...

Make the IPv6 address ADDR preferred (preferred lifetime = its remaining valid lifetime; a
SLAAC address keeps the one its router gives) and deprecate every other global IPv6
address on its interface. ADDR must already exist and
not be a temporary (privacy) address. Nothing but preferred lifetimes changes; temporary
addresses are never changed (they follow the SLAAC address they were made from).

Options:
  --dry-run    change nothing; print the equivalent ip commands
  --check      change nothing; list what would change, exit 3 if anything would
  --probe DEST print the source the kernel uses for DEST after the run, and the one
               nlsel's model predicts; with --dry-run or --check, the one it uses now and
               the prediction (repeatable; see `which --explain`)
  --watch      after the first pass keep running, and deprecate every other global IPv6
               address that appears on ADDR's interface, or whose preferred lifetime comes
               back, until SIGTERM, SIGINT or SIGHUP
  -h, --help   show this help
";

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Args {
    pub address: IpAddr,
    /// Keep running and apply the rule to every change (`--watch`).
    pub watch: bool,
    pub mode: Mode,
    /// Destinations whose source to report (`--probe`).
    pub probes: Vec<IpAddr>,
}

pub fn parse(parser: &mut lexopt::Parser) -> Result<Args, Failure> {
    let mut address = None;
    let mut watch = false;
    let (mut dry_run, mut check) = (false, false);
    let mut probes = Vec::new();
    while let Some(arg) = parser.next().map_err(usage_error)? {
        match arg {
            Value(value) if address.is_none() => {
                let text = text_value(value, "address")?;
                let parsed: IpAddr = text.parse().map_err(|_| {
                    Failure::usage(format!(
                        "invalid address \"{}\": not an IPv6 address",
                        text.escape_debug()
                    ))
                })?;
                if parsed.is_ipv4() {
                    return Err(Failure::usage(format!(
                        "invalid address \"{text}\": an IPv4 address; prefer selects among IPv6 addresses"
                    )));
                }
                address = Some(parsed);
            }
            Long("watch") => watch = true,
            Long("dry-run") => dry_run = true,
            Long("check") => check = true,
            Long("probe") => probes.push(super::which::destination_value(
                parser.value().map_err(usage_error)?,
            )?),
            Short('h') | Long("help") => return Err(Failure::Help(HELP)),
            _ => return Err(usage_error(arg.unexpected())),
        }
    }
    let address = address.ok_or_else(|| Failure::usage("prefer needs an address"))?;
    let mode = mode_of(dry_run, check)?;
    if watch && (mode != Mode::Apply || !probes.is_empty()) {
        return Err(Failure::usage(
            "--watch cannot be used with --dry-run, --check or --probe",
        ));
    }
    Ok(Args {
        address,
        watch,
        mode,
        probes,
    })
}

impl Rule for Args {
    /// ADDR itself may be of any scope, so every IPv6 address is read.
    fn reads(&self, _address: &Address) -> bool {
        true
    }

    fn watches_address(&self, local: IpAddr) -> bool {
        local == self.address
    }

    fn plan<'a>(
        &self,
        addresses: &'a [Address],
        interfaces: &[Interface],
    ) -> Result<Plan<'a>, Failure> {
        let prefers_temporaries = |ifindex| prefers_temporaries(interfaces, ifindex);
        plan::prefer(addresses, self.address, &prefers_temporaries)
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
