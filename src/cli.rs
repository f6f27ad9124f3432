//! The command line: clap definitions and the dispatch to the library.

use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;

use clap::{Args, CommandFactory, Parser, Subcommand};

use crate::corpus::import::{GenericFormat, GenericImport, ImportSummary, parse_label_map};
use crate::corpus::{Taxonomy, load_corpus};
use crate::error::Error;
use crate::exit;
use crate::report::render_terminal;
use crate::report::systems::render_systems_terminal;
use crate::run::{self, Progress, RunObserver, RunRequest, Silent};
use crate::scenario::Plan;
use crate::shard::Shard;
use crate::visible::{for_terminal, json_escaped};

/// The scenario run when `modaudit run` is given none.
pub const DEFAULT_SCENARIO: &str = "scenarios/quickstart.toml";
/// Where runs are written when `--out` is not given.
pub const DEFAULT_REPORTS_DIR: &str = "reports";

#[derive(Debug, Parser)]
#[command(
    name = "modaudit",
    version,
    about = "Audit automated content moderation for over-removal of protected speech.",
    long_about = "Audit automated content moderation: replay multilingual test corpora against a moderation system, \
measure how often it removes protected speech (counter-speech, reclaimed terms, news reporting, dissent …) \
per language and group, test the disparities between groups, and check whether its decisions carry notice \
and a route to appeal.\n\n\
Exit codes: 0 every gate passed · 1 a gate failed · 2 bad input or usage · 3 the run could not complete (or was interrupted)."
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

// Parsed once per process: the size of the largest variant does not matter.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run an audit scenario and write its report (default: scenarios/quickstart.toml).
    Run(RunArgs),
    /// Check a scenario file or a corpus directory without running anything.
    Validate {
        /// A scenario (.toml) or a corpus directory (holding corpus.toml).
        path: PathBuf,
    },
    /// Work with corpora: import, expand templates, coverage and lint.
    #[command(subcommand)]
    Corpus(CorpusCommand),
    /// Check statements of reasons (EU DSA Transparency Database format).
    #[command(subcommand)]
    Statements(StatementsCommand),
    /// Compare two runs of the same cases: what changed from RUN_A to RUN_B,
    /// slice by slice, and which decisions flipped. Exit 0 no regression (or
    /// no --max-regression), 1 a regression, 2 the runs cannot be compared,
    /// 3 a run is incomplete.
    Diff(DiffArgs),
    /// Merge the run directories of every shard of a sharded run (`run
    /// --shard K/N`) into one run: the shards must be of the same scenario,
    /// corpora and target, and cover shards 1 to N once each. The journals are
    /// joined in shard order and every report file is written again, as one
    /// unsharded run would write it. Exit codes as `run`.
    Merge(MergeArgs),
    /// Rebuild every report file of a run from its journal.
    Report {
        /// The run directory.
        run_dir: PathBuf,
        /// The scenario, if it has moved since the run (must be unchanged).
        #[arg(long)]
        scenario: Option<PathBuf>,
        /// Re-analyse a scoring system at this threshold instead: every report
        /// file again, its actions re-derived from the stored scores, without
        /// asking the system (into RUN/threshold-T/ unless --out says otherwise).
        #[arg(long, value_name = "T", allow_negative_numbers = true)]
        threshold: Option<f64>,
        /// Where the re-analysis at --threshold is written (never over a run).
        #[arg(long, value_name = "DIR", requires = "threshold")]
        out: Option<PathBuf>,
    },
    /// Print a shell completion script, e.g. `modaudit completions bash > /etc/bash_completion.d/modaudit`.
    Completions { shell: clap_complete::Shell },
    /// Print the man page (roff), e.g. `modaudit man > modaudit.1`.
    Man,
    /// Print the JSON Schema of a scenario file or of results.json.
    Schema { document: crate::schema::Document },
}

#[derive(Debug, Subcommand)]
pub enum StatementsCommand {
    /// Report missing and invalid fields, field by field; exit 0 when every
    /// statement is complete and valid, 1 when not, 2 when the file cannot be read.
    Check {
        /// CSV (list cells JSON-encoded, as in the database's dumps), JSON or JSON Lines.
        file: PathBuf,
        /// Join the statements to this run's adverse decisions by decision id (`puid`).
        #[arg(long)]
        run: Option<PathBuf>,
        /// Print JSON instead of text.
        #[arg(long)]
        json: bool,
    },
}

#[allow(clippy::large_enum_variant)]
#[derive(Debug, Subcommand)]
pub enum CorpusCommand {
    /// Coverage (language × label × category, target groups, protected
    /// characteristics) and lint (thin cells, single-member families,
    /// near-duplicates, script mismatches, target groups outside the taxonomy
    /// and group names that look alike).
    Stats {
        /// The corpus directory.
        dir: PathBuf,
        /// Flag cells with fewer cases than this.
        #[arg(long, default_value_t = 5)]
        min: usize,
        /// A taxonomy file merged over the bundled one (as a scenario's `[taxonomy] file`).
        #[arg(long, value_name = "FILE")]
        taxonomy: Option<PathBuf>,
        /// Print JSON instead of text.
        #[arg(long)]
        json: bool,
    },
    /// Print the cases the corpus's templates expand to, as CSV.
    Expand {
        dir: PathBuf,
        /// Only this language.
        #[arg(long)]
        lang: Option<String>,
    },
    /// Import a test suite or labelled set as a corpus directory.
    #[command(subcommand)]
    Import(ImportCommand),
    /// Native-speaker review: export sheets and offline forms, import
    /// reviewers' answers, show agreement and disputed cases.
    #[command(subcommand)]
    Review(ReviewCommand),
}

#[derive(Debug, Subcommand)]
pub enum ReviewCommand {
    /// Write one language's cases as a sheet to fill in (CSV), and optionally
    /// an offline HTML form that saves the same sheet.
    Export {
        dir: PathBuf,
        /// The language to review (covers its regional tags: `sw` covers `sw-KE`).
        #[arg(long)]
        lang: String,
        /// Where to write the sheet.
        #[arg(long)]
        out: PathBuf,
        /// Only this many cases, stratified by kind of speech.
        #[arg(long)]
        sample: Option<usize>,
        /// Seed of the order and of the sample.
        #[arg(long, default_value_t = 0)]
        seed: u64,
        /// Also write the offline form here.
        #[arg(long, value_name = "FILE")]
        html: Option<PathBuf>,
        /// Replace existing files (they may hold a reviewer's answers).
        #[arg(long)]
        force: bool,
    },
    /// Record a filled-in sheet as one reviewer's answers in DIR/reviews/REVIEWER.csv.
    Import {
        dir: PathBuf,
        sheet: PathBuf,
        /// The reviewer's id: lower-case letters, digits, `-`, `_`.
        #[arg(long)]
        reviewer: String,
        /// Replace the reviewer's earlier answers for the cases this sheet answers.
        #[arg(long)]
        replace: bool,
        /// The day of the review, YYYY-MM-DD (default: today, UTC).
        #[arg(long)]
        date: Option<chrono::NaiveDate>,
    },
    /// Per language: cases reviewed, agreement with the proposed labels and
    /// between reviewers, disputed cases.
    Status {
        dir: PathBuf,
        /// Print JSON instead of text.
        #[arg(long)]
        json: bool,
        /// Seed of the bootstrap intervals.
        #[arg(long, default_value_t = 0)]
        seed: u64,
    },
}

#[derive(Debug, Subcommand)]
pub enum ImportCommand {
    /// A HateCheck or Multilingual HateCheck CSV file.
    Hatecheck {
        file: PathBuf,
        #[arg(long)]
        out: PathBuf,
        /// Language tag (default: English for HateCheck, from the file name for Multilingual HateCheck).
        #[arg(long)]
        lang: Option<String>,
        /// Corpus name (default from the suite and language).
        #[arg(long)]
        name: Option<String>,
        /// Leave out rows that fail validation (they are listed in the manifest).
        #[arg(long)]
        skip_invalid: bool,
        /// Replace the contents of a non-empty --out.
        #[arg(long)]
        force: bool,
        /// CSV of `local,canonical` rows mapping target groups to the taxonomy.
        #[arg(long, value_name = "FILE")]
        group_map: Option<PathBuf>,
    },
    /// Any labelled CSV file (header row).
    Csv(GenericArgs),
    /// Any labelled JSON Lines file (field names may be JSON pointers).
    Jsonl(GenericArgs),
}

#[derive(Debug, Args)]
pub struct GenericArgs {
    file: PathBuf,
    #[arg(long)]
    out: PathBuf,
    /// Column with the text.
    #[arg(long, default_value = "text")]
    text_column: String,
    /// Column with the label.
    #[arg(long, default_value = "label")]
    label_column: String,
    /// Label values → protected/violating, e.g. `hateful=violating,non-hateful=protected`.
    #[arg(long, value_name = "MAP")]
    label_map: String,
    /// Column with the case id (default: the file name and line).
    #[arg(long)]
    id_column: Option<String>,
    #[arg(long)]
    category_column: Option<String>,
    /// Category of every case when there is no category column.
    #[arg(long, default_value = "imported")]
    category: String,
    #[arg(long)]
    target_column: Option<String>,
    #[arg(long)]
    lang_column: Option<String>,
    /// Language of every case (or of those with an empty language column).
    #[arg(long)]
    lang: Option<String>,
    #[arg(long)]
    name: Option<String>,
    /// Licence of the data, recorded in the manifest.
    #[arg(long, default_value = "unknown")]
    license: String,
    /// Leave out rows with no label or one the map does not name (they are listed in the manifest).
    #[arg(long)]
    skip_unmapped: bool,
    /// Leave out rows that fail validation: no text, a duplicate id … (they are listed in the manifest).
    #[arg(long)]
    skip_invalid: bool,
    #[arg(long)]
    force: bool,
    /// CSV of `local,canonical` rows mapping target groups to the taxonomy.
    #[arg(long, value_name = "FILE")]
    group_map: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct DiffArgs {
    /// The earlier run (the baseline).
    pub run_a: PathBuf,
    /// The later run, compared with RUN_A.
    pub run_b: PathBuf,
    /// Write diff.md, diff.html, diff.json and junit.xml into this directory.
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,
    /// Fail (exit 1) when over-removal rises by more than this share (0.02 =
    /// two percentage points), overall or in a slice with at least the minimum
    /// n, and the rise is significant after correction.
    #[arg(long, value_name = "X", value_parser = share)]
    pub max_regression: Option<f64>,
    /// With --max-regression: judge on point estimates alone, without the significance test.
    #[arg(long, requires = "max_regression")]
    pub strict: bool,
    /// Compare the cases identical in both runs when the corpora differ,
    /// instead of refusing; says how many were left out and why.
    #[arg(long)]
    pub allow_corpus_change: bool,
}

/// A share between 0 and 1.
fn share(value: &str) -> Result<f64, String> {
    match value.parse::<f64>() {
        Ok(x) if (0.0..=1.0).contains(&x) => Ok(x),
        _ => Err(format!(
            "`{value}` is not a share between 0 and 1 (0.02 is two percentage points)"
        )),
    }
}

#[derive(Debug, Args)]
pub struct RunArgs {
    /// The scenario to run. With --resume, defaults to the run's own scenario.
    pub scenario: Option<PathBuf>,
    /// Write the run's files into this directory (default: reports/RUN-ID/).
    /// It must be new or empty, unless --force.
    #[arg(long, conflicts_with = "resume")]
    pub out: Option<PathBuf>,
    /// With --out: write into a directory that holds other files (never one
    /// that holds a run). Files with the names of the run's files are replaced;
    /// no other file is touched.
    #[arg(long, requires = "out")]
    pub force: bool,
    /// Continue the interrupted run in this directory.
    #[arg(long)]
    pub resume: Option<PathBuf>,
    /// With --resume: ask again about cases that ended in error, and file again
    /// the appeals that failed.
    #[arg(long, requires = "resume")]
    pub retry_errors: bool,
    /// Neither read nor write the response cache (every case is asked again).
    #[arg(long)]
    pub no_cache: bool,
    /// Where the response cache lives (default: from the scenario, else ~/.cache/modaudit).
    #[arg(long, value_name = "DIR")]
    pub cache_dir: Option<PathBuf>,
    /// Never draw a progress bar.
    #[arg(long)]
    pub no_progress: bool,
    /// Print nothing but errors.
    #[arg(long, short)]
    pub quiet: bool,
    /// `github`: also append a summary to the file $GITHUB_STEP_SUMMARY names and
    /// print an `::error` annotation per failing gate (the default when that
    /// variable is set); `plain`: neither.
    #[arg(long, value_enum)]
    pub format: Option<RunFormat>,
    /// Decide only shard K of N (1 ≤ K ≤ N): the cases whose id's sha256,
    /// its first 8 bytes read as a big-endian integer, is K − 1 modulo N. The
    /// scenario's rate limits are divided by N. Join the shards' run
    /// directories with `modaudit merge`.
    #[arg(long, value_name = "K/N", conflicts_with = "resume")]
    pub shard: Option<Shard>,
    /// With --shard: this shard's own rate limit, in requests per second,
    /// instead of the scenario's limits divided by N.
    #[arg(long, value_name = "RPS", requires = "shard", value_parser = shard_rate)]
    pub shard_rate: Option<f64>,
}

/// A shard's rate limit: requests per second within the bounds a scenario's are.
fn shard_rate(value: &str) -> Result<f64, String> {
    let (low, high) = crate::scenario::REQUESTS_PER_SECOND_BOUNDS;
    match value.parse::<f64>() {
        Ok(rate) if (low..=high).contains(&rate) => Ok(rate),
        _ => Err(format!(
            "`{value}` is not a rate between {low} and {high} requests per second"
        )),
    }
}

#[derive(Debug, Args)]
pub struct MergeArgs {
    /// The run directories of every shard (`run --shard K/N`) of one sharded run.
    #[arg(required = true, value_name = "DIR")]
    pub shards: Vec<PathBuf>,
    /// The new run directory; it must be new or empty, unless --force.
    #[arg(long, value_name = "OUT")]
    pub out: PathBuf,
    /// Write into a directory that holds other files (never one that holds a run).
    #[arg(long)]
    pub force: bool,
    /// The scenario, if it has moved since the shards ran (must be unchanged).
    #[arg(long)]
    pub scenario: Option<PathBuf>,
    /// Print nothing but errors.
    #[arg(long, short)]
    pub quiet: bool,
}

/// How the end of a run is reported besides the report files.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum RunFormat {
    /// The terminal summary.
    Plain,
    /// The terminal summary, a GitHub Actions step summary and annotations.
    Github,
}

/// The file GitHub Actions reads a step's Markdown summary from.
pub const GITHUB_STEP_SUMMARY: &str = "GITHUB_STEP_SUMMARY";

/// Runs the parsed command; returns the process exit code.
pub fn main_with(cli: Cli) -> ExitCode {
    let result = match cli.command {
        Command::Run(args) => run_command(args),
        Command::Validate { path } => validate_command(&path),
        Command::Corpus(command) => corpus_command(command),
        Command::Statements(StatementsCommand::Check { file, run, json }) => {
            statements_command(&file, run.as_deref(), json)
        }
        Command::Report {
            run_dir,
            scenario,
            threshold,
            out,
        } => report_command(&run_dir, scenario.as_deref(), threshold, out.as_deref()),
        Command::Diff(args) => diff_command(args),
        Command::Merge(args) => merge_command(&args),
        Command::Completions { shell } => print_generated(|out| {
            clap_complete::generate(shell, &mut Cli::command(), "modaudit", out);
            Ok(())
        }),
        Command::Man => print_generated(|out| clap_mangen::Man::new(Cli::command()).render(out)),
        Command::Schema { document } => print_generated(|out| out.write_all(document.schema_json().as_bytes())),
    };
    match result {
        Ok(code) => ExitCode::from(code),
        Err(error) => {
            eprintln!("error: {}", for_terminal(&error.to_string()));
            ExitCode::from(error.exit_code())
        }
    }
}

fn runtime() -> Result<tokio::runtime::Runtime, Error> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(Error::io("tokio runtime"))
}

fn run_command(args: RunArgs) -> Result<u8, Error> {
    let scenario = match (&args.scenario, &args.resume) {
        (Some(s), _) => s.clone(),
        (None, Some(dir)) => run::scenario_of(dir)?,
        (None, None) => {
            let default = PathBuf::from(DEFAULT_SCENARIO);
            if !default.is_file() {
                return Err(Error::RunDir {
                    path: default,
                    message: "no scenario given, and the default quickstart scenario is not here; run from the repository root or name a scenario".into(),
                });
            }
            default
        }
    };
    let plan = Plan::load(&scenario)?;
    print_warnings(&plan);
    let show_progress = !args.no_progress && !args.quiet && std::io::stderr().is_terminal();
    let observer: Arc<dyn RunObserver> = if show_progress {
        Arc::new(Progress::new(true))
    } else {
        Arc::new(Silent)
    };
    let request = RunRequest {
        out: args.out.clone(),
        force: args.force,
        resume: args.resume.clone(),
        retry_errors: args.retry_errors,
        reports_root: PathBuf::from(DEFAULT_REPORTS_DIR),
        no_cache: args.no_cache,
        cache_dir: args.cache_dir.clone(),
        shard: args.shard,
        shard_rate: args.shard_rate,
    };
    let outcome = runtime()?.block_on(run::run_plan(plan, request, observer, Box::pin(interrupted())))?;
    if outcome.execution().interrupted {
        return Err(Error::Interrupted {
            dir: outcome.dir().to_path_buf(),
            pending: outcome.pending(),
        });
    }
    if !args.quiet {
        show(&render_outcome(&outcome));
        if let (Some(shard), run::Outcome::One(one)) = (args.shard, &outcome) {
            show(&format!(
                "This run is shard {shard}: its report covers its {} only. Join every shard's run directory with `modaudit merge`.\n",
                crate::plural::count_of(one.report.totals.cases, "case", "cases")
            ));
        }
    }
    let step_summary = std::env::var_os(GITHUB_STEP_SUMMARY).filter(|v| !v.is_empty());
    let default_format = if step_summary.is_some() {
        RunFormat::Github
    } else {
        RunFormat::Plain
    };
    if args.format.unwrap_or(default_format) == RunFormat::Github {
        let step_summary = step_summary.map(PathBuf::from);
        match &outcome {
            run::Outcome::One(one) => report_to_github(&one.report, &one.dir, step_summary),
            run::Outcome::Several(several) => {
                for target in &several.report.targets {
                    let dir = several.dir.join(run::TARGETS_DIR).join(&target.label);
                    report_to_github(&target.report, &dir, step_summary.clone());
                }
            }
        }
    }
    Ok(outcome.exit_code())
}

/// The terminal summary of a run of one target or of several.
fn render_outcome(outcome: &run::Outcome) -> String {
    match outcome {
        run::Outcome::One(one) => render_terminal(&one.report, &one.dir),
        run::Outcome::Several(several) => render_systems_terminal(&several.report, &several.dir),
    }
}

/// Prints an `::error` workflow command per failing gate and appends the step
/// summary to `step_summary`. A summary that cannot be written is a warning:
/// the run's outcome stays what decides the exit code.
fn report_to_github(report: &crate::report::Report, dir: &Path, step_summary: Option<PathBuf>) {
    use crate::report::{render_annotations, render_step_summary};
    print!("{}", render_annotations(report));
    let Some(path) = step_summary else {
        eprintln!(
            "warning: {GITHUB_STEP_SUMMARY} is not set, so no step summary was written (set it to a file to get one)"
        );
        return;
    };
    let summary = render_step_summary(report, &dir.join("report.md").display().to_string());
    let appended = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(&path)
        .and_then(|mut file| std::io::Write::write_all(&mut file, summary.as_bytes()));
    if let Err(e) = appended {
        eprintln!(
            "warning: could not write the step summary to {}: {e}",
            for_terminal(&path.display().to_string())
        );
    }
}

/// Resolves on the first Ctrl-C (or SIGTERM): the run then cancels what is in
/// flight, keeps every complete decision and ends with exit code 3, saying how
/// to resume. A second one exits at once, with the same code; the journal holds
/// at most a torn last line then, which `--resume` drops.
async fn interrupted() {
    let Ok(mut interrupts) = Interrupts::listen() else {
        return std::future::pending().await;
    };
    interrupts.next().await;
    eprintln!(
        "stopping: cancelling the requests in flight and keeping every decision made (press Ctrl-C again to quit at once)"
    );
    tokio::spawn(async move {
        interrupts.next().await;
        eprintln!("quitting at once; continue the run with `modaudit run --resume`");
        std::process::exit(i32::from(exit::RUN_INCOMPLETE));
    });
}

/// The signals that ask a run to stop: SIGINT (Ctrl-C) and SIGTERM.
#[cfg(unix)]
struct Interrupts {
    interrupt: tokio::signal::unix::Signal,
    terminate: tokio::signal::unix::Signal,
}

#[cfg(unix)]
impl Interrupts {
    fn listen() -> std::io::Result<Self> {
        use tokio::signal::unix::{SignalKind, signal};
        Ok(Interrupts {
            interrupt: signal(SignalKind::interrupt())?,
            terminate: signal(SignalKind::terminate())?,
        })
    }

    async fn next(&mut self) {
        tokio::select! {
            _ = self.interrupt.recv() => {}
            _ = self.terminate.recv() => {}
        }
    }
}

/// The signal that asks a run to stop: Ctrl-C.
#[cfg(not(unix))]
struct Interrupts;

#[cfg(not(unix))]
impl Interrupts {
    fn listen() -> std::io::Result<Self> {
        Ok(Interrupts)
    }

    async fn next(&mut self) {
        if tokio::signal::ctrl_c().await.is_err() {
            std::future::pending::<()>().await;
        }
    }
}

fn validate_command(path: &Path) -> Result<u8, Error> {
    if path.is_dir() {
        let corpus = load_corpus(path)?;
        // a third-party corpus loads whatever its group names: they are warnings
        for flag in crate::corpus::stats::group_flags(&corpus, &Taxonomy::bundled()) {
            eprintln!("warning: {}", for_terminal(&flag.message));
        }
        let languages: Vec<String> = corpus
            .language_counts()
            .iter()
            .map(|(l, n)| format!("{l} {n}"))
            .collect();
        show(&format!(
            "ok: corpus `{}` {} — {} cases ({})\n",
            corpus.manifest.name,
            corpus.manifest.version,
            corpus.cases.len(),
            languages.join(", ")
        ));
    } else {
        let plan = Plan::load(path)?;
        print_warnings(&plan);
        let info = match plan.per_target() {
            None => format!("target: {}", target_description(&plan)?),
            Some(plans) => {
                let mut described = Vec::new();
                for (label, own) in plans {
                    described.push(format!("{label} ({})", target_description(&own)?));
                }
                format!("targets: {}", described.join(", "))
            }
        };
        let variants = plan.cases.iter().filter(|c| c.is_variant()).count();
        let edited = if variants > 0 {
            format!(" ({variants} of them edited variants made by [perturb])")
        } else {
            String::new()
        };
        show(&format!(
            "ok: scenario `{}` — {} cases from {}{edited}, {}\n",
            plan.name,
            plan.cases.len(),
            crate::plural::count_of(plan.corpora.len() as u64, "corpus", "corpora"),
            info
        ));
    }
    Ok(exit::SUCCESS)
}

/// What the target of a plan of one target is, or what it still needs.
fn target_description(plan: &Plan) -> Result<String, Error> {
    match run::build_target(plan) {
        Ok(target) => Ok(target.info().description),
        Err(Error::MissingSecret { variable, .. }) => Ok(format!("(set {variable} before running)")),
        Err(Error::InProcessTarget(target)) => Ok(format!(
            "{} (a system inside a program: run it through the library)",
            target.label
        )),
        Err(e) => Err(e),
    }
}

/// Shows what in a scenario is valid but probably not meant.
fn print_warnings(plan: &Plan) {
    for warning in &plan.warnings {
        eprintln!("warning: {warning}");
    }
}

fn statements_command(file: &Path, run: Option<&Path>, json: bool) -> Result<u8, Error> {
    use crate::statements::{check_statements, render_statements};
    let ids = run.map(run::adverse_decision_ids).transpose()?;
    let report = check_statements(file, ids.as_deref())?;
    if json {
        show_json(&report);
    } else {
        show(&render_statements(&report));
    }
    Ok(if report.valid == report.statements {
        exit::SUCCESS
    } else {
        exit::GATE_FAILED
    })
}

fn corpus_command(command: CorpusCommand) -> Result<u8, Error> {
    use crate::corpus::import::{self, HateCheckImport};
    use crate::corpus::stats::{corpus_stats, render_stats};
    match command {
        CorpusCommand::Stats {
            dir,
            min,
            taxonomy,
            json,
        } => {
            let mut merged = Taxonomy::bundled();
            if let Some(file) = taxonomy {
                merged = merged.merged_with(Taxonomy::load(&file)?);
            }
            let stats = corpus_stats(&load_corpus(&dir)?, min, &merged)?;
            if json {
                show_json(&stats);
            } else {
                show(&render_stats(&stats));
            }
        }
        CorpusCommand::Expand { dir, lang } => {
            let corpus = load_corpus(&dir)?;
            // The output is data (a corpus's cases): exact when piped or
            // redirected, escaped only when a person reads it on a terminal.
            let on_terminal = std::io::stdout().is_terminal();
            let field = |text: &'_ str| {
                if on_terminal {
                    for_terminal(text).into_owned()
                } else {
                    text.to_string()
                }
            };
            let mut writer = csv::Writer::from_writer(std::io::stdout().lock());
            let io = |e: csv::Error| Error::io("stdout")(std::io::Error::other(e));
            writer
                .write_record(["id", "lang", "text", "label", "category", "target_group", "pair_id"])
                .map_err(io)?;
            for case in corpus.cases.iter().filter(|c| c.metadata.contains_key("template")) {
                if lang
                    .as_deref()
                    .is_some_and(|l| !crate::corpus::language_covered_by(&case.lang, l))
                {
                    continue;
                }
                let text = case.text()?;
                writer
                    .write_record(
                        [
                            case.id.as_str(),
                            &case.lang,
                            &text,
                            case.label.as_str(),
                            &case.category,
                            case.target_group.as_deref().unwrap_or_default(),
                            case.pair_id.as_deref().unwrap_or_default(),
                        ]
                        .map(field),
                    )
                    .map_err(io)?;
            }
            writer.flush().map_err(Error::io("stdout"))?;
        }
        CorpusCommand::Import(ImportCommand::Hatecheck {
            file,
            out,
            lang,
            name,
            skip_invalid,
            force,
            group_map,
        }) => {
            let summary = import::import_hatecheck(&HateCheckImport {
                input: file,
                out,
                lang,
                name,
                skip_invalid,
                force,
                group_map,
            })?;
            print_import(&summary);
        }
        CorpusCommand::Review(command) => review_command(command)?,
        CorpusCommand::Import(ImportCommand::Csv(args)) => {
            print_import(&import::import_generic(&generic(args, GenericFormat::Csv)?)?)
        }
        CorpusCommand::Import(ImportCommand::Jsonl(args)) => {
            print_import(&import::import_generic(&generic(args, GenericFormat::Jsonl)?)?)
        }
    }
    Ok(exit::SUCCESS)
}

fn review_command(command: ReviewCommand) -> Result<(), Error> {
    use crate::corpus::review::{ReviewExport, ReviewImport, SheetRequest, export_review, import_reviews};
    use crate::report::review_status::{render_review_status, review_status};
    match command {
        ReviewCommand::Export {
            dir,
            lang,
            out,
            sample,
            seed,
            html,
            force,
        } => {
            let exported = export_review(&ReviewExport {
                dir,
                request: SheetRequest { lang, sample, seed },
                out: out.clone(),
                html: html.clone(),
                force,
            })?;
            let form = html.map_or(String::new(), |h| format!(" and the form {}", h.display()));
            show(&format!(
                "wrote {} of {} cases to {}{form}\n",
                exported.cases,
                exported.language_cases,
                out.display()
            ));
        }
        ReviewCommand::Import {
            dir,
            sheet,
            reviewer,
            replace,
            date,
        } => {
            let summary = import_reviews(&ReviewImport {
                dir,
                sheet,
                reviewer: reviewer.clone(),
                date: date.unwrap_or_else(|| chrono::Utc::now().date_naive()),
                replace,
            })?;
            show(&format!(
                "imported {} by {reviewer} into {} ({} replaced, {} without an answer); {reviewer} has now reviewed {}\n",
                crate::plural::count_of(summary.imported as u64, "review", "reviews"),
                summary.file.display(),
                summary.replaced,
                crate::plural::count_of(summary.unanswered as u64, "row", "rows"),
                crate::plural::count_of(summary.reviewer_total as u64, "case", "cases"),
            ));
        }
        ReviewCommand::Status { dir, json, seed } => {
            let status = review_status(&load_corpus(&dir)?, seed)?;
            if json {
                show_json(&status);
            } else {
                show(&render_review_status(&status));
            }
        }
    }
    Ok(())
}

fn generic(args: GenericArgs, format: GenericFormat) -> Result<GenericImport, Error> {
    let label_map = parse_label_map(&args.label_map).map_err(|m| {
        Error::Invalid(crate::diagnostic::Diagnostics(vec![
            crate::diagnostic::Diagnostic::file(Path::new("--label-map"), m),
        ]))
    })?;
    Ok(GenericImport {
        format,
        input: args.file,
        out: args.out,
        name: args.name,
        license: args.license,
        id_column: args.id_column,
        text_column: args.text_column,
        label_column: args.label_column,
        label_map,
        category_column: args.category_column,
        category: args.category,
        target_column: args.target_column,
        lang_column: args.lang_column,
        lang: args.lang,
        skip_unmapped: args.skip_unmapped,
        skip_invalid: args.skip_invalid,
        force: args.force,
        group_map: args.group_map,
    })
}

fn print_import(summary: &ImportSummary) {
    use crate::corpus::import;
    let mut text = format!(
        "imported `{}`: {} cases ({} protected, {} violating) into {}\n",
        summary.name,
        summary.cases,
        summary.protected,
        summary.violating,
        summary.dir.display()
    );
    let left_out: usize = summary.skipped.iter().map(|s| s.lines.len()).sum();
    if left_out > 0 {
        text.push_str(&format!(
            "left out {} (listed in {} under [[source.skipped]]):\n",
            import::count_rows(left_out),
            summary.dir.join(crate::corpus::MANIFEST_FILE).display()
        ));
        for skipped in &summary.skipped {
            text.push_str(&format!(
                "  {} × {} ({})\n",
                skipped.lines.len(),
                skipped.reason,
                import::line_numbers(&skipped.lines)
            ));
        }
    }
    if !summary.groups_outside_taxonomy.is_empty() {
        let groups: Vec<String> = summary
            .groups_outside_taxonomy
            .iter()
            .map(|(group, n)| format!("{group} ({})", crate::plural::count_of(*n as u64, "case", "cases")))
            .collect();
        text.push_str(&format!(
            "target groups kept as written, not in the taxonomy (map them with --group-map FILE, or name them in a taxonomy file): {}\n",
            groups.join(", ")
        ));
    }
    show(&text);
}

fn diff_command(args: DiffArgs) -> Result<u8, Error> {
    let diff = run::diff_runs(&run::DiffRequest {
        a: args.run_a,
        b: args.run_b,
        allow_corpus_change: args.allow_corpus_change,
        max_regression: args.max_regression,
        strict: args.strict,
    })?;
    if let Some(out) = &args.out {
        run::write_diff(out, &diff)?;
    }
    show(&crate::report::diff::render_terminal(&diff, args.out.as_deref()));
    Ok(diff.exit_code)
}

fn merge_command(args: &MergeArgs) -> Result<u8, Error> {
    let outcome = run::merge_shards(&run::MergeRequest {
        shards: args.shards.clone(),
        out: args.out.clone(),
        force: args.force,
        scenario: args.scenario.clone(),
    })?;
    if !args.quiet {
        show(&render_terminal(&outcome.report, &outcome.dir));
    }
    Ok(outcome.report.outcome.exit_code)
}

fn report_command(
    dir: &Path,
    scenario: Option<&Path>,
    threshold: Option<f64>,
    out: Option<&Path>,
) -> Result<u8, Error> {
    let outcome = match threshold {
        Some(threshold) => run::Outcome::One(Box::new(run::reanalyse_at_threshold(dir, scenario, threshold, out)?)),
        None => run::rebuild(dir, scenario)?,
    };
    show(&render_outcome(&outcome));
    Ok(outcome.exit_code())
}

/// Writes text generated from the command-line definitions (a completion
/// script, the man page) to stdout as it is; a reader that stops early
/// (`| head`) is no error.
fn print_generated(write: impl FnOnce(&mut dyn std::io::Write) -> std::io::Result<()>) -> Result<u8, Error> {
    let mut out = std::io::stdout().lock();
    match write(&mut out).and_then(|()| std::io::Write::flush(&mut out)) {
        Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => Err(Error::io("stdout")(e)),
        _ => Ok(exit::SUCCESS),
    }
}

/// Prints text meant for a person on stdout. Names, categories, scenario names
/// and the audited system's words may carry terminal escape sequences or bidi
/// controls: every such character is shown escaped, never sent as it is.
fn show(text: &str) {
    print!("{}", for_terminal(text));
}

/// Prints a value as pretty JSON on stdout; characters that would act on a
/// terminal are written as `\u` escapes, which keep the value unchanged.
fn show_json(value: &impl serde::Serialize) {
    println!(
        "{}",
        json_escaped(&serde_json::to_string_pretty(value).unwrap_or_default())
    );
}
