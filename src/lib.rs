//! nlsel: choose the IPv6 source address a Linux host uses, over raw netlink.
#![deny(unsafe_code)]
#![warn(
    clippy::undocumented_unsafe_blocks,
    clippy::multiple_unsafe_ops_per_block
)]

pub mod nl;
