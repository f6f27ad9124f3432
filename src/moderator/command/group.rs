//! Process groups: every process a copy of the program starts dies with it.
//!
//! On Unix each copy of the program runs in its own process group, and the
//! whole group (the program and every process it started) is killed when the
//! copy fails or is retired — and when modaudit ends, however it ends: a small
//! watchdog (a `/bin/sh` loop in a process group of its own) kills every group
//! still listed once the pipe only modaudit holds open closes, which happens
//! even when modaudit is killed with SIGKILL.

use std::sync::Arc;
#[cfg(unix)]
use std::sync::Mutex;
#[cfg(unix)]
use std::sync::atomic::{AtomicBool, Ordering};

#[cfg(unix)]
use std::process::Stdio;
use tokio::process::Child;

/// The process group one copy of the program runs in; killing it (or dropping
/// it) kills every process in it, once.
#[cfg(unix)]
pub(super) struct ProcessGroup {
    id: Option<u32>,
    watchdog: Arc<GroupWatchdog>,
    killed: AtomicBool,
}

#[cfg(unix)]
impl ProcessGroup {
    /// The group `child` leads (it was spawned with `process_group(0)`), now
    /// watched over.
    pub(super) fn of(child: &Child, watchdog: &Arc<GroupWatchdog>) -> Self {
        let id = child.id();
        if let Some(id) = id {
            watchdog.tell(&format!("watch {id}"));
        }
        ProcessGroup {
            id,
            watchdog: Arc::clone(watchdog),
            killed: AtomicBool::new(false),
        }
    }

    /// Kills every process of the group; later calls do nothing, so that a
    /// group id the system hands out again is never killed by mistake.
    pub(super) fn kill(&self) {
        if !self.killed.swap(true, Ordering::AcqRel)
            && let Some(id) = self.id
        {
            self.watchdog.tell(&format!("kill {id}"));
        }
    }
}

#[cfg(unix)]
impl Drop for ProcessGroup {
    fn drop(&mut self) {
        self.kill();
    }
}

/// Kills the process groups of the program's copies: one by one when asked,
/// and all that are left when modaudit ends, however it ends.
///
/// It is a `/bin/sh` loop in a process group of its own (so a Ctrl-C at the
/// terminal does not reach it) reading `watch ID` and `kill ID` lines from a
/// pipe whose writing end only modaudit holds. The kernel closes that pipe when
/// modaudit exits, crashes or is killed with SIGKILL; the loop then kills every
/// group still listed and exits.
#[cfg(unix)]
pub(super) struct GroupWatchdog {
    input: Mutex<Option<std::process::ChildStdin>>,
    process: std::process::Child,
}

#[cfg(unix)]
const WATCHDOG_SCRIPT: &str = r#"groups=''
while read -r verb group; do
  case "$verb" in
    watch) groups="$groups $group" ;;
    kill)
      kill -s KILL -- "-$group" 2>/dev/null
      kept=''
      for g in $groups; do [ "$g" = "$group" ] || kept="$kept $g"; done
      groups=$kept ;;
  esac
done
for g in $groups; do kill -s KILL -- "-$g" 2>/dev/null; done
"#;

#[cfg(unix)]
impl GroupWatchdog {
    pub(super) fn start() -> Result<Self, String> {
        use std::os::unix::process::CommandExt;
        let cannot =
            |e: &dyn std::fmt::Display| format!("cannot start /bin/sh to watch over the program's processes: {e}");
        let mut process = std::process::Command::new("/bin/sh")
            .arg("-c")
            .arg(WATCHDOG_SCRIPT)
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .process_group(0)
            .spawn()
            .map_err(|e| cannot(&e))?;
        let input = process.stdin.take().ok_or_else(|| cannot(&"no pipe to its input"))?;
        Ok(GroupWatchdog {
            input: Mutex::new(Some(input)),
            process,
        })
    }

    /// Sends one line (short enough to be written at once).
    fn tell(&self, line: &str) {
        use std::io::Write;
        let mut input = self.input.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(pipe) = input.as_mut() {
            // A watchdog that is gone cannot be helped; the program's own
            // process is still killed when its copy is retired.
            let _ = pipe.write_all(format!("{line}\n").as_bytes());
        }
    }
}

#[cfg(unix)]
impl Drop for GroupWatchdog {
    fn drop(&mut self) {
        // Closing its input makes it kill what is left and exit at once; reap it.
        drop(self.input.get_mut().unwrap_or_else(|e| e.into_inner()).take());
        let _ = self.process.wait();
    }
}

/// Without process groups, the program's own process is all that is killed.
#[cfg(not(unix))]
pub(super) struct ProcessGroup;

#[cfg(not(unix))]
impl ProcessGroup {
    pub(super) fn of(_: &Child, _: &Arc<GroupWatchdog>) -> Self {
        ProcessGroup
    }

    pub(super) fn kill(&self) {}
}

#[cfg(not(unix))]
pub(super) struct GroupWatchdog;

#[cfg(not(unix))]
impl GroupWatchdog {
    pub(super) fn start() -> Result<Self, String> {
        Ok(GroupWatchdog)
    }
}
