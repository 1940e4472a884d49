//! `nlsel undeprecate [--dev IFACE]…`: undo `deprecate`, making every deprecated global IPv6
//! address preferred again for as long as it stays valid.

use lexopt::prelude::*;

use super::{Parsed, interface_name, usage_error};
use crate::apply::{Rule, apply_rule};
use crate::context::{Context, Outcome};
use crate::failure::{Failure, Kind};
use crate::model::{Address, Interface, selected_interfaces};
use crate::plan::Mode;
use crate::plan::{self, Plan};
use crate::present::packed::Text;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Args {
    pub devs: Vec<Vec<u8>>,
}

pub fn parse(parser: &mut lexopt::Parser) -> Result<Parsed<Args>, Failure> {
    let mut devs = Vec::new();
    while let Some(arg) = parser.next().map_err(usage_error)? {
        match arg {
            Long("dev") => devs.push(interface_name(parser.value().map_err(usage_error)?)),
            Short('h') | Long("help") => return Ok(Parsed::Help(Text::UndeprecateHelp)),
            _ => return Err(usage_error(arg.unexpected())),
        }
    }
    Ok(Parsed::Run(Args { devs }))
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
        Ok(plan::undeprecate(addresses, only.as_deref()))
    }
}

pub fn run(args: &Args, ctx: &mut Context) -> Result<Outcome, Failure> {
    apply_rule(ctx, args, Mode::Apply)
}
