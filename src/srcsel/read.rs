//! Reads what the source-selection model needs from the kernel: interfaces and IPv6 addresses (one dump
//! each, as every command reads them), the address-label table (`RTM_GETADDRLABEL`), and each
//! interface's settings from `/proc/sys/net/ipv6/conf/IF/`.
//!
//! `/proc/sys/net` shows the network namespace of the task that opens it, and nlsel enters the
//! `-n` namespace before it reads anything, so the settings are those of the namespace asked
//! about. The kernel's route lookup is asked here too, so `which` and `--probe` share it.

use std::fmt;
use std::net::IpAddr;
use std::path::PathBuf;

use super::{InterfaceState, Ipv6Conf, KernelBuild, LabelEntry, SourceState};
use crate::model::{read_addresses, read_interfaces};
use crate::nl::addrlabel::{AddrLabelMessage, RTM_GETADDRLABEL, RTM_NEWADDRLABEL};
use crate::nl::header::{RTM_GETROUTE, RTM_NEWROUTE};
use crate::nl::nexthop::{NexthopMessage, RTM_GETNEXTHOP, RTM_NEWNEXTHOP};
use crate::nl::request::{Conn, RequestError, Transport};
use crate::nl::route::RouteMessage;
use crate::nl::{Emit, Family};

/// A request that failed, and what it was reading.
#[derive(Debug)]
pub struct ReadError {
    pub what: String,
    pub source: RequestError,
}
impl fmt::Display for ReadError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.what, self.source)
    }
}

impl std::error::Error for ReadError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        Some(&self.source)
    }
}

pub(super) fn reading(what: impl Into<String>) -> impl FnOnce(RequestError) -> ReadError {
    let what = what.into();
    move |source| ReadError { what, source }
}

/// `RTM_F_FIB_MATCH`: answer with the routing-table entry as configured, not the resolved
/// route, so a configured preferred source can be told from a chosen one.
const RTM_F_FIB_MATCH: u32 = 0x2000;

/// What the kernel answers for one destination.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RouteAnswer {
    /// The source the kernel uses (`RTA_PREFSRC` of the resolved route).
    pub source: Option<IpAddr>,
    /// The outgoing interface of the resolved route.
    pub oif: Option<u32>,
    /// The `src` the matching route was configured with, if any.
    pub configured_prefsrc: Option<IpAddr>,
    /// The device of the matching route's next hop: the one the kernel hands its source
    /// choice (for a local destination it differs from `oif`, which is then `lo`; for a
    /// nexthop group it is the first member's, whatever path the flow takes).
    pub nexthop_oif: Option<u32>,
    /// The matching route's nexthop group (`nhid`), when it uses one.
    pub nexthop_group: Option<u32>,
    /// The matching route uses a nexthop object (`nhid`), group or not.
    pub nexthop_object: bool,
    /// The devices of the matching route's paths when it has several of its own (ECMP
    /// without a nexthop object): each path's device gets its own source choice.
    pub paths: Vec<u32>,
    /// The kernel answered the question about the configured route with the resolved one: it
    /// ignores `RTM_F_FIB_MATCH` (before 4.13), so whether a `src` decides is unknown and
    /// `configured_prefsrc` and `nexthop_oif` say nothing.
    pub fib_match_ignored: bool,
    /// The matching route as configured: its prefix length and table (`--probe` weighs a
    /// prefix route a change re-installs against it).
    pub matched: Option<(u8, u32)>,
}

/// The flow an application's socket asks the route for: its bound device or scope
/// (`SO_BINDTODEVICE`, `sin6_scope_id`), protocol and ports. With ECMP the kernel hashes the
/// protocol (and, under `fib_multipath_hash_policy` 1, the ports) to choose the path.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Flow {
    pub oif: Option<u32>,
    pub ip_proto: u8,
    pub sport: Option<u16>,
    pub dport: Option<u16>,
}

impl Flow {
    /// `connect()` on an unbound datagram socket.
    pub const UDP: Flow = Flow {
        oif: None,
        ip_proto: 17,
        sport: None,
        dport: None,
    };

    /// The route request for `destination` from `source` (`None`: any) with `flags`.
    fn request(&self, destination: IpAddr, source: Option<IpAddr>, flags: u32) -> RouteMessage {
        let request = RouteMessage::get(destination);
        RouteMessage {
            flags,
            src_len: if source.is_some() { request.dst_len } else { 0 },
            src: source,
            oif: self.oif,
            ip_proto: Some(self.ip_proto),
            sport: self.sport,
            dport: self.dport,
            ..request
        }
    }
}

/// The payload of the `reply_type` message the kernel answers `request` with, if any. Every
/// single question here goes through this one closure, so the binary has one copy of the
/// request loop for them (each closure type is another copy, about a kilobyte).
fn ask<T: Transport>(
    conn: &mut Conn<T>,
    msg_type: u16,
    request: &dyn Emit,
    reply_type: u16,
) -> Result<Option<Vec<u8>>, RequestError> {
    let mut reply = None;
    conn.request(msg_type, request, |message| {
        if message.header.msg_type == reply_type {
            reply = Some(message.payload.to_vec());
        }
        Ok(())
    })?;
    Ok(reply)
}

fn lookup<T: Transport>(
    conn: &mut Conn<T>,
    request: &RouteMessage,
) -> Result<Option<RouteMessage>, ReadError> {
    ask(conn, RTM_GETROUTE, request, RTM_NEWROUTE)
        .and_then(|payload| {
            let Some(payload) = payload else {
                return Ok(None);
            };
            let route = RouteMessage::parse(&payload)?.0;
            // Read the paths here, so that a malformed one fails the request.
            route.paths().try_for_each(|path| path.map(drop))?;
            Ok(Some(route))
        })
        .map_err(reading(format!(
            "route to \"{}\"",
            request.dst.map(|d| d.to_string()).unwrap_or_default()
        )))
}

/// Nexthop object `id`, when the kernel has it.
fn nexthop<T: Transport>(conn: &mut Conn<T>, id: u32) -> Result<Option<NexthopMessage>, ReadError> {
    ask(
        conn,
        RTM_GETNEXTHOP,
        &NexthopMessage::get(id),
        RTM_NEWNEXTHOP,
    )
    .and_then(|payload| match payload {
        Some(payload) => Ok(Some(NexthopMessage::parse(&payload)?.0)),
        None => Ok(None),
    })
    .map_err(reading(format!("nexthop {id}")))
}

/// The device the kernel takes the source from for a route using nexthop object `id`
/// (`fib6_info_nh_dev`: `nexthop_fib6_nh` gives a group's first member), and whether `id` is
/// a group.
fn nexthop_device<T: Transport>(
    conn: &mut Conn<T>,
    id: u32,
) -> Result<(Option<u32>, bool), ReadError> {
    let Some(object) = nexthop(conn, id)? else {
        return Ok((None, false));
    };
    match object.first_member() {
        Some(member) => Ok((nexthop(conn, member)?.and_then(|m| m.oif), true)),
        None => Ok((object.oif, false)),
    }
}

/// Whether `route` is a host route to exactly `destination`: what a kernel that ignores
/// `RTM_F_FIB_MATCH` always answers, since `rt6_fill_node` (and IPv4's `rt_fill_info`) given
/// the looked-up address sets `rtm_dst_len` to the full length and `RTA_DST` to that address,
/// where the matched route as configured (4.13's `fibmatch` path, no address given) has its
/// own prefix length and `RTA_PREFSRC` only if it was configured with one.
fn is_host_route_to(route: &RouteMessage, destination: IpAddr) -> bool {
    let full = if destination.is_ipv6() { 128 } else { 32 };
    route.dst_len == full && route.dst == Some(destination)
}

/// Whether the kernel ignores `RTM_F_FIB_MATCH`, asked with a destination no configured route
/// is a host route to: the unspecified address `::`. A kernel that knows the flag answers
/// with the default route (`/0`) or refuses (ENETUNREACH, no route); one before 4.13 answers
/// the resolved route, a `/128` to `::`. Any other refusal leaves it unknown, taken as ignored.
fn ignores_fib_match<T: Transport>(conn: &mut Conn<T>) -> Result<bool, ReadError> {
    let unspecified = IpAddr::V6(std::net::Ipv6Addr::UNSPECIFIED);
    let request = RouteMessage {
        flags: RTM_F_FIB_MATCH,
        ..RouteMessage::get(unspecified)
    };
    match lookup(conn, &request) {
        Ok(route) => Ok(route.is_some_and(|route| route.dst_len == 128)),
        Err(ReadError {
            source: RequestError::Kernel(refusal),
            ..
        }) => Ok(!is_no_route(refusal.errno)),
        Err(error) => Err(error),
    }
}

/// The kernel's refusal when no route matches (`ip6_null_entry`, or IPv4's lookup).
pub fn is_no_route(errno: i32) -> bool {
    matches!(errno, libc::ENETUNREACH | libc::EHOSTUNREACH)
}

/// Asks the kernel for the route `flow` takes to `destination` from `source` (`None`: as an
/// unbound socket, the kernel chooses): resolved, and, when `configured` is set, as
/// configured too (kernels before 4.13 lack that second question and answer it with the
/// resolved route; that is found out and said, see [`RouteAnswer::fib_match_ignored`]).
pub fn route_answer<T: Transport>(
    conn: &mut Conn<T>,
    destination: IpAddr,
    source: Option<IpAddr>,
    flow: &Flow,
    configured: bool,
) -> Result<RouteAnswer, ReadError> {
    let resolved = lookup(conn, &flow.request(destination, source, 0))?;
    // A route the kernel made up has no entry to show: IPv4 bound to a device the tables
    // have no route on takes the destination as on-link, and `RTM_F_FIB_MATCH` then refuses
    // with EHOSTUNREACH. There is no configured route, so no configured source.
    let mut configured = match configured {
        false => None,
        true => match lookup(conn, &flow.request(destination, source, RTM_F_FIB_MATCH)) {
            Err(ReadError {
                source: RequestError::Kernel(_),
                ..
            }) if resolved.is_some() => None,
            other => other?,
        },
    };
    // Only a host route to the destination with a source can be either answer; without a
    // source it says "no src" both ways.
    let ambiguous = configured
        .as_ref()
        .is_some_and(|route| is_host_route_to(route, destination) && route.prefsrc.is_some());
    let fib_match_ignored = ambiguous && ignores_fib_match(conn)?;
    if fib_match_ignored {
        configured = None;
    }
    let oif = resolved.as_ref().and_then(|route| route.oif);
    let mut answer = RouteAnswer {
        source: resolved.and_then(|route| source.or(route.prefsrc)),
        oif,
        configured_prefsrc: configured.as_ref().and_then(|route| route.prefsrc),
        nexthop_oif: configured.as_ref().and_then(|route| route.oif).or(oif),
        nexthop_group: None,
        nexthop_object: false,
        paths: Vec::new(),
        fib_match_ignored,
        matched: configured.as_ref().map(|route| {
            let table = route.table_id.unwrap_or(u32::from(route.table));
            (route.dst_len, table)
        }),
    };
    if let Some(route) = configured {
        match route.nh_id {
            Some(id) => {
                let (device, group) = nexthop_device(conn, id)?;
                answer.nexthop_oif = device.or(answer.nexthop_oif);
                answer.nexthop_group = group.then_some(id);
                answer.nexthop_object = true;
            }
            // Read whole in `lookup`, so no path is dropped here.
            None => answer.paths = route.paths().filter_map(Result::ok).collect(),
        }
        if answer.paths.len() < 2 {
            answer.paths.clear();
        }
    }
    Ok(answer)
}

/// The destination `connect()` asks the route for: an IPv4-mapped one goes over IPv4, and
/// `::` is `::1` (`ip6_datagram_connect`).
pub fn connect_destination(destination: IpAddr) -> IpAddr {
    match destination {
        IpAddr::V6(v6) if v6.is_unspecified() => IpAddr::V6(std::net::Ipv6Addr::LOCALHOST),
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(destination, IpAddr::V4),
        IpAddr::V4(_) => destination,
    }
}

/// The route `flow` takes to `destination` as `connect()` finds it (`ip6_dst_lookup_tail`):
/// when no route leads there from any source, the kernel chooses a source as if for no
/// device and looks again from it, which a source-specific route (`from PREFIX`) answers.
/// The source is then the model's choice, so the answer says no device decided it.
pub fn connect_route(
    conn: &mut Conn,
    destination: IpAddr,
    flow: &Flow,
    configured: bool,
) -> Result<RouteAnswer, ReadError> {
    let error = match route_answer(conn, destination, None, flow, configured) {
        Ok(answer) => return Ok(answer),
        Err(error) => error,
    };
    let IpAddr::V6(v6) = destination else {
        return Err(error);
    };
    if !error.is_no_route() {
        return Err(error);
    }
    let state = read_source_state(conn)?;
    let Some(source) = state.select(v6, None).chosen().map(|c| c.address.local) else {
        return Err(error);
    };
    let answer = route_answer(conn, destination, Some(source), flow, configured)?;
    // The kernel's second lookup holds to a bound device (RT6_LOOKUP_F_IFACE); a route request
    // from a source does not, so a route out of another device is no route to it.
    if flow.oif.is_some_and(|oif| answer.oif != Some(oif)) {
        return Err(error);
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

/// The route `flow` takes to `destination`, for `--probe`; `None` when there is
/// none, which is that probe's answer, not a failure (after a real run the changes are made).
pub fn probe_route(
    conn: &mut Conn,
    destination: IpAddr,
    flow: &Flow,
    configured: bool,
) -> Result<Option<RouteAnswer>, ReadError> {
    match route_answer(conn, destination, None, flow, configured) {
        Ok(answer) => Ok(Some(answer)),
        Err(error) if error.is_no_route() => Ok(None),
        Err(error) => Err(error),
    }
}

impl ReadError {
    /// The kernel refused for want of a route.
    pub fn is_no_route(&self) -> bool {
        matches!(&self.source, RequestError::Kernel(refusal) if is_no_route(refusal.errno))
    }
}

/// Hundredths of a second since boot, the unit of an address's `cstamp`.
fn uptime() -> Option<u64> {
    let text = std::fs::read_to_string("/proc/uptime").ok()?;
    let seconds = text.split_whitespace().next()?;
    seconds.replace('.', "").parse().ok()
}

/// The address-label table, in the kernel's precedence order.
pub fn read_labels(conn: &mut Conn) -> Result<Vec<LabelEntry>, ReadError> {
    let mut labels = Vec::new();
    conn.dump(
        RTM_GETADDRLABEL,
        &AddrLabelMessage::dump_request(),
        &mut |message| {
            match message {
                None => labels.clear(),
                Some(message) if message.header.msg_type == RTM_NEWADDRLABEL => {
                    let (entry, _) = AddrLabelMessage::parse(message.payload)?;
                    if let (Some(IpAddr::V6(prefix)), Some(label)) = (entry.address, entry.label) {
                        labels.push(LabelEntry {
                            prefix,
                            prefixlen: entry.prefixlen,
                            ifindex: entry.ifindex,
                            label,
                        });
                    }
                }
                Some(_) => {}
            }
            Ok(())
        },
    )
    .map_err(reading("reading the address-label table"))?;
    Ok(labels)
}

fn conf_dir(name: &[u8]) -> PathBuf {
    use std::os::unix::ffi::OsStrExt;
    PathBuf::from("/proc/sys/net/ipv6/conf").join(std::ffi::OsStr::from_bytes(name))
}

/// One integer setting; `None` when the file does not exist (an interface without IPv6, or a
/// kernel built without the feature).
fn read_setting(dir: &std::path::Path, name: &str) -> Option<i32> {
    std::fs::read_to_string(dir.join(name))
        .ok()?
        .trim()
        .parse()
        .ok()
}

fn read_conf(dir: &std::path::Path) -> Ipv6Conf {
    let flag = |name| read_setting(dir, name).is_some_and(|value| value > 0);
    Ipv6Conf {
        use_tempaddr: read_setting(dir, "use_tempaddr").unwrap_or(0),
        optimistic_dad: flag("optimistic_dad"),
        use_optimistic: flag("use_optimistic"),
        use_oif_addrs_only: flag("use_oif_addrs_only"),
        temp_prefered_lft: read_setting(dir, "temp_prefered_lft").unwrap_or(0),
        max_desync_factor: read_setting(dir, "max_desync_factor").unwrap_or(i32::MAX),
    }
}

/// The kernel's device list order (`for_each_netdev`: the order devices were registered in
/// the namespace or moved into it, not ifindex order, and not the order of a link dump),
/// from `/proc/net/igmp6`, which walks that list and lists every device with IPv6 (each has
/// joined ff01::1 and ff02::1); the ifindexes in their first line's order.
pub fn device_order(igmp6: &str) -> Vec<u32> {
    let mut order: Vec<u32> = Vec::new();
    for ifindex in igmp6
        .lines()
        .filter_map(|line| line.split_whitespace().next()?.parse().ok())
    {
        if !order.contains(&ifindex) {
            order.push(ifindex);
        }
    }
    order
}

/// Everything the source-address choice depends on, as the kernel has it now.
pub fn read_source_state(conn: &mut Conn) -> Result<SourceState, ReadError> {
    let mut interfaces = read_interfaces(conn).map_err(reading("reading interfaces"))?;
    let igmp6 = std::fs::read_to_string("/proc/net/igmp6").ok();
    if let Some(igmp6) = &igmp6 {
        // A device the list lacks has no IPv6, so no candidates: last is as good as any.
        // Moved rather than sorted: a sort costs the release binary kilobytes.
        let mut ordered = Vec::with_capacity(interfaces.len());
        for ifindex in device_order(igmp6) {
            if let Some(at) = interfaces.iter().position(|i| i.ifindex == ifindex) {
                ordered.push(interfaces.remove(at));
            }
        }
        ordered.append(&mut interfaces);
        interfaces = ordered;
    }
    let addresses =
        read_addresses(conn, Family::Inet6, |_| true).map_err(reading("reading addresses"))?;
    let labels = read_labels(conn)?;
    let all_dir = conf_dir(b"all");
    Ok(SourceState {
        interfaces: interfaces
            .into_iter()
            .map(|interface| InterfaceState {
                conf: read_conf(&conf_dir(&interface.name)),
                ifindex: interface.ifindex,
                name: interface.name,
            })
            .collect(),
        addresses,
        all: read_conf(&all_dir),
        labels,
        build: kernel_build(&all_dir),
        device_order_unknown: igmp6.is_none(),
        uptime: uptime(),
    })
}

/// The optional rules, as far as the settings in `all_dir` show them.
fn kernel_build(all_dir: &std::path::Path) -> KernelBuild {
    KernelBuild {
        // No interface setting shows CONFIG_IPV6_MIP6; the model says when it matters.
        home_address_rule: None,
        // Rule 9 came with the use_optimistic setting (3.19, both under
        // CONFIG_IPV6_OPTIMISTIC_DAD): a kernel with optimistic_dad but not use_optimistic
        // (3.10, vz7) has optimistic addresses and no rule 9, and always avoids them at rule
        // 3, which use_optimistic reading as off already gives.
        not_optimistic_rule: Some(all_dir.join("use_optimistic").exists()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::nl::header::Message;
    use crate::nl::replay::{Replay, datagram, with_seq};

    #[test]
    fn connect_maps_unspecified_and_mapped_destinations() {
        let ip = |text: &str| -> IpAddr { text.parse().unwrap() };
        assert_eq!(connect_destination(ip("::")), ip("::1"));
        assert_eq!(connect_destination(ip("::ffff:192.0.2.1")), ip("192.0.2.1"));
        assert_eq!(connect_destination(ip("2001:db8::1")), ip("2001:db8::1"));
    }

    /// The resolved route (`rt6_fill_node` given the destination), which is also what a
    /// kernel before 4.13 answers when asked with `RTM_F_FIB_MATCH`.
    static ROUTE_GET_V6: &[u8] = include_bytes!("../nl/testdata/route_get_v6.bin");

    #[test]
    fn only_a_host_route_to_the_destination_can_be_an_ignored_fib_match() {
        let (message, _) = Message::parse(ROUTE_GET_V6).unwrap();
        let (route, _) = RouteMessage::parse(message.payload).unwrap();
        let destination: IpAddr = "2001:db8:9f16:8fc7::9".parse().unwrap();
        assert!(is_host_route_to(&route, destination));
        assert!(route.prefsrc.is_some());
        assert!(!is_host_route_to(
            &route,
            "2001:db8:9f16:8fc7::8".parse().unwrap()
        ));
        // What 4.13 on answers: the matched route with its own prefix (here the default).
        let default = RouteMessage {
            dst_len: 0,
            dst: None,
            ..route.clone()
        };
        assert!(!is_host_route_to(&default, destination));
        let prefix = RouteMessage {
            dst_len: 64,
            ..route.clone()
        };
        assert!(!is_host_route_to(&prefix, destination));
        let v4: IpAddr = "192.0.2.1".parse().unwrap();
        let host_v4 = RouteMessage {
            dst_len: 32,
            dst: Some(v4),
            ..route
        };
        assert!(is_host_route_to(&host_v4, v4));
        assert!(!is_host_route_to(
            &RouteMessage {
                dst_len: 24,
                ..host_v4
            },
            v4
        ));
    }

    static ROUTE_GET_V4_9: &[u8] = include_bytes!("../nl/testdata/route_get_v4.9.bin");
    static ROUTE_GET_V4_9_UNSPECIFIED: &[u8] =
        include_bytes!("../nl/testdata/route_get_v4.9_unspecified.bin");
    static ERROR_EXTACK: &[u8] = include_bytes!("../nl/testdata/error_extack.bin");

    fn beef() -> IpAddr {
        "2001:db8:f1c1:8454:964::beef".parse().unwrap()
    }

    /// Replays the three questions `route_answer` asks (the route, the route as configured,
    /// and about ::), numbered from 10, with `configured` and `unspecified` as the kernel's
    /// answers to the last two.
    fn answer(configured: &[u8], unspecified: &[u8]) -> RouteAnswer {
        let replay = Replay::new()
            .answer(vec![datagram(ROUTE_GET_V4_9)])
            .answer(vec![datagram(&with_seq(configured, 11))])
            .answer(vec![datagram(&with_seq(unspecified, 12))]);
        let mut conn = Conn::over(replay, 10);
        let destination = "2001:db8:9f16:8fc7::9".parse().unwrap();
        let answer = route_answer(&mut conn, destination, None, &Flow::UDP, true).unwrap();
        assert_eq!(answer.source, Some(beef()));
        answer
    }

    fn refusal(errno: i32) -> Vec<u8> {
        let mut bytes = ERROR_EXTACK.to_vec();
        bytes[16..20].copy_from_slice(&(-errno).to_ne_bytes());
        bytes
    }

    #[test]
    fn a_kernel_before_4_13_is_found_to_ignore_fib_match() {
        // 4.9 answers the question about the configured route, and the one about ::, with
        // the resolved route (rt6_fill_node given the address).
        let answer = answer(ROUTE_GET_V4_9, ROUTE_GET_V4_9_UNSPECIFIED);
        assert!(answer.fib_match_ignored);
        assert_eq!(answer.configured_prefsrc, None);
        assert_eq!(answer.nexthop_oif, Some(2));
        // A refusal other than "no route" leaves it unknown: not trusted either.
        assert!(answer_with_refusal(libc::EAFNOSUPPORT).fib_match_ignored);
    }

    fn answer_with_refusal(errno: i32) -> RouteAnswer {
        answer(ROUTE_GET_V4_9, &refusal(errno))
    }

    #[test]
    fn a_host_route_src_on_a_kernel_with_fib_match_is_the_configured_one() {
        // 4.13 on, a host route to the destination configured with src ::beef reads like
        // 4.9's answer; asked about :: without a default route, the kernel refuses
        // (ip6_null_entry: ENETUNREACH), which 4.9 never does.
        let answer = answer_with_refusal(libc::ENETUNREACH);
        assert!(!answer.fib_match_ignored);
        assert_eq!(answer.configured_prefsrc, Some(beef()));
        assert!(!answer_with_refusal(libc::EHOSTUNREACH).fib_match_ignored);
    }

    #[test]
    fn a_prefix_route_with_a_source_is_the_configured_one_without_asking_more() {
        // 4.13 on, a /48 configured with src ::beef: its own prefix length says the flag was
        // honoured, so :: is not asked about (the replay has no third answer).
        let mut prefix = with_seq(ROUTE_GET_V4_9, 11);
        prefix[17] = 48;
        let replay = Replay::new()
            .answer(vec![datagram(ROUTE_GET_V4_9)])
            .answer(vec![datagram(&prefix)]);
        let mut conn = Conn::over(replay, 10);
        let destination = "2001:db8:9f16:8fc7::9".parse().unwrap();
        let answer = route_answer(&mut conn, destination, None, &Flow::UDP, true).unwrap();
        assert!(!answer.fib_match_ignored);
        assert_eq!(answer.configured_prefsrc, Some(beef()));
    }

    #[test]
    fn no_more_is_asked_without_a_host_route_with_a_source() {
        let replay = Replay::new().answer(vec![datagram(ROUTE_GET_V4_9)]);
        let mut conn = Conn::over(replay, 10);
        let destination = "2001:db8:9f16:8fc7::9".parse().unwrap();
        let answer = route_answer(&mut conn, destination, None, &Flow::UDP, false).unwrap();
        assert!(!answer.fib_match_ignored);
        assert_eq!((answer.source, answer.oif), (Some(beef()), Some(2)));
    }

    static FIBMATCH_NHID: &[u8] = include_bytes!("../nl/testdata/route_fibmatch_nhid.bin");
    static FIBMATCH_MULTIPATH: &[u8] =
        include_bytes!("../nl/testdata/route_fibmatch_multipath.bin");
    static NEXTHOP_GROUP: &[u8] = include_bytes!("../nl/testdata/nexthop_get_group.bin");
    static NEXTHOP_SINGLE: &[u8] = include_bytes!("../nl/testdata/nexthop_get_single.bin");

    /// `reply` followed by the ACK of `ROUTE_GET_V4_9` (its last 36 bytes), numbered `seq`.
    fn acked(reply: &[u8], seq: u32) -> crate::nl::replay::Event {
        let ack = &ROUTE_GET_V4_9[ROUTE_GET_V4_9.len() - 36..];
        datagram(&with_seq(&[reply, ack].concat(), seq))
    }

    #[test]
    fn a_nexthop_group_gives_its_first_members_device() {
        // Route nhid 10, group 2/1: member 2 is on venet1 (4), whatever the resolved path.
        let replay = Replay::new()
            .answer(vec![datagram(ROUTE_GET_V4_9)])
            .answer(vec![acked(FIBMATCH_NHID, 11)])
            .answer(vec![acked(NEXTHOP_GROUP, 12)])
            .answer(vec![acked(NEXTHOP_SINGLE, 13)]);
        let mut conn = Conn::over(replay, 10);
        let destination = "2001:db8:9::1".parse().unwrap();
        let answer = route_answer(&mut conn, destination, None, &Flow::UDP, true).unwrap();
        assert_eq!(answer.oif, Some(2));
        assert_eq!(
            (
                answer.nexthop_oif,
                answer.nexthop_group,
                answer.nexthop_object
            ),
            (Some(4), Some(10), true)
        );
        assert!(answer.paths.is_empty());
    }

    #[test]
    fn an_ecmp_route_gives_its_paths_devices() {
        let replay = Replay::new()
            .answer(vec![datagram(ROUTE_GET_V4_9)])
            .answer(vec![acked(FIBMATCH_MULTIPATH, 11)]);
        let mut conn = Conn::over(replay, 10);
        let destination = "2001:db8:8::1".parse().unwrap();
        let answer = route_answer(&mut conn, destination, None, &Flow::UDP, true).unwrap();
        assert_eq!(answer.paths, [2, 4]);
        assert_eq!((answer.nexthop_group, answer.nexthop_object), (None, false));
        // The resolved path's device hands the choice over.
        assert_eq!(answer.nexthop_oif, Some(2));
    }

    #[test]
    fn device_order_is_igmp6_first_appearance() {
        // x1 was added (index 20, its peer y1 21) before x0 (10, peer y0 11); m0 (3) was
        // moved in last: /proc/net/igmp6 as 6.18 prints it, shortened.
        let igmp6 = "\
1    lo              ff020000000000000000000000000001     1 0000000C 0
1    lo              ff010000000000000000000000000001     1 00000008 0
21   y1              ff020000000000000000000000000001     1 0000000C 0
20   x1              ff020000000000000000000000000001     1 0000000C 0
20   x1              ff010000000000000000000000000001     1 00000008 0
11   y0              ff020000000000000000000000000001     1 0000000C 0
10   x0              ff020000000000000000000000000001     1 0000000C 0
3    m0              ff020000000000000000000000000001     1 0000000C 0
";
        assert_eq!(device_order(igmp6), [1, 21, 20, 11, 10, 3]);
        assert_eq!(device_order(""), Vec::<u32>::new());
        assert_eq!(device_order("x\n5 a\n\n5 a\n2 b\n5 a\n"), [5, 2]);
    }

    #[test]
    fn rule_9_needs_use_optimistic_not_only_optimistic_dad() {
        let dir = std::env::temp_dir().join(format!("nlsel-conf-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        assert_eq!(kernel_build(&dir).not_optimistic_rule, Some(false));
        // 3.10 built with CONFIG_IPV6_OPTIMISTIC_DAD: optimistic_dad only.
        std::fs::write(dir.join("optimistic_dad"), "0\n").unwrap();
        assert_eq!(kernel_build(&dir).not_optimistic_rule, Some(false));
        std::fs::write(dir.join("use_optimistic"), "0\n").unwrap();
        assert_eq!(kernel_build(&dir).not_optimistic_rule, Some(true));
        assert_eq!(kernel_build(&dir).home_address_rule, None);
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
