//! The `nlsel` binary; everything is in the library so the tests and fuzz targets reach it.

/// nlsel's own allocator in place of musl's malloc: the same service in far less of the
/// binary (see `sys::Allocator`).
#[global_allocator]
static ALLOCATOR: nlsel::Allocator = nlsel::Allocator;

fn main() -> std::process::ExitCode {
    nlsel::cli::main()
}
