//! Any bytes, as text, through every reader of other programs' files that `doctor` uses: none
//! may panic (they return what they found or the line they could not read).
#![no_main]

use libfuzzer_sys::fuzz_target;
use nlsel::hostfiles::{self, ifupdown, netplan, networkd, unit};

fuzz_target!(|bytes: &[u8]| {
    let text = String::from_utf8_lossy(bytes);
    let _ = unit::parse(&text);
    let _ = unit::split_words(&text);
    let _ = networkd::addresses(&text);
    let _ = networkd::network_file(&text);
    let _ = ifupdown::parse(&text);
    let _ = netplan::addresses(&text);
    let _ = hostfiles::key_value(&text, "managed");
});
