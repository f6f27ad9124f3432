//! Scale benchmark: what grows with the number of cases, measured on the real
//! `modaudit` binary in one run, each figure with the process's own peak
//! resident memory (from `wait4`'s rusage, so only that process counts):
//!
//! 1. a replay run over `BENCH_CASES` recorded decisions (default 1,000,000):
//!    every dimension, interval, test, AUC and report file;
//! 2. `modaudit report RUN` over that run;
//! 3. the HTTP hot path against a loopback server answering at once, as a
//!    ratio to a minimal keep-alive client on the same server in the same run;
//! 4. the `command` target against the bundled fake model.
//!
//! ```text
//! cargo bench --bench scale
//! BENCH_CASES=10000000 cargo bench --bench scale     # the 10 M run
//! ```
//!
//! The data are generated here, seeded (`BENCH_SEED`, default 1), into a
//! temporary directory (or `BENCH_DIR`, kept) — never committed. Other knobs:
//! `BENCH_HTTP_CASES` (100000), `BENCH_COMMAND_CASES` (200000),
//! `BENCH_CONCURRENCY` (64), `BENCH_SKIP` (comma-separated: replay, report,
//! http, command).

#[path = "support/measure.rs"]
mod measure;
#[path = "../tests/integration/server.rs"]
#[allow(dead_code)]
mod server;

use std::fmt::Write as _;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;
use std::time::Instant;

use measure::{Cost, measure};
use serde_json::json;
use server::{Reply, Server};

const LANGUAGES: [&str; 13] = [
    "ar", "en", "es", "fa", "fr", "hi", "id", "pt", "ru", "sw", "tr", "ur", "zh",
];
const PROTECTED: [&str; 8] = [
    "counter_speech",
    "news_reporting",
    "quotation",
    "reclaimed_term",
    "political_dissent",
    "self_identification",
    "neutral_mention",
    "dialect",
];
const VIOLATING: [&str; 3] = ["slur", "dehumanisation", "threat"];
const GROUPS: [&str; 12] = [
    "women",
    "muslims",
    "jews",
    "refugees",
    "lgbtq",
    "black_people",
    "roma",
    "disabled_people",
    "christians",
    "hindus",
    "migrants",
    "indigenous_peoples",
];
const DIALECTS: [&str; 4] = ["", "", "regional", "urban"];

fn env_or(name: &str, default: u64) -> u64 {
    std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

fn skipped(what: &str) -> bool {
    std::env::var("BENCH_SKIP").is_ok_and(|s| s.split(',').any(|w| w.trim() == what))
}

/// A small seeded generator (SplitMix64), so the data are the same everywhere.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }

    fn unit(&mut self) -> f64 {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64
    }
}

/// Cases per generated case file: a file stays well under the size limit of
/// one input file, as a large corpus would be split.
const CASES_PER_FILE: usize = 1_000_000;

/// Writes a corpus of `cases` cases (a quarter in template-like families of
/// four) and a recording of a scoring system's decisions on them.
fn generate(dir: &Path, cases: usize, seed: u64) {
    let corpus = dir.join("corpus");
    std::fs::create_dir_all(&corpus).unwrap();
    let languages: Vec<String> = LANGUAGES.iter().map(|l| format!("\"{l}\"")).collect();
    let files: Vec<String> = (0..cases.div_ceil(CASES_PER_FILE).max(1))
        .map(|f| format!("cases-{f:02}.csv"))
        .collect();
    let listed: Vec<String> = files.iter().map(|f| format!("\"{f}\"")).collect();
    std::fs::write(
        corpus.join("corpus.toml"),
        format!(
            "name = \"scale\"\nversion = \"1\"\ndescription = \"generated for the scale benchmark\"\nlicense = \"CC0-1.0\"\nlanguages = [{}]\nfiles = [{}]\n",
            languages.join(", "),
            listed.join(", ")
        ),
    )
    .unwrap();
    let mut rng = Rng(seed);
    let mut cases_csv: BufWriter<Box<dyn Write>> = BufWriter::new(Box::new(std::io::sink()));
    let mut recording = BufWriter::with_capacity(1 << 20, std::fs::File::create(dir.join("recording.csv")).unwrap());
    writeln!(recording, "id,score").unwrap();
    let mut line = String::with_capacity(256);
    for i in 0..cases {
        if i % CASES_PER_FILE == 0 {
            cases_csv.flush().unwrap();
            let file = std::fs::File::create(corpus.join(&files[i / CASES_PER_FILE])).unwrap();
            cases_csv = BufWriter::with_capacity(1 << 20, Box::new(file));
            writeln!(
                cases_csv,
                "id,lang,text,label,category,target_group,speaker_group,pair_id,notes"
            )
            .unwrap();
        }
        let lang = LANGUAGES[rng.below(LANGUAGES.len())];
        let violating = rng.below(4) == 0;
        let (label, category) = if violating {
            ("violating", VIOLATING[rng.below(VIOLATING.len())])
        } else {
            ("protected", PROTECTED[rng.below(PROTECTED.len())])
        };
        let group = GROUPS[rng.below(GROUPS.len())];
        let dialect = DIALECTS[rng.below(DIALECTS.len())];
        let family = if i % 4 == 0 {
            format!("f{}", i / 16)
        } else {
            String::new()
        };
        line.clear();
        let _ = writeln!(
            line,
            "s{i:08},{lang},post {i} in {lang} about {group} with some ordinary words in it,{label},{category},{group},{dialect},{family},"
        );
        cases_csv.write_all(line.as_bytes()).unwrap();
        // a scoring system that over-removes reclaimed terms and misses a third of violations
        let base = if violating { 0.72 } else { 0.25 };
        let bias = if category == "reclaimed_term" { 0.25 } else { 0.0 };
        let score = (base + bias + (rng.unit() - 0.5) * 0.6).clamp(0.0, 1.0);
        line.clear();
        let _ = writeln!(line, "s{i:08},{score:.4}");
        recording.write_all(line.as_bytes()).unwrap();
    }
    cases_csv.flush().unwrap();
    recording.flush().unwrap();
    std::fs::write(
        dir.join("replay.toml"),
        "name = \"scale-replay\"\ncorpora = [\"corpus\"]\n[target]\nkind = \"replay\"\nfile = \"recording.csv\"\nthreshold = 0.5\n",
    )
    .unwrap();
}

fn modaudit() -> Command {
    Command::new(env!("CARGO_BIN_EXE_modaudit"))
}

fn bytes_per_case(cost: &Cost, cases: usize) -> f64 {
    cost.peak_rss_mib * 1024.0 * 1024.0 / cases as f64
}

/// Requests per second a minimal keep-alive client reaches with `concurrency`
/// requests in flight: the baseline the harness is compared with.
fn minimal_client_rate(url: &str, requests: usize, concurrency: usize) -> f64 {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let client = reqwest::Client::builder()
            .pool_max_idle_per_host(concurrency)
            .build()
            .unwrap();
        let next = Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let started = Instant::now();
        let mut tasks = tokio::task::JoinSet::new();
        for _ in 0..concurrency {
            let client = client.clone();
            let next = Arc::clone(&next);
            let url = format!("{url}/moderate");
            tasks.spawn(async move {
                loop {
                    let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                    if i >= requests {
                        break;
                    }
                    let response = client
                        .post(&url)
                        .json(&json!({"content": format!("post {i}"), "ref": i}))
                        .send()
                        .await
                        .unwrap();
                    let _ = response.bytes().await.unwrap();
                }
            });
        }
        while tasks.join_next().await.is_some() {}
        requests as f64 / started.elapsed().as_secs_f64()
    })
}

fn http_corpus(dir: &Path, cases: usize) {
    let corpus = dir.join("http-corpus");
    std::fs::create_dir_all(&corpus).unwrap();
    std::fs::write(
        corpus.join("corpus.toml"),
        "name = \"http\"\nversion = \"1\"\ndescription = \"benchmark\"\nlicense = \"CC0-1.0\"\nlanguages = [\"en\"]\n",
    )
    .unwrap();
    let mut csv = BufWriter::new(std::fs::File::create(corpus.join("cases.csv")).unwrap());
    writeln!(
        csv,
        "id,lang,text,label,category,target_group,speaker_group,pair_id,notes"
    )
    .unwrap();
    for i in 0..cases {
        let (text, label) = if i % 7 == 0 {
            (format!("post {i}: kill them all"), "violating")
        } else {
            (format!("an ordinary post number {i} about the weather"), "protected")
        };
        writeln!(csv, "h{i:08},en,{text},{label},neutral_mention,group{},,,", i % 12).unwrap();
    }
    csv.flush().unwrap();
}

fn main() {
    measure::serve_if_asked();
    let cases = env_or("BENCH_CASES", 1_000_000) as usize;
    let seed = env_or("BENCH_SEED", 1);
    let http_cases = env_or("BENCH_HTTP_CASES", 100_000) as usize;
    let command_cases = env_or("BENCH_COMMAND_CASES", 200_000) as usize;
    let concurrency = env_or("BENCH_CONCURRENCY", 64) as usize;
    let kept = std::env::var_os("BENCH_DIR").map(PathBuf::from);
    let tmp = tempfile::tempdir().unwrap();
    let dir = kept.clone().unwrap_or_else(|| tmp.path().to_path_buf());
    std::fs::create_dir_all(&dir).unwrap();
    let load = std::fs::read_to_string("/proc/loadavg").unwrap_or_default();
    println!("scale benchmark · {} · load average {}", dir.display(), load.trim());
    let mut rows: Vec<(String, String)> = Vec::new();

    if !skipped("replay") || !skipped("report") {
        let started = Instant::now();
        generate(&dir, cases, seed);
        println!("generated {cases} cases in {:.1} s", started.elapsed().as_secs_f64());
        let run = dir.join("replay-run");
        let _ = std::fs::remove_dir_all(&run);
        if !skipped("replay") {
            let cost = measure(
                modaudit()
                    .arg("run")
                    .arg(dir.join("replay.toml"))
                    .arg("--out")
                    .arg(&run)
                    .arg("--no-cache"),
            );
            rows.push((
                format!("replay run, {cases} decisions"),
                format!(
                    "{:.2} s, peak RSS {:.0} MiB ({:.0} bytes per case), exit {}",
                    cost.wall.as_secs_f64(),
                    cost.peak_rss_mib,
                    bytes_per_case(&cost, cases),
                    cost.code
                ),
            ));
        }
        if !skipped("report") && run.join("manifest.json").exists() {
            let cost = measure(modaudit().arg("report").arg(&run));
            rows.push((
                format!("report RUN, {cases} decisions"),
                format!(
                    "{:.2} s, peak RSS {:.0} MiB ({:.0} bytes per case)",
                    cost.wall.as_secs_f64(),
                    cost.peak_rss_mib,
                    bytes_per_case(&cost, cases)
                ),
            ));
        }
    }

    if !skipped("http") {
        let server = Server::start(|request, _| {
            let body = request.json();
            let text = body["content"].as_str().unwrap_or_default().to_string();
            let decision = if text.contains("kill") { "removed" } else { "kept" };
            Reply::Json(200, json!({"decision": decision, "score": 0.5, "id": body["ref"]}))
        });
        let baseline = minimal_client_rate(&server.url, http_cases, concurrency);
        http_corpus(&dir, http_cases);
        std::fs::write(
            dir.join("http.toml"),
            format!(
                "name = \"http\"\ncorpora = [\"http-corpus\"]\n[target]\nkind = \"http\"\nurl = \"{}/moderate\"\n\
                 body = '{{\"content\": \"{{text}}\", \"ref\": \"{{id}}\"}}'\n[target.response]\naction = \"/decision\"\n\
                 action_map = {{ removed = \"remove\", kept = \"allow\" }}\nscore = \"/score\"\n[run]\nconcurrency = {concurrency}\ncache = false\n",
                server.url
            ),
        )
        .unwrap();
        let out = dir.join("http-run");
        let _ = std::fs::remove_dir_all(&out);
        let cost = measure(modaudit().arg("run").arg(dir.join("http.toml")).arg("--out").arg(&out));
        let rate = http_cases as f64 / cost.wall.as_secs_f64();
        rows.push((
            format!("HTTP, 0 ms loopback, {concurrency} in flight, {http_cases} cases"),
            format!(
                "{rate:.0} req/s end to end vs minimal client {baseline:.0} req/s ({:.2}×), peak RSS {:.0} MiB",
                rate / baseline,
                cost.peak_rss_mib
            ),
        ));
    }

    if !skipped("command") {
        let corpus = dir.join("command-corpus");
        http_corpus(&dir, command_cases);
        let _ = std::fs::remove_dir_all(&corpus);
        std::fs::rename(dir.join("http-corpus"), &corpus).unwrap();
        std::fs::write(
            dir.join("command.toml"),
            format!(
                "name = \"command\"\ncorpora = [\"command-corpus\"]\n[target]\nkind = \"command\"\ncommand = [\"{}\", \"--remove-if-contains\", \"kill\"]\n",
                env!("CARGO_BIN_EXE_modaudit-fake-model")
            ),
        )
        .unwrap();
        let out = dir.join("command-run");
        let _ = std::fs::remove_dir_all(&out);
        let cost = measure(
            modaudit()
                .arg("run")
                .arg(dir.join("command.toml"))
                .arg("--out")
                .arg(&out),
        );
        rows.push((
            format!("command target, fake model, {command_cases} cases"),
            format!(
                "{:.0} cases/s end to end, peak RSS {:.0} MiB",
                command_cases as f64 / cost.wall.as_secs_f64(),
                cost.peak_rss_mib
            ),
        ));
    }

    let width = rows.iter().map(|(k, _)| k.chars().count()).max().unwrap_or(0);
    for (what, figure) in rows {
        println!("{what:<width$}  {figure}");
    }
    if kept.is_none() {
        drop(tmp);
    }
}
