//! The texts build.rs packs into one stream: the shell completion scripts and every --help,
//! 9.2 KiB in the binary instead of 24.8 KiB. The help texts are in src/present/help/, one
//! file each, verbatim; the commands name them here, by [`Text`], rather than carry them.

/// The packed stream, written by build.rs.
static PACKED: &[u8] = include_bytes!(concat!(env!("OUT_DIR"), "/texts.lz"));
/// Where each [`Text`] ends in the unpacked stream, in its order.
const ENDS: [usize; 13] = include!(concat!(env!("OUT_DIR"), "/texts_ends.rs"));

/// Every packed text, in the stream's order (build.rs packs the scripts, then its `HELPS`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Text {
    BashCompletion,
    ZshCompletion,
    FishCompletion,
    Help,
    ShowHelp,
    DeprecateHelp,
    PreferHelp,
    UndeprecateHelp,
    AddrChangeHelp,
    WhichHelp,
    DoctorHelp,
    UnitHelp,
    CompletionsHelp,
}

impl Text {
    /// The text, unpacked: empty if the stream were bad, which the tests rule out.
    pub fn unpack(self) -> String {
        let index = self as usize;
        let start = match index.checked_sub(1) {
            Some(before) => ENDS.get(before).copied().unwrap_or_default(),
            None => 0,
        };
        let end = ENDS.get(index).copied().unwrap_or_default();
        unpack(PACKED)
            .get(start..end)
            .unwrap_or_default()
            .to_string()
    }
}

/// Undoes build.rs's `pack`: a byte below 0x80 is itself; `0x80 | n` and a little-endian u16
/// offset repeat the `n + 4` bytes that start that far back, byte by byte, so a repeat may
/// overlap what it writes.
fn unpack(packed: &[u8]) -> String {
    let mut text = Vec::new();
    let mut bytes = packed.iter().copied();
    while let Some(byte) = bytes.next() {
        if byte < 0x80 {
            text.push(byte);
            continue;
        }
        let offset = u16::from_le_bytes([bytes.next().unwrap_or(0), bytes.next().unwrap_or(0)]);
        let start = text.len().saturating_sub(usize::from(offset));
        for i in start..start.saturating_add(usize::from(byte & 0x7f) + 4) {
            text.push(text.get(i).copied().unwrap_or(0));
        }
    }
    // Only ASCII is packed (build.rs checks), so this never fails.
    String::from_utf8(text).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_text_unpacks_to_its_source() {
        let all = unpack(PACKED);
        assert!(PACKED.len() * 2 < all.len(), "packing saves less than half");
        assert_eq!(ENDS.last(), Some(&all.len()));
        for (text, source) in [
            (
                Text::BashCompletion,
                include_str!(concat!(env!("OUT_DIR"), "/nlsel.bash")),
            ),
            (
                Text::ZshCompletion,
                include_str!(concat!(env!("OUT_DIR"), "/_nlsel.zsh")),
            ),
            (
                Text::FishCompletion,
                include_str!(concat!(env!("OUT_DIR"), "/nlsel.fish")),
            ),
            (Text::Help, include_str!("help/nlsel.txt")),
            (Text::ShowHelp, include_str!("help/show.txt")),
            (Text::DeprecateHelp, include_str!("help/deprecate.txt")),
            (Text::PreferHelp, include_str!("help/prefer.txt")),
            (Text::UndeprecateHelp, include_str!("help/undeprecate.txt")),
            (Text::AddrChangeHelp, include_str!("help/addr_change.txt")),
            (Text::WhichHelp, include_str!("help/which.txt")),
            (Text::DoctorHelp, include_str!("help/doctor.txt")),
            (Text::UnitHelp, include_str!("help/unit.txt")),
            (Text::CompletionsHelp, include_str!("help/completions.txt")),
        ] {
            assert!(!source.is_empty(), "{text:?}");
            assert_eq!(text.unpack(), source, "{text:?}");
        }
    }

    #[test]
    fn unpack_repeats_overlapping_matches_and_survives_truncation() {
        // "ab" then a 6-byte repeat from 2 back: "abababab".
        assert_eq!(unpack(&[b'a', b'b', 0x82, 2, 0]), "abababab");
        // A repeat from before the start starts at the start; one cut short repeats from
        // the end, where nothing is yet: NULs, not a panic.
        assert_eq!(unpack(&[b'x', 0x80, 9, 0]), "xxxxx");
        assert_eq!(unpack(&[b'x', 0x80]), "x\0\0\0\0");
    }
}
