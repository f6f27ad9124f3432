//! The command line: clap definitions and the dispatch to the library.

use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;

use clap::{Args, Parser, Subcommand};

use crate::corpus::load_corpus;
use crate::error::Error;
use crate::exit;
use crate::report::render_terminal;
use crate::run::{self, Progress, RunObserver, RunRequest, Silent};
use crate::scenario::Plan;

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
Exit codes: 0 every gate passed · 1 a gate failed · 2 bad input or usage · 3 the run could not complete."
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run an audit scenario and write its report (default: scenarios/quickstart.toml).
    Run(RunArgs),
    /// Check a scenario file or a corpus directory without running anything.
    Validate {
        /// A scenario (.toml) or a corpus directory (holding corpus.toml).
        path: PathBuf,
    },
    /// Rebuild every report file of a run from its journal.
    Report {
        /// The run directory.
        run_dir: PathBuf,
        /// The scenario, if it has moved since the run (must be unchanged).
        #[arg(long)]
        scenario: Option<PathBuf>,
    },
}

#[derive(Debug, Args)]
pub struct RunArgs {
    /// The scenario to run. With --resume, defaults to the run's own scenario.
    pub scenario: Option<PathBuf>,
    /// Write the run's files into this directory (default: reports/<run-id>/).
    #[arg(long, conflicts_with = "resume")]
    pub out: Option<PathBuf>,
    /// Continue the interrupted run in this directory.
    #[arg(long)]
    pub resume: Option<PathBuf>,
    /// With --resume: ask again about cases that ended in error.
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
}

/// Runs the parsed command; returns the process exit code.
pub fn main_with(cli: Cli) -> ExitCode {
    let result = match cli.command {
        Command::Run(args) => run_command(args),
        Command::Validate { path } => validate_command(&path),
        Command::Report { run_dir, scenario } => report_command(&run_dir, scenario.as_deref()),
    };
    match result {
        Ok(code) => ExitCode::from(code),
        Err(error) => {
            eprintln!("error: {error}");
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
    let show_progress = !args.no_progress && !args.quiet && std::io::stderr().is_terminal();
    let observer: Arc<dyn RunObserver> = if show_progress {
        Arc::new(Progress::new(true))
    } else {
        Arc::new(Silent)
    };
    let request = RunRequest {
        out: args.out.clone(),
        resume: args.resume.clone(),
        retry_errors: args.retry_errors,
        reports_root: PathBuf::from(DEFAULT_REPORTS_DIR),
        no_cache: args.no_cache,
        cache_dir: args.cache_dir.clone(),
    };
    let outcome = runtime()?.block_on(run::run(plan, request, observer, Box::pin(interrupted())))?;
    if outcome.execution.interrupted {
        return Err(Error::Interrupted {
            dir: outcome.dir,
            pending: outcome.report.totals.pending,
        });
    }
    if !args.quiet {
        print!("{}", render_terminal(&outcome.report, &outcome.dir));
    }
    Ok(outcome.report.outcome.exit_code)
}

/// Resolves on Ctrl-C (the run then stops starting new cases and saves its work).
async fn interrupted() {
    if tokio::signal::ctrl_c().await.is_err() {
        std::future::pending::<()>().await;
    }
}

fn validate_command(path: &Path) -> Result<u8, Error> {
    if path.is_dir() {
        let corpus = load_corpus(path)?;
        let languages: Vec<String> = corpus
            .language_counts()
            .iter()
            .map(|(l, n)| format!("{l} {n}"))
            .collect();
        println!(
            "ok: corpus `{}` {} — {} cases ({})",
            corpus.manifest.name,
            corpus.manifest.version,
            corpus.cases.len(),
            languages.join(", ")
        );
    } else {
        let plan = Plan::load(path)?;
        let info = match run::build_target(&plan) {
            Ok(target) => target.info().description,
            Err(Error::MissingSecret { variable, .. }) => {
                format!("(set {variable} before running)")
            }
            Err(e) => return Err(e),
        };
        println!(
            "ok: scenario `{}` — {} cases from {}, target: {}",
            plan.name,
            plan.cases.len(),
            crate::report::count_of(plan.corpora.len() as u64, "corpus", "corpora"),
            info
        );
    }
    Ok(exit::SUCCESS)
}

fn report_command(dir: &Path, scenario: Option<&Path>) -> Result<u8, Error> {
    let outcome = run::rebuild_report(dir, scenario)?;
    print!("{}", render_terminal(&outcome.report, &outcome.dir));
    Ok(outcome.report.outcome.exit_code)
}
