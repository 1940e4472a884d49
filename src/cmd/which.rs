//! `nlsel which DEST`: ask the kernel which source address it would use for DEST, the way
//! `ip route get` does, so that the effect of `deprecate` can be checked without sending.

use std::net::IpAddr;

use lexopt::prelude::*;

use super::{text_value, usage_error};
use crate::context::{Context, Outcome};
use crate::failure::Failure;
use crate::nl::header::{RTM_GETLINK, RTM_GETROUTE, RTM_NEWLINK, RTM_NEWROUTE};
use crate::nl::link::LinkMessage;
use crate::nl::route::RouteMessage;
use crate::present;

pub const HELP: &str = "\
Usage: nlsel [-n NETNS] [-j] [-q] which DEST

Print the source address the kernel would choose for traffic to DEST (IPv6 or IPv4), then
the outgoing interface: `2001:db8::2 dev venet0`. With -j: {\"dst\",\"src\",\"dev\"}.

Options:
  -h, --help   show this help
";

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Args {
    pub destination: IpAddr,
}

pub fn parse(parser: &mut lexopt::Parser) -> Result<Args, Failure> {
    let mut destination = None;
    while let Some(arg) = parser.next().map_err(usage_error)? {
        match arg {
            Value(value) if destination.is_none() => {
                let text = text_value(value, "destination")?;
                let parsed = text.parse().map_err(|_| {
                    Failure::usage(format!(
                        "invalid destination \"{}\": not an IP address",
                        text.escape_debug()
                    ))
                })?;
                destination = Some(parsed);
            }
            Short('h') | Long("help") => return Err(Failure::Help(HELP)),
            _ => return Err(usage_error(arg.unexpected())),
        }
    }
    let destination =
        destination.ok_or_else(|| Failure::usage("which needs a destination address"))?;
    Ok(Args { destination })
}

pub fn run(args: &Args, ctx: &mut Context) -> Result<Outcome, Failure> {
    let destination = args.destination;
    let mut route = None;
    ctx.conn
        .request(RTM_GETROUTE, &RouteMessage::get(destination), |message| {
            if message.header.msg_type == RTM_NEWROUTE {
                route = Some(RouteMessage::parse(message.payload)?.0);
            }
            Ok(())
        })
        .map_err(Failure::request(format!("route to \"{destination}\"")))?;
    let route = route.ok_or_else(|| Failure::NoSource {
        destination: destination.to_string(),
    })?;
    let source = route.prefsrc.ok_or_else(|| Failure::NoSource {
        destination: destination.to_string(),
    })?;
    let mut device = Vec::new();
    if let Some(oif) = route.oif {
        ctx.conn
            .request(RTM_GETLINK, &LinkMessage::by_index(oif), |message| {
                if message.header.msg_type == RTM_NEWLINK {
                    device = LinkMessage::parse(message.payload)?
                        .0
                        .name
                        .unwrap_or_default()
                        .to_vec();
                }
                Ok(())
            })
            .map_err(Failure::request(format!("interface {oif}")))?;
    }
    ctx.out.line(&present::route_source(
        destination,
        source,
        &device,
        ctx.globals.json,
    ));
    Ok(Outcome::Done)
}
