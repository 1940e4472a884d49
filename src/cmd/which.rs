//! `nlsel which DEST [--explain]`: ask the kernel which source address it would use for DEST,
//! the way `ip route get` does, so that the effect of `deprecate` can be checked without
//! sending; with `--explain`, rebuild the kernel's choice rule by rule and say whether nlsel's
//! model agrees. `--probe` of `deprecate` and `prefer` is here too: the same question asked
//! before and after a plan.

use std::net::IpAddr;

use lexopt::prelude::*;

use super::{Parsed, text_value, usage_error};
use crate::apply::Rule;
use crate::apply::missing_prefix_routes;
use crate::context::{Context, Outcome};
use crate::failure::{Failure, Kind};
use crate::model::{Address, PrefixRoute};
use crate::model::{Interface, read_addresses, read_interfaces};
use crate::nl::Family;
use crate::nl::request::RequestError;
use crate::plan::Change;
use crate::plan::Mode;
use crate::present;
use crate::present::explain::{self, Decision, Explanation, Prediction, Probe};
use crate::present::packed::Text;
use crate::srcsel::SourceState;
use crate::srcsel::after::{After, after_changes};
use crate::srcsel::read::{
    Flow, ReadError, RouteAnswer, is_no_route, read_source_state, route_answer,
};

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
        .ok_or_else(|| Kind::InterfaceNotFound(name.to_vec()).into())
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

/// The destination `connect()` asks the route for: an IPv4-mapped one goes over IPv4, and
/// `::` is `::1` (`ip6_datagram_connect`).
fn connect_destination(destination: IpAddr) -> IpAddr {
    match destination {
        IpAddr::V6(v6) if v6.is_unspecified() => IpAddr::V6(std::net::Ipv6Addr::LOCALHOST),
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(destination, IpAddr::V4),
        IpAddr::V4(_) => destination,
    }
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
    let source = answer.source.ok_or_else(|| Kind::NoSource {
        destination: destination.to_string(),
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
        return Err(error.into());
    };
    if !is_no_route_error(&error) {
        return Err(error.into());
    }
    let state = read_source_state(&mut ctx.conn)?;
    let Some(source) = state.select(v6, None).chosen().map(|c| c.address.local) else {
        return Err(error.into());
    };
    let answer = route_answer(&mut ctx.conn, destination, Some(source), flow, configured)?;
    // The kernel's second lookup holds to a bound device (RT6_LOOKUP_F_IFACE); a route request
    // from a source does not, so a route out of another device is no route to it.
    if flow.oif.is_some_and(|oif| answer.oif != Some(oif)) {
        return Err(error.into());
    }
    Ok(RouteAnswer {
        configured_prefsrc: None,
        nexthop_oif: None,
        nexthop_group: None,
        nexthop_object: false,
        paths: Vec::new(),
        ..answer
    })
}

/// An IPv4-mapped source for an IPv6 destination: the kernel chooses such an address like any
/// other (it is a candidate in `ipv6_dev_get_saddr`), and then `connect()` refuses it.
fn refuse_mapped(destination: IpAddr, source: IpAddr) -> Result<(), Failure> {
    match source {
        IpAddr::V6(v6) if destination.is_ipv6() && v6.to_ipv4_mapped().is_some() => {
            Err(Kind::MappedSource {
                destination: destination.to_string(),
                source: source.to_string(),
            }
            .into())
        }
        _ => Ok(()),
    }
}

fn interfaces_of(state: &SourceState) -> Vec<Interface> {
    state
        .interfaces
        .iter()
        .map(|i| Interface {
            ifindex: i.ifindex,
            name: i.name.clone(),
            alt_names: Vec::new(),
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
    let state = read_source_state(&mut ctx.conn)?;
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
    // ECMP without a nexthop object: each path's device chooses for itself.
    let mut path_sources = Vec::new();
    if let (Decision::Ipv6(_), IpAddr::V6(v6)) = (&decision, destination) {
        path_sources = kernel
            .paths
            .iter()
            .map(|&path| {
                (
                    path,
                    state
                        .select(v6, Some(path))
                        .chosen()
                        .map(|c| c.address.local),
                )
            })
            .collect();
        if path_sources
            .windows(2)
            .all(|pair| matches!(pair, [a, b] if a.1 == b.1))
        {
            path_sources.clear();
        }
    }
    Ok((
        Explanation {
            destination,
            kernel,
            decision,
            path_sources,
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
        return Err(Kind::Disagreement {
            destination: destination.to_string(),
            model: explanation.model_source().map(|ip| ip.to_string()),
            kernel: explanation.kernel.source.map(|ip| ip.to_string()),
        }
        .into());
    }
    // As plain `which` does: a route without a source is no answer.
    let Some(source) = explanation.kernel.source else {
        return Err(Kind::NoSource {
            destination: destination.to_string(),
        }
        .into());
    };
    refuse_mapped(destination, source)?;
    Ok(Outcome::Done)
}

/// `--probe DEST` of `deprecate` and `prefer`, before the change: the source the kernel uses
/// now for each DEST and the one nlsel's model predicts once `rule`'s plan is applied, with
/// what the kernel does on its own in answer (temporaries follow their parent, a missing
/// prefix route comes back: [`after_changes`], [`missing_prefix_routes`]).
pub fn predict_probes(
    ctx: &mut Context,
    rule: &dyn Rule,
    destinations: &[IpAddr],
) -> Result<Vec<Probe>, Failure> {
    if destinations.is_empty() {
        return Ok(Vec::new());
    }
    let before = read_source_state(&mut ctx.conn)?;
    let interfaces = interfaces_of(&before);
    let plan = rule.plan(&before.addresses, &interfaces)?;
    let changes: Vec<&Change<'_>> = plan.changes().collect();
    let routes: Vec<PrefixRoute> = missing_prefix_routes(ctx, &changes)?
        .into_iter()
        .map(|(_, route)| route)
        .collect();
    let lifetimes: Vec<(u32, IpAddr, u32)> = changes
        .iter()
        .map(|c| (c.address.ifindex, c.address.local, c.preferred_lft))
        .collect();
    let uptime = uptime();
    let setting = |ifindex, key| {
        crate::model::read_ipv6_setting(&crate::model::name_of(&interfaces, ifindex), key)
    };
    // Surely within its own preferred lifetime (`temp_prefered_lft` less at most
    // `max_desync_factor`): the clock since boot may only make it look older.
    let young = |temporary: &Address| {
        let cap = setting(temporary.ifindex, "temp_prefered_lft")
            .unwrap_or(0)
            .saturating_sub(setting(temporary.ifindex, "max_desync_factor").unwrap_or(i32::MAX));
        let age = uptime.map(|now| now.saturating_sub(u64::from(temporary.cstamp)) / 100);
        age.is_some_and(|age| age < u64::try_from(cap).unwrap_or(0))
    };
    let use_tempaddr = |ifindex| {
        let interface = before.interfaces.iter().find(|i| i.ifindex == ifindex);
        interface.map_or(0, |i| i.conf.use_tempaddr)
    };
    let after = after_changes(&before.addresses, &lifetimes, &young, &use_tempaddr);
    let with = |addresses| SourceState {
        addresses,
        ..before.clone()
    };
    let states = [
        with(after.addresses.clone()),
        with(after.without_doubtful()),
    ];
    let mut probes = Vec::new();
    for &destination in destinations {
        let kernel = probe_answer(ctx, connect_destination(destination), &Flow::UDP, true)?;
        let predicted = predict(
            kernel.as_ref(),
            connect_destination(destination),
            &before,
            &states,
            &after,
            &routes,
        );
        probes.push(Probe {
            destination,
            kernel: kernel.as_ref().and_then(|kernel| kernel.source),
            predicted,
            no_route: kernel.is_none(),
            applied: false,
        });
    }
    Ok(probes)
}

/// Hundredths of a second since boot, the unit of an address's `cstamp`.
fn uptime() -> Option<u64> {
    let text = std::fs::read_to_string("/proc/uptime").ok()?;
    let seconds = text.split_whitespace().next()?;
    seconds.replace('.', "").parse().ok()
}

/// Prints the probes: under `--dry-run` and `--check` as predicted, after a real run with the
/// source the kernel uses now beside the prediction.
pub fn report_probes(ctx: &mut Context, mode: Mode, mut probes: Vec<Probe>) -> Result<(), Failure> {
    if probes.is_empty() {
        return Ok(());
    }
    if mode == Mode::Apply {
        for probe in &mut probes {
            let kernel = probe_answer(
                ctx,
                connect_destination(probe.destination),
                &Flow::UDP,
                false,
            )?;
            probe.kernel = kernel.as_ref().and_then(|kernel| kernel.source);
            probe.no_route = kernel.is_none();
            probe.applied = true;
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
        Err(error) => Err(error.into()),
    }
}

fn is_no_route_error(error: &ReadError) -> bool {
    matches!(&error.source, RequestError::Kernel(refusal) if is_no_route(refusal.errno))
}

/// Whether `destination` is inside `prefix`/`len`.
fn covers(prefix: IpAddr, len: u8, destination: std::net::Ipv6Addr) -> bool {
    let IpAddr::V6(prefix) = prefix else {
        return false;
    };
    (prefix.to_bits() ^ destination.to_bits()) & crate::pattern::prefix_mask(len) == 0
}

/// The model's source for `destination` once the change is made: on the route the kernel
/// uses now, or on a prefix route the change re-installs where that one takes over (a longer
/// match in the main table, or no route now); in `states` (doubtful temporaries preferred
/// again, and not), which must agree.
fn predict(
    kernel: Option<&RouteAnswer>,
    destination: IpAddr,
    before: &SourceState,
    states: &[SourceState; 2],
    after: &After,
    routes: &[PrefixRoute],
) -> Option<Prediction> {
    /// RT_TABLE_MAIN and RT_TABLE_LOCAL.
    const MAIN: u32 = 254;
    const LOCAL: u32 = 255;
    let mut unsupported = kernel
        .filter(|kernel| kernel.fib_match_ignored)
        .map(|_| explain::FIB_MATCH_IGNORED);
    let reinstalled = match destination {
        IpAddr::V6(v6) => routes
            .iter()
            .filter(|&&(_, prefix, len)| covers(prefix, len, v6))
            .max_by_key(|route| route.2),
        IpAddr::V4(_) => None,
    };
    let route = match (kernel, reinstalled) {
        (None, None) => return None,
        (None, Some(&(ifindex, _, _))) => (None, Some(ifindex)),
        (Some(kernel), Some(&(ifindex, _, len))) => match kernel.matched {
            Some((matched, MAIN)) if matched < len => (None, Some(ifindex)),
            Some((matched, table)) if (matched > len && table == MAIN) || table == LOCAL => {
                (kernel.configured_prefsrc, kernel.nexthop_oif)
            }
            _ => {
                unsupported = unsupported.or(Some(explain::ROUTE_UNKNOWN));
                (kernel.configured_prefsrc, kernel.nexthop_oif)
            }
        },
        (Some(kernel), None) => (kernel.configured_prefsrc, kernel.nexthop_oif),
    };
    let choose = |state: &SourceState, (prefsrc, oif): (Option<IpAddr>, Option<u32>)| match (
        prefsrc,
        destination,
    ) {
        (Some(prefsrc), _) => Some(prefsrc),
        (None, IpAddr::V6(v6)) => state.select(v6, oif).chosen().map(|c| c.address.local),
        // Plans change IPv6 addresses only: an IPv4 source stays what it is.
        (None, IpAddr::V4(_)) => kernel.and_then(|kernel| kernel.source),
    };
    let [state, doubted] = states;
    let source = choose(state, route);
    if source != choose(doubted, route) {
        unsupported = unsupported.or(Some(explain::DOUBTFUL_TEMPORARY));
    }
    if route.0.is_none() && destination.is_ipv6() && !after.new_temporary.is_empty() {
        unsupported = unsupported.or(Some(explain::NEW_TEMPORARY));
    }
    let model_agrees_now = kernel.is_none_or(|kernel| {
        choose(before, (kernel.configured_prefsrc, kernel.nexthop_oif)) == kernel.source
    });
    Some(Prediction {
        source,
        model_agrees_now,
        unsupported,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::srcsel::InterfaceState;

    fn ip(text: &str) -> IpAddr {
        text.parse().unwrap()
    }

    /// e0 (2) with 2001:db8:1::1, e1 (3) with 2001:db8:2::1.
    fn state() -> SourceState {
        let interface = |ifindex, name: &str| InterfaceState {
            ifindex,
            name: name.as_bytes().to_vec(),
            conf: Default::default(),
        };
        SourceState {
            interfaces: vec![interface(2, "e0"), interface(3, "e1")],
            addresses: vec![
                Address::for_test("2001:db8:1::1"),
                Address {
                    ifindex: 3,
                    ..Address::for_test("2001:db8:2::1")
                },
            ],
            ..SourceState::default()
        }
    }

    /// The kernel's route now: out of e1, matched at `matched`.
    fn out_of_e1(matched: Option<(u8, u32)>) -> RouteAnswer {
        RouteAnswer {
            source: Some(ip("2001:db8:2::1")),
            oif: Some(3),
            configured_prefsrc: None,
            nexthop_oif: Some(3),
            nexthop_group: None,
            nexthop_object: false,
            paths: Vec::new(),
            fib_match_ignored: false,
            matched,
        }
    }

    fn prediction(kernel: Option<RouteAnswer>, routes: &[PrefixRoute]) -> Option<Prediction> {
        let before = state();
        let after = After {
            addresses: before.addresses.clone(),
            doubtful: Vec::new(),
            new_temporary: Vec::new(),
        };
        let states = [before.clone(), before.clone()];
        let destination = ip("2001:db8:1::99");
        predict(
            kernel.as_ref(),
            destination,
            &before,
            &states,
            &after,
            routes,
        )
    }

    const REINSTALLED: PrefixRoute = (
        2,
        IpAddr::V6(std::net::Ipv6Addr::new(0x2001, 0xdb8, 1, 0, 0, 0, 0, 0)),
        64,
    );

    #[test]
    fn a_reinstalled_prefix_route_takes_over_a_shorter_match_in_main() {
        let predicted = prediction(Some(out_of_e1(Some((0, 254)))), &[REINSTALLED]).unwrap();
        assert_eq!(predicted.source, Some(ip("2001:db8:1::1")));
        assert_eq!(predicted.unsupported, None);
        assert!(predicted.model_agrees_now);
        // Without the route, e1's route stays: rule 5 keeps e1's address.
        let unchanged = prediction(Some(out_of_e1(Some((0, 254)))), &[]).unwrap();
        assert_eq!(unchanged.source, Some(ip("2001:db8:2::1")));
        // A longer match, or a local destination, keeps the route used now.
        for matched in [(80, 254), (128, 255)] {
            let kept = prediction(Some(out_of_e1(Some(matched))), &[REINSTALLED]).unwrap();
            assert_eq!(kept.source, Some(ip("2001:db8:2::1")), "{matched:?}");
            assert_eq!(kept.unsupported, None);
        }
    }

    #[test]
    fn an_equal_match_or_another_table_is_unknown_and_no_route_is_the_new_one() {
        for matched in [Some((64, 254)), Some((0, 100)), None] {
            let predicted = prediction(Some(out_of_e1(matched)), &[REINSTALLED]).unwrap();
            assert_eq!(
                predicted.unsupported,
                Some(explain::ROUTE_UNKNOWN),
                "{matched:?}"
            );
        }
        let predicted = prediction(None, &[REINSTALLED]).unwrap();
        assert_eq!(predicted.source, Some(ip("2001:db8:1::1")));
        assert!(prediction(None, &[]).is_none());
        let elsewhere = (2, ip("2001:db8:7::"), 64);
        assert!(prediction(None, &[elsewhere]).is_none());
    }

    #[test]
    fn connect_maps_unspecified_and_mapped_destinations() {
        assert_eq!(connect_destination(ip("::")), ip("::1"));
        assert_eq!(connect_destination(ip("::ffff:192.0.2.1")), ip("192.0.2.1"));
        assert_eq!(connect_destination(ip("2001:db8::1")), ip("2001:db8::1"));
    }
}
