//! Helpers shared by the integration tests: the real binaries, temporary corpora
//! and scenarios, and readers for a run's output files.

use std::path::{Path, PathBuf};

use serde_json::Value;

/// The `modaudit` binary under test, with no GitHub step summary to write to
/// (as when the tests themselves run in GitHub Actions).
pub fn modaudit() -> assert_cmd::Command {
    let mut command = assert_cmd::Command::new(env!("CARGO_BIN_EXE_modaudit"));
    command.env_remove("GITHUB_STEP_SUMMARY");
    command
}

/// A loopback port that refuses connections for as long as this value lives.
///
/// The port is bound but never listened on, so nothing answers there and no other
/// test's server can take it over (a port that was merely free a moment ago can be
/// handed to a server started by a test running alongside).
pub struct RefusingPort {
    _socket: socket2::Socket,
    pub port: u16,
}

impl RefusingPort {
    pub fn new() -> Self {
        let socket = socket2::Socket::new(socket2::Domain::IPV4, socket2::Type::STREAM, None).unwrap();
        let any_port: std::net::SocketAddr = "127.0.0.1:0".parse().unwrap();
        socket.bind(&any_port.into()).unwrap();
        let port = socket.local_addr().unwrap().as_socket().unwrap().port();
        RefusingPort { _socket: socket, port }
    }

    /// `127.0.0.1:PORT`
    pub fn host(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }
}

/// The scriptable fake model.
pub fn fake_model() -> &'static str {
    env!("CARGO_BIN_EXE_modaudit-fake-model")
}

/// The repository root.
pub fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

pub const HEADER: &str = "id,lang,text,label,category,target_group,speaker_group,pair_id,notes\n";

/// Writes a corpus directory with the given case rows (CSV without header).
pub fn write_corpus(dir: &Path, languages: &[&str], rows: &str) -> PathBuf {
    std::fs::create_dir_all(dir).unwrap();
    let langs: Vec<String> = languages.iter().map(|l| format!("\"{l}\"")).collect();
    std::fs::write(
        dir.join("corpus.toml"),
        format!(
            "name = \"test\"\nversion = \"0.1.0\"\ndescription = \"test corpus\"\nlicense = \"CC0-1.0\"\nlanguages = [{}]\n",
            langs.join(", ")
        ),
    )
    .unwrap();
    std::fs::write(dir.join("cases.csv"), format!("{HEADER}{rows}")).unwrap();
    dir.to_path_buf()
}

/// Writes a scenario file; `{corpus}` in the body is replaced by the quoted corpus path.
pub fn write_scenario(dir: &Path, corpus: &Path, body: &str) -> PathBuf {
    let path = dir.join("scenario.toml");
    let text = body.replace("{corpus}", &toml_string(&corpus.display().to_string()));
    std::fs::write(&path, text).unwrap();
    path
}

/// A TOML basic string literal.
pub fn toml_string(s: &str) -> String {
    format!("\"{}\"", s.replace('\\', "\\\\").replace('"', "\\\""))
}

/// A TOML array of strings for a command line.
pub fn toml_command(words: &[&str]) -> String {
    let quoted: Vec<String> = words.iter().map(|w| toml_string(w)).collect();
    format!("[{}]", quoted.join(", "))
}

/// Runs `modaudit run SCENARIO --out OUT` and returns its output.
pub fn run_scenario(scenario: &Path, out: &Path) -> std::process::Output {
    modaudit()
        .arg("run")
        .arg(scenario)
        .arg("--out")
        .arg(out)
        .output()
        .unwrap()
}

pub fn read_json(path: &Path) -> Value {
    serde_json::from_slice(&std::fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))).unwrap()
}

/// Rows of `decisions.csv` as maps from column to value.
pub fn read_decisions(dir: &Path) -> Vec<std::collections::HashMap<String, String>> {
    let mut reader = csv::Reader::from_path(dir.join("decisions.csv")).unwrap();
    let headers = reader.headers().unwrap().clone();
    reader
        .records()
        .map(|r| {
            let r = r.unwrap();
            headers
                .iter()
                .zip(r.iter())
                .map(|(h, v)| (h.to_string(), v.to_string()))
                .collect()
        })
        .collect()
}

/// Case ids of every decision record in a journal, in order.
pub fn journal_case_ids(dir: &Path) -> Vec<String> {
    std::fs::read_to_string(dir.join("journal.jsonl"))
        .unwrap()
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| {
            serde_json::from_str::<Value>(l).unwrap()["case_id"]
                .as_str()
                .unwrap()
                .to_string()
        })
        .collect()
}

pub fn stderr_of(output: &std::process::Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}
