//! Reads what the source-selection model needs from the kernel: interfaces and IPv6 addresses (one dump
//! each, as every command reads them), the address-label table (`RTM_GETADDRLABEL`), and each
//! interface's settings from `/proc/sys/net/ipv6/conf/IF/`.
//!
//! `/proc/sys/net` shows the network namespace of the task that opens it, and nlsel enters the
//! `-n` namespace before it reads anything, so the settings are those of the namespace asked
//! about. The kernel's route lookup is asked here too, so `which` and `--probe` share it.

use std::net::IpAddr;
use std::path::PathBuf;

use super::{InterfaceState, Ipv6Conf, KernelBuild, LabelEntry, SourceState};
use crate::model::{read_addresses, read_interfaces};
use crate::nl::Family;
use crate::nl::addrlabel::{AddrLabelMessage, RTM_GETADDRLABEL, RTM_NEWADDRLABEL};
use crate::nl::header::{RTM_GETROUTE, RTM_NEWROUTE};
use crate::nl::request::{Conn, RequestError};
use crate::nl::route::RouteMessage;

/// A request that failed, and what it was reading.
#[derive(Debug)]
pub struct ReadError {
    pub what: String,
    pub source: RequestError,
}

fn reading(what: impl Into<String>) -> impl FnOnce(RequestError) -> ReadError {
    let what = what.into();
    move |source| ReadError { what, source }
}

/// `RTM_F_FIB_MATCH`: answer with the routing-table entry as configured, not the resolved
/// route, so a configured preferred source can be told from a chosen one.
const RTM_F_FIB_MATCH: u32 = 0x2000;

/// What the kernel answers for one destination.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RouteAnswer {
    /// The source the kernel uses (`RTA_PREFSRC` of the resolved route).
    pub source: Option<IpAddr>,
    /// The outgoing interface of the resolved route.
    pub oif: Option<u32>,
    /// The `src` the matching route was configured with, if any.
    pub configured_prefsrc: Option<IpAddr>,
    /// The device of the matching route's next hop: the one the kernel hands its source
    /// choice (for a local destination it differs from `oif`, which is then `lo`).
    pub nexthop_oif: Option<u32>,
}

fn lookup(
    conn: &mut Conn,
    destination: IpAddr,
    flags: u32,
) -> Result<Option<RouteMessage>, ReadError> {
    let mut route = None;
    let request = RouteMessage {
        flags,
        ..RouteMessage::get(destination)
    };
    conn.request(RTM_GETROUTE, &request, |message| {
        if message.header.msg_type == RTM_NEWROUTE {
            route = Some(RouteMessage::parse(message.payload)?.0);
        }
        Ok(())
    })
    .map_err(reading(format!("route to \"{destination}\"")))?;
    Ok(route)
}

/// Asks the kernel for the route to `destination`: resolved, and, when `configured` is set,
/// as configured too (kernels before 4.13 lack that second question).
pub fn route_answer(
    conn: &mut Conn,
    destination: IpAddr,
    configured: bool,
) -> Result<RouteAnswer, ReadError> {
    let resolved = lookup(conn, destination, 0)?;
    let configured = if configured {
        lookup(conn, destination, RTM_F_FIB_MATCH)?
    } else {
        None
    };
    let oif = resolved.and_then(|route| route.oif);
    Ok(RouteAnswer {
        source: resolved.and_then(|route| route.prefsrc),
        oif,
        configured_prefsrc: configured.and_then(|route| route.prefsrc),
        nexthop_oif: configured.and_then(|route| route.oif).or(oif),
    })
}

/// The address-label table, in the kernel's precedence order.
pub fn read_labels(conn: &mut Conn) -> Result<Vec<LabelEntry>, ReadError> {
    conn.dump(
        RTM_GETADDRLABEL,
        &AddrLabelMessage::dump_request(),
        Vec::new,
        |labels, message| {
            if message.header.msg_type == RTM_NEWADDRLABEL {
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
            Ok(())
        },
    )
    .map_err(reading("reading the address-label table"))
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
    }
}

/// Everything the source-address choice depends on, as the kernel has it now.
pub fn read_source_state(conn: &mut Conn) -> Result<SourceState, ReadError> {
    let interfaces = read_interfaces(conn).map_err(reading("reading interfaces"))?;
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
        build: KernelBuild {
            // No interface setting shows CONFIG_IPV6_MIP6; the model says when it matters.
            home_address_rule: None,
            // The optimistic_dad setting exists exactly when CONFIG_IPV6_OPTIMISTIC_DAD does.
            not_optimistic_rule: Some(all_dir.join("optimistic_dad").exists()),
        },
    })
}
