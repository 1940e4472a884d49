//! `--probe` as data: the source the kernel uses for a destination, and the one the model
//! predicts once a plan is applied, with what the kernel does on its own in answer
//! (temporaries follow their parent, [`super::after`]; a missing prefix route comes back).
//! Pure: the state, the plan's lifetimes and the missing routes come in, read beforehand.

use std::net::IpAddr;

use super::Unsupported;
use super::after::{After, after_changes};
use super::read::RouteAnswer;
use super::state::SourceState;
use crate::model::{Address, PrefixRoute};

/// One `--probe` result.
#[derive(Debug, Clone)]
pub struct Probe {
    pub destination: IpAddr,
    /// What the kernel uses now (before a dry run; after a real run).
    pub kernel: Option<IpAddr>,
    /// The model's source after the plan, for `--dry-run` and `--check`.
    pub predicted: Option<Prediction>,
    /// The kernel has no route to the destination.
    pub no_route: bool,
    /// The change was made: `kernel` is after it.
    pub applied: bool,
}

#[derive(Debug, Clone)]
pub struct Prediction {
    pub source: Option<IpAddr>,
    /// Whether the model, on today's state, gives what the kernel uses today: if not, the
    /// prediction is not to be trusted.
    pub model_agrees_now: bool,
    /// Why the model cannot predict, if it cannot.
    pub unsupported: Option<Unsupported>,
}

impl Prediction {
    /// The predicted source, when it is to be trusted.
    pub fn trusted(&self) -> Option<Option<IpAddr>> {
        (self.model_agrees_now && self.unsupported.is_none()).then_some(self.source)
    }
}

/// The state before a plan and the addresses after it, ready to predict for any destination.
pub struct Predictor<'a> {
    before: &'a SourceState,
    /// The addresses after the plan with doubtful temporaries preferred again, and without.
    states: [SourceState; 2],
    after: After,
    routes: Vec<PrefixRoute>,
}

impl<'a> Predictor<'a> {
    /// `lifetimes` are the plan's `(ifindex, local, preferred_lft)`; `routes` the prefix
    /// routes missing now that its changes make the kernel re-install.
    pub fn new(
        before: &'a SourceState,
        lifetimes: &[(u32, IpAddr, u32)],
        routes: Vec<PrefixRoute>,
    ) -> Predictor<'a> {
        let conf = |ifindex| {
            let interface = before.interfaces.iter().find(|i| i.ifindex == ifindex);
            interface.map(|i| i.conf).unwrap_or_default()
        };
        // Surely within its own preferred lifetime (`temp_prefered_lft` less at most
        // `max_desync_factor`): the clock since boot may only make it look older.
        let young = |temporary: &Address| {
            let conf = conf(temporary.ifindex);
            let cap = conf
                .temp_prefered_lft
                .saturating_sub(conf.max_desync_factor);
            let age = before
                .uptime
                .map(|now| now.saturating_sub(u64::from(temporary.cstamp)) / 100);
            age.is_some_and(|age| age < u64::try_from(cap).unwrap_or(0))
        };
        let use_tempaddr = |ifindex| conf(ifindex).use_tempaddr;
        let after = after_changes(&before.addresses, lifetimes, &young, &use_tempaddr);
        let with = |addresses| SourceState {
            addresses,
            ..before.clone()
        };
        let states = [
            with(after.addresses.clone()),
            with(after.without_doubtful()),
        ];
        Predictor {
            before,
            states,
            after,
            routes,
        }
    }

    /// The prediction for `destination` (as `connect()` asks for it), given the kernel's
    /// route now (`None`: no route).
    pub fn predict(&self, kernel: Option<&RouteAnswer>, destination: IpAddr) -> Option<Prediction> {
        predict(
            kernel,
            destination,
            self.before,
            &self.states,
            &self.after,
            &self.routes,
        )
    }
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
        .map(|_| Unsupported::FibMatchIgnored);
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
                unsupported = unsupported.or(Some(Unsupported::RouteUnknown));
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
        unsupported = unsupported.or(Some(Unsupported::DoubtfulTemporary));
    }
    if route.0.is_none() && destination.is_ipv6() && !after.new_temporary.is_empty() {
        unsupported = unsupported.or(Some(Unsupported::NewTemporary));
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
                Some(Unsupported::RouteUnknown),
                "{matched:?}"
            );
        }
        let predicted = prediction(None, &[REINSTALLED]).unwrap();
        assert_eq!(predicted.source, Some(ip("2001:db8:1::1")));
        assert!(prediction(None, &[]).is_none());
        let elsewhere = (2, ip("2001:db8:7::"), 64);
        assert!(prediction(None, &[elsewhere]).is_none());
    }
}
