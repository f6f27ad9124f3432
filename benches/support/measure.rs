//! A child process's wall time and its own peak resident memory, for the
//! benchmarks.

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// What a finished child process cost.
pub struct Cost {
    pub wall: Duration,
    pub peak_rss_mib: f64,
    pub code: i32,
}

/// The variable that makes this binary the measuring parent (see [`measure`]).
const MEASURER: &str = "MODAUDIT_BENCH_MEASURER";

/// Runs a command to its end, returning its wall time and its own peak RSS.
///
/// Linux carries the high-water RSS of the address space a process replaces
/// at `exec` into its own peak, and std spawns children sharing the parent's
/// address space until they exec: measured directly, a child's "peak" would be
/// at least this benchmark's own (its loopback server and baseline client
/// hold tens of MiB). So a fresh, small copy of this binary spawns the command
/// and reports what `wait4` says of it.
pub fn measure(command: &mut Command) -> Cost {
    let log = tempfile::NamedTempFile::new().unwrap();
    let started = Instant::now();
    // the measuring parent passes on its arguments, environment and directory
    let mut measurer = Command::new(std::env::current_exe().unwrap());
    measurer
        .env(MEASURER, "1")
        .arg(command.get_program())
        .args(command.get_args());
    for (key, value) in command.get_envs() {
        match value {
            Some(value) => measurer.env(key, value),
            None => measurer.env_remove(key),
        };
    }
    if let Some(dir) = command.get_current_dir() {
        measurer.current_dir(dir);
    }
    let output = measurer
        .stdin(Stdio::null())
        .stderr(log.reopen().unwrap())
        .output()
        .unwrap();
    let wall = started.elapsed();
    let report = String::from_utf8_lossy(&output.stdout);
    let (code, peak_kib) = report
        .trim()
        .split_once(' ')
        .map(|(c, k)| (c.parse::<i32>().unwrap(), k.parse::<f64>().unwrap()))
        .unwrap_or_else(|| panic!("the measurer printed {report:?}"));
    if code > 1 {
        let stderr = std::fs::read_to_string(log.path()).unwrap_or_default();
        panic!("{command:?} exited with {code}: {stderr}");
    }
    Cost {
        wall,
        // ru_maxrss is in KiB on Linux
        peak_rss_mib: peak_kib / 1024.0,
        code,
    }
}

/// In the measuring parent [`measure`] starts, measures and exits; otherwise
/// returns at once. A benchmark's `main` calls it first.
pub fn serve_if_asked() {
    if std::env::var_os(MEASURER).is_some() {
        run_as_measurer();
        std::process::exit(0);
    }
}

/// The measuring parent: runs the command given as arguments with its output
/// discarded (its standard error goes where this one's does) and prints its
/// exit code and peak RSS in KiB.
// The child is reaped by `wait4` (which std's `wait` cannot do with rusage).
#[allow(clippy::zombie_processes)]
fn run_as_measurer() {
    let mut args = std::env::args_os().skip(1);
    let program = args.next().expect("a program to measure");
    let child = Command::new(program)
        .args(args)
        .env_remove(MEASURER)
        .stdout(Stdio::null())
        .spawn()
        .unwrap();
    let pid = child.id() as libc::pid_t;
    let mut status = 0;
    // SAFETY: an all-zero rusage is a valid value for wait4 to fill in.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: `pid` is our own child, not yet waited for; both pointers are valid.
    let waited = unsafe { libc::wait4(pid, &mut status, 0, &mut usage) };
    assert_eq!(waited, pid, "wait4 failed");
    let code = if libc::WIFEXITED(status) {
        libc::WEXITSTATUS(status)
    } else {
        -1
    };
    println!("{code} {}", usage.ru_maxrss);
}
