//! nlsel: choose the IPv6 source address a Linux host uses, by deprecating the others over raw
//! netlink. The wire format and the socket are in [`nl`]; the policy, which addresses to
//! change, is the pure `plan`; each subcommand is a file in `cmd`. ARCHITECTURE.md maps the
//! layers.
//!
//! Only what the binary (`cli`), the fuzz targets (`nl`, `model`) and the tests need is public,
//! so that the compiler reports dead code everywhere else.
#![deny(unsafe_code)]
#![deny(
    clippy::undocumented_unsafe_blocks,
    clippy::multiple_unsafe_ops_per_block
)]

mod apply;
pub mod cli;
mod cmd;
mod context;
mod failure;
pub mod hostfiles;
pub mod model;
mod netns;
pub mod nl;
mod notify;
mod output;
mod pattern;
mod plan;
mod present;
mod srcsel;
#[allow(unsafe_code)]
mod sys;

/// The memory allocator the binary uses (`src/main.rs`).
pub use sys::Allocator;
mod watch;
