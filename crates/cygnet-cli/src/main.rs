//! The `cygnet` binary; everything but the process's entry point is in the library.

use std::process::ExitCode;

fn main() -> ExitCode {
    cygnet_cli::app::main()
}
