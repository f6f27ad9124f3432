//! The journal: an append-only JSON Lines log of every decision of a run.
//!
//! One complete record per line. Records are group-committed: a batch of
//! records (all the decisions that arrived while the previous batch was being
//! written) goes out in a single `write`, fsynced at intervals and when the run
//! ends; a record that must be durable before the program acts on it (an
//! appeal intent) is appended alone and synced. A run killed mid-write leaves
//! the batch's complete lines and at most a torn last line, which
//! [`read_journal`] detects and [`Journal::open`] cuts off before appending
//! again. The journal is the run's
//! evidence log: reports are always rebuilt from it.

pub mod appeal;

use std::fs::{File, OpenOptions};
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};

use crate::decision::DecisionRecord;
use crate::diagnostic::{Diagnostic, Diagnostics};
use appeal::{AppealFiled, AppealIntent, AppealOutcome};

/// The journal's file name inside a run directory.
pub const JOURNAL_FILE: &str = "journal.jsonl";

/// How every decision line the journal writes begins: the record's tag first,
/// as serde writes an internally tagged enum.
const DECISION_LINE_START: &[u8] = b"{\"record\":\"decision\",";

/// Fsync after this many records…
const SYNC_EVERY_RECORDS: usize = 256;
/// …or after this long, whichever comes first.
const SYNC_EVERY: Duration = Duration::from_secs(1);

/// One line of the journal.
// A record lives only while its line is read or written: boxing the decision
// would cost an allocation per line and save no memory that is kept.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "record", rename_all = "snake_case")]
pub enum Record {
    Decision(DecisionRecord),
    AppealIntent(AppealIntent),
    AppealFiled(AppealFiled),
    AppealOutcome(AppealOutcome),
}

impl Record {
    /// The case the record is about.
    pub fn case_id(&self) -> &str {
        match self {
            Record::Decision(r) => &r.case_id,
            Record::AppealIntent(r) => &r.case_id,
            Record::AppealFiled(r) => &r.case_id,
            Record::AppealOutcome(r) => &r.case_id,
        }
    }
}

/// An open journal, positioned at its end.
pub struct Journal {
    file: File,
    path: PathBuf,
    unsynced: usize,
    last_sync: Instant,
    /// The lines of the batch being written, kept to be reused.
    buffer: Vec<u8>,
}

/// What a scan of a journal found, besides its records.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct JournalScan {
    /// Valid records.
    pub records: u64,
    /// Length in bytes of the complete, valid records.
    pub valid_len: u64,
    /// A last line that was cut off by a crash (dropped).
    pub torn_tail: bool,
}

impl Journal {
    /// Opens (creating if needed) the journal for appending, cutting off a torn last line.
    pub fn open(path: &Path) -> io::Result<(Journal, JournalScan)> {
        let contents = if path.exists() {
            scan_journal(path, |_, _| Ok(())).map_err(|d| io::Error::new(io::ErrorKind::InvalidData, d.to_string()))?
        } else {
            JournalScan::default()
        };
        let file = OpenOptions::new()
            .create(true)
            .read(true)
            .write(true)
            .truncate(false)
            .open(path)?;
        if contents.torn_tail {
            file.set_len(contents.valid_len)?;
            file.sync_all()?;
        }
        let mut journal = Journal {
            file,
            path: path.to_path_buf(),
            unsynced: 0,
            last_sync: Instant::now(),
            buffer: Vec::new(),
        };
        journal.seek_end()?;
        Ok((journal, contents))
    }

    fn seek_end(&mut self) -> io::Result<()> {
        use std::io::Seek;
        self.file.seek(io::SeekFrom::End(0)).map(|_| ())
    }

    /// Appends one record as one line; fsynced at intervals.
    pub fn append(&mut self, record: &Record) -> io::Result<()> {
        self.append_all(std::slice::from_ref(record))
    }

    /// Appends records, one line each, in a single `write`; fsynced at
    /// intervals (every 256 records or every second, whichever comes first).
    pub fn append_all(&mut self, records: &[Record]) -> io::Result<()> {
        if records.is_empty() {
            return Ok(());
        }
        self.buffer.clear();
        for record in records {
            serde_json::to_writer(&mut self.buffer, record).map_err(io::Error::other)?;
            self.buffer.push(b'\n');
        }
        self.file.write_all(&self.buffer)?;
        self.unsynced += records.len();
        if self.unsynced >= SYNC_EVERY_RECORDS || self.last_sync.elapsed() >= SYNC_EVERY {
            self.sync()?;
        }
        Ok(())
    }

    /// Forces every appended record to disk.
    pub fn sync(&mut self) -> io::Result<()> {
        self.file.sync_data()?;
        self.unsynced = 0;
        self.last_sync = Instant::now();
        Ok(())
    }

    pub fn path(&self) -> &Path {
        &self.path
    }
}

/// Reads a journal record by record, handing each valid one (with its 1-based
/// line) to `visit`, so memory stays flat however long the journal. A torn
/// (incomplete or unreadable) last line is reported in the scan; an unreadable
/// line anywhere else is an error naming it.
pub fn scan_journal(
    path: &Path,
    mut visit: impl FnMut(u64, Record) -> Result<(), Diagnostics>,
) -> Result<JournalScan, Diagnostics> {
    use std::io::BufRead;
    let cannot = |e: io::Error| Diagnostics(vec![Diagnostic::file(path, format!("cannot read the journal: {e}"))]);
    let file = File::open(path).map_err(cannot)?;
    let mut reader = io::BufReader::with_capacity(1 << 16, file);
    let mut scan = JournalScan::default();
    let mut line = Vec::new();
    let mut line_number = 0u64;
    loop {
        line.clear();
        let read = reader.read_until(b'\n', &mut line).map_err(cannot)?;
        if read == 0 {
            break;
        }
        line_number += 1;
        if line.last() != Some(&b'\n') {
            scan.torn_tail = true;
            break;
        }
        let is_last = reader.fill_buf().map_err(cannot)?.is_empty();
        let body = line.len() - 1;
        match decode_record(&mut line[..body]) {
            Ok(record) => visit(line_number, record)?,
            Err(_) if is_last => {
                scan.torn_tail = true;
                break;
            }
            Err(e) => {
                return Err(Diagnostics(vec![Diagnostic::at_line(
                    path,
                    line_number,
                    format!("not a valid journal record ({e}); the journal is damaged"),
                )]));
            }
        }
        scan.records += 1;
        scan.valid_len += read as u64;
    }
    Ok(scan)
}

/// Decodes one journal line (without its newline).
///
/// A tagged enum is decoded by buffering the whole record into serde's
/// intermediate form first, which costs as much as the decoding itself. A
/// decision line — nearly every line — begins with its tag, so it is decoded
/// straight into a [`DecisionRecord`]: the tag's `,` is turned into the `{` that opens
/// the remaining fields for the duration of the decode, then put back. Any other
/// line, and any decision line the direct decode refuses, goes the general way,
/// so the records read and every error message stay those of [`Record`].
fn decode_record(line: &mut [u8]) -> serde_json::Result<Record> {
    if line.starts_with(DECISION_LINE_START) {
        let fields = DECISION_LINE_START.len() - 1;
        line[fields] = b'{';
        let decision = serde_json::from_slice::<DecisionRecord>(&line[fields..]);
        line[fields] = b',';
        if let Ok(decision) = decision {
            return Ok(Record::Decision(decision));
        }
    }
    serde_json::from_slice::<Record>(line)
}

/// Every record of a journal, in order (for small journals and tests).
pub fn read_journal(path: &Path) -> Result<(Vec<(u64, Record)>, JournalScan), Diagnostics> {
    let mut records = Vec::new();
    let scan = scan_journal(path, |line, record| {
        records.push((line, record));
        Ok(())
    })?;
    Ok((records, scan))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::decision::{Action, Decision, DecisionDetails, OptionalScore};

    fn decision(id: &str) -> Record {
        Record::Decision(DecisionRecord {
            case_id: id.into(),
            decision: Decision {
                action: Action::Allow,
                score: OptionalScore::NONE,
                latency_ms: 1,
                attempts: 1,
                cache_hit: false,
                details: None,
            },
            decided_at: chrono::DateTime::from_timestamp(0, 0).unwrap(),
            response_sha256: None,
            response: None,
        })
    }

    #[test]
    fn torn_last_line_is_dropped_and_cut_before_appending() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(JOURNAL_FILE);
        {
            let (mut j, _) = Journal::open(&path).unwrap();
            j.append(&decision("a")).unwrap();
            j.append(&decision("b")).unwrap();
        }
        let mut bytes = std::fs::read(&path).unwrap();
        let good = bytes.len();
        bytes.extend_from_slice(b"{\"record\":\"decision\",\"case_id\":\"c\",\"act");
        std::fs::write(&path, &bytes).unwrap();

        let (records, scan) = read_journal(&path).unwrap();
        assert_eq!(records.len(), 2);
        assert!(scan.torn_tail);
        assert_eq!(scan.valid_len, good as u64);

        let (mut j, scan) = Journal::open(&path).unwrap();
        assert_eq!(scan.records, 2);
        j.append(&decision("c")).unwrap();
        drop(j);
        let (records, scan) = read_journal(&path).unwrap();
        assert!(!scan.torn_tail);
        let records: Vec<Record> = records.into_iter().map(|(_, r)| r).collect();
        assert_eq!(records, vec![decision("a"), decision("b"), decision("c")]);
    }

    #[test]
    fn a_batch_cut_anywhere_resumes_with_each_record_exactly_once() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(JOURNAL_FILE);
        let batch: Vec<Record> = ["a", "b", "c", "d"].into_iter().map(decision).collect();
        {
            let (mut j, _) = Journal::open(&path).unwrap();
            j.append(&decision("before")).unwrap();
            j.append_all(&batch).unwrap();
        }
        let whole = std::fs::read(&path).unwrap();
        let batch_start = whole.iter().position(|&b| b == b'\n').unwrap() + 1;
        for cut in batch_start..=whole.len() {
            std::fs::write(&path, &whole[..cut]).unwrap();
            let (mut j, scan) = Journal::open(&path).unwrap();
            let kept = scan.records as usize - 1;
            assert_eq!(kept, whole[batch_start..cut].iter().filter(|&&b| b == b'\n').count());
            // Resume: the cases whose lines were lost are decided again.
            j.append_all(&batch[kept..]).unwrap();
            drop(j);
            let (records, scan) = read_journal(&path).unwrap();
            assert!(!scan.torn_tail, "cut at {cut}");
            let records: Vec<Record> = records.into_iter().map(|(_, r)| r).collect();
            let mut expected = vec![decision("before")];
            expected.extend(batch.iter().cloned());
            assert_eq!(records, expected, "cut at {cut}");
        }
    }

    #[test]
    fn every_record_kind_decodes_as_the_tagged_enum_does() {
        let mut full = match decision("full") {
            Record::Decision(d) => d,
            _ => unreachable!(),
        };
        full.decision.action = Action::Remove;
        full.decision.score = Some(0.75).into();
        full.decision.details = DecisionDetails {
            scores: [("toxicity".to_string(), 0.75)].into(),
            detail: Some("matched \"kill\"".into()),
            model: Some("m-1".into()),
            ..DecisionDetails::default()
        }
        .boxed();
        full.response_sha256 = Some("ab".repeat(32).parse().unwrap());
        full.decision.cache_hit = true;
        full.response = Some(serde_json::json!({"nested": {"record": "appeal_intent"}, "list": [1, 2.5, null]}));
        let mut line = serde_json::to_vec(&Record::Decision(full.clone())).unwrap();
        assert!(line.starts_with(DECISION_LINE_START), "the tag is written first");
        let original = line.clone();
        // The response is written, and skipped when the line is read back.
        let read = decode_record(&mut line).unwrap();
        full.response = None;
        assert_eq!(read, Record::Decision(full));
        assert_eq!(line, original, "the line is left as it was");

        // A decision line the direct decode refuses gets the tagged decode's verdict.
        let mut bad = br#"{"record":"decision","case_id":"x","action":"nonsense"}"#.to_vec();
        let expected = serde_json::from_slice::<Record>(&bad).unwrap_err().to_string();
        assert_eq!(decode_record(&mut bad).unwrap_err().to_string(), expected);

        // Other kinds, and a decision whose tag is not first, go the general way.
        let intent = Record::AppealIntent(AppealIntent {
            case_id: "z".into(),
            idempotency_key: "k".into(),
            at: chrono::DateTime::from_timestamp(0, 0).unwrap(),
        });
        let mut line = serde_json::to_vec(&intent).unwrap();
        assert_eq!(decode_record(&mut line).unwrap(), intent);
        let mut moved = br#"{"case_id":"y","record":"decision","action":"allow","latency_ms":1,"attempts":1,"decided_at":"1970-01-01T00:00:00Z"}"#.to_vec();
        let expected = serde_json::from_slice::<Record>(&moved).unwrap();
        assert_eq!(decode_record(&mut moved).unwrap(), expected);
    }

    #[test]
    fn decision_lines_are_written_byte_for_byte_as_before() {
        // Lines as an earlier version wrote them, and a line with every field set.
        let lines = [
            concat!(
                r#"{"record":"decision","case_id":"ar-p-0001","action":"remove","notice":{"decision_id":"D-1","#,
                r#""reason":"hate speech","appeal_url":"https://platform.invalid/appeal"},"latency_ms":1,"attempts":1,"#,
                r#""decided_at":"2026-12-07T02:56:18.765987268Z","#,
                r#""response_sha256":"6eb472727d608d5a8bff7ceed049b7040aee2df404f9a75e51ffa3a5fc414bad","#,
                r#""response":{"action":"remove","appeal_url":"https://platform.invalid/appeal","decision_id":"D-1","#,
                r#""id":"ar-p-0001","reason":"hate speech"}}"#
            ),
            concat!(
                r#"{"record":"decision","case_id":"en-p-0256","action":"remove","score":0.77,"scores":{"score":0.77},"#,
                r#""notice":{},"latency_ms":4,"attempts":1,"decided_at":"2026-12-07T02:56:18.566746642Z","#,
                r#""response_sha256":"047d8548d6480510405dcfa832f6efc2ada3d45e6582a5418be24a995588e7d7","#,
                r#""response":{"action":"remove","id":"en-p-0256","score":"0.77"}}"#
            ),
            concat!(
                r#"{"record":"decision","case_id":"en-p-2846","action":"error","notice":{},"#,
                r#""error":"no recorded decision for this case in recording.csv","latency_ms":20,"attempts":1,"#,
                r#""decided_at":"2026-12-07T02:56:18.637192890Z"}"#
            ),
            concat!(
                r#"{"record":"decision","case_id":"x","action":"unsupported","score":0.5,"scores":{"a":0.25,"b":0.5},"#,
                r#""notice":{"decision_id":"d","reason":"r","rule":"4.2","automated":true,"automated_detection":false,"#,
                r#""territorial_scope":"EU","appeal_url":"https://a.invalid"},"error":"no Welsh","detail":"matched","#,
                r#""model":"m-1","latency_ms":12,"attempts":3,"decided_at":"2026-12-07T02:56:18Z","#,
                r#""response_sha256":"abababababababababababababababababababababababababababababababab","#,
                r#""response":{"k":[1,null]},"cache_hit":true}"#
            ),
        ];
        for line in lines {
            let Record::Decision(mut record) = decode_record(&mut line.as_bytes().to_vec()).unwrap() else {
                panic!("not a decision: {line}");
            };
            assert_eq!(record.response, None, "the response is skipped when read");
            let whole: serde_json::Value = serde_json::from_str(line).unwrap();
            record.response = whole.get("response").cloned();
            assert_eq!(serde_json::to_string(&Record::Decision(record)).unwrap(), line);
        }
    }

    #[test]
    fn damage_in_the_middle_names_the_line() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(JOURNAL_FILE);
        let good = serde_json::to_string(&decision("a")).unwrap();
        std::fs::write(&path, format!("{good}\nnot json\n{good}\n")).unwrap();
        let err = read_journal(&path).unwrap_err().to_string();
        assert!(err.contains("journal.jsonl:2: not a valid journal record"), "{err}");
    }
}
