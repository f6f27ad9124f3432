//! `modaudit-fake-model`: a scriptable stand-in for a local moderation model that
//! speaks modaudit's `command` protocol (JSON Lines over stdin/stdout).
//!
//! Use it to try a scenario's wiring before pointing it at a real model, and to
//! see how modaudit copes with a misbehaving one:
//!
//! ```text
//! modaudit-fake-model --remove-if-contains kill --notice --delay-ms 20
//! modaudit-fake-model --crash-on en-cs-003 --hang-on es-nr-001
//! modaudit-fake-model --spawn-child pids.txt --crash-on en-cs-003
//! ```
//!
//! It removes a case when its text contains one of the `--remove-if-contains`
//! words (case-insensitively) and allows it otherwise. `--spawn-child FILE`
//! starts a child process that idles forever with the model's stdout and stderr
//! (as a model's helper or server process would) and appends the model's and
//! the child's process ids to FILE, one a line. `--reverse` answers the
//! requests that arrive together (read in one go) last first, as a model that
//! batches requests may; answers name their case's id, so order does not matter.
//! `--exit-after N` exits (with status 0) once it has answered N requests, as a
//! model that quits with requests still unread does.
//!
//! Answers are written as the requests come: those to requests that arrived
//! together go out in one write, before the program waits for more.

use std::io::{BufRead, BufReader, BufWriter, Write};
use std::process::{Command, Stdio};
use std::time::Duration;

use serde_json::{Value, json};

#[derive(Default)]
struct Behaviour {
    delay: Duration,
    words: Vec<String>,
    score_only: bool,
    notice: bool,
    crash_on: Vec<String>,
    hang_on: Vec<String>,
    garbage_on: Vec<String>,
    wrong_id_on: Vec<String>,
    unsupported_langs: Vec<String>,
    log: Option<String>,
    spawn_child: Option<String>,
    reverse: bool,
    exit_after: Option<usize>,
}

const USAGE: &str = "usage: modaudit-fake-model [--delay-ms N] [--remove-if-contains WORD]... [--score-only] [--notice]
       [--crash-on ID]... [--hang-on ID]... [--garbage-on ID]... [--wrong-id-on ID]...
       [--unsupported-lang TAG]... [--log FILE] [--spawn-child FILE] [--reverse]
       [--exit-after N]";

/// Bytes of requests read at once.
const INPUT_BUFFER_BYTES: usize = 1 << 16;
/// Bytes of answers written at once.
const OUTPUT_BUFFER_BYTES: usize = 1 << 16;

/// The argument that makes the program idle forever (the child of `--spawn-child`).
const IDLE: &str = "--idle";

fn parse_args() -> Result<Behaviour, String> {
    let mut b = Behaviour::default();
    let mut args = std::env::args().skip(1);
    while let Some(flag) = args.next() {
        let mut value = || args.next().ok_or_else(|| format!("{flag} needs a value\n{USAGE}"));
        match flag.as_str() {
            "--delay-ms" => b.delay = Duration::from_millis(value()?.parse().map_err(|e| format!("--delay-ms: {e}"))?),
            "--remove-if-contains" => b.words.push(value()?.to_lowercase()),
            "--score-only" => b.score_only = true,
            "--notice" => b.notice = true,
            "--crash-on" => b.crash_on.push(value()?),
            "--hang-on" => b.hang_on.push(value()?),
            "--garbage-on" => b.garbage_on.push(value()?),
            "--wrong-id-on" => b.wrong_id_on.push(value()?),
            "--unsupported-lang" => b.unsupported_langs.push(value()?),
            "--log" => b.log = Some(value()?),
            "--spawn-child" => b.spawn_child = Some(value()?),
            "--reverse" => b.reverse = true,
            "--exit-after" => b.exit_after = Some(value()?.parse().map_err(|e| format!("--exit-after: {e}"))?),
            "--help" | "-h" => return Err(USAGE.to_string()),
            other => return Err(format!("unknown argument {other}\n{USAGE}")),
        }
    }
    Ok(b)
}

fn main() {
    if std::env::args().nth(1).as_deref() == Some(IDLE) {
        loop {
            std::thread::sleep(Duration::from_secs(3600));
        }
    }
    let behaviour = match parse_args() {
        Ok(b) => b,
        Err(message) => {
            eprintln!("{message}");
            std::process::exit(2);
        }
    };
    if let Some(path) = &behaviour.spawn_child
        && let Err(e) = spawn_child(path)
    {
        eprintln!("fake model: cannot start a child: {e}");
        std::process::exit(2);
    }
    let mut input = BufReader::with_capacity(INPUT_BUFFER_BYTES, std::io::stdin().lock());
    let mut output = BufWriter::with_capacity(OUTPUT_BUFFER_BYTES, std::io::stdout().lock());
    let mut requests = Vec::new();
    let mut answered = 0;
    loop {
        // Answers go out before the program waits for more requests.
        if input.buffer().is_empty() && output.flush().is_err() {
            break;
        }
        let mut line = String::new();
        match input.read_line(&mut line) {
            Ok(0) | Err(_) => break,
            Ok(_) => {}
        }
        let Ok(request) = serde_json::from_str::<Value>(&line) else {
            eprintln!("fake model: cannot parse request line");
            std::process::exit(2);
        };
        requests.push(request);
        // In reverse, the requests that arrived together are answered together, last first.
        if behaviour.reverse && !input.buffer().is_empty() {
            continue;
        }
        for request in requests.drain(..).rev() {
            if respond(&behaviour, &request, &mut output).is_err() {
                return;
            }
            answered += 1;
            if behaviour.exit_after == Some(answered) {
                let _ = output.flush();
                return;
            }
        }
    }
    let _ = output.flush();
}

/// Answers one request, or misbehaves on it as told.
fn respond(behaviour: &Behaviour, request: &Value, output: &mut impl Write) -> std::io::Result<()> {
    let id = request["id"].as_str().unwrap_or_default().to_string();
    if let Some(mut f) = behaviour
        .log
        .as_ref()
        .and_then(|path| std::fs::OpenOptions::new().create(true).append(true).open(path).ok())
    {
        // one write per record: copies of the model append to the same file
        let _ = f.write_all(format!("{id}\n").as_bytes());
    }
    if behaviour.crash_on.contains(&id) {
        let _ = output.flush();
        eprintln!("fake model: simulated crash on {id}");
        std::process::exit(3);
    }
    if behaviour.hang_on.contains(&id) {
        output.flush()?;
        std::thread::sleep(Duration::from_secs(3600));
    }
    if !behaviour.delay.is_zero() {
        output.flush()?;
        std::thread::sleep(behaviour.delay);
    }
    if behaviour.garbage_on.contains(&id) {
        writeln!(output, "this is not json")
    } else {
        writeln!(output, "{}", answer(behaviour, request, &id))
    }
}

/// Starts a copy of this program that idles holding our stdout and stderr, and
/// records both process ids in `path`.
fn spawn_child(path: &str) -> std::io::Result<()> {
    let child = Command::new(std::env::current_exe()?)
        .arg(IDLE)
        .stdin(Stdio::null())
        .spawn()?;
    let mut file = std::fs::OpenOptions::new().create(true).append(true).open(path)?;
    // one write, so that the records of model copies never interleave
    file.write_all(format!("{}\n{}\n", std::process::id(), child.id()).as_bytes())
}

fn answer(b: &Behaviour, request: &Value, id: &str) -> Value {
    let lang = request["lang"].as_str().unwrap_or_default();
    let answered_id = if b.wrong_id_on.iter().any(|w| w == id) {
        "not-the-right-id"
    } else {
        id
    };
    if b.unsupported_langs.iter().any(|l| l == lang) {
        return json!({ "id": answered_id, "action": "unsupported", "reason": format!("language {lang} is not supported") });
    }
    let text = request["text"].as_str().unwrap_or_default().to_lowercase();
    let matched = b.words.iter().find(|w| text.contains(w.as_str()));
    let mut out = json!({ "id": answered_id });
    if b.score_only {
        out["score"] = json!(if matched.is_some() { 0.9 } else { 0.1 });
    } else {
        out["action"] = json!(if matched.is_some() { "remove" } else { "allow" });
    }
    if let (true, Some(word)) = (b.notice, matched) {
        out["decision_id"] = json!(format!("dec-{id}"));
        out["reason"] = json!(format!("contains \"{word}\""));
        out["rule"] = json!("community-standards/hate-speech");
        out["automated"] = json!(true);
        out["appeal_url"] = json!(format!("https://appeals.example/{id}"));
    }
    out
}
