//! Integration tests: the real `modaudit` binary against real files, real
//! subprocesses and real servers on 127.0.0.1. Built as one test binary.

mod appeals;
mod bad_input;
mod claims;
mod clusters;
mod command_target;
mod completions;
mod config_limits;
mod consistency;
mod corpus_tools;
mod gates_and_exit_codes;
mod guard_target;
mod hosted_extras;
mod hosted_targets;
mod hostile_output;
mod http_politeness;
mod http_targets;
mod input_files;
mod interrupt;
mod layers;
mod library;
mod quickstart;
mod recompute;
mod registry;
mod replay;
mod resume;
mod run_dir;
mod secrets;
mod server;
mod shared_fixtures;
mod snapshots;
mod standin;
mod statements;
mod statistics;
mod support;
mod throttling;
