//! `nlsel deprecate --except PATTERN… [--dev IFACE]… [--dry-run | --check | --watch]`: deprecate
//! every global IPv6 address that matches no pattern, so the kernel picks a kept one as source.

use lexopt::prelude::*;

use super::{ModeOption, ModeOptions, Modes, Parsed, interface_name, text_value, usage_error};
use crate::apply::{Rule, apply_rule};
use crate::context::{Context, Outcome};
use crate::failure::{Failure, Kind};
use crate::model::{Address, Interface, prefers_temporaries, selected_interfaces};
use crate::pattern::Pattern;
use crate::plan::{self, Plan};
use crate::present::packed::Text;
use crate::watch::watch;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Args {
    pub patterns: Vec<Pattern>,
    pub devs: Vec<Vec<u8>>,
    pub modes: Modes,
}

pub fn parse(parser: &mut lexopt::Parser) -> Result<Parsed<Args>, Failure> {
    let mut patterns = Vec::new();
    let mut devs = Vec::new();
    let mut modes = ModeOptions::default();
    while let Some(arg) = parser.next().map_err(usage_error)? {
        match arg {
            Long("except") => {
                let text = text_value(parser.value().map_err(usage_error)?, "pattern")?;
                patterns.push(Pattern::parse(&text).map_err(|e| Failure::usage(e.to_string()))?);
            }
            Long("dev") => devs.push(interface_name(parser.value().map_err(usage_error)?)),
            // The mode options, and -h or --help.
            _ => {
                if modes.read(ModeOption::of(arg), parser)? {
                    return Ok(Parsed::Help(Text::DeprecateHelp));
                }
            }
        }
    }
    if patterns.is_empty() {
        return Err(Failure::usage(
            "deprecate needs at least one --except PATTERN",
        ));
    }
    Ok(Parsed::Run(Args {
        patterns,
        devs,
        modes: modes.finish()?,
    }))
}

impl Rule for Args {
    fn reads(&self, address: &Address) -> bool {
        address.is_global_ipv6()
    }

    fn plan<'a>(
        &self,
        addresses: &'a [Address],
        interfaces: &[Interface],
    ) -> Result<Plan<'a>, Failure> {
        let only = selected_interfaces(interfaces, &self.devs).map_err(Kind::InterfaceNotFound)?;
        let prefers_temporaries = |ifindex| prefers_temporaries(interfaces, ifindex);
        plan::deprecate(
            addresses,
            &self.patterns,
            only.as_deref(),
            &prefers_temporaries,
        )
        .map_err(|error| Failure::from_policy(error, interfaces))
    }
}

pub fn run(args: &Args, ctx: &mut Context) -> Result<Outcome, Failure> {
    if args.modes.watch {
        return watch(ctx, args);
    }
    let probes = crate::apply::probe::predict_probes(ctx, args, &args.modes.probes)?;
    let outcome = apply_rule(ctx, args, args.modes.mode)?;
    crate::apply::probe::report_probes(ctx, args.modes.mode, probes)?;
    Ok(outcome)
}
