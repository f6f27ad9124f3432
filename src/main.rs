//! The `modaudit` binary: parse the command line, call the library, exit with
//! the code the outcome maps to (see `modaudit::exit`).

use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    modaudit::cli::main_with(modaudit::cli::Cli::parse())
}
