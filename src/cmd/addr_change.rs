//! `nlsel addr change ADDR[/LEN] dev IFACE [preferred_lft LFT] [valid_lft LFT]`: iproute2's
//! syntax, with the difference that whatever is not given stays as it is (valid lifetime,
//! flags, protocol, metric) and that a missing address is an error, never created.

use std::net::IpAddr;

use lexopt::prelude::*;

use super::{Parsed, interface_name, keyword_value, text_value, usage_error};
use crate::apply::{execute, read_state};
use crate::context::{Context, Outcome};
use crate::failure::{Failure, Kind};
use crate::model::{Address, resolve_names};
use crate::nl::addr::INFINITY_LIFE_TIME;
use crate::pattern::parse_address_text;
use crate::plan::Mode;
use crate::plan::{Action, Change, Plan, Step, Warning};
use crate::present::packed::Text;
use crate::present::{self, lifetime_text};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Args {
    pub address: IpAddr,
    pub prefixlen: Option<u8>,
    pub dev: Vec<u8>,
    pub preferred_lft: Option<u32>,
    pub valid_lft: Option<u32>,
}

fn parse_lifetime(keyword: &str, text: &str) -> Result<u32, Failure> {
    if text == "forever" {
        return Ok(INFINITY_LIFE_TIME);
    }
    text.parse::<u32>()
        .ok()
        .filter(|seconds| *seconds != INFINITY_LIFE_TIME)
        .ok_or_else(|| {
            Failure::usage(format!(
                "invalid {keyword} \"{}\": expected seconds below 4294967295 or \"forever\"",
                text.escape_debug()
            ))
        })
}

fn parse_address(text: &str) -> Result<(IpAddr, Option<u8>), Failure> {
    parse_address_text(text).map_err(|problem| {
        Failure::usage(format!(
            "invalid address \"{}\": {problem}",
            text.escape_debug()
        ))
    })
}

pub fn parse(parser: &mut lexopt::Parser) -> Result<Parsed<Args>, Failure> {
    let mut address = None;
    let mut dev = None;
    let mut preferred_lft = None;
    let mut valid_lft = None;
    while let Some(arg) = parser.next().map_err(usage_error)? {
        match arg {
            Short('h') | Long("help") => return Ok(Parsed::Help(Text::AddrChangeHelp)),
            Value(value) => {
                let word = text_value(value, "argument")?;
                match word.as_str() {
                    "dev" => dev = Some(interface_name(keyword_value(parser, "dev")?)),
                    "preferred_lft" | "preferred" => {
                        let text =
                            text_value(keyword_value(parser, "preferred_lft")?, "preferred_lft")?;
                        preferred_lft = Some(parse_lifetime("preferred_lft", &text)?);
                    }
                    "valid_lft" | "valid" => {
                        let text = text_value(keyword_value(parser, "valid_lft")?, "valid_lft")?;
                        valid_lft = Some(parse_lifetime("valid_lft", &text)?);
                    }
                    _ if address.is_none() => address = Some(parse_address(&word)?),
                    _ => {
                        return Err(Failure::usage(format!(
                            "unexpected argument \"{}\" (addr change takes dev, preferred_lft and valid_lft)",
                            word.escape_debug()
                        )));
                    }
                }
            }
            _ => return Err(usage_error(arg.unexpected())),
        }
    }
    let (address, prefixlen) =
        address.ok_or_else(|| Failure::usage("addr change needs an address"))?;
    let dev = dev.ok_or_else(|| Failure::usage("addr change needs dev IFACE"))?;
    if preferred_lft.is_none() && valid_lft.is_none() {
        return Err(Failure::usage(
            "addr change needs preferred_lft or valid_lft",
        ));
    }
    if let (Some(preferred), Some(valid)) = (preferred_lft, valid_lft) {
        check_lifetimes(preferred, valid, None)?;
    }
    if valid_lft == Some(0) {
        return Err(Failure::usage(
            "invalid valid_lft \"0\": that would remove the address; use ip addr del",
        ));
    }
    Ok(Parsed::Run(Args {
        address,
        prefixlen,
        dev,
        preferred_lft,
        valid_lft,
    }))
}

/// What the kernel makes of a finite, non-zero `preferred` on IPv4 when `valid` is forever:
/// it marks the address permanent and ignores the preferred lifetime (`set_ifa_lifetime`), so
/// it stays preferred forever. `None` when the request is taken as it is.
fn ipv4_effective_preferred(current: &Address, preferred: u32, valid: u32) -> Option<u32> {
    let ignored = current.family == crate::nl::Family::Inet
        && valid == INFINITY_LIFE_TIME
        && preferred != 0
        && preferred != INFINITY_LIFE_TIME;
    ignored.then_some(INFINITY_LIFE_TIME)
}

fn check_lifetimes(preferred: u32, valid: u32, kept: Option<&str>) -> Result<(), Failure> {
    if preferred > valid {
        return Err(Failure::usage(format!(
            "preferred_lft {} exceeds valid_lft {}{}",
            lifetime_text(preferred),
            lifetime_text(valid),
            kept.map_or(String::new(), |kept| format!(" ({kept} kept; give it too)"))
        )));
    }
    Ok(())
}

pub fn run(args: &Args, ctx: &mut Context) -> Result<Outcome, Failure> {
    let family = crate::nl::Family::of(&args.address);
    let (interfaces, found) = read_state(ctx, Mode::Apply, family, |address| {
        address.local == args.address
    })?;
    let ifindex = match resolve_names(&interfaces, std::slice::from_ref(&args.dev)) {
        Ok(indexes) => indexes.first().copied().unwrap_or(0),
        Err(name) => return Err(Kind::InterfaceNotFound(name).into()),
    };
    let Some(current) = found.iter().find(|address| address.ifindex == ifindex) else {
        return Err(Kind::AddressNotFound {
            address: args.address.to_string(),
            ifname: args.dev.clone(),
        }
        .into());
    };
    if args.prefixlen.is_some_and(|len| len != current.prefixlen) {
        return Err(Kind::PrefixMismatch {
            address: args.address.to_string(),
            ifname: args.dev.clone(),
            actual: current.prefixlen,
        }
        .into());
    }
    let valid = args.valid_lft.unwrap_or(current.valid_lft);
    let preferred = args.preferred_lft.unwrap_or(current.preferred_lft);
    // The lifetime not given is the address's own: the error says so.
    let kept = match (args.preferred_lft, args.valid_lft) {
        (None, _) => Some("preferred_lft"),
        (_, None) => Some("valid_lft"),
        _ => None,
    };
    check_lifetimes(preferred, valid, kept)?;
    let preferred = match ipv4_effective_preferred(current, preferred, valid) {
        Some(effective) => {
            let warning = Warning::Ipv4PreferredIgnored {
                address: current,
                preferred,
            };
            crate::warn!("{}", present::warning(&warning, &interfaces));
            effective
        }
        None => preferred,
    };
    if current.family == crate::nl::Family::Inet
        && valid == INFINITY_LIFE_TIME
        && preferred == INFINITY_LIFE_TIME
        && current.valid_lft == INFINITY_LIFE_TIME
        && !current.is_deprecated()
    {
        // Already so: a change would report a change the kernel does not make.
        return Ok(Outcome::Done);
    }
    let change = Change {
        address: current,
        action: Action::Change,
        preferred_lft: preferred,
        valid_lft: valid,
    };
    let plan = Plan {
        steps: vec![Step::Change(change)],
        ..Plan::default()
    };
    execute(ctx, &plan, &interfaces, Mode::Apply)
}
