//! Reading one answer line of the program: whose answer it is, and what it says.

use std::collections::BTreeMap;

use serde_json::Value;

use crate::decision::{Action, Notice};
use crate::moderator::{AttemptError, Verdict, action_from_score};

/// An answer line that names the case it answers.
pub(super) struct Answer {
    pub id: String,
    pub value: Value,
}

/// Splits an answer line into the id it answers for and the answer; a line
/// that names no case is an error to charge to the case it must belong to
/// (it is not retried: the same request would get the same line).
pub(super) fn parse_line(line: &[u8]) -> Result<Answer, AttemptError> {
    let text = std::str::from_utf8(line)
        .map_err(|_| AttemptError::permanent("the program answered with a line that is not UTF-8"))?
        .trim_end();
    let value: Value = serde_json::from_str(text).map_err(|e| {
        AttemptError::permanent(format!(
            "the program answered with a line that is not JSON ({e}): {}",
            excerpt(text)
        ))
    })?;
    match value.get("id").and_then(Value::as_str) {
        Some(id) => Ok(Answer {
            id: id.to_string(),
            value,
        }),
        None => Err(AttemptError::permanent(format!(
            "the program's answer has no string `id`: {}",
            excerpt(text)
        ))),
    }
}

/// Interprets a well-formed answer.
pub(super) fn verdict_from_answer(value: Value, threshold: Option<f64>) -> Result<Verdict, AttemptError> {
    let string = |key: &str| value.get(key).and_then(Value::as_str).map(str::to_string);
    let score = match value.get("score") {
        None | Some(Value::Null) => None,
        Some(v) => match v.as_f64().filter(|s| s.is_finite()) {
            Some(s) => Some(s),
            None => {
                return Err(AttemptError::permanent(format!("`score` is not a number: {v}")));
            }
        },
    };
    let mut scores = BTreeMap::new();
    if let Some(map) = value.get("scores").and_then(Value::as_object) {
        for (k, v) in map {
            match v.as_f64().filter(|s| s.is_finite()) {
                Some(s) => {
                    scores.insert(k.clone(), s);
                }
                None => {
                    return Err(AttemptError::permanent(format!("`scores.{k}` is not a number: {v}")));
                }
            }
        }
    }
    if let Some(s) = score {
        scores.entry("score".to_string()).or_insert(s);
    }
    let action = match value.get("action") {
        None | Some(Value::Null) => match (score, threshold) {
            (Some(s), Some(t)) => action_from_score(s, t),
            (Some(_), None) => {
                return Err(AttemptError::permanent(
                    "the program answered a score but no action, and the scenario sets no `threshold`",
                ));
            }
            (None, _) => {
                return Err(AttemptError::permanent(
                    "the program's answer has neither `action` nor `score`",
                ));
            }
        },
        Some(Value::String(a)) if a == "unsupported" => Action::Unsupported,
        Some(Value::String(a)) => match Action::parse_moderation(a) {
            Some(action) => action,
            None => {
                return Err(AttemptError::permanent(format!(
                    "unknown action `{}` (expected allow, label, reduce, demonetize, remove, suspend or unsupported)",
                    excerpt(a)
                )));
            }
        },
        Some(other) => {
            return Err(AttemptError::permanent(format!("`action` is not a string: {other}")));
        }
    };
    let flag = |key: &str| match value.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Bool(b)) => Ok(Some(*b)),
        Some(other) => Err(AttemptError::permanent(format!(
            "`{key}` is not true or false: {other}"
        ))),
    };
    let automated = flag("automated")?;
    let automated_detection = flag("automated_detection")?;
    Ok(Verdict {
        action: Some(action),
        score,
        scores,
        notice: Notice {
            decision_id: string("decision_id"),
            reason: string("reason"),
            rule: string("rule"),
            automated,
            automated_detection,
            territorial_scope: string("territorial_scope"),
            appeal_url: string("appeal_url"),
        },
        detail: (action == Action::Unsupported)
            .then(|| string("reason").unwrap_or_else(|| "the program declined the case".into())),
        response: Some(value),
        ..Verdict::default()
    })
}

/// A short, single-line excerpt of untrusted text for error messages.
pub(super) fn excerpt(text: &str) -> String {
    const MAX: usize = 120;
    let one_line: String = text.chars().map(|c| if c.is_control() { ' ' } else { c }).collect();
    if one_line.chars().count() > MAX {
        format!("{}…", one_line.chars().take(MAX).collect::<String>())
    } else {
        one_line
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_action_score_and_notice() {
        let v = verdict_from_answer(
            serde_json::json!({"id": "a", "action": "remove", "score": 0.9, "reason": "hate", "automated": true, "appeal_url": "https://x"}),
            None,
        )
        .unwrap();
        assert_eq!(v.action, Some(Action::Remove));
        assert_eq!(v.score, Some(0.9));
        assert_eq!(v.notice.automated, Some(true));
        assert_eq!(v.notice.appeal_url.as_deref(), Some("https://x"));
        assert_eq!(v.notice.rule, None);
    }

    #[test]
    fn score_only_needs_a_threshold() {
        let answer = serde_json::json!({"id": "a", "score": 0.7});
        assert_eq!(
            verdict_from_answer(answer.clone(), Some(0.5)).unwrap().action,
            Some(Action::Remove)
        );
        assert_eq!(
            verdict_from_answer(answer.clone(), Some(0.8)).unwrap().action,
            Some(Action::Allow)
        );
        assert!(
            verdict_from_answer(answer, None)
                .unwrap_err()
                .message
                .contains("threshold")
        );
    }

    #[test]
    fn unknown_action_is_a_permanent_error() {
        let e = verdict_from_answer(serde_json::json!({"id": "a", "action": "nuke"}), None).unwrap_err();
        assert!(!e.is_retryable());
        assert!(e.message.contains("unknown action `nuke`"));
    }

    #[test]
    fn a_line_names_its_case_or_is_a_permanent_error() {
        let answer = parse_line(b"{\"id\": \"c7\", \"action\": \"allow\"}\n").unwrap();
        assert_eq!(answer.id, "c7");
        for (line, says) in [
            (&b"\xff\xfe\n"[..], "not UTF-8"),
            (b"this is not json\n", "not JSON"),
            (b"{\"id\": 7, \"action\": \"allow\"}\n", "no string `id`"),
        ] {
            let error = parse_line(line).err().unwrap();
            assert!(!error.is_retryable());
            assert!(error.message.contains(says), "{}", error.message);
        }
    }
}
