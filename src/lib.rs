//! nlsel: choose the IPv6 source address a Linux host uses, by deprecating the others over raw
//! netlink. The wire format and the socket are in [`nl`]; the policy, which addresses to
//! change, is the pure [`plan`]; each subcommand is a file in [`cmd`].
#![deny(unsafe_code)]
#![deny(
    clippy::undocumented_unsafe_blocks,
    clippy::multiple_unsafe_ops_per_block
)]

pub mod apply;
pub mod cli;
pub mod cmd;
pub mod explain;
pub mod failure;
pub mod json;
pub mod model;
pub mod nl;
pub mod output;
pub mod pattern;
pub mod plan;
pub mod srcsel;
pub mod srcsel_read;
pub mod watch;
