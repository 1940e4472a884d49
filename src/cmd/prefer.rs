//! `nlsel prefer ADDR [--watch]`: make ADDR the source address of its interface, by making it preferred
//! and deprecating every other global IPv6 address there.

use std::net::IpAddr;

use lexopt::prelude::*;

use super::{ModeOption, ModeOptions, Modes, Parsed, text_value, usage_error};
use crate::apply::{Rule, apply_rule};
use crate::context::{Context, Outcome};
use crate::failure::Failure;
use crate::model::{Address, Interface, prefers_temporaries};
use crate::plan::{self, Plan};
use crate::present::packed::Text;
use crate::watch::watch;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Args {
    pub address: IpAddr,
    pub modes: Modes,
}

pub fn parse(parser: &mut lexopt::Parser) -> Result<Parsed<Args>, Failure> {
    let mut address = None;
    let mut modes = ModeOptions::default();
    while let Some(arg) = parser.next().map_err(usage_error)? {
        match arg {
            Value(value) if address.is_none() => {
                let text = text_value(value, "address")?;
                let parsed: IpAddr = text.parse().map_err(|_| {
                    Failure::usage(format!(
                        "invalid address \"{}\": not an IPv6 address",
                        text.escape_debug()
                    ))
                })?;
                if parsed.is_ipv4() {
                    return Err(Failure::usage(format!(
                        "invalid address \"{text}\": an IPv4 address; prefer selects among IPv6 addresses"
                    )));
                }
                address = Some(parsed);
            }
            // The mode options, and -h or --help.
            _ => {
                if modes.read(ModeOption::of(arg), parser)? {
                    return Ok(Parsed::Help(Text::PreferHelp));
                }
            }
        }
    }
    let address = address.ok_or_else(|| Failure::usage("prefer needs an address"))?;
    Ok(Parsed::Run(Args {
        address,
        modes: modes.finish()?,
    }))
}

impl Rule for Args {
    /// ADDR itself may be of any scope, so every IPv6 address is read.
    fn reads(&self, _address: &Address) -> bool {
        true
    }

    fn watches_address(&self, local: IpAddr) -> bool {
        local == self.address
    }

    fn plan<'a>(
        &self,
        addresses: &'a [Address],
        interfaces: &[Interface],
    ) -> Result<Plan<'a>, Failure> {
        let prefers_temporaries = |ifindex| prefers_temporaries(interfaces, ifindex);
        plan::prefer(addresses, self.address, &prefers_temporaries)
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
