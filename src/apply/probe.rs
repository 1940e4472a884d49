//! `--probe DEST` of `deprecate` and `prefer`: the source the kernel uses for each DEST before
//! the change, and the one the model predicts once the rule's plan is applied
//! ([`crate::srcsel::probe`]); after a real run, the kernel's answer beside the prediction.

use std::net::IpAddr;

use super::{Rule, missing_prefix_routes};
use crate::context::Context;
use crate::failure::{Failure, Kind};
use crate::plan::{Change, Mode};
use crate::present::explain;
use crate::srcsel::explain::interfaces_of;
use crate::srcsel::probe::{Predictor, Probe};
use crate::srcsel::read::{Flow, ReadError, connect_destination, probe_route, read_source_state};

/// A failed read of the kernel's state, as the commands report it.
pub fn read_failure(error: ReadError) -> Failure {
    Kind::Request(error).into()
}

/// The probes before the change: the kernel's source now and the model's prediction for
/// after `rule`'s plan, with what the kernel does on its own in answer.
pub fn predict_probes(
    ctx: &mut Context,
    rule: &dyn Rule,
    destinations: &[IpAddr],
) -> Result<Vec<Probe>, Failure> {
    if destinations.is_empty() {
        return Ok(Vec::new());
    }
    let before = read_source_state(&mut ctx.conn).map_err(read_failure)?;
    let interfaces = interfaces_of(&before);
    let plan = rule.plan(&before.addresses, &interfaces)?;
    let changes: Vec<&Change<'_>> = plan.changes().collect();
    let routes = missing_prefix_routes(ctx, &changes)?
        .into_iter()
        .map(|(_, route)| route)
        .collect();
    let lifetimes: Vec<(u32, IpAddr, u32)> = changes
        .iter()
        .map(|c| (c.address.ifindex, c.address.local, c.preferred_lft))
        .collect();
    let predictor = Predictor::new(&before, &lifetimes, routes);
    let mut probes = Vec::new();
    for &destination in destinations {
        let asked = connect_destination(destination);
        let kernel = probe_route(&mut ctx.conn, asked, &Flow::UDP, true).map_err(read_failure)?;
        probes.push(Probe {
            destination,
            kernel: kernel.as_ref().and_then(|kernel| kernel.source),
            predicted: predictor.predict(kernel.as_ref(), asked),
            no_route: kernel.is_none(),
            applied: false,
        });
    }
    Ok(probes)
}

/// Prints the probes: under `--dry-run` and `--check` as predicted, after a real run with the
/// source the kernel uses now beside the prediction.
pub fn report_probes(ctx: &mut Context, mode: Mode, mut probes: Vec<Probe>) -> Result<(), Failure> {
    if probes.is_empty() {
        return Ok(());
    }
    if mode == Mode::Apply {
        for probe in &mut probes {
            let asked = connect_destination(probe.destination);
            let kernel =
                probe_route(&mut ctx.conn, asked, &Flow::UDP, false).map_err(read_failure)?;
            probe.kernel = kernel.as_ref().and_then(|kernel| kernel.source);
            probe.no_route = kernel.is_none();
            probe.applied = true;
        }
    }
    if ctx.globals.json {
        ctx.out.line(&explain::probes_json(&probes));
    } else {
        for probe in &probes {
            ctx.out.line(&explain::probe_text(probe));
        }
    }
    Ok(())
}
