//! `which --explain` as data: how the source for one destination was decided, nlsel's own
//! answer beside the kernel's, and whether the two agree (a disagreement is exit 1). Read
//! here, decided here; `present::explain` only puts it into words.

use std::net::IpAddr;

use super::Unsupported;
use super::read::{Flow, ReadError, RouteAnswer, connect_route, read_source_state, reading};
use super::select::Selection;
use super::state::SourceState;
use crate::model::{Address, Interface, read_addresses};
use crate::nl::Family;
use crate::nl::request::Conn;

/// How the source for one destination was decided, as far as nlsel can tell.
#[derive(Debug, Clone)]
pub enum Decision {
    /// The route was configured with `src`: RFC 6724 is not consulted at all.
    RoutePrefsrc(IpAddr),
    /// IPv6 without a configured source: the model's choice.
    Ipv6(Selection),
    /// IPv4 without a configured source: the kernel's primary-address choice, which nlsel
    /// does not model; the outgoing interface's addresses are listed.
    Ipv4Primary(Vec<Address>),
}

#[derive(Debug, Clone)]
pub struct Explanation {
    pub destination: IpAddr,
    pub kernel: RouteAnswer,
    pub decision: Decision,
    /// The model's source for each path of an ECMP route, when they differ (empty else):
    /// which one the flow gets depends on the path its hash picks.
    pub path_sources: Vec<(u32, Option<IpAddr>)>,
}

impl Explanation {
    /// nlsel's own answer, when it has one.
    pub fn model_source(&self) -> Option<IpAddr> {
        match &self.decision {
            Decision::RoutePrefsrc(source) => Some(*source),
            Decision::Ipv6(selection) => selection.chosen().map(|c| c.address.local),
            Decision::Ipv4Primary(_) => None,
        }
    }

    /// Whether nlsel's answer is the kernel's; `None` when nlsel has no answer of its own,
    /// or when the answers differ where the model says it cannot tell (unsupported).
    pub fn agrees(&self) -> Option<bool> {
        let agrees = self.model_source() == self.kernel.source;
        match &self.decision {
            Decision::Ipv4Primary(_) => None,
            _ if self.unsupported().is_some() && !agrees => None,
            _ => Some(agrees),
        }
    }

    pub fn unsupported(&self) -> Option<Unsupported> {
        match &self.decision {
            _ if self.kernel.fib_match_ignored => Some(Unsupported::FibMatchIgnored),
            _ if self.kernel.nexthop_object && self.model_source() != self.kernel.source => {
                Some(Unsupported::NexthopCache)
            }
            Decision::Ipv6(selection) => selection.unsupported,
            _ => None,
        }
    }
}

/// The interfaces of `state`, as the commands and `present` name them.
pub fn interfaces_of(state: &SourceState) -> Vec<Interface> {
    state
        .interfaces
        .iter()
        .map(|i| Interface {
            ifindex: i.ifindex,
            name: i.name.clone(),
            alt_names: Vec::new(),
            use_tempaddr: Some(i.conf.use_tempaddr),
        })
        .collect()
}

/// The kernel's answer for `destination` and how it came about, as far as nlsel can tell.
pub fn explain(
    conn: &mut Conn,
    destination: IpAddr,
    flow: &Flow,
) -> Result<(Explanation, Vec<Interface>), ReadError> {
    let kernel = connect_route(conn, destination, flow, true)?;
    let state = read_source_state(conn)?;
    let interfaces = interfaces_of(&state);
    let decision = match (kernel.configured_prefsrc, destination) {
        (Some(prefsrc), _) => Decision::RoutePrefsrc(prefsrc),
        (None, IpAddr::V6(v6)) => Decision::Ipv6(state.select(v6, kernel.nexthop_oif)),
        (None, IpAddr::V4(_)) => {
            let oif = kernel.oif;
            let addresses =
                read_addresses(conn, Family::Inet, |address| Some(address.ifindex) == oif)
                    .map_err(reading("reading addresses"))?;
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

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// The kernel's answer for 2001:db8::1 out of ifindex 2, as the explanation tests use it.
    pub(crate) fn kernel(fib_match_ignored: bool) -> RouteAnswer {
        RouteAnswer {
            source: Some("2001:db8::1".parse().unwrap()),
            oif: Some(2),
            configured_prefsrc: None,
            nexthop_oif: Some(2),
            nexthop_group: None,
            nexthop_object: false,
            paths: Vec::new(),
            fib_match_ignored,
            matched: None,
        }
    }

    #[test]
    fn an_ignored_fib_match_is_unsupported_and_never_a_disagreement() {
        let explanation = |fib_match_ignored| Explanation {
            destination: "2001:db8:9::9".parse().unwrap(),
            kernel: kernel(fib_match_ignored),
            decision: Decision::RoutePrefsrc("2001:db8::2".parse().unwrap()),
            path_sources: Vec::new(),
        };
        assert_eq!(explanation(false).agrees(), Some(false));
        assert_eq!(explanation(false).unsupported(), None);
        assert_eq!(explanation(true).agrees(), None);
        assert_eq!(
            explanation(true).unsupported(),
            Some(Unsupported::FibMatchIgnored)
        );
        let agreeing = Explanation {
            decision: Decision::RoutePrefsrc("2001:db8::1".parse().unwrap()),
            ..explanation(true)
        };
        assert_eq!(agreeing.agrees(), Some(true));
    }
}
