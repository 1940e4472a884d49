//! `nlsel which DEST [--explain]`: ask the kernel which source address it would use for DEST,
//! the way `ip route get` does, so that the effect of `deprecate` can be checked without
//! sending; with `--explain`, rebuild the kernel's choice rule by rule and say whether nlsel's
//! model agrees. `--probe` of `deprecate` and `prefer` is here too: the same question asked
//! before and after a plan.

use std::net::IpAddr;

use lexopt::prelude::*;

use super::{text_value, usage_error};
use crate::apply::Rule;
use crate::context::{Context, Outcome};
use crate::failure::Failure;
use crate::model::{Interface, read_addresses, read_interfaces};
use crate::nl::Family;
use crate::plan::Mode;
use crate::present;
use crate::present::explain::{self, Decision, Explanation, Prediction, Probe};
use crate::srcsel::read::{ReadError, RouteAnswer, read_source_state, route_answer};
use crate::srcsel::{SourceState, with_preferred_lifetimes};

pub const HELP: &str = "\
Usage: nlsel [-n NETNS] [-j] [-q] which DEST [--explain]

Print the source address the kernel would choose for traffic to DEST (IPv6 or IPv4), then
the outgoing interface: `2001:db8::2 dev venet0`. With -j: {\"dst\",\"src\",\"dev\"}.

--explain says why. When the route has a preferred source (`ip route ... src`), that decides
and RFC 6724 is not consulted. Otherwise, for IPv6, nlsel rebuilds the kernel's candidate set
and applies its rules in the kernel's order (net/ipv6/addrconf.c), and prints every
candidate with the rule it lost at, and whether its answer is the kernel's. When the two
differ it prints both, calls it a disagreement and exits 1. For IPv4 it says whether the
route's preferred source or the kernel's primary-address choice decided, and lists the
outgoing interface's addresses.

Options:
  --explain    explain the choice rule by rule
  -h, --help   show this help
";

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Args {
    pub destination: IpAddr,
    pub explain: bool,
}

/// A destination address from the command line, for `which` and `--probe`.
pub fn destination_value(value: std::ffi::OsString) -> Result<IpAddr, Failure> {
    let text = text_value(value, "destination")?;
    text.parse().map_err(|_| {
        Failure::usage(format!(
            "invalid destination \"{}\": not an IP address",
            text.escape_debug()
        ))
    })
}

pub fn parse(parser: &mut lexopt::Parser) -> Result<Args, Failure> {
    let mut destination = None;
    let mut explain = false;
    while let Some(arg) = parser.next().map_err(usage_error)? {
        match arg {
            Value(value) if destination.is_none() => {
                destination = Some(destination_value(value)?);
            }
            Long("explain") => explain = true,
            Short('h') | Long("help") => return Err(Failure::Help(HELP)),
            _ => return Err(usage_error(arg.unexpected())),
        }
    }
    let destination =
        destination.ok_or_else(|| Failure::usage("which needs a destination address"))?;
    Ok(Args {
        destination,
        explain,
    })
}

fn device_name(interfaces: &[Interface], oif: Option<u32>) -> Vec<u8> {
    oif.map(|oif| crate::model::name_of(interfaces, oif))
        .unwrap_or_default()
}

pub fn run(args: &Args, ctx: &mut Context) -> Result<Outcome, Failure> {
    if args.explain {
        return run_explain(args.destination, ctx);
    }
    let destination = args.destination;
    let answer = route_answer(&mut ctx.conn, destination, false).map_err(read_failure)?;
    let source = answer.source.ok_or_else(|| Failure::NoSource {
        destination: destination.to_string(),
    })?;
    let interfaces =
        read_interfaces(&mut ctx.conn).map_err(Failure::request("reading interfaces"))?;
    let device = device_name(&interfaces, answer.oif);
    ctx.out.line(&present::route_source(
        destination,
        source,
        &device,
        ctx.globals.json,
    ));
    Ok(Outcome::Done)
}

fn read_failure(error: ReadError) -> Failure {
    Failure::Request {
        context: error.what,
        source: error.source,
    }
}

fn interfaces_of(state: &SourceState) -> Vec<Interface> {
    state
        .interfaces
        .iter()
        .map(|i| Interface {
            ifindex: i.ifindex,
            name: i.name.clone(),
        })
        .collect()
}

/// The kernel's answer for `destination` and how it came about, as far as nlsel can tell.
fn explanation(
    ctx: &mut Context,
    destination: IpAddr,
) -> Result<(Explanation, Vec<Interface>), Failure> {
    let kernel = route_answer(&mut ctx.conn, destination, true).map_err(read_failure)?;
    let state = read_source_state(&mut ctx.conn).map_err(read_failure)?;
    let interfaces = interfaces_of(&state);
    let decision = match (kernel.configured_prefsrc, destination) {
        (Some(prefsrc), _) => Decision::RoutePrefsrc(prefsrc),
        (None, IpAddr::V6(v6)) => Decision::Ipv6(state.select(v6, kernel.nexthop_oif)),
        (None, IpAddr::V4(_)) => {
            let oif = kernel.oif;
            let addresses = read_addresses(&mut ctx.conn, Family::Inet, |address| {
                Some(address.ifindex) == oif
            })
            .map_err(Failure::request("reading addresses"))?;
            Decision::Ipv4Primary(addresses)
        }
    };
    Ok((
        Explanation {
            destination,
            kernel,
            decision,
        },
        interfaces,
    ))
}

fn run_explain(destination: IpAddr, ctx: &mut Context) -> Result<Outcome, Failure> {
    let (explanation, interfaces) = explanation(ctx, destination)?;
    if ctx.globals.json {
        ctx.out.line(&explain::json(&explanation, &interfaces));
    } else {
        for line in explain::text(&explanation, &interfaces) {
            ctx.out.line(&line);
        }
    }
    if explanation.agrees() == Some(false) {
        return Err(Failure::Disagreement {
            destination: destination.to_string(),
            model: explanation.model_source().map(|ip| ip.to_string()),
            kernel: explanation.kernel.source.map(|ip| ip.to_string()),
        });
    }
    Ok(Outcome::Done)
}

/// `--probe DEST` of `deprecate` and `prefer`: after a real run, the source the kernel now
/// uses for each DEST; under `--dry-run` and `--check`, the source it uses now and the one
/// nlsel's model predicts once `rule`'s plan is applied.
pub fn probe(
    ctx: &mut Context,
    rule: &dyn Rule,
    mode: Mode,
    destinations: &[IpAddr],
) -> Result<(), Failure> {
    if destinations.is_empty() {
        return Ok(());
    }
    let mut probes = Vec::new();
    if mode == Mode::Apply {
        for &destination in destinations {
            let kernel = route_answer(&mut ctx.conn, destination, false).map_err(read_failure)?;
            probes.push(Probe {
                destination,
                kernel: kernel.source,
                predicted: None,
            });
        }
    } else {
        let before = read_source_state(&mut ctx.conn).map_err(read_failure)?;
        let interfaces = interfaces_of(&before);
        let plan = rule.plan(&before.addresses, &interfaces)?;
        let changes: Vec<(u32, IpAddr, u32)> = plan
            .changes()
            .map(|c| (c.address.ifindex, c.address.local, c.preferred_lft))
            .collect();
        let mut after = before.clone();
        after.addresses = with_preferred_lifetimes(&before.addresses, &changes);
        for &destination in destinations {
            let kernel = route_answer(&mut ctx.conn, destination, true).map_err(read_failure)?;
            probes.push(Probe {
                destination,
                kernel: kernel.source,
                predicted: Some(predict(&kernel, destination, &before, &after)),
            });
        }
    }
    if ctx.globals.json {
        ctx.out.line(&explain::probes_json(&probes));
    } else {
        for probe in &probes {
            ctx.out.line(&explain::probe_text(probe));
        }
    }
    Ok(())
}

fn predict(
    kernel: &RouteAnswer,
    destination: IpAddr,
    before: &SourceState,
    after: &SourceState,
) -> Prediction {
    let choose = |state: &SourceState| match (kernel.configured_prefsrc, destination) {
        (Some(prefsrc), _) => Some(prefsrc),
        (None, IpAddr::V6(v6)) => state
            .select(v6, kernel.nexthop_oif)
            .chosen()
            .map(|c| c.address.local),
        // Plans change IPv6 addresses only: an IPv4 source stays what it is.
        (None, IpAddr::V4(_)) => kernel.source,
    };
    Prediction {
        source: choose(after),
        model_agrees_now: choose(before) == kernel.source,
        fib_match_ignored: kernel.fib_match_ignored,
    }
}
