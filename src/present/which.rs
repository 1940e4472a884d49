//! `which`: the kernel's source and device for a destination.

use std::net::IpAddr;

use super::{json, lossy};

/// `which`: `SRC dev IFACE`, or `{"dst", "src", "dev"}`.
pub fn route_source(destination: IpAddr, source: IpAddr, device: &[u8], as_json: bool) -> String {
    if !as_json {
        return format!("{source} dev {}", lossy(device));
    }
    let mut line = String::new();
    let mut object = json::Object::begin(&mut line);
    object
        .display("dst", destination)
        .display("src", source)
        .string("dev", device);
    object.end();
    line
}
