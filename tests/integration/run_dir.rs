//! The run directory as a boundary: `run --out` never writes over what is not
//! a run, never starts a second run in an existing one, and every way of naming
//! a directory that holds no run exits 2 with the same message.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use crate::support::*;

fn small_scenario(dir: &Path) -> PathBuf {
    let corpus = write_corpus(
        &dir.join("corpus"),
        &["en"],
        "a1,en,kill them,violating,threat,women,,,\na2,en,hello,protected,neutral_mention,women,,,\n",
    );
    write_scenario(
        dir,
        &corpus,
        "name = \"small\"\ncorpora = [{corpus}]\n[target]\nkind = \"builtin:keyword\"\n",
    )
}

/// Every file under `dir` (relative path → content).
fn contents(dir: &Path) -> BTreeMap<PathBuf, Vec<u8>> {
    let mut out = BTreeMap::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(&d).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                stack.push(path);
            } else {
                out.insert(
                    path.strip_prefix(dir).unwrap().to_path_buf(),
                    std::fs::read(&path).unwrap(),
                );
            }
        }
    }
    out
}

/// A directory of the user's own files, one of which has a report's name.
fn users_directory(dir: &Path) -> PathBuf {
    let users = dir.join("mine");
    std::fs::create_dir_all(users.join("drafts")).unwrap();
    std::fs::write(users.join("report.md"), "# My own report\n").unwrap();
    std::fs::write(users.join("notes.txt"), "notes\n").unwrap();
    std::fs::write(users.join("drafts/journal.jsonl"), "not a journal\n").unwrap();
    users
}

#[test]
fn run_out_refuses_a_non_empty_directory_that_holds_no_run() {
    let tmp = tempfile::tempdir().unwrap();
    let scenario = small_scenario(tmp.path());
    let users = users_directory(tmp.path());
    let before = contents(&users);
    let output = run_scenario(&scenario, &users);
    assert_eq!(output.status.code(), Some(2), "{}", stderr_of(&output));
    let err = stderr_of(&output);
    assert!(err.contains("is not empty and holds no modaudit run"), "{err}");
    assert!(err.contains("--force"), "{err}");
    assert_eq!(contents(&users), before, "nothing was written or replaced");
}

#[test]
fn run_out_force_writes_the_run_beside_the_users_files() {
    let tmp = tempfile::tempdir().unwrap();
    let scenario = small_scenario(tmp.path());
    let users = users_directory(tmp.path());
    let output = modaudit()
        .arg("run")
        .arg(&scenario)
        .arg("--out")
        .arg(&users)
        .arg("--force")
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(0), "{}", stderr_of(&output));
    let after = contents(&users);
    assert_eq!(after[Path::new("notes.txt")], b"notes\n", "unrelated files are kept");
    assert_eq!(after[Path::new("drafts/journal.jsonl")], b"not a journal\n");
    assert!(
        String::from_utf8_lossy(&after[Path::new("report.md")]).starts_with("# Moderation audit: small"),
        "--force replaces a file with a report's name"
    );
    assert!(after.contains_key(Path::new("manifest.json")));
}

#[test]
fn run_out_refuses_an_existing_run_even_with_force() {
    let tmp = tempfile::tempdir().unwrap();
    let scenario = small_scenario(tmp.path());
    let dir = tmp.path().join("run");
    let output = run_scenario(&scenario, &dir);
    assert_eq!(output.status.code(), Some(0), "{}", stderr_of(&output));
    let before = contents(&dir);
    for force in [false, true] {
        let mut command = modaudit();
        command.arg("run").arg(&scenario).arg("--out").arg(&dir);
        if force {
            command.arg("--force");
        }
        let output = command.output().unwrap();
        assert_eq!(output.status.code(), Some(2), "force {force}: {}", stderr_of(&output));
        let err = stderr_of(&output);
        assert!(err.contains("already holds a run"), "{err}");
        assert!(
            err.contains(&format!("modaudit run --resume {}", dir.display())),
            "{err}"
        );
        let mut now = contents(&dir);
        now.remove(Path::new(".lock"));
        let mut then = before.clone();
        then.remove(Path::new(".lock"));
        assert_eq!(now, then, "the run is untouched");
    }
}

#[test]
fn run_out_naming_a_file_exits_2() {
    let tmp = tempfile::tempdir().unwrap();
    let scenario = small_scenario(tmp.path());
    let file = tmp.path().join("results");
    std::fs::write(&file, "mine\n").unwrap();
    for force in [false, true] {
        let mut command = modaudit();
        command.arg("run").arg(&scenario).arg("--out").arg(&file);
        if force {
            command.arg("--force");
        }
        let output = command.output().unwrap();
        assert_eq!(output.status.code(), Some(2), "{}", stderr_of(&output));
        assert!(
            stderr_of(&output).contains("is not a directory"),
            "{}",
            stderr_of(&output)
        );
        assert_eq!(std::fs::read(&file).unwrap(), b"mine\n");
    }
}

#[test]
fn resume_and_report_on_what_is_not_a_run_exit_2_with_one_message() {
    let tmp = tempfile::tempdir().unwrap();
    let scenario = small_scenario(tmp.path());
    let users = users_directory(tmp.path());
    let file = tmp.path().join("a-file");
    std::fs::write(&file, "x").unwrap();
    let missing = tmp.path().join("nowhere");
    for dir in [&users, &file, &missing] {
        let expected = format!(
            "error: {}: is not a modaudit run directory (it holds no manifest.json)",
            dir.display()
        );
        let attempts = [
            modaudit().arg("run").arg("--resume").arg(dir).output().unwrap(),
            modaudit()
                .arg("run")
                .arg(&scenario)
                .arg("--resume")
                .arg(dir)
                .output()
                .unwrap(),
            modaudit().arg("report").arg(dir).output().unwrap(),
        ];
        for output in attempts {
            assert_eq!(
                output.status.code(),
                Some(2),
                "{}: {}",
                dir.display(),
                stderr_of(&output)
            );
            assert_eq!(stderr_of(&output).trim_end(), expected);
        }
    }
    assert_eq!(contents(&users), contents(&users_directory(&tmp.path().join("again"))));
    assert!(!missing.exists(), "nothing was created");
}
