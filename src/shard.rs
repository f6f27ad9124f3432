//! Shards: one deterministic part of a scenario's cases, so that an existing
//! scheduler (a CI matrix, a Kubernetes Indexed Job) can spread one audit over
//! several machines, and the parts can be merged into one run afterwards.
//!
//! Shard `k/n` is 1-based: `1 ≤ k ≤ n`. A case belongs to shard
//! `1 + (h mod n)`, where `h` is the first 8 bytes, read as a big-endian
//! unsigned integer, of the sha256 of the case id's UTF-8 bytes. The hash
//! depends on the id alone: the same on every platform, in every version, and
//! whatever the order or the other contents of the corpora.
//!
//! A shard's manifest records which cases it covers as their count and
//! [`case_ids_sha256`]: the sha256 over the ids in byte order, each followed by
//! a NUL byte.

use std::fmt;
use std::path::PathBuf;
use std::str::FromStr;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// One part of `count` parts of a scenario's cases (`index` is 1-based).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Shard {
    index: u32,
    count: u32,
}

/// Why a `k/n` shard specification is not one.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ShardSpecError {
    #[error("`{0}` is not a shard: write k/n, e.g. 1/4 (shards are numbered from 1 to n)")]
    Form(String),
    #[error("shard count must be at least 1, got {0}")]
    NoShards(u32),
    #[error("shard {index}/{count} does not exist: shards are numbered from 1 to {count}")]
    OutOfRange { index: u32, count: u32 },
}

impl Shard {
    /// Shard `index` of `count`, 1-based.
    pub fn new(index: u32, count: u32) -> Result<Shard, ShardSpecError> {
        if count == 0 {
            return Err(ShardSpecError::NoShards(count));
        }
        if index == 0 || index > count {
            return Err(ShardSpecError::OutOfRange { index, count });
        }
        Ok(Shard { index, count })
    }

    /// Which shard, from 1 to [`Shard::count`].
    pub fn index(self) -> u32 {
        self.index
    }

    /// How many shards the cases are split into.
    pub fn count(self) -> u32 {
        self.count
    }

    /// Whether the case with id `case_id` belongs to this shard.
    pub fn contains(self, case_id: &str) -> bool {
        shard_of(case_id, self.count) == self.index
    }
}

impl fmt::Display for Shard {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.index, self.count)
    }
}

impl FromStr for Shard {
    type Err = ShardSpecError;

    fn from_str(text: &str) -> Result<Shard, ShardSpecError> {
        let form = || ShardSpecError::Form(text.to_string());
        let (index, count) = text.split_once('/').ok_or_else(form)?;
        let number = |part: &str| {
            if part.is_empty() || !part.bytes().all(|b| b.is_ascii_digit()) {
                return Err(form());
            }
            part.parse::<u32>().map_err(|_| form())
        };
        Shard::new(number(index)?, number(count)?)
    }
}

/// The shard, from 1 to `count`, that the case with id `case_id` belongs to.
pub fn shard_of(case_id: &str, count: u32) -> u32 {
    let digest = Sha256::digest(case_id.as_bytes());
    let mut first = [0u8; 8];
    first.copy_from_slice(&digest[..8]);
    let position = u64::from_be_bytes(first) % u64::from(count.max(1));
    // the remainder is below `count`, a u32
    position as u32 + 1
}

/// sha256 (hex) over `ids` in byte order, each followed by a NUL byte: the
/// same for the same set of ids, whatever order they come in.
pub fn case_ids_sha256<'a>(ids: impl IntoIterator<Item = &'a str>) -> String {
    let mut sorted: Vec<&str> = ids.into_iter().collect();
    sorted.sort_unstable();
    let mut hasher = Sha256::new();
    for id in sorted {
        hasher.update(id.as_bytes());
        hasher.update([0u8]);
    }
    hex::encode(hasher.finalize())
}

/// Why shards cannot be run or merged as asked.
#[derive(Debug, thiserror::Error)]
pub enum ShardError {
    /// A directory to merge holds a run that is no shard.
    #[error("{}: not a shard (its manifest records no `run --shard k/n`); merge the run directories of every shard of one sharded run", dir.display())]
    NotAShard { dir: PathBuf },
    /// The shards were split into different numbers of parts.
    #[error("{} is shard {first} and {} is shard {other}: shards of one run are split into the same number of parts", first_dir.display(), other_dir.display())]
    OtherCount {
        first_dir: PathBuf,
        first: String,
        other_dir: PathBuf,
        other: String,
    },
    /// A shard was made of other inputs than the first one.
    #[error("{} (shard {shard}) is not of the same {what} as {} (shard {first_shard}): {detail}", dir.display(), first_dir.display())]
    OtherInputs {
        what: &'static str,
        dir: PathBuf,
        shard: String,
        first_dir: PathBuf,
        first_shard: String,
        detail: String,
    },
    /// The same shard is given twice.
    #[error("shard {shard} is given twice: {} and {}", first.display(), second.display())]
    Repeated {
        shard: String,
        first: PathBuf,
        second: PathBuf,
    },
    /// Shards are missing.
    #[error("{}", missing_text(missing, given))]
    Missing { missing: Vec<String>, given: Vec<String> },
    /// A shard's cases are not those its number stands for.
    #[error("{}: shard {shard} covers {recorded} cases (ids sha256 {recorded_sha256}), but shard {shard} of this scenario's cases is {expected} cases (ids sha256 {expected_sha256})", dir.display())]
    OtherCases {
        dir: PathBuf,
        shard: String,
        recorded: u64,
        recorded_sha256: String,
        expected: u64,
        expected_sha256: String,
    },
    /// A shard has not finished.
    #[error("{}: shard {shard} is unfinished ({pending} cases undecided); finish it with `modaudit run --resume {}` before merging", dir.display(), dir.display())]
    Unfinished { dir: PathBuf, shard: String, pending: u64 },
    /// A scenario samples its appeals, which shards cannot do.
    #[error("{}: the [appeal] table samples the appeals (`sample` below 1 or `max_appeals`), and a sample is drawn over the wrongful removals of all cases, which no shard sees; shard without sampling, or run this audit unsharded", scenario.display())]
    SampledAppeals { scenario: PathBuf },
    /// No run directory was given to merge.
    #[error("no shard to merge: name the run directories of every shard")]
    NoneGiven,
    /// The merged run would be written into a shard.
    #[error("{}: is one of the shards; merge into a new directory", out.display())]
    IntoAShard { out: PathBuf },
}

impl ShardError {
    /// The process exit code: an unfinished shard can be finished (3); every
    /// other refusal is bad input (2).
    pub fn exit_code(&self) -> u8 {
        match self {
            ShardError::Unfinished { .. } => crate::exit::RUN_INCOMPLETE,
            _ => crate::exit::BAD_INPUT,
        }
    }
}

fn missing_text(missing: &[String], given: &[String]) -> String {
    let given = if given.is_empty() {
        "none".to_string()
    } else {
        given.join(", ")
    };
    match missing {
        [one] => format!("shard {one} is missing (given: {given}); merge every shard of the run"),
        many => format!(
            "shards {} are missing (given: {given}); merge every shard of the run",
            many.join(", ")
        ),
    }
}

/// Where a run directory stands among shards (`manifest.json` → `sharding`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Sharding {
    /// The run decided one shard of the scenario's cases.
    Shard(ShardRecord),
    /// The run was merged from these shards, in shard order.
    Merged(Vec<MergedShard>),
}

/// What a shard's manifest says about the shard.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ShardRecord {
    /// 1-based.
    pub index: u32,
    pub count: u32,
    /// Cases in the shard.
    pub cases: u64,
    /// [`case_ids_sha256`] of the shard's cases.
    pub case_ids_sha256: String,
    /// The shard's own rate limits: the scenario's divided by `count`, or
    /// what `--shard-rate` set.
    pub requests_per_second: Option<f64>,
    pub requests_per_minute: Option<f64>,
}

impl ShardRecord {
    /// The shard the record describes.
    pub fn shard(&self) -> Result<Shard, ShardSpecError> {
        Shard::new(self.index, self.count)
    }
}

/// One shard a merged run was made of.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MergedShard {
    pub index: u32,
    pub count: u32,
    /// The shard's run id and directory, when it was merged.
    pub run_id: String,
    pub dir: PathBuf,
    pub cases: u64,
    /// sha256 of the part of the shard's journal the merged journal holds.
    pub journal_sha256: String,
    pub started_at: DateTime<Utc>,
    pub finished_at: Option<DateTime<Utc>>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_case_falls_in_the_shard_its_id_hash_names() {
        // Reference values from Python: int.from_bytes(hashlib.sha256(id).digest()[:8], "big") % n + 1
        for (id, expected) in [("en-1", [2, 1, 4, 6, 424]), ("quickstart-42", [1, 3, 3, 2, 995])] {
            let got: Vec<u32> = [2, 3, 4, 7, 1000].iter().map(|&n| shard_of(id, n)).collect();
            assert_eq!(got, expected, "{id}");
        }
        assert_eq!(shard_of("anything", 1), 1);
    }

    #[test]
    fn shards_partition_the_cases() {
        let ids: Vec<String> = (0..500).map(|i| format!("case-{i}")).collect();
        let shards: Vec<Shard> = (1..=4).map(|k| Shard::new(k, 4).unwrap()).collect();
        for id in &ids {
            assert_eq!(shards.iter().filter(|s| s.contains(id)).count(), 1, "{id}");
        }
        for shard in &shards {
            let n = ids.iter().filter(|id| shard.contains(id)).count();
            assert!((90..=160).contains(&n), "{shard}: {n} of 500");
        }
    }

    #[test]
    fn specifications_are_parsed_and_checked() {
        assert_eq!("2/4".parse::<Shard>(), Ok(Shard::new(2, 4).unwrap()));
        assert_eq!("1/1".parse::<Shard>().map(|s| s.to_string()), Ok("1/1".into()));
        for bad in [
            "",
            "4",
            "a/b",
            "/4",
            "1/",
            "+1/4",
            "-1/4",
            "1/4/2",
            " 1/4",
            "1.0/4",
            "99999999999/4",
        ] {
            assert!(matches!(bad.parse::<Shard>(), Err(ShardSpecError::Form(_))), "{bad}");
        }
        assert_eq!("1/0".parse::<Shard>(), Err(ShardSpecError::NoShards(0)));
        assert_eq!(
            "0/4".parse::<Shard>(),
            Err(ShardSpecError::OutOfRange { index: 0, count: 4 })
        );
        assert_eq!(
            "5/4".parse::<Shard>(),
            Err(ShardSpecError::OutOfRange { index: 5, count: 4 })
        );
    }

    #[test]
    fn missing_shards_are_named() {
        let given = vec!["1/4".to_string(), "2/4".to_string(), "4/4".to_string()];
        let one = ShardError::Missing {
            missing: vec!["3/4".into()],
            given: given.clone(),
        };
        assert_eq!(
            one.to_string(),
            "shard 3/4 is missing (given: 1/4, 2/4, 4/4); merge every shard of the run"
        );
        let two = ShardError::Missing {
            missing: vec!["2/3".into(), "3/3".into()],
            given: vec!["1/3".into()],
        };
        assert!(
            two.to_string().starts_with("shards 2/3, 3/3 are missing (given: 1/3)"),
            "{two}"
        );
        assert_eq!(one.exit_code(), crate::exit::BAD_INPUT);
        let unfinished = ShardError::Unfinished {
            dir: "d".into(),
            shard: "1/2".into(),
            pending: 3,
        };
        assert_eq!(unfinished.exit_code(), crate::exit::RUN_INCOMPLETE);
    }

    #[test]
    fn the_case_set_hash_ignores_order() {
        assert_eq!(case_ids_sha256(["b", "a"]), case_ids_sha256(["a", "b"]));
        assert_ne!(case_ids_sha256(["ab"]), case_ids_sha256(["a", "b"]));
        // sha256 of the empty input
        assert_eq!(
            case_ids_sha256([]),
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        );
    }
}
