//! Shell completions and the man page come from the command-line definitions,
//! so they name every subcommand there is.

use crate::support::*;

/// The subcommands every generated text must mention.
const SUBCOMMANDS: [&str; 6] = ["run", "validate", "corpus", "statements", "report", "merge"];

fn stdout_of(args: &[&str]) -> String {
    let output = modaudit().args(args).output().unwrap();
    assert_eq!(output.status.code(), Some(0), "{args:?}: {}", stderr_of(&output));
    String::from_utf8(output.stdout).unwrap()
}

#[test]
fn completions_for_every_shell_name_the_subcommands() {
    for shell in ["bash", "zsh", "fish", "powershell", "elvish"] {
        let script = stdout_of(&["completions", shell]);
        assert!(script.contains("modaudit"), "{shell}: {script}");
        for subcommand in SUBCOMMANDS {
            assert!(script.contains(subcommand), "{shell} misses {subcommand}");
        }
        assert!(script.contains("no-cache"), "{shell} misses the flags of run");
    }
}

#[test]
fn an_unknown_shell_is_a_usage_error() {
    let output = modaudit().args(["completions", "tcsh"]).output().unwrap();
    assert_eq!(output.status.code(), Some(2));
}

#[test]
fn the_man_page_is_roff_naming_the_subcommands() {
    let page = stdout_of(&["man"]);
    assert!(page.starts_with(".ie") || page.starts_with(".TH"), "{page}");
    assert!(page.contains(".TH modaudit 1"), "{page}");
    assert!(page.contains("Exit codes"), "{page}");
    for subcommand in SUBCOMMANDS {
        assert!(page.contains(subcommand), "the man page misses {subcommand}");
    }
}
