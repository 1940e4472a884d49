//! The `nlsel` binary; everything is in the library so the tests and fuzz targets reach it.
fn main() -> std::process::ExitCode {
    nlsel::cli::main()
}
