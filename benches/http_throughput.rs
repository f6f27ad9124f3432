//! Throughput benchmark: the real `modaudit` binary audits 20,000 cases against
//! a loopback JSON API that answers every request in 50 ms, with concurrency 64.
//! The ideal is 64 / 0.05 s = 1,280 requests per second; the harness must reach
//! 90 % of it while its own peak memory (RSS) stays under 100 MiB.
//!
//!     cargo bench --bench http_throughput
//!
//! Environment: `BENCH_CASES` (default 20000), `BENCH_CONCURRENCY` (64),
//! `BENCH_DELAY_MS` (50).

#[path = "support/measure.rs"]
mod measure;
#[path = "../tests/integration/server.rs"]
#[allow(dead_code)]
mod server;

use std::process::Command;
use std::time::Duration;

use serde_json::json;
use server::{Reply, Server};

fn env_or(name: &str, default: u64) -> u64 {
    std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

fn main() {
    measure::serve_if_asked();
    let cases = env_or("BENCH_CASES", 20_000) as usize;
    let concurrency = env_or("BENCH_CONCURRENCY", 64);
    let delay = Duration::from_millis(env_or("BENCH_DELAY_MS", 50));
    let server = Server::start(move |request, _| {
        let body = request.json();
        let text = body["content"].as_str().unwrap_or_default().to_string();
        let decision = if text.contains("kill") { "removed" } else { "kept" };
        Reply::Delay(
            delay,
            Box::new(Reply::Json(
                200,
                json!({"decision": decision, "score": 0.5, "id": body["ref"]}),
            )),
        )
    });

    let tmp = tempfile::tempdir().unwrap();
    let corpus = tmp.path().join("corpus");
    std::fs::create_dir_all(&corpus).unwrap();
    std::fs::write(
        corpus.join("corpus.toml"),
        "name = \"bench\"\nversion = \"1\"\ndescription = \"benchmark\"\nlicense = \"CC0-1.0\"\nlanguages = [\"en\"]\n",
    )
    .unwrap();
    let mut csv = String::from("id,lang,text,label,category,target_group,speaker_group,pair_id,notes\n");
    for i in 0..cases {
        let (text, label) = if i % 7 == 0 {
            (format!("post {i}: kill them all"), "violating")
        } else {
            (format!("an ordinary post number {i} about the weather"), "protected")
        };
        csv.push_str(&format!(
            "b{i:06},en,{text},{label},neutral_mention,group{},,,\n",
            i % 12
        ));
    }
    std::fs::write(corpus.join("cases.csv"), csv).unwrap();
    let scenario = tmp.path().join("bench.toml");
    std::fs::write(
        &scenario,
        format!(
            "name = \"bench\"\ncorpora = [\"corpus\"]\n[target]\nkind = \"http\"\nurl = \"{}/moderate\"\nbody = '{{\"content\": \"{{text}}\", \"ref\": \"{{id}}\"}}'\n\
             headers = {{ Authorization = \"Bearer ${{BENCH_TOKEN}}\" }}\n[target.response]\naction = \"/decision\"\naction_map = {{ removed = \"remove\", kept = \"allow\" }}\nscore = \"/score\"\n\
             [run]\nconcurrency = {concurrency}\ncache_dir = \"cache\"\n",
            server.url
        ),
    )
    .unwrap();

    let cost = measure::measure(
        Command::new(env!("CARGO_BIN_EXE_modaudit"))
            .arg("run")
            .arg(&scenario)
            .arg("--out")
            .arg(tmp.path().join("run"))
            .arg("--quiet")
            .env("BENCH_TOKEN", "bench"),
    );
    assert_eq!(cost.code, 0, "modaudit exited with {}", cost.code);
    let wall = cost.wall;

    let requests = server.requests();
    assert_eq!(requests.len(), cases, "one request per case");
    let first = requests.iter().map(|r| r.at).min().unwrap();
    let last = requests.iter().map(|r| r.at).max().unwrap();
    let sending = (last - first).as_secs_f64() + delay.as_secs_f64();
    let ideal = concurrency as f64 / delay.as_secs_f64();
    let rate = cases as f64 / sending;
    let overall = cases as f64 / wall.as_secs_f64();
    let peak_mib = cost.peak_rss_mib;
    println!("cases                 {cases}");
    println!(
        "concurrency           {concurrency}, server latency {} ms",
        delay.as_millis()
    );
    println!("ideal                 {ideal:.0} requests/s");
    println!(
        "achieved (requests)   {rate:.0} requests/s = {:.1} % of ideal",
        100.0 * rate / ideal
    );
    println!(
        "achieved (end to end) {overall:.0} cases/s including start-up and report ({:.2} s wall)",
        wall.as_secs_f64()
    );
    println!("peak RSS of modaudit  {peak_mib:.1} MiB");
    let mut ok = true;
    if rate < 0.9 * ideal {
        println!("FAIL: below 90 % of the ideal rate");
        ok = false;
    }
    if peak_mib >= 100.0 {
        println!("FAIL: peak memory is 100 MiB or more");
        ok = false;
    }
    if ok {
        println!("PASS");
    } else {
        std::process::exit(1);
    }
}
