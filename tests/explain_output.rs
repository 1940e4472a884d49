//! What `which --explain` says, in words and in `-j`: one fixed test per defect of the
//! explanation (issue 17), each against the kernel's own answer (`ip -6 route get`). Every
//! `-j` output is parsed with serde_json; the keys are the man page's schema.

mod common;

use common::{Netns, nstest};
use serde_json::Value;

/// `e0`, up, with `addresses` (nodad) and a default route out of it.
fn host(ns: &Netns, addresses: &[&str]) {
    ns.veth("e0", "p0");
    for address in addresses {
        ns.add_addr("e0", &format!("{address} nodad"));
    }
    ns.ip(&["-6", "route", "add", "default", "dev", "e0"]);
}

/// `nlsel -j which DEST --explain`, which must exit 0, parsed.
fn explain_json(ns: &Netns, dest: &str) -> Value {
    let run = ns.nlsel(&["-j", "which", dest, "--explain"]);
    run.expect_ok();
    run.json()
}

fn explain_text(ns: &Netns, dest: &str) -> Vec<String> {
    let run = ns.nlsel(&["which", dest, "--explain"]);
    run.expect_ok();
    run.lines().iter().map(|l| l.to_string()).collect()
}

fn candidate<'a>(json: &'a Value, local: &str) -> &'a Value {
    json["candidates"]
        .as_array()
        .and_then(|c| c.iter().find(|c| c["local"] == local))
        .unwrap_or_else(|| panic!("no candidate {local}: {json}"))
}

nstest!(
    fn src_is_always_the_kernels_answer_and_model_src_the_models(ns: Netns) {
        host(&ns, &["2001:db8::1/64"]);
        ns.ip(&["addr", "add", "192.0.2.1/24", "dev", "e0"]);
        ns.ip(&["route", "add", "default", "dev", "e0"]);
        // IPv4 without a route source: nlsel has no answer of its own, the kernel has one.
        let json = explain_json(&ns, "198.51.100.9");
        assert_eq!(json["decided_by"], "primary_address", "{json}");
        assert_eq!(json["src"], "192.0.2.1", "{json}");
        assert_eq!(json["model_src"], Value::Null, "{json}");
        assert_eq!(json["agrees"], Value::Null, "{json}");
        let json = explain_json(&ns, "2001:db8:9::9");
        assert_eq!(
            json["src"],
            ns.route_get_src("2001:db8:9::9").as_str(),
            "{json}"
        );
        assert_eq!(json["model_src"], json["src"], "{json}");
    }
);

nstest!(
    fn the_chosen_candidate_has_a_rule_and_a_reason(ns: Netns) {
        host(&ns, &["2001:db8::1/64", "2001:db8::2/64 preferred_lft 0"]);
        let json = explain_json(&ns, "2001:db8:9::9");
        let chosen = candidate(&json, "2001:db8::1");
        assert_eq!(chosen["chosen"], true, "{json}");
        assert_eq!(chosen["rule"], 3, "{json}");
        assert_eq!(chosen["rule_name"], "avoid deprecated", "{json}");
        let reason = chosen["reason"].as_str().expect("a reason");
        assert!(
            reason.contains("2001:db8::2/64") && reason.ends_with("deprecated"),
            "{reason}"
        );
        let lines = explain_text(&ns, "2001:db8:9::9");
        assert!(
        lines.iter().any(|l| l.contains("2001:db8::1/64 dev e0  chosen at rule 3 (avoid deprecated); the closest other, 2001:db8::2/64 dev e0: deprecated")),
        "{lines:#?}"
    );
    }
);

nstest!(
    fn a_deprecated_winner_is_flagged(ns: Netns) {
        host(&ns, &["2001:db8::1/64 preferred_lft 0"]);
        assert_eq!(ns.route_get_src("2001:db8:9::9"), "2001:db8::1");
        let json = explain_json(&ns, "2001:db8:9::9");
        let chosen = candidate(&json, "2001:db8::1");
        assert_eq!(
            (&chosen["chosen"], &chosen["deprecated"]),
            (&Value::Bool(true), &Value::Bool(true))
        );
        let lines = explain_text(&ns, "2001:db8:9::9");
        assert!(
            lines
                .iter()
                .any(|l| l.contains("2001:db8::1/64 dev e0  chosen, although deprecated,")),
            "{lines:#?}"
        );
    }
);

nstest!(
    fn destination_scope_label_and_model_device_are_fields(ns: Netns) {
        host(&ns, &["2001:db8::1/64", "fd00::1/64"]);
        let json = explain_json(&ns, "fd00:1::9");
        assert_eq!(json["dst_scope"], "global", "{json}");
        assert_eq!(json["dst_label"], 5, "{json}");
        assert_eq!(json["model_dev"], "e0", "{json}");
        assert_eq!(json["src"], "fd00::1", "{json}");
        let json = explain_json(&ns, "fe80::9%e0");
        assert_eq!(json["dst_scope"], "link", "{json}");
        ns.ip(&[
            "addrlabel",
            "add",
            "prefix",
            "2001:db8:9::/48",
            "label",
            "99",
        ]);
        let json = explain_json(&ns, "2001:db8:9::9");
        assert_eq!(json["dst_label"], 99, "{json}");
    }
);

nstest!(
    fn the_unspecified_destination_is_asked_as_loopback_not_scope_minus_one(ns: Netns) {
        host(&ns, &["2001:db8::1/64"]);
        let lines = explain_text(&ns, "::");
        let text = lines.join("\n");
        assert!(!text.contains("-1"), "{text}");
        assert!(
            lines[0].starts_with("::1 dev lo: the kernel uses source ::1"),
            "{text}"
        );
        assert!(
            text.contains("the destination is the loopback address"),
            "{text}"
        );
        let json = explain_json(&ns, "::");
        assert_eq!(
            (&json["dst"], &json["src"]),
            (&Value::from("::1"), &Value::from("::1"))
        );
        assert_eq!(json["dst_scope"], "link", "{json}");
    }
);

nstest!(
    fn a_local_destination_is_explained_for_the_nexthops_device(ns: Netns) {
        host(&ns, &["2001:db8::1/64", "2001:db8::2/64"]);
        let json = explain_json(&ns, "2001:db8::2");
        assert_eq!(json["dev"], "lo", "{json}");
        assert_eq!(json["model_dev"], "e0", "{json}");
        let lines = explain_text(&ns, "2001:db8::2");
        assert!(
        lines[0].starts_with(
            "2001:db8::2 dev e0 (delivered locally through lo): the kernel uses source 2001:db8::2"
        ),
        "{lines:#?}"
    );
    }
);
