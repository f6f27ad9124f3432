//! Sharded runs and their merge.
//!
//! `run --shard k/n` narrows the plan to the cases of shard `k` (see
//! [`crate::shard`]) and shares the scenario's rate limits between the `n`
//! shards, unless `--shard-rate` sets this shard's own; the manifest records
//! both, so a resumed or re-reported shard is the same shard.
//!
//! [`merge_shards`] joins the run directories of every shard of one sharded
//! run into a new run directory: it refuses shards of different scenarios,
//! corpora, taxonomies or targets, a missing or repeated shard, a shard whose
//! cases are not the ones its number stands for, and an unfinished shard; then
//! it concatenates the journals in shard order (1 to n) and writes every
//! report file again from the merged journal, as one unsharded run would.

use std::collections::BTreeMap;
use std::io::{BufWriter, Read, Write};
use std::path::{Path, PathBuf};

use chrono::Utc;
use sha2::{Digest, Sha256};

use super::{
    Execution, KnownCases, RunDir, RunOutcome, check_same_run, index_journal, new_manifest, read_manifest,
    target_info_offline, write_report,
};
use crate::error::Error;
use crate::journal::{JOURNAL_FILE, scan_journal};
use crate::manifest::{RateLimiting, RunManifest};
use crate::scenario::Plan;
use crate::shard::{MergedShard, Shard, ShardError, ShardRecord, Sharding, case_ids_sha256};

/// What a new shard of `plan` records: its cases, and its rate limits — the
/// scenario's divided by the number of shards, or `rate` requests per second
/// when given. Refuses a scenario whose appeals are sampled.
pub fn shard_record(plan: &Plan, shard: Shard, rate: Option<f64>) -> Result<ShardRecord, Error> {
    if plan
        .appeal
        .as_ref()
        .is_some_and(|a| a.sample < 1.0 || a.max_appeals.is_some())
    {
        return Err(ShardError::SampledAppeals {
            scenario: plan.scenario.path.clone(),
        }
        .into());
    }
    let ids: Vec<&str> = plan
        .cases
        .iter()
        .map(|c| c.id.as_str())
        .filter(|id| shard.contains(id))
        .collect();
    let divided = |limit: Option<f64>| limit.map(|l| l / f64::from(shard.count()));
    let (requests_per_second, requests_per_minute) = match rate {
        Some(rate) => (Some(rate), None),
        None => (
            divided(plan.run.requests_per_second),
            divided(plan.run.requests_per_minute),
        ),
    };
    Ok(ShardRecord {
        index: shard.index(),
        count: shard.count(),
        cases: ids.len() as u64,
        case_ids_sha256: case_ids_sha256(ids),
        requests_per_second,
        requests_per_minute,
    })
}

/// Narrows `plan` to the shard `manifest` records, if it records one: its
/// cases and its rate limits. A shard whose cases are no longer those the
/// manifest records is refused.
pub(super) fn narrow_to_shard(plan: &mut Plan, manifest: &RunManifest, dir: &Path) -> Result<(), Error> {
    let Some(Sharding::Shard(record)) = &manifest.sharding else {
        return Ok(());
    };
    let shard = record.shard().map_err(|e| Error::RunDir {
        path: dir.to_path_buf(),
        message: format!("its manifest records {e}"),
    })?;
    plan.cases.retain(|c| shard.contains(&c.id));
    plan.run.requests_per_second = record.requests_per_second;
    plan.run.requests_per_minute = record.requests_per_minute;
    let ids: Vec<&str> = plan.cases.iter().map(|c| c.id.as_str()).collect();
    check_cases(&ids, record, shard, dir)?;
    Ok(())
}

/// Refuses a shard whose recorded cases are not `ids`, the ids of the
/// scenario's cases in the shard.
fn check_cases(ids: &[&str], record: &ShardRecord, shard: Shard, dir: &Path) -> Result<(), Error> {
    let expected_sha256 = case_ids_sha256(ids.iter().copied());
    let expected = ids.len() as u64;
    if expected == record.cases && expected_sha256 == record.case_ids_sha256 {
        return Ok(());
    }
    Err(ShardError::OtherCases {
        dir: dir.to_path_buf(),
        shard: shard.to_string(),
        recorded: record.cases,
        recorded_sha256: record.case_ids_sha256.clone(),
        expected,
        expected_sha256,
    }
    .into())
}

/// What to merge, and where.
#[derive(Debug, Clone)]
pub struct MergeRequest {
    /// The run directories of every shard, in any order.
    pub shards: Vec<PathBuf>,
    /// The new run directory.
    pub out: PathBuf,
    /// With `out`: write into a directory that holds other files (never a run).
    pub force: bool,
    /// The scenario, if it has moved since the shards ran (must be unchanged).
    pub scenario: Option<PathBuf>,
}

/// A shard found among the directories to merge.
struct GivenShard {
    dir: PathBuf,
    manifest: RunManifest,
    record: ShardRecord,
    shard: Shard,
}

/// Merges the shards of one sharded run into a new run directory whose
/// journal holds every shard's records, in shard order, and whose report
/// files are those of one unsharded run of the same cases.
pub fn merge_shards(request: &MergeRequest) -> Result<RunOutcome, Error> {
    let given = read_shards(&request.shards)?;
    check_same_inputs(&given)?;
    let ordered = check_coverage(given)?;
    let first = ordered.first().ok_or(ShardError::NoneGiven)?;
    let scenario = request
        .scenario
        .clone()
        .unwrap_or_else(|| first.manifest.scenario.path.clone());
    let plan = Plan::load(&scenario)?;
    let Some(spec) = plan.target() else {
        return Err(super::several_targets(&scenario, "shards are runs of one target"));
    };
    let info = target_info_offline(&plan, spec)?;
    for given in &ordered {
        check_same_run(&given.manifest, &plan, info.as_ref(), &given.dir)?;
    }
    let out = std::path::absolute(&request.out).unwrap_or_else(|_| request.out.clone());
    for given in &ordered {
        let dir = std::path::absolute(&given.dir).unwrap_or_else(|_| given.dir.clone());
        if dir == out {
            return Err(ShardError::IntoAShard {
                out: request.out.clone(),
            }
            .into());
        }
    }
    // Held until the merge is written: no shard changes meanwhile.
    let mut locks = Vec::with_capacity(ordered.len());
    let mut journal_lengths = Vec::with_capacity(ordered.len());
    for given in &ordered {
        locks.push(RunDir::open(&given.dir)?);
        journal_lengths.push(check_shard_journal(&plan, given)?);
    }
    let dir = RunDir::create(&request.out, request.force)?;
    let journal_path = dir.path().join(JOURNAL_FILE);
    let journal_hashes = concatenate_journals(&ordered, &journal_lengths, &journal_path)?;

    let now = Utc::now();
    let run_id = request
        .out
        .file_name()
        .map_or_else(|| super::run_id(&plan.name, now), |n| n.to_string_lossy().into_owned());
    let mut manifest = new_manifest(&plan, &first.manifest.target, first.manifest.score_rule, run_id, now)?;
    manifest.started_at = ordered.iter().map(|g| g.manifest.started_at).min().unwrap_or(now);
    manifest.finished_at = ordered.iter().filter_map(|g| g.manifest.finished_at).max();
    manifest.rate_limiting = ordered
        .iter()
        .filter_map(|g| g.manifest.rate_limiting)
        .reduce(RateLimiting::merge);
    manifest.sharding = Some(Sharding::Merged(
        ordered
            .iter()
            .zip(journal_hashes)
            .map(|(given, journal_sha256)| MergedShard {
                index: given.shard.index(),
                count: given.shard.count(),
                run_id: given.manifest.run_id.clone(),
                dir: std::path::absolute(&given.dir).unwrap_or_else(|_| given.dir.clone()),
                cases: given.record.cases,
                journal_sha256,
                started_at: given.manifest.started_at,
                finished_at: given.manifest.finished_at,
            })
            .collect(),
    ));
    let report = write_report(&dir, &plan, &mut manifest, false)?;
    drop(locks);
    let decided = report.totals.cases - report.totals.pending;
    Ok(RunOutcome {
        dir: dir.path().to_path_buf(),
        report,
        execution: Execution {
            decided,
            interrupted: false,
            rate_limiting: manifest.rate_limiting.unwrap_or_default(),
        },
    })
}

/// The manifests of the directories to merge, each a shard.
fn read_shards(dirs: &[PathBuf]) -> Result<Vec<GivenShard>, Error> {
    dirs.iter()
        .map(|dir| {
            let manifest = read_manifest(dir)?;
            let Some(Sharding::Shard(record)) = manifest.sharding.clone() else {
                return Err(ShardError::NotAShard { dir: dir.clone() }.into());
            };
            let shard = record.shard().map_err(|e| Error::RunDir {
                path: dir.clone(),
                message: format!("its manifest records {e}"),
            })?;
            Ok(GivenShard {
                dir: dir.clone(),
                manifest,
                record,
                shard,
            })
        })
        .collect()
}

/// Refuses shards that differ from the first in their count, scenario,
/// corpora, taxonomy or target.
fn check_same_inputs(given: &[GivenShard]) -> Result<(), Error> {
    let Some(first) = given.first() else {
        return Ok(());
    };
    // each corpus's name and version, then its files and their hashes
    let corpora = |m: &RunManifest| -> Vec<String> {
        m.corpora
            .iter()
            .flat_map(|c| {
                std::iter::once(format!("{}\0{}", c.name, c.version))
                    .chain(c.files.iter().map(|f| format!("{}\0{}", f.path, f.sha256)))
            })
            .collect()
    };
    for other in &given[1..] {
        if other.shard.count() != first.shard.count() {
            return Err(ShardError::OtherCount {
                first_dir: first.dir.clone(),
                first: first.shard.to_string(),
                other_dir: other.dir.clone(),
                other: other.shard.to_string(),
            }
            .into());
        }
        let (a, b) = (&first.manifest, &other.manifest);
        let differs = |what: &'static str, detail: String| -> Error {
            ShardError::OtherInputs {
                what,
                dir: other.dir.clone(),
                shard: other.shard.to_string(),
                first_dir: first.dir.clone(),
                first_shard: first.shard.to_string(),
                detail,
            }
            .into()
        };
        if a.scenario.sha256 != b.scenario.sha256 {
            return Err(differs(
                "scenario",
                format!(
                    "scenario `{}` sha256 {} against `{}` sha256 {}",
                    b.scenario.name, b.scenario.sha256, a.scenario.name, a.scenario.sha256
                ),
            ));
        }
        if corpora(a) != corpora(b) {
            let names = |m: &RunManifest| -> String {
                m.corpora
                    .iter()
                    .map(|c| format!("`{}` {}", c.name, c.version))
                    .collect::<Vec<_>>()
                    .join(", ")
            };
            return Err(differs(
                "corpora",
                format!("their corpus files differ ({} against {})", names(b), names(a)),
            ));
        }
        if a.taxonomy.as_ref().map(|t| &t.sha256) != b.taxonomy.as_ref().map(|t| &t.sha256) {
            return Err(differs("taxonomy", "their taxonomy files differ".into()));
        }
        if a.target.fingerprint != b.target.fingerprint {
            return Err(differs(
                "target",
                format!(
                    "target `{}` (fingerprint {}) against `{}` (fingerprint {})",
                    b.target.description, b.target.fingerprint, a.target.description, a.target.fingerprint
                ),
            ));
        }
    }
    Ok(())
}

/// The shards in order 1 to n, once each of them is given exactly once.
fn check_coverage(given: Vec<GivenShard>) -> Result<Vec<GivenShard>, Error> {
    let count = given.first().map_or(0, |g| g.shard.count());
    let mut by_index: BTreeMap<u32, GivenShard> = BTreeMap::new();
    for shard in given {
        if let Some(first) = by_index.get(&shard.shard.index()) {
            return Err(ShardError::Repeated {
                shard: shard.shard.to_string(),
                first: first.dir.clone(),
                second: shard.dir,
            }
            .into());
        }
        by_index.insert(shard.shard.index(), shard);
    }
    let missing: Vec<String> = (1..=count)
        .filter(|k| !by_index.contains_key(k))
        .map(|k| format!("{k}/{count}"))
        .collect();
    if !missing.is_empty() {
        return Err(ShardError::Missing {
            missing,
            given: by_index.values().map(|g| g.shard.to_string()).collect(),
        }
        .into());
    }
    Ok(by_index.into_values().collect())
}

/// Checks that a shard covers the cases its number stands for, that its
/// journal holds records of those cases only, and that it has finished;
/// returns the length of the journal's complete records.
fn check_shard_journal(plan: &Plan, given: &GivenShard) -> Result<u64, Error> {
    let ids: Vec<&str> = plan
        .cases
        .iter()
        .map(|c| c.id.as_str())
        .filter(|id| given.shard.contains(id))
        .collect();
    check_cases(&ids, &given.record, given.shard, &given.dir)?;
    let known: KnownCases = plan
        .cases
        .iter()
        .map(|c| c.id)
        .filter(|id| given.shard.contains(id))
        .collect();
    let journal = given.dir.join(JOURNAL_FILE);
    let (decisions, _) = index_journal(&journal, &known)?;
    let pending = ids.iter().filter(|id| !decisions.contains_key(**id)).count() as u64;
    if pending > 0 || given.manifest.finished_at.is_none() {
        return Err(ShardError::Unfinished {
            dir: given.dir.clone(),
            shard: given.shard.to_string(),
            pending,
        }
        .into());
    }
    if !journal.exists() {
        return Ok(0);
    }
    let scan = scan_journal(&journal, |_, _| Ok(()))?;
    Ok(scan.valid_len)
}

/// Writes the complete records of every shard's journal, in shard order,
/// into `out`; returns the sha256 of each shard's part.
fn concatenate_journals(ordered: &[GivenShard], lengths: &[u64], out: &Path) -> Result<Vec<String>, Error> {
    let file = std::fs::File::create(out).map_err(Error::io(out))?;
    let mut writer = BufWriter::with_capacity(1 << 16, file);
    let mut hashes = Vec::with_capacity(ordered.len());
    for (given, &length) in ordered.iter().zip(lengths) {
        let path = given.dir.join(JOURNAL_FILE);
        let mut hasher = Sha256::new();
        if length > 0 {
            let mut reader = std::fs::File::open(&path).map_err(Error::io(&path))?.take(length);
            let mut buffer = vec![0u8; 1 << 16];
            loop {
                let read = reader.read(&mut buffer).map_err(Error::io(&path))?;
                if read == 0 {
                    break;
                }
                hasher.update(&buffer[..read]);
                writer.write_all(&buffer[..read]).map_err(Error::io(out))?;
            }
        }
        hashes.push(hex::encode(hasher.finalize()));
    }
    let file = writer.into_inner().map_err(|e| Error::io(out)(e.into_error()))?;
    file.sync_all().map_err(Error::io(out))?;
    Ok(hashes)
}
