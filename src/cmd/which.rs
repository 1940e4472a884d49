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
use crate::nl::request::RequestError;
use crate::plan::Mode;
use crate::present;
use crate::present::explain::{self, Decision, Explanation, Prediction, Probe};
use crate::srcsel::read::{
    Flow, ReadError, RouteAnswer, is_no_route, read_source_state, route_answer,
};
use crate::srcsel::{SourceState, with_preferred_lifetimes};

pub const HELP: &str = "\
Usage: nlsel [-n NETNS] [-j] [-q] which DEST[%IFACE] [--dev IFACE] [--udp|--tcp]
             [--sport N] [--dport N] [--explain]

Print the source address the kernel would choose for traffic to DEST (IPv6 or IPv4), then
the outgoing interface: `2001:db8::2 dev venet0`. With -j: {\"dst\",\"src\",\"dev\"}.
The route is asked for the flow an application sends: connect() on a UDP socket unless
--tcp, with its ports if given (ECMP hashes them); --dev as SO_BINDTODEVICE, %IFACE as the
scope of a link-local or multicast DEST, which must have one. ::ffff:a.b.c.d is asked as
IPv4 and :: as ::1, as connect() does.

--explain says why. When the route has a preferred source (`ip route ... src`), that decides
and RFC 6724 is not consulted. Otherwise, for IPv6, nlsel rebuilds the kernel's candidate set
and applies its rules in the kernel's order (net/ipv6/addrconf.c), and prints every
candidate with the rule it lost at, and whether its answer is the kernel's. When the two
differ it prints both, calls it a disagreement and exits 1. For IPv4 it says whether the
route's preferred source or the kernel's primary-address choice decided, and lists the
outgoing interface's addresses.

Options:
  --dev IFACE      ask as a socket bound to IFACE
  --udp, --tcp     the flow's protocol (default: UDP)
  --sport N        the flow's source port
  --dport N        the flow's destination port
  --explain        explain the choice rule by rule
  -h, --help       show this help
";

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Args {
    pub destination: IpAddr,
    /// `DEST%IFACE`: the scope, as `sin6_scope_id`.
    pub scope: Option<Vec<u8>>,
    /// `--dev IFACE`: the bound device, as `SO_BINDTODEVICE`.
    pub dev: Option<Vec<u8>>,
    pub tcp: bool,
    pub sport: Option<u16>,
    pub dport: Option<u16>,
    pub explain: bool,
}

fn not_an_address(text: &str) -> Failure {
    Failure::usage(format!(
        "invalid destination \"{}\": not an IP address",
        text.escape_debug()
    ))
}

/// A destination address from the command line, for `--probe`.
pub fn destination_value(value: std::ffi::OsString) -> Result<IpAddr, Failure> {
    let text = text_value(value, "destination")?;
    text.parse().map_err(|_| not_an_address(&text))
}

/// `DEST` or `DEST%IFACE`; a scope is IPv6's only, as `getaddrinfo` has it.
fn scoped_destination(value: std::ffi::OsString) -> Result<(IpAddr, Option<Vec<u8>>), Failure> {
    let text = text_value(value, "destination")?;
    let Some((address, scope)) = text.split_once('%') else {
        let destination = text.parse().map_err(|_| not_an_address(&text))?;
        return Ok((destination, None));
    };
    let address: std::net::Ipv6Addr = address.parse().map_err(|_| not_an_address(&text))?;
    Ok((IpAddr::V6(address), Some(scope.as_bytes().to_vec())))
}

fn port_value(parser: &mut lexopt::Parser, option: &str) -> Result<Option<u16>, Failure> {
    let text = text_value(super::keyword_value(parser, option)?, option)?;
    match text.parse() {
        Ok(port) => Ok(Some(port)),
        Err(_) => Err(Failure::usage(format!(
            "invalid {option} \"{}\": not a port",
            text.escape_debug()
        ))),
    }
}

pub fn parse(parser: &mut lexopt::Parser) -> Result<Args, Failure> {
    let mut destination = None;
    let mut args = Args {
        destination: IpAddr::V6(std::net::Ipv6Addr::UNSPECIFIED),
        scope: None,
        dev: None,
        tcp: false,
        sport: None,
        dport: None,
        explain: false,
    };
    while let Some(arg) = parser.next().map_err(usage_error)? {
        match arg {
            Value(value) if destination.is_none() => {
                let (address, scope) = scoped_destination(value)?;
                destination = Some(address);
                args.scope = scope;
            }
            Long("dev") => {
                args.dev = Some(super::interface_name(super::keyword_value(
                    parser, "--dev",
                )?));
            }
            Long("udp") => args.tcp = false,
            Long("tcp") => args.tcp = true,
            Long("sport") => args.sport = port_value(parser, "--sport")?,
            Long("dport") => args.dport = port_value(parser, "--dport")?,
            Long("explain") => args.explain = true,
            Short('h') | Long("help") => return Err(Failure::Help(HELP)),
            _ => return Err(usage_error(arg.unexpected())),
        }
    }
    args.destination =
        destination.ok_or_else(|| Failure::usage("which needs a destination address"))?;
    Ok(args)
}

/// Whether an application must name the interface to reach `destination`
/// (`__ipv6_addr_needs_scope_id`): link-local unicast, and interface- or link-local multicast
/// (scope 1 or 2; a multicast address of scope 0 has no scope type in `ipv6_addr_type`).
fn needs_scope(destination: IpAddr) -> bool {
    match destination {
        IpAddr::V6(v6) => {
            v6.is_unicast_link_local()
                || (v6.is_multicast() && matches!(v6.segments()[0] & 0xf, 1 | 2))
        }
        IpAddr::V4(_) => false,
    }
}

fn ifindex_of(interfaces: &[Interface], name: &[u8]) -> Result<u32, Failure> {
    interfaces
        .iter()
        .find(|i| i.name == name)
        .map(|i| i.ifindex)
        .ok_or_else(|| Failure::InterfaceNotFound(name.to_vec()))
}

/// The destination and flow `connect()` would ask the route for: an IPv4-mapped destination
/// goes over IPv4 and `::` is `::1` (`ip6_datagram_connect`); a scope counts only where one is
/// needed, and there it must be given.
fn flow(args: &Args, interfaces: &[Interface]) -> Result<(IpAddr, Flow), Failure> {
    let mut destination = args.destination;
    let mut flow = Flow {
        ip_proto: if args.tcp { 6 } else { 17 },
        sport: args.sport,
        dport: args.dport,
        ..Flow::UDP
    };
    if let Some(dev) = &args.dev {
        flow.oif = Some(ifindex_of(interfaces, dev)?);
    }
    let scoped = needs_scope(destination);
    if let Some(scope) = &args.scope {
        let scope = ifindex_of(interfaces, scope)?;
        if !scoped || flow.oif.is_some_and(|oif| oif != scope) {
            return Err(Failure::usage(format!(
                "{destination}%: connect() refuses or ignores this scope; use --dev"
            )));
        }
        flow.oif = Some(scope);
    }
    if scoped && flow.oif.is_none() {
        return Err(Failure::usage(format!(
            "{destination} needs its interface, as applications must give it: {destination}%IFACE"
        )));
    }
    if let IpAddr::V6(v6) = destination {
        if let Some(v4) = v6.to_ipv4_mapped() {
            destination = IpAddr::V4(v4);
        } else if v6.is_unspecified() {
            destination = IpAddr::V6(std::net::Ipv6Addr::LOCALHOST);
        }
    }
    Ok((destination, flow))
}

fn device_name(interfaces: &[Interface], oif: Option<u32>) -> Vec<u8> {
    oif.map(|oif| crate::model::name_of(interfaces, oif))
        .unwrap_or_default()
}

pub fn run(args: &Args, ctx: &mut Context) -> Result<Outcome, Failure> {
    let interfaces =
        read_interfaces(&mut ctx.conn).map_err(Failure::request("reading interfaces"))?;
    let (destination, flow) = flow(args, &interfaces)?;
    if args.explain {
        return run_explain(destination, &flow, ctx);
    }
    let answer = kernel_answer(ctx, destination, &flow, false)?;
    let source = answer.source.ok_or_else(|| Failure::NoSource {
        destination: destination.to_string(),
    })?;
    let device = device_name(&interfaces, answer.oif);
    ctx.out.line(&present::route_source(
        destination,
        source,
        &device,
        ctx.globals.json,
    ));
    Ok(Outcome::Done)
}

/// The route `flow` takes to `destination` as `connect()` finds it (`ip6_dst_lookup_tail`):
/// when no route leads there from any source, the kernel chooses a source as if for no
/// device and looks again from it, which a source-specific route (`from PREFIX`) answers.
/// The source is then the model's choice, so the answer says no device decided it.
fn kernel_answer(
    ctx: &mut Context,
    destination: IpAddr,
    flow: &Flow,
    configured: bool,
) -> Result<RouteAnswer, Failure> {
    let error = match route_answer(&mut ctx.conn, destination, None, flow, configured) {
        Ok(answer) => return Ok(answer),
        Err(error) => error,
    };
    let IpAddr::V6(v6) = destination else {
        return Err(read_failure(error));
    };
    if !is_no_route_error(&error) {
        return Err(read_failure(error));
    }
    let state = read_source_state(&mut ctx.conn).map_err(read_failure)?;
    let Some(source) = state.select(v6, None).chosen().map(|c| c.address.local) else {
        return Err(read_failure(error));
    };
    let answer = route_answer(&mut ctx.conn, destination, Some(source), flow, configured)
        .map_err(read_failure)?;
    // The kernel's second lookup holds to a bound device (RT6_LOOKUP_F_IFACE); a route request
    // from a source does not, so a route out of another device is no route to it.
    if flow.oif.is_some_and(|oif| answer.oif != Some(oif)) {
        return Err(read_failure(error));
    }
    Ok(RouteAnswer {
        configured_prefsrc: None,
        nexthop_oif: None,
        ..answer
    })
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
    flow: &Flow,
) -> Result<(Explanation, Vec<Interface>), Failure> {
    let kernel = kernel_answer(ctx, destination, flow, true)?;
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

fn run_explain(destination: IpAddr, flow: &Flow, ctx: &mut Context) -> Result<Outcome, Failure> {
    let (explanation, interfaces) = explanation(ctx, destination, flow)?;
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
    // As plain `which` does: a route without a source is no answer.
    if explanation.kernel.source.is_none() {
        return Err(Failure::NoSource {
            destination: destination.to_string(),
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
            let kernel = probe_answer(ctx, destination, &Flow::UDP, false)?;
            probes.push(Probe {
                destination,
                kernel: kernel.and_then(|kernel| kernel.source),
                predicted: None,
                no_route: kernel.is_none(),
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
            let kernel = probe_answer(ctx, destination, &Flow::UDP, true)?;
            probes.push(Probe {
                destination,
                kernel: kernel.and_then(|kernel| kernel.source),
                predicted: kernel.map(|kernel| predict(&kernel, destination, &before, &after)),
                no_route: kernel.is_none(),
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

/// One probe's route; `None` when there is none, which is that probe's answer, not a failure
/// of the command (after a real run the changes are made).
pub fn probe_answer(
    ctx: &mut Context,
    destination: IpAddr,
    flow: &Flow,
    configured: bool,
) -> Result<Option<RouteAnswer>, Failure> {
    match route_answer(&mut ctx.conn, destination, None, flow, configured) {
        Ok(answer) => Ok(Some(answer)),
        Err(error) if is_no_route_error(&error) => Ok(None),
        Err(error) => Err(read_failure(error)),
    }
}

fn is_no_route_error(error: &ReadError) -> bool {
    matches!(&error.source, RequestError::Kernel(refusal) if is_no_route(refusal.errno))
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
