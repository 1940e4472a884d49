//! Proptest strategies for every wire object, in one place, for the round-trip tests.
