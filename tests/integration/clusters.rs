//! Template families and other clusters of near-identical cases: a declared
//! family kind is checked when the corpus loads.

use std::path::PathBuf;

use crate::support::*;

struct Run {
    code: Option<i32>,
    output: String,
    dir: PathBuf,
    _tmp: tempfile::TempDir,
}

/// Runs the replay target over a corpus written as `cases.csv` (with `header`).
fn replay_run(header: &str, rows: &str, recording: &str, target_extra: &str, analysis: &str) -> Run {
    let tmp = tempfile::tempdir().unwrap();
    let corpus = write_corpus(&tmp.path().join("c"), &["en"], "");
    std::fs::write(corpus.join("cases.csv"), format!("{header}{rows}")).unwrap();
    std::fs::write(tmp.path().join("recording.csv"), recording).unwrap();
    let scenario = write_scenario(
        tmp.path(),
        &corpus,
        &format!(
            "name = \"clusters\"\ncorpora = [{{corpus}}]\n[target]\nkind = \"replay\"\nfile = \"recording.csv\"\n{target_extra}\n[analysis]\n{analysis}\n"
        ),
    );
    let dir = tmp.path().join("run");
    let output = run_scenario(&scenario, &dir);
    Run {
        code: output.status.code(),
        output: format!("{}{}", String::from_utf8_lossy(&output.stdout), stderr_of(&output)),
        dir,
        _tmp: tmp,
    }
}

#[test]
fn a_bad_or_inconsistent_family_kind_is_a_located_input_error() {
    let header = HEADER.replace("notes\n", "notes,family_kind\n");
    let rows = "p1,en,post one,protected,quotation,,,fam-p,,group_swap\n\
                p2,en,post one!,protected,quotation,,,fam-p,,dialect\n\
                p3,en,post three,protected,quotation,,,fam-q,,typo\n\
                p4,en,post four,protected,quotation,,,,,dialect\n";
    let run = replay_run(&header, rows, "id,action\np1,remove\n", "", "");
    assert_eq!(run.code, Some(2), "{}", run.output);
    assert!(
        run.output.contains("cases.csv:3: `family_kind`") && run.output.contains("fam-p"),
        "{}",
        run.output
    );
    assert!(
        run.output
            .contains("cases.csv:4: `family_kind`: unknown family kind \"typo\""),
        "{}",
        run.output
    );
    assert!(
        run.output.contains("cases.csv:5: `family_kind`"),
        "a kind without a family: {}",
        run.output
    );
    assert!(!run.dir.join("results.json").exists(), "no run on bad input");
}
