//! Reading a guard model's answer: whether it judged the text a violation,
//! the categories it named, and where in the answer the deciding word is (its
//! token's logprobs give the score, see [`super::logprobs`]).
//!
//! Each parser accepts what the model card shows and what servers make of it
//! (leading blank lines, a leading space, either case); anything else is
//! [`Unreadable`], which the target records as an `error` quoting the answer.

use serde_json::Value;

/// How a family's answer is read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Parser {
    /// Llama Guard: `safe`, or `unsafe` and a line of codes (`S1,S10`).
    SafeUnsafe,
    /// `Yes` or `No` first (ShieldGemma, Granite Guardian up to 3.2), or in a
    /// `<score> yes </score>` tag, possibly after `<think>…</think>` (Granite
    /// Guardian 3.3).
    YesNo,
    /// WildGuard's three lines; the text is judged by `Harmful request: yes|no`.
    WildGuard,
    /// A policy-prompted model: `0` or `1`, or a JSON object with `violation`
    /// (0/1 or a boolean) and optionally `policy_category`.
    Policy,
}

/// What a model answered about a text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Answer {
    /// Whether the model judged the text a violation.
    pub violation: bool,
    /// The categories the answer names, as the model writes them.
    pub codes: Vec<String>,
    /// Byte offset in the answer of the word that decides (`unsafe`, `Yes`,
    /// `1`), where its probability is read.
    pub decision_at: usize,
}

/// An answer that is not in the family's format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("the answer is not {expected}")]
pub struct Unreadable {
    /// What the format is, e.g. "`safe`, or `unsafe` and a line of category codes".
    pub expected: &'static str,
}

impl Parser {
    /// Reads an answer.
    pub fn parse(self, output: &str) -> Result<Answer, Unreadable> {
        let unreadable = Unreadable {
            expected: self.expected(),
        };
        match self {
            Parser::SafeUnsafe => safe_unsafe(output),
            Parser::YesNo => yes_no(output),
            Parser::WildGuard => wildguard(output),
            Parser::Policy => policy(output),
        }
        .ok_or(unreadable)
    }

    /// The format, as an error message names it.
    pub fn expected(self) -> &'static str {
        match self {
            Parser::SafeUnsafe => "`safe`, or `unsafe` and a line of category codes",
            Parser::YesNo => "`Yes` or `No` (or `<score> yes|no </score>`)",
            Parser::WildGuard => "WildGuard's `Harmful request: yes|no` line",
            Parser::Policy => "`0`, `1` or a JSON object with `violation`",
        }
    }

    /// The deciding words for a violation and for none, as tokens spell them
    /// (compared without surrounding spaces and case).
    pub fn words(self) -> (&'static [&'static str], &'static [&'static str]) {
        match self {
            Parser::SafeUnsafe => (&["unsafe"], &["safe"]),
            Parser::YesNo | Parser::WildGuard => (&["yes"], &["no"]),
            Parser::Policy => (&["1", "true"], &["0", "false"]),
        }
    }
}

/// Offset of the first character that is not whitespace, at or after `from`.
fn skip_space(text: &str, from: usize) -> usize {
    text[from..]
        .find(|c: char| !c.is_whitespace())
        .map_or(text.len(), |i| from + i)
}

/// The word starting at `at`: letters and digits.
fn word_at(text: &str, at: usize) -> &str {
    let rest = &text[at..];
    let end = rest.find(|c: char| !c.is_alphanumeric()).unwrap_or(rest.len());
    &rest[..end]
}

fn safe_unsafe(output: &str) -> Option<Answer> {
    let at = skip_space(output, 0);
    let mut lines = output[at..].lines();
    let verdict = lines.next()?.trim();
    let violation = match verdict.to_ascii_lowercase().as_str() {
        "safe" => false,
        "unsafe" => true,
        _ => return None,
    };
    let mut codes = Vec::new();
    if violation && let Some(line) = lines.map(str::trim).find(|l| !l.is_empty()) {
        for code in line.split(',').map(str::trim).filter(|c| !c.is_empty()) {
            let digits = code.strip_prefix(['S', 's'])?;
            if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
                return None;
            }
            codes.push(format!("S{digits}"));
        }
    }
    Some(Answer {
        violation,
        codes,
        decision_at: at,
    })
}

fn yes_no(output: &str) -> Option<Answer> {
    let start = match output.find("<score>") {
        Some(open) => open + "<score>".len(),
        None if output.contains("<think>") => output.find("</think>")? + "</think>".len(),
        None => 0,
    };
    let at = skip_space(output, start);
    let violation = match word_at(output, at).to_ascii_lowercase().as_str() {
        "yes" => true,
        "no" => false,
        _ => return None,
    };
    Some(Answer {
        violation,
        codes: Vec::new(),
        decision_at: at,
    })
}

fn wildguard(output: &str) -> Option<Answer> {
    const LABEL: &str = "harmful request:";
    let mut offset = 0;
    for line in output.split_inclusive('\n') {
        let indent = line.len() - line.trim_start().len();
        let body = &line[indent..];
        if body.len() >= LABEL.len()
            && body.is_char_boundary(LABEL.len())
            && body[..LABEL.len()].eq_ignore_ascii_case(LABEL)
        {
            let at = skip_space(output, offset + indent + LABEL.len());
            let violation = match word_at(output, at).to_ascii_lowercase().as_str() {
                "yes" => true,
                "no" => false,
                _ => return None,
            };
            return Some(Answer {
                violation,
                codes: Vec::new(),
                decision_at: at,
            });
        }
        offset += line.len();
    }
    None
}

fn policy(output: &str) -> Option<Answer> {
    let at = skip_space(output, 0);
    let rest = &output[at..];
    if rest.starts_with('{') || rest.starts_with("```") {
        return policy_json(output);
    }
    let violation = match word_at(output, at) {
        "1" => true,
        "0" => false,
        _ => return None,
    };
    Some(Answer {
        violation,
        codes: Vec::new(),
        decision_at: at,
    })
}

/// A JSON answer, possibly in a Markdown code fence.
fn policy_json(output: &str) -> Option<Answer> {
    let open = output.find('{')?;
    let close = output.rfind('}')?;
    let object: Value = serde_json::from_str(output.get(open..=close)?).ok()?;
    let violation = match object.get("violation")? {
        Value::Bool(b) => *b,
        Value::Number(n) if n.as_u64() == Some(1) => true,
        Value::Number(n) if n.as_u64() == Some(0) => false,
        Value::String(s) if s == "1" || s.eq_ignore_ascii_case("true") => true,
        Value::String(s) if s == "0" || s.eq_ignore_ascii_case("false") => false,
        _ => return None,
    };
    let codes = match object.get("policy_category") {
        Some(Value::String(c)) if !c.trim().is_empty() => vec![c.trim().to_string()],
        Some(Value::Array(items)) => items
            .iter()
            .filter_map(Value::as_str)
            .map(str::trim)
            .filter(|c| !c.is_empty())
            .map(str::to_string)
            .collect(),
        _ => Vec::new(),
    };
    let key = open + output[open..].find("\"violation\"")? + "\"violation\"".len();
    let colon = key + output[key..].find(':')? + 1;
    let mut at = skip_space(output, colon);
    if output[at..].starts_with('"') {
        at += 1;
    }
    Some(Answer {
        violation,
        codes: if violation { codes } else { Vec::new() },
        decision_at: at,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(parser: Parser, output: &str) -> (bool, Vec<String>, &str) {
        let answer = parser.parse(output).unwrap_or_else(|e| panic!("{output:?}: {e}"));
        let decided = &output[answer.decision_at..];
        (answer.violation, answer.codes, decided)
    }

    #[test]
    fn llama_guard_answers() {
        let (violation, codes, at) = read(Parser::SafeUnsafe, "\n\nunsafe\nS10");
        assert!(violation);
        assert_eq!(codes, ["S10"]);
        assert!(at.starts_with("unsafe"));
        let (_, codes, _) = read(Parser::SafeUnsafe, "unsafe\nS1, s10,S14\n");
        assert_eq!(codes, ["S1", "S10", "S14"]);
        assert!(!read(Parser::SafeUnsafe, " safe").0);
        assert!(!read(Parser::SafeUnsafe, "\n\nsafe\n").0);
        let (violation, codes, _) = read(Parser::SafeUnsafe, "unsafe");
        assert!(violation && codes.is_empty());
        for garbage in [
            "",
            "   ",
            "safety first",
            "I cannot help with that.",
            "unsafe\nhateful speech",
            "unsafe\nS",
        ] {
            assert_eq!(
                Parser::SafeUnsafe.parse(garbage),
                Err(Unreadable {
                    expected: "`safe`, or `unsafe` and a line of category codes"
                }),
                "{garbage:?}"
            );
        }
    }

    #[test]
    fn yes_no_answers_with_or_without_granite_tags() {
        assert!(read(Parser::YesNo, "Yes").0);
        assert!(!read(Parser::YesNo, " No").0);
        let (violation, _, at) = read(Parser::YesNo, "Yes\n<confidence> High </confidence>");
        assert!(violation && at.starts_with("Yes"));
        let granite = "<think>\nThe user message calls a group vermin: this is dehumanising.\nSo, yes... or no? It is harmful.\n</think>\n<score> yes </score>";
        let (violation, _, at) = read(Parser::YesNo, granite);
        assert!(violation);
        assert!(at.starts_with("yes </score>"), "the score, not the reasoning: {at:?}");
        assert!(!read(Parser::YesNo, "<score> no </score>").0);
        for garbage in [
            "Yesterday",
            "Maybe",
            "<think>\nlong reasoning cut short by max_tokens",
            "<score></score>",
            "",
        ] {
            assert!(Parser::YesNo.parse(garbage).is_err(), "{garbage:?}");
        }
    }

    #[test]
    fn wildguard_three_lines() {
        let (violation, _, at) = read(
            Parser::WildGuard,
            " Harmful request: yes\nResponse refusal: N/A\nHarmful response: N/A",
        );
        assert!(violation && at.starts_with("yes\n"));
        assert!(
            !read(
                Parser::WildGuard,
                "Harmful request: no\nResponse refusal: N/A\nHarmful response: N/A"
            )
            .0
        );
        assert!(!read(Parser::WildGuard, "harmful request:no").0);
        for garbage in ["Harmful response: yes", "Harmful request: maybe", "yes", ""] {
            assert!(Parser::WildGuard.parse(garbage).is_err(), "{garbage:?}");
        }
    }

    #[test]
    fn policy_answers_as_digits_or_json() {
        assert!(read(Parser::Policy, "1").0);
        assert!(!read(Parser::Policy, "\n0\n").0);
        let json = r#"{"violation": 1, "policy_category": "H2.f", "confidence": "high"}"#;
        let (violation, codes, at) = read(Parser::Policy, json);
        assert!(violation);
        assert_eq!(codes, ["H2.f"]);
        assert!(at.starts_with("1, "), "{at:?}");
        let fenced = "```json\n{\"violation\": \"0\", \"policy_category\": null}\n```";
        let (violation, codes, at) = read(Parser::Policy, fenced);
        assert!(!violation && codes.is_empty());
        assert!(at.starts_with("0\""), "{at:?}");
        let (violation, _, _) = read(
            Parser::Policy,
            r#"{"violation":true,"policy_category":["hate","threat"]}"#,
        );
        assert!(violation);
        for garbage in [
            "10",
            "yes",
            "{\"label\": 1}",
            "{\"violation\": 2}",
            "{not json",
            "",
            "The content violates",
        ] {
            assert!(Parser::Policy.parse(garbage).is_err(), "{garbage:?}");
        }
    }
}
