//! What `which --explain` and `--probe` print: plain words and JSON for a source-address
//! choice, made from [`crate::srcsel`]'s result and the kernel's answer (its
//! [`Explanation`] and [`Probe`], with whether they agree already decided). Only strings come
//! out of here; nothing is read or decided.

use std::borrow::Cow;
use std::net::IpAddr;

use super::json;
use crate::model::{Address, Interface, name_of};
use crate::srcsel::explain::{Decision, Explanation};
use crate::srcsel::probe::{Prediction, Probe};
use crate::srcsel::{
    Candidate, Exclusion, LABEL_DEFAULT, OifOnly, Rule, SCOPE_GLOBAL, SCOPE_LINKLOCAL,
    SCOPE_NODELOCAL, SCOPE_SITELOCAL, Score, Selection, Unsupported, Verdict,
};

/// Why the model cannot answer, in words.
pub fn unsupported_text(unsupported: Unsupported) -> &'static str {
    match unsupported {
        Unsupported::HomeAddressRule => {
            "home addresses (rule 4) count only in a kernel built with CONFIG_IPV6_MIP6=y, which nlsel cannot tell, and they decide here"
        }
        Unsupported::NotOptimisticRule => {
            "optimistic addresses (rule 9) count only in a kernel built with CONFIG_IPV6_OPTIMISTIC_DAD, which nlsel cannot tell, and they decide here"
        }
        Unsupported::DeviceOrderUnknown => {
            "the kernel's device order could not be read (/proc/net/igmp6), and it decides here"
        }
        Unsupported::LabelTypeUnknown => {
            "an address-label entry listed as ::/96 applies to all of ::/96 if it was added as ::/96, or only to IPv4-compatible addresses if added as, say, ::2/96; the kernel does not say which, and it decides here"
        }
        Unsupported::FibMatchIgnored => {
            "this kernel ignores RTM_F_FIB_MATCH (it is older than 4.13), so whether the route's src decides is unknown"
        }
        Unsupported::NexthopCache => {
            "the route uses a nexthop object, and the kernel reuses a route it cached per nexthop and CPU for another route through the same nexthop, with that route's source; which one a lookup meets is not visible"
        }
        Unsupported::DoubtfulTemporary => {
            "whether the change makes a temporary address preferred again depends on its age, which nlsel cannot tell"
        }
        Unsupported::NewTemporary => {
            "the change makes the kernel create a temporary address, which wins once it is no longer tentative"
        }
        Unsupported::RouteUnknown => {
            "the change re-installs a prefix route that may or may not take over the route used now"
        }
    }
}

fn scope_name(scope: i32) -> Cow<'static, str> {
    Cow::Borrowed(match scope {
        SCOPE_NODELOCAL => "node",
        SCOPE_LINKLOCAL => "link",
        SCOPE_SITELOCAL => "site",
        8 => "organization",
        SCOPE_GLOBAL => "global",
        // `::` has no scope (`__ipv6_addr_type` gives it none).
        other if other < 0 => "none",
        other => return Cow::Owned(other.to_string()),
    })
}

fn label_text(label: u32) -> Cow<'static, str> {
    if label == LABEL_DEFAULT {
        Cow::Borrowed("none")
    } else {
        Cow::Owned(label.to_string())
    }
}

/// The rule's name in the words the output uses.
pub fn rule_name(rule: Rule) -> &'static str {
    match rule {
        Rule::SameAddress => "same address",
        Rule::Scope => "appropriate scope",
        Rule::AvoidDeprecated => "avoid deprecated",
        Rule::HomeAddress => "home address",
        Rule::OutgoingInterface => "outgoing interface",
        Rule::MatchingLabel => "matching label",
        Rule::Temporary => "temporary or public",
        Rule::Orchid => "ORCHID",
        Rule::LongestPrefix => "longest matching prefix",
        Rule::NotOptimistic => "not optimistic",
        Rule::KernelOrder => "kernel order",
    }
}

/// The rule's number as JSON writes it: `3`, `7.5`.
pub fn rule_number(rule: Rule) -> &'static str {
    rule.number()
}

/// Why `loser` lost to `winner` at `rule`, in plain words.
pub fn reason(rule: Rule, loser: &Score, winner: &Score, selection: &Selection) -> String {
    match rule {
        Rule::SameAddress => "the chosen address is the destination itself".to_string(),
        Rule::Scope if loser.scope < selection.dst_scope => format!(
            "its scope ({}) is smaller than the destination's ({})",
            scope_name(loser.scope),
            scope_name(selection.dst_scope)
        ),
        Rule::Scope => format!(
            "its scope ({}) is wider than needed; the chosen address's ({}) suffices",
            scope_name(loser.scope),
            scope_name(winner.scope)
        ),
        Rule::AvoidDeprecated if loser.deprecated => "deprecated".to_string(),
        Rule::AvoidDeprecated => {
            "optimistic (duplicate address detection not finished) and use_optimistic is off"
                .to_string()
        }
        Rule::HomeAddress => "not a home address".to_string(),
        Rule::OutgoingInterface => "not on the outgoing interface".to_string(),
        Rule::MatchingLabel => format!(
            "its label ({}) differs from the destination's ({})",
            label_text(loser.label),
            label_text(selection.dst_label)
        ),
        Rule::Temporary if loser.temporary => {
            "temporary, and its interface prefers public addresses (use_tempaddr < 2)".to_string()
        }
        Rule::Temporary => {
            "public, and its interface prefers temporary addresses (use_tempaddr 2)".to_string()
        }
        Rule::Orchid => "ORCHID-ness differs from the destination's".to_string(),
        Rule::LongestPrefix => format!(
            "shares {} leading bits with the destination (capped at its prefix length), the chosen address {}",
            loser.matchlen, winner.matchlen
        ),
        Rule::NotOptimistic => "optimistic; the chosen address is not".to_string(),
        Rule::KernelOrder => {
            "equal on every rule; the chosen address comes first in the kernel's order".to_string()
        }
    }
}

/// (code for -j, text) of an exclusion.
fn exclusion_words(exclusion: Exclusion) -> (&'static str, &'static str) {
    match exclusion {
        Exclusion::Tentative => (
            "tentative",
            "tentative (duplicate address detection not finished), not optimistic",
        ),
        Exclusion::DadFailed => ("dadfailed", "duplicate address detection failed"),
        Exclusion::NotOutgoingInterface => (
            "not_outgoing_interface",
            "not on the outgoing interface, which alone counts here",
        ),
        Exclusion::NotUnicast => ("not_unicast", "not a unicast address"),
    }
}

fn oif_only_text(oif_only: OifOnly) -> &'static str {
    match oif_only {
        OifOnly::Multicast => "the destination is multicast",
        OifOnly::LinkLocalScope => "the destination is link-local",
        OifOnly::UseOifAddrsOnly => "use_oif_addrs_only is set on it",
    }
}

fn address_words(address: &Address, interfaces: &[Interface]) -> String {
    format!(
        "{}/{} dev {}",
        address.local,
        address.prefixlen,
        String::from_utf8_lossy(&name_of(interfaces, address.ifindex))
    )
}

/// (rule, reason) for a candidate: the rule it lost at, or for the chosen one the rule that
/// decided against the candidate that came closest (the last rule any lost at), with that
/// candidate's reason; `None` for the only candidate.
fn candidate_outcome(
    candidate: &Candidate,
    selection: &Selection,
    interfaces: &[Interface],
) -> Option<(Rule, String)> {
    let winner = selection.chosen().map_or(candidate.score, |c| c.score);
    if let Verdict::Lost(rule) = candidate.verdict {
        return Some((rule, reason(rule, &candidate.score, &winner, selection)));
    }
    let (rule, closest) = selection
        .candidates
        .iter()
        .filter_map(|other| match other.verdict {
            Verdict::Lost(rule) => Some((rule, other)),
            Verdict::Chosen => None,
        })
        .max_by_key(|(rule, _)| *rule)?;
    Some((
        rule,
        format!(
            "the closest other, {}: {}",
            address_words(&closest.address, interfaces),
            reason(rule, &closest.score, &winner, selection)
        ),
    ))
}

/// Why only the outgoing interface's addresses count, in words.
fn oif_only_words(oif_only: OifOnly, selection: &Selection) -> &'static str {
    match oif_only {
        OifOnly::LinkLocalScope if selection.destination.is_loopback() => {
            "the destination is the loopback address (of link-local scope)"
        }
        other => oif_only_text(other),
    }
}

fn option_text(ip: Option<IpAddr>) -> String {
    ip.map_or_else(|| "none".to_string(), |ip| ip.to_string())
}

/// The explanation as lines of text.
pub fn text(explanation: &Explanation, interfaces: &[Interface]) -> Vec<String> {
    let dev = |ifindex: Option<u32>| {
        ifindex.map_or_else(
            || "none".to_string(),
            |i| String::from_utf8_lossy(&name_of(interfaces, i)).into_owned(),
        )
    };
    let kernel = option_text(explanation.kernel.source);
    let route = &explanation.kernel;
    // A local destination goes out of lo, but its source is chosen for the device of the
    // route's next hop: name that one.
    let header_dev = match (route.oif, route.nexthop_oif) {
        (Some(oif), Some(nexthop)) if oif != nexthop => {
            format!(
                "{} (delivered locally through {})",
                dev(Some(nexthop)),
                dev(Some(oif))
            )
        }
        (oif, _) => dev(oif),
    };
    let mut lines = vec![format!(
        "{} dev {header_dev}: the kernel uses source {kernel}",
        explanation.destination
    )];
    if let (Some(IpAddr::V6(source)), IpAddr::V6(_)) =
        (explanation.kernel.source, explanation.destination)
        && source.to_ipv4_mapped().is_some()
    {
        lines.push(
            "applications get no source: the kernel's choice is an IPv4-mapped address, and connect() fails with EAFNOSUPPORT".to_string(),
        );
    }
    match &explanation.decision {
        Decision::RoutePrefsrc(prefsrc) => lines.push(format!(
            "decided by the route's preferred source (ip route ... src {prefsrc}): RFC 6724's rules are not consulted"
        )),
        Decision::Ipv4Primary(addresses) => {
            if let Some(reason) = explanation.unsupported() {
                lines.push(format!("unsupported: {}", unsupported_text(reason)));
            }
            lines.push(
                "decided by the kernel's primary-address choice on the outgoing interface (the route has no src); its IPv4 addresses:"
                    .to_string(),
            );
            lines.extend(
                addresses
                    .iter()
                    .map(|a| format!("  {}", address_words(a, interfaces))),
            );
        }
        Decision::Ipv6(selection) => {
            let model = option_text(selection.chosen().map(|c| c.address.local));
            if let Some(group) = explanation.kernel.nexthop_group {
                lines.push(format!(
                    "the route uses nexthop group {group}: the kernel takes the source from its first nexthop's device, {}, whatever path the flow takes",
                    dev(explanation.kernel.nexthop_oif)
                ));
            }
            if !explanation.path_sources.is_empty() {
                lines.push(format!(
                    "ECMP: the route has {} paths and the source depends on the one a flow's hash picks (this flow: dev {}):",
                    explanation.path_sources.len(),
                    dev(explanation.kernel.oif)
                ));
                lines.extend(explanation.path_sources.iter().map(|&(path, source)| {
                    format!("  dev {}: source {}", dev(Some(path)), option_text(source))
                }));
            }
            lines.push(match explanation.agrees() {
                Some(true) => format!("nlsel's model chooses {model}: it agrees with the kernel"),
                Some(false) => format!(
                    "DISAGREEMENT: nlsel's model chooses {model}, the kernel uses {kernel}"
                ),
                None => format!("nlsel's model chooses {model}, the kernel uses {kernel}"),
            });
            if let Some(reason) = explanation.unsupported() {
                lines.push(format!("unsupported: {}", unsupported_text(reason)));
            }
            let scope = match selection.oif_only {
                Some(why) => format!(
                    "only {}'s addresses, since {}",
                    dev(selection.oif),
                    oif_only_words(why, selection)
                ),
                None => "every interface's addresses".to_string(),
            };
            lines.push(format!(
                "candidates in the kernel's order ({scope}; destination scope {}, label {}):",
                scope_name(selection.dst_scope),
                label_text(selection.dst_label)
            ));
            for candidate in &selection.candidates {
                let chosen = candidate.verdict == Verdict::Chosen;
                let verb = match (chosen, candidate.score.deprecated) {
                    (false, _) => "lost",
                    (true, false) => "chosen",
                    (true, true) => "chosen, although deprecated,",
                };
                let outcome = match candidate_outcome(candidate, selection, interfaces) {
                    None => format!("{verb}: the only candidate"),
                    Some((rule, why)) => format!(
                        "{verb} at rule {} ({}){} {why}",
                        rule_number(rule),
                        rule_name(rule),
                        if chosen { ";" } else { ":" }
                    ),
                };
                lines.push(format!(
                    "  {}  {outcome}",
                    address_words(&candidate.address, interfaces)
                ));
            }
            if !selection.excluded.is_empty() {
                lines.push("not candidates:".to_string());
                lines.extend(selection.excluded.iter().map(|(address, why)| {
                    format!(
                        "  {}  {}",
                        address_words(address, interfaces),
                        exclusion_words(*why).1
                    )
                }));
            }
        }
    }
    lines
}

fn push_ip(object: &mut json::Object<'_>, key: &str, ip: Option<IpAddr>) {
    match ip {
        Some(ip) => object.display(key, ip),
        None => object.raw(key, "null"),
    };
}

/// The explanation as one JSON object.
pub fn json(explanation: &Explanation, interfaces: &[Interface]) -> String {
    let mut out = String::new();
    let mut object = json::Object::begin(&mut out);
    let dev = |object: &mut json::Object<'_>, key, ifindex: Option<u32>| {
        match ifindex {
            Some(ifindex) => object.string(key, name_of(interfaces, ifindex)),
            None => object.raw(key, "null"),
        };
    };
    object.display("dst", explanation.destination);
    push_ip(&mut object, "src", explanation.kernel.source);
    push_ip(&mut object, "model_src", explanation.model_source());
    // The older name of `src`, kept for scripts.
    push_ip(&mut object, "kernel_src", explanation.kernel.source);
    dev(&mut object, "dev", explanation.kernel.oif);
    match explanation.agrees() {
        Some(agrees) => object.boolean("agrees", agrees),
        None => object.raw("agrees", "null"),
    };
    push_ip(
        &mut object,
        "route_prefsrc",
        explanation.kernel.configured_prefsrc,
    );
    match explanation.unsupported() {
        Some(reason) => object.string("unsupported", unsupported_text(reason)),
        None => object.raw("unsupported", "null"),
    };
    match explanation.kernel.nexthop_group {
        Some(group) => object.number("nexthop_group", group),
        None => object.raw("nexthop_group", "null"),
    };
    let paths: Vec<String> = explanation
        .path_sources
        .iter()
        .map(|&(path, source)| {
            let mut item = String::new();
            let mut entry = json::Object::begin(&mut item);
            entry.string("dev", name_of(interfaces, path));
            push_ip(&mut entry, "src", source);
            entry.end();
            item
        })
        .collect();
    object.raw("paths", &json::array(&paths));
    let mut candidates = Vec::new();
    let mut excluded = Vec::new();
    match &explanation.decision {
        Decision::Ipv6(selection) => {
            object.string("decided_by", "rfc6724");
            dev(&mut object, "model_dev", selection.oif);
            object.string("dst_scope", &*scope_name(selection.dst_scope));
            match selection.dst_label {
                LABEL_DEFAULT => object.raw("dst_label", "null"),
                label => object.number("dst_label", label),
            };
            for candidate in &selection.candidates {
                let address = &candidate.address;
                let mut item = String::new();
                let mut entry = json::Object::begin(&mut item);
                address_members(&mut entry, address, interfaces)
                    .boolean("chosen", candidate.verdict == Verdict::Chosen)
                    .boolean("deprecated", candidate.score.deprecated);
                match candidate_outcome(candidate, selection, interfaces) {
                    None => entry
                        .raw("rule", "null")
                        .raw("rule_name", "null")
                        .string("reason", "the only candidate"),
                    Some((rule, why)) => entry
                        .raw("rule", rule_number(rule))
                        .string("rule_name", rule_name(rule))
                        .string("reason", why),
                };
                entry.end();
                candidates.push(item);
            }
            for (address, why) in &selection.excluded {
                let mut item = String::new();
                let mut entry = json::Object::begin(&mut item);
                let (code, text) = exclusion_words(*why);
                address_members(&mut entry, address, interfaces)
                    .string("code", code)
                    .string("reason", text);
                entry.end();
                excluded.push(item);
            }
        }
        Decision::RoutePrefsrc(_) => {
            object.string("decided_by", "route_prefsrc");
        }
        Decision::Ipv4Primary(addresses) => {
            object.string("decided_by", "primary_address");
            for address in addresses {
                let mut item = String::new();
                let mut entry = json::Object::begin(&mut item);
                address_members(&mut entry, address, interfaces);
                entry.end();
                candidates.push(item);
            }
        }
    }
    object
        .raw("candidates", &json::array(&candidates))
        .raw("excluded", &json::array(&excluded));
    object.end();
    out
}

pub fn probe_text(probe: &Probe) -> String {
    let dst = probe.destination;
    let now = match probe.no_route {
        true => "no route".to_string(),
        false => format!("the kernel uses {}", option_text(probe.kernel)),
    };
    if probe.applied {
        let check = match probe.predicted.as_ref().and_then(Prediction::trusted) {
            Some(source) if source == probe.kernel => " (as predicted)".to_string(),
            Some(source) => format!("; nlsel predicted {}", option_text(source)),
            None => String::new(),
        };
        return format!("probe {dst}: {now}{check}");
    }
    match &probe.predicted {
        None => format!("probe {dst}: {now}"),
        Some(prediction) if !prediction.model_agrees_now => format!(
            "probe {dst}: {now} now; no prediction: nlsel's model disagrees with the kernel today (see which {dst} --explain)"
        ),
        Some(Prediction {
            unsupported: Some(reason),
            ..
        }) => format!(
            "probe {dst}: {now} now; after the change unknown: {}",
            unsupported_text(*reason)
        ),
        Some(prediction) => format!(
            "probe {dst}: {now} now, {} after the change (predicted)",
            option_text(prediction.source)
        ),
    }
}

pub fn probes_json(probes: &[Probe]) -> String {
    let items: Vec<String> = probes
        .iter()
        .map(|probe| {
            let mut item = String::new();
            let mut object = json::Object::begin(&mut item);
            object.display("dst", probe.destination);
            push_ip(&mut object, "kernel_src", probe.kernel);
            object.boolean("no_route", probe.no_route);
            let trusted = probe.predicted.as_ref().and_then(Prediction::trusted);
            push_ip(&mut object, "predicted_src", trusted.flatten());
            if let Some(prediction) = &probe.predicted {
                object.boolean("model_agrees_now", prediction.model_agrees_now);
                if let Some(reason) = prediction.unsupported {
                    object.string("unsupported", unsupported_text(reason));
                }
            }
            object.end();
            item
        })
        .collect();
    let mut out = String::new();
    let mut object = json::Object::begin(&mut out);
    object.raw("probes", &json::array(&items));
    object.end();
    out
}

/// The members every address entry of `--explain -j` starts with.
fn address_members<'o, 'b>(
    entry: &'o mut json::Object<'b>,
    address: &Address,
    interfaces: &[Interface],
) -> &'o mut json::Object<'b> {
    entry
        .display("local", address.local)
        .number("prefixlen", address.prefixlen)
        .string("ifname", name_of(interfaces, address.ifindex))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::srcsel::explain::tests::kernel;

    #[test]
    fn an_ignored_fib_match_is_said_for_ipv4_too() {
        let ipv4 = Explanation {
            destination: "192.0.2.9".parse().unwrap(),
            kernel: kernel(true),
            decision: Decision::Ipv4Primary(Vec::new()),
            path_sources: Vec::new(),
        };
        let expected = format!(
            "unsupported: {}",
            unsupported_text(Unsupported::FibMatchIgnored)
        );
        assert!(text(&ipv4, &[]).iter().any(|line| line == &expected));
    }

    #[test]
    fn a_probe_on_a_kernel_that_ignores_fib_match_predicts_nothing() {
        let probe = Probe {
            destination: "2001:db8:9::9".parse().unwrap(),
            kernel: Some("2001:db8::1".parse().unwrap()),
            predicted: Some(Prediction {
                source: Some("2001:db8::2".parse().unwrap()),
                model_agrees_now: true,
                unsupported: Some(Unsupported::FibMatchIgnored),
            }),
            no_route: false,
            applied: false,
        };
        let line = probe_text(&probe);
        assert!(line.contains("after the change unknown"), "{line}");
        assert!(!line.contains("2001:db8::2"), "{line}");
        let json = probes_json(std::slice::from_ref(&probe));
        assert!(json.contains(r#""predicted_src":null"#), "{json}");
        assert!(json.contains(r#""unsupported":"#), "{json}");
    }
}
