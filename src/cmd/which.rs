//! `nlsel which DEST [--explain]`: ask the kernel which source address it would use for DEST,
//! the way `ip route get` does, so that the effect of `deprecate` can be checked without
//! sending; with `--explain`, rebuild the kernel's choice rule by rule and say whether nlsel's
//! model agrees (`crate::srcsel::explain`; `--probe` of `deprecate` and `prefer` is
//! `crate::apply::probe`). Only the arguments and the wiring are here.

use std::net::IpAddr;

use lexopt::prelude::*;

use super::{Parsed, text_value, usage_error};
use crate::apply::probe::read_failure;
use crate::context::{Context, Outcome};
use crate::failure::{Failure, Kind};
use crate::model::{Interface, read_interfaces};
use crate::present;
use crate::present::packed::Text;
use crate::srcsel::explain::explain;
use crate::srcsel::read::{Flow, connect_destination, connect_route};

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

pub fn parse(parser: &mut lexopt::Parser) -> Result<Parsed<Args>, Failure> {
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
            Short('h') | Long("help") => return Ok(Parsed::Help(Text::WhichHelp)),
            _ => return Err(usage_error(arg.unexpected())),
        }
    }
    args.destination =
        destination.ok_or_else(|| Failure::usage("which needs a destination address"))?;
    Ok(Parsed::Run(args))
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
        .find(|i| i.is_named(name))
        .map(|i| i.ifindex)
        .ok_or_else(|| Failure::from(Kind::InterfaceNotFound(name.to_vec())))
}

/// The destination and flow `connect()` would ask the route for ([`connect_destination`]); a
/// scope counts only where one is needed, and there it must be given.
fn flow(args: &Args, interfaces: &[Interface]) -> Result<(IpAddr, Flow), Failure> {
    let destination = args.destination;
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
    Ok((connect_destination(destination), flow))
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
    let answer = connect_route(&mut ctx.conn, destination, &flow, false).map_err(read_failure)?;
    let source = answer.source.ok_or_else(|| {
        Failure::from(Kind::NoSource {
            destination: destination.to_string(),
        })
    })?;
    refuse_mapped(destination, source)?;
    let device = device_name(&interfaces, answer.oif);
    ctx.out.line(&present::route_source(
        destination,
        source,
        &device,
        ctx.globals.json,
    ));
    Ok(Outcome::Done)
}

/// An IPv4-mapped source for an IPv6 destination: the kernel chooses such an address like any
/// other (it is a candidate in `ipv6_dev_get_saddr`), and then `connect()` refuses it.
fn refuse_mapped(destination: IpAddr, source: IpAddr) -> Result<(), Failure> {
    match source {
        IpAddr::V6(v6) if destination.is_ipv6() && v6.to_ipv4_mapped().is_some() => {
            Err(Failure::from(Kind::MappedSource {
                destination: destination.to_string(),
                source: source.to_string(),
            }))
        }
        _ => Ok(()),
    }
}

fn run_explain(destination: IpAddr, flow: &Flow, ctx: &mut Context) -> Result<Outcome, Failure> {
    let (explanation, interfaces) =
        explain(&mut ctx.conn, destination, flow).map_err(read_failure)?;
    if ctx.globals.json {
        ctx.out
            .line(&present::explain::json(&explanation, &interfaces));
    } else {
        for line in present::explain::text(&explanation, &interfaces) {
            ctx.out.line(&line);
        }
    }
    if explanation.agrees() == Some(false) {
        return Err(Failure::from(Kind::Disagreement {
            destination: destination.to_string(),
            model: explanation.model_source().map(|ip| ip.to_string()),
            kernel: explanation.kernel.source.map(|ip| ip.to_string()),
        }));
    }
    // As plain `which` does: a route without a source is no answer.
    let Some(source) = explanation.kernel.source else {
        return Err(Failure::from(Kind::NoSource {
            destination: destination.to_string(),
        }));
    };
    refuse_mapped(destination, source)?;
    Ok(Outcome::Done)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(text: &str) -> IpAddr {
        text.parse().unwrap()
    }

    #[test]
    fn only_a_destination_that_needs_a_scope_takes_one() {
        assert!(needs_scope(ip("fe80::1")) && needs_scope(ip("ff02::1")));
        assert!(!needs_scope(ip("2001:db8::1")) && !needs_scope(ip("ff05::1")));
        assert!(!needs_scope(ip("192.0.2.1")));
    }
}
