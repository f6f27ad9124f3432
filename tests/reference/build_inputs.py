#!/usr/bin/env python3
"""Writes the inputs of the two synthetic runs whose results.json the
recompute test checks (tests/integration/recompute.rs):

- tests/fixtures/recompute/cells/: a corpus and a recorded decisions file
  (replayed, with scores) whose tables hold the zero and full cells a rate
  interval must survive: a language with 1 of 1 protected posts removed
  against 367 of 2,845 in the rest, a target group with 1 of 1 against a
  reference group with 7 of 7, groups at 0 %, a reference at 0 %, both at 0 %,
  families of several kinds, explicit clusters and scores with ties and a
  perfect split, so that every AUC path appears.
- tests/fixtures/recompute/appeals/: a corpus, a recording and a run directory
  (manifest.json, journal.jsonl) whose appeal records have fixed times, so
  that `modaudit report` over a copy of it is deterministic. The manifest is
  the one `modaudit run` writes for this scenario (the appeal API it names is
  unreachable, so every appeal fails); the appeal records of its journal are
  then replaced by the fixed ones below, and its times and secret are fixed.

Usage (from the repository root, after `cargo build`):

    python3 tests/reference/build_inputs.py [--binary target/debug/modaudit]

Only the Python standard library is needed. The inputs do not depend on the
bundled corpora or the keyword filter, so they need rewriting only when this
file changes; after rewriting them, regenerate the reference values with
`python3 tests/reference/generate.py`.
"""

import argparse
import csv
import io
import json
import shutil
import subprocess
import sys
import tempfile
from datetime import datetime, timedelta, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
FIXTURES = ROOT / "tests" / "fixtures" / "recompute"
HEADER = ["id", "lang", "text", "label", "category", "target_group", "speaker_group", "pair_id", "cluster", "family_kind", "notes"]


def write_csv(path, header, rows):
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(header)
    writer.writerows(rows)
    path.write_text(buffer.getvalue(), encoding="utf-8")


def frac(i, k=7919, modulus=1000):
    """A deterministic spread of values in [0, 1)."""
    return (i * k) % modulus / modulus


class Cases:
    def __init__(self):
        self.cases = []
        self.recording = []

    def add(self, lang, label, category, action, score, target="", speaker="", pair="", cluster="", kind=""):
        case_id = f"{lang}-{label[0]}-{len(self.cases):04d}"
        self.cases.append([case_id, lang, f"synthetic {label} post {len(self.cases)}", label, category, target, speaker, pair, cluster, kind, ""])
        if action is not None:
            self.recording.append([case_id, action, "" if score is None else f"{score:.2f}"])
        return case_id


def cells_inputs():
    """The zero-and-full-cells corpus: 2,846 decided protected posts."""
    c = Cases()
    # French: one protected post, removed (1 of 1 against English's 367 of 2,845).
    c.add("fr", "protected", "quotation", "remove", 0.81, target="g1")
    # English protected posts, 2,845 decided, 367 of them removed or suspended.
    for i in range(7):  # g2: 7 of 7, the target-group reference
        c.add("en", "protected", "reclaimed_slur" if i < 4 else "counter_speech", "remove" if i % 3 else "suspend", 0.60 + 0.01 * i, target="g2")
    for i in range(40):  # g3: 10 of 40, scores overlapping its violating posts
        c.add("en", "protected", "counter_speech", "remove" if i < 10 else "allow", round(0.30 + 0.5 * frac(i), 2), target="g3")
    for i in range(30):  # g4: 0 of 30
        c.add("en", "protected", "news_reporting", "label" if i % 5 == 0 else "allow", round(0.05 + 0.3 * frac(i + 3), 2), target="g4")
    # dialect families: s1, s2, s3 variants of one post; s2 removed in three of five
    for i in range(5):
        c.add("en", "protected", "dialect", "allow", 0.2, speaker="s1", pair=f"dia-{i}")
        c.add("en", "protected", "dialect", "remove" if i < 3 else "allow", 0.55 if i < 3 else 0.2, speaker="s2", pair=f"dia-{i}")
        c.add("en", "protected", "dialect", "allow", 0.2, speaker="s3", pair=f"dia-{i}")
    for i in range(5):
        c.add("en", "protected", "dialect", "allow", 0.25, speaker="s2")
        c.add("en", "protected", "dialect", "allow", 0.25, speaker="s3")
    bulk = 2845 - 7 - 40 - 30 - 25
    bulk_adverse = 367 - 7 - 10 - 0 - 3
    categories = ["counter_speech", "news_reporting", "quotation", "political_dissent", "health_information"]
    # the adverse ones: spread over the bulk, never health information (0 of 548)
    eligible = sorted((i for i in range(bulk) if i % 5 != 4), key=lambda i: ((i * 37) % bulk, i))
    adverse_set = set(eligible[:bulk_adverse])
    for i in range(bulk):
        category = categories[i % 5]
        adverse = i in adverse_set
        action = ("suspend" if i % 11 == 0 else "remove") if adverse else ("label" if i % 13 == 0 else "allow")
        score = round((0.5 if adverse else 0.0) + 0.45 * frac(i), 2)
        pair = cluster = kind = ""
        if i < 120:  # unclassified families of 2 to 5 members, not treated alike
            pair = f"fam-{i // 4}" if i < 60 else f"fam-{15 + (i - 60) // 5}"
        elif i < 180:  # declared perturbations, families of 3
            pair, kind = f"pert-{(i - 120) // 3}", "perturbation"
        elif i < 400:  # threads: explicit clusters of 1 to 9 posts
            cluster = f"thread-{(i - 180) % 37}"
        elif i < 420:  # an explicit cluster overrides a family
            pair, cluster = f"fam-x{(i - 400) // 2}", f"thread-x{(i - 400) // 4}"
        c.add("en", "protected", category, action, score, pair=pair, cluster=cluster, kind=kind)
    # three protected posts without a recorded decision: errors, out of every rate
    for i in range(3):
        c.add("en", "protected", "counter_speech", None, None, target="g3")
    # violating posts: scores mostly above the protected ones, with ties
    for i in range(12):
        c.add("en", "violating", "slur", "remove" if i % 3 else "allow", round(0.4 + 0.5 * frac(i + 11), 2), target="g1")
    for i in range(15):  # g2: every violating post outscores g2's protected ones
        c.add("en", "violating", "slur", "remove", 0.80 + 0.01 * i, target="g2")
    for i in range(40):
        c.add("en", "violating", "dehumanisation", "remove" if i % 4 else "allow", round(0.30 + 0.6 * frac(i + 5), 2), target="g3")
    for i in range(25):
        c.add("en", "violating", "threat", "allow", round(0.3 + 0.4 * frac(i + 17), 2), target="g4")
    for i in range(6):  # g5: violating posts only
        c.add("en", "violating", "slur", "remove", 0.9, target="g5")
    for i in range(300):
        category = ["slur", "dehumanisation", "threat"][i % 3]
        detected = category != "threat" and i % 7 != 0
        c.add("en", "violating", category, "remove" if detected else "allow", round(0.35 + 0.6 * frac(i + 29), 2), pair=f"vfam-{i // 3}" if i < 60 else "")
    corpus = (
        'name = "zero-and-full-cells"\nversion = "1.0.0"\n'
        'description = "Synthetic cases whose tables hold zero and full cells, for the recompute test"\n'
        'license = "CC0-1.0"\nlanguages = ["en", "fr"]\n\n'
        '[[provenance]]\nlanguages = ["en", "fr"]\nwritten_by = "tests/reference/build_inputs.py"\n'
        'checked_by = "test fixture"\nreview_status = "test fixture"\n'
    )
    scenario = (
        "# The zero-and-full-cells run of the recompute test; written by\n"
        "# tests/reference/build_inputs.py.\n"
        'name = "zero-and-full-cells"\ncorpora = ["corpus"]\n\n'
        '[target]\nkind = "replay"\nfile = "recording.csv"\n\n'
        "[run]\nerror_budget = 0.01\n\n"
        '[analysis]\nmin_n = 1\ncorrection = "benjamini_hochberg"\n'
        'adverse_actions = ["remove", "suspend"]\nreference = { target_group = "g2" }\n'
    )
    return c, corpus, scenario


def appeal_inputs():
    """The appeals corpus: three languages, wrongful removals appealed with fixed outcomes."""
    c = Cases()
    plan = [  # (lang, protected, removed among them, violating)
        ("ar", 30, 24, 6),
        ("en", 30, 20, 6),
        ("sw", 12, 7, 4),
    ]
    targets = ["women", "muslims", "migrants"]
    speakers = ["", "", "dialect_a"]
    categories = ["counter_speech", "news_reporting", "reclaimed_slur"]
    for lang, protected, removed, violating in plan:
        for i in range(protected):
            target = "jews" if i % 9 == 4 else targets[i % 3]
            c.add(lang, "protected", categories[(i // 2) % 3], "remove" if i < removed else "allow", None, target=target, speaker=speakers[i % 3] if lang != "sw" else "dialect_b")
        for i in range(violating):
            c.add(lang, "violating", "threat", "remove", None, target=targets[i % 3])
    corpus = (
        'name = "appeals"\nversion = "1.0.0"\n'
        'description = "Synthetic cases whose wrongful removals are appealed, for the recompute test"\n'
        'license = "CC0-1.0"\nlanguages = ["ar", "en", "sw"]\n\n'
        '[[provenance]]\nlanguages = ["ar", "en", "sw"]\nwritten_by = "tests/reference/build_inputs.py"\n'
        'checked_by = "test fixture"\nreview_status = "test fixture"\n'
    )
    scenario = (
        "# The appeal run of the recompute test; written by tests/reference/build_inputs.py.\n"
        "# Its run directory (run/) holds appeal records with fixed times: rebuild it\n"
        "# with `modaudit report` over a copy, never `modaudit run`.\n"
        'name = "appeals"\ncorpora = ["corpus"]\n\n'
        '[target]\nkind = "replay"\nfile = "recording.csv"\n'
        'columns = { decision_id = "decision_id", reason = "reason", appeal_url = "appeal_url" }\n\n'
        "[run]\nmax_attempts = 1\ntimeout_secs = 1\n\n"
        '[analysis]\nconfidence = 0.9\nmin_n = 5\ncorrection = "benjamini_yekutieli"\n\n'
        "[appeal]\n"
        'submit_url = "http://127.0.0.1:9/appeals"\n'
        'submit_body = \'{"decision_id": "{decision_id}"}\'\n'
        'appeal_id = "/appeal_id"\n'
        'status_url = "http://127.0.0.1:9/appeals/{appeal_id}"\n'
        'status = "/status"\n'
        "deadline_secs = 604800\n"
    )
    recording = []
    for row in c.recording:
        case_id, action, _ = row
        removed = action == "remove"
        number = int(case_id.rsplit("-", 1)[1])
        recording.append([
            case_id,
            action,
            f"D-{number}" if removed else "",
            "hate speech" if removed else "",
            "https://platform.invalid/appeal" if removed and number % 4 else "",
        ])
    return c, corpus, scenario, recording


def appeal_records(cases, started):
    """Fixed appeal records for every wrongful removal, by language and position.

    ar: decided within hours, one at a time;
    en: decided within days, a third pending at the deadline, one lost after
    filing, one never filed; sw: every appeal pending at the deadline.
    """
    deadline = 604800
    records = []
    position = {}
    for case in cases:
        case_id, lang, label = case[0], case[1], case[3]
        if label != "protected":
            continue
        k = position.setdefault(lang, 0)
        position[lang] = k + 1
        records.append((case_id, lang, k))
    out = []
    for n, (case_id, lang, k) in enumerate(records):
        filed_at = started + timedelta(seconds=600 + 7 * n)
        result, seconds, observed = None, None, None
        if lang == "ar":
            # 24 decided one at a time: S(t) is exactly 1/2 after the 12th,
            # but the floating-point product of (1 − 1/n) lands just above it
            result = "reversed" if k % 5 < 2 else "upheld"
            seconds = 1800 * (1 + k)
        elif lang == "en":
            if k == 0:
                out.append({"record": "appeal_intent", "case_id": case_id, "idempotency_key": f"key-{n}", "at": iso(filed_at)})
                out.append({"record": "appeal_outcome", "case_id": case_id, "result": "failed", "observed_at": iso(filed_at + timedelta(seconds=1)), "error": "connection refused"})
                continue
            if k == 1:
                result, observed = "failed", 5400.25  # lost after filing: censored then
            elif k % 3 == 0:
                result, observed = "pending", deadline + 30
            else:
                result = "reversed" if k % 4 == 1 else "upheld"
                seconds = 86400 * (1 + k % 5) if k != 5 else None  # k = 5: time from the poll
                observed = 86400 * 2 + 0.5 if k == 5 else None
        else:
            result, observed = "pending", deadline + 30
        if seconds is not None:
            observed = seconds + 12
        out.append({"record": "appeal_intent", "case_id": case_id, "idempotency_key": f"key-{n}", "at": iso(filed_at)})
        out.append({"record": "appeal_filed", "case_id": case_id, "appeal_id": f"A-{n}", "filed_at": iso(filed_at)})
        outcome = {
            "record": "appeal_outcome",
            "case_id": case_id,
            "result": result,
            "observed_at": iso(filed_at + timedelta(seconds=observed)),
        }
        if seconds is not None:
            outcome["decided_at"] = iso(filed_at + timedelta(seconds=seconds))
            outcome["seconds"] = float(seconds)
        if result in ("reversed", "upheld"):
            outcome["reason"] = "reviewed" if (k % 3) else ""
        if result == "failed":
            outcome["error"] = "status no longer readable"
        out.append(outcome)
    return out


def iso(moment):
    text = moment.strftime("%Y-%m-%dT%H:%M:%S.%f").rstrip("0").rstrip(".")
    return text + "Z"


def write_corpus(directory, cases, corpus_toml):
    (directory / "corpus").mkdir(parents=True, exist_ok=True)
    (directory / "corpus" / "corpus.toml").write_text(corpus_toml, encoding="utf-8")
    write_csv(directory / "corpus" / "cases.csv", HEADER, cases)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--binary", default=str(ROOT / "target" / "debug" / "modaudit"))
    args = parser.parse_args()

    cells = FIXTURES / "cells"
    c, corpus, scenario = cells_inputs()
    cells.mkdir(parents=True, exist_ok=True)
    write_corpus(cells, c.cases, corpus)
    write_csv(cells / "recording.csv", ["id", "action", "score"], c.recording)
    (cells / "scenario.toml").write_text(scenario, encoding="utf-8")

    appeals = FIXTURES / "appeals"
    c, corpus, scenario, recording = appeal_inputs()
    appeals.mkdir(parents=True, exist_ok=True)
    write_corpus(appeals, c.cases, corpus)
    write_csv(appeals / "recording.csv", ["id", "action", "decision_id", "reason", "appeal_url"], recording)
    (appeals / "scenario.toml").write_text(scenario, encoding="utf-8")
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "run"
        subprocess.run([args.binary, "run", str(appeals / "scenario.toml"), "--out", str(out), "--quiet"], check=False)
        manifest = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
        decisions = [json.loads(line) for line in (out / "journal.jsonl").read_text(encoding="utf-8").splitlines() if '"record":"decision"' in line]
    started = datetime(2026, 9, 21, 12, 0, 0, tzinfo=timezone.utc)
    by_id = {d["case_id"]: d for d in decisions}
    journal = []
    for n, case in enumerate(c.cases):
        d = by_id[case[0]]
        d["decided_at"] = iso(started + timedelta(milliseconds=10 * n))
        d["latency_ms"] = 0
        journal.append(d)
    removed = [case for case in c.cases if case[3] == "protected" and by_id[case[0]]["action"] == "remove"]
    journal.extend(appeal_records(removed, started))
    manifest.update({
        "run_id": "appeals",
        "idempotency_secret": "5e" * 32,
        "started_at": iso(started),
        "finished_at": iso(started + timedelta(days=8)),
        "outputs": {},
    })
    manifest["scenario"]["path"] = "tests/fixtures/recompute/appeals/scenario.toml"
    manifest.pop("resumed_at", None)
    run = appeals / "run"
    if run.exists():
        shutil.rmtree(run)
    run.mkdir()
    (run / "manifest.json").write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")
    (run / "journal.jsonl").write_text("".join(json.dumps(r, separators=(",", ":")) + "\n" for r in journal), encoding="utf-8")
    print(f"wrote {cells.relative_to(ROOT)} and {appeals.relative_to(ROOT)}", file=sys.stderr)


if __name__ == "__main__":
    main()
