//! `nlsel show [dev IFACE]` (also `addr show`): every address with its scope, flags and
//! lifetimes; with `-j`, JSON that a jq filter written for `ip -j addr show` reads the same.

use lexopt::prelude::*;

use super::{Parsed, interface_name, keyword_value, usage_error};
use crate::context::{Context, Outcome};
use crate::failure::{Failure, Kind};
use crate::model::{Link, read_addresses, read_links};
use crate::nl::Family;
use crate::present;
use crate::present::packed::Text;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Args {
    pub dev: Option<Vec<u8>>,
}

pub fn parse(parser: &mut lexopt::Parser) -> Result<Parsed<Args>, Failure> {
    let mut dev = None;
    while let Some(arg) = parser.next().map_err(usage_error)? {
        match arg {
            Value(value) if dev.is_none() => {
                let value = if value == "dev" {
                    keyword_value(parser, "dev")?
                } else {
                    value
                };
                dev = Some(interface_name(value));
            }
            Short('h') | Long("help") => return Ok(Parsed::Help(Text::ShowHelp)),
            _ => return Err(usage_error(arg.unexpected())),
        }
    }
    Ok(Parsed::Run(Args { dev }))
}

pub fn run(args: &Args, ctx: &mut Context) -> Result<Outcome, Failure> {
    // All links, even with `dev`: a link's "link" and "master" keys name other links.
    let links = read_links(&mut ctx.conn).map_err(Failure::request("reading interfaces"))?;
    let mut interfaces: Vec<&Link> = links.iter().collect();
    if let Some(dev) = &args.dev {
        interfaces.retain(|interface| {
            &interface.name == dev || interface.alt_names.iter().flatten().any(|alt| alt == dev)
        });
        if interfaces.is_empty() {
            return Err(Kind::InterfaceNotFound(dev.clone()).into());
        }
    }
    let wanted: Vec<u32> = interfaces
        .iter()
        .map(|interface| interface.ifindex)
        .collect();
    let addresses = read_addresses(&mut ctx.conn, Family::Unspec, |address| {
        wanted.contains(&address.ifindex)
    })
    .map_err(Failure::request("reading addresses"))?;
    if ctx.globals.json {
        ctx.out
            .line(&present::show_json(&interfaces, &links, &addresses));
    } else {
        for line in present::show_text(&interfaces, &links, &addresses) {
            ctx.out.line(&line);
        }
    }
    Ok(Outcome::Done)
}
