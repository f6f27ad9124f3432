//! Process exit codes: the contract between `modaudit` and the CI systems that run it.
//!
//! These are the only exit codes the binary uses. They are documented in README.md;
//! change them there too.

/// The audit ran and every gate passed (or the command succeeded).
pub const SUCCESS: u8 = 0;
/// The audit ran to completion and at least one gate failed.
pub const GATE_FAILED: u8 = 1;
/// Bad input or usage: an invalid scenario, corpus, journal or command line.
pub const BAD_INPUT: u8 = 2;
/// The run could not complete: errors beyond the error budget, the run was
/// interrupted (Ctrl-C or SIGTERM, once or twice), or the moderation system or
/// the machine failed in a way the run cannot recover from.
pub const RUN_INCOMPLETE: u8 = 3;
