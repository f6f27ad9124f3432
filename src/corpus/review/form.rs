//! The offline review form: one self-contained HTML file a reviewer opens in
//! a browser, fills in, and saves as a CSV file in exactly the sheet format
//! (`modaudit corpus review import` reads either).
//!
//! Case texts are hostile input. They reach the page twice: escaped as HTML
//! text for the reviewer to read (acting characters such as bidi overrides
//! shown as `<U+202E>`), and inside a JSON data block (`<script
//! type="application/json">`, never executed) with `<`, `>`, `&` and the
//! line separators written as `\u` escapes, so no text can close the block.
//! The form's own small script reads that block with `JSON.parse` and only
//! ever sets `value` and `textContent`, never markup. A Content-Security-Policy
//! allows that one script (by its sha256) and no request of any kind.

use std::collections::BTreeSet;

use base64::Engine;
use sha2::{Digest, Sha256};

use super::SheetRequest;
use super::sheet::SheetRow;
use crate::corpus::{Case, Corpus, TextError};
use crate::visible::for_document;

/// The form's script. `sheetCsv` and `parseCsv` are plain functions (the
/// tests run them outside a browser); the rest wires the page.
const SCRIPT: &str = r#"
"use strict";
var HEADER = ["case_id", "lang", "text", "text_sha256", "proposed_label", "category", "target_group",
  "reviewer_label", "reviewer_category", "natural", "corrected_text", "comment"];
var ANSWERS = HEADER.slice(7);

function csvField(value) {
  return /[",\r\n]/.test(value) ? '"' + value.replace(/"/g, '""') + '"' : value;
}

// The sheet: byte-order mark, header, one row per case, CRLF after each.
function sheetCsv(rows, answers) {
  var lines = [HEADER.map(csvField).join(",")];
  rows.forEach(function (row) {
    var given = Object.prototype.hasOwnProperty.call(answers, row[0]) ? answers[row[0]] : {};
    var values = row.concat(ANSWERS.map(function (name) { return given[name] || ""; }));
    lines.push(values.map(csvField).join(","));
  });
  return "\uFEFF" + lines.join("\r\n") + "\r\n";
}

// RFC 4180 records (quoted fields may hold commas, quotes and line breaks).
function parseCsv(text) {
  var records = [], record = [], field = "", quoted = false, i = 0;
  if (text.charAt(0) === "\uFEFF") { i = 1; }
  for (; i < text.length; i++) {
    var c = text.charAt(i);
    if (quoted) {
      if (c === '"' && text.charAt(i + 1) === '"') { field += '"'; i++; }
      else if (c === '"') { quoted = false; }
      else { field += c; }
    } else if (c === '"') { quoted = true; }
    else if (c === ",") { record.push(field); field = ""; }
    else if (c === "\r" || c === "\n") {
      if (c === "\r" && text.charAt(i + 1) === "\n") { i++; }
      record.push(field); records.push(record); record = []; field = "";
    } else { field += c; }
  }
  if (field !== "" || record.length > 0) { record.push(field); records.push(record); }
  return records;
}

if (typeof document !== "undefined") {
  var data = JSON.parse(document.getElementById("cases").textContent);
  var form = document.getElementById("review");
  var status = document.getElementById("status");
  var field = function (name, index) { return form.elements[name + "-" + index]; };
  var collect = function () {
    var answers = {};
    data.rows.forEach(function (row, index) {
      var given = {};
      ANSWERS.forEach(function (name) {
        var element = field(name, index);
        given[name] = element ? element.value : "";
      });
      answers[row[0]] = given;
    });
    return answers;
  };
  document.getElementById("save").addEventListener("click", function () {
    var csv = sheetCsv(data.rows, collect());
    document.getElementById("csv").value = csv;
    var link = document.createElement("a");
    link.href = URL.createObjectURL(new Blob([csv], { type: "text/csv;charset=utf-8" }));
    link.download = data.file;
    document.body.appendChild(link);
    link.click();
    link.remove();
    status.textContent = "Saved as " + data.file + ". If no file appeared, copy the text below into a file of that name.";
  });
  document.getElementById("load").addEventListener("change", function (event) {
    var file = event.target.files[0];
    if (!file) { return; }
    var reader = new FileReader();
    reader.onload = function () {
      var records = parseCsv(String(reader.result));
      var header = records.shift() || [];
      var column = {};
      header.forEach(function (name, i) { column[name.trim()] = i; });
      var index = {};
      data.rows.forEach(function (row, i) { index[row[0]] = i; });
      var filled = 0, unknown = 0;
      records.forEach(function (record) {
        var at = index[record[column.case_id]];
        if (at === undefined) { unknown++; return; }
        ANSWERS.forEach(function (name) {
          var element = field(name, at);
          if (element && column[name] !== undefined) { element.value = record[column[name]] || ""; }
        });
        filled++;
      });
      status.textContent = "Loaded the answers of " + filled + " cases" +
        (unknown ? "; " + unknown + " rows name cases not in this form and were left out." : ".");
    };
    reader.readAsText(file, "utf-8");
  });
}
"#;

const STYLE: &str = "body{font-family:system-ui,sans-serif;max-width:60rem;margin:1rem auto;padding:0 1rem;line-height:1.4}\
li.case{border-top:1px solid #ccc;padding:.5rem 0 1rem}\
.text{white-space:pre-wrap;font-size:1.15rem;background:#f6f6f6;padding:.5rem;border-radius:.25rem}\
dl{display:grid;grid-template-columns:max-content 1fr;gap:.1rem 1rem;margin:.5rem 0}dt{color:#555}dd{margin:0}\
fieldset{border:0;padding:0;display:grid;grid-template-columns:max-content 1fr;gap:.4rem 1rem;align-items:start}\
textarea{width:100%;min-height:3rem}#csv{min-height:6rem}.save{position:sticky;bottom:0;background:#fff;padding:.5rem 0;border-top:1px solid #ccc}";

/// The HTML escape of text (after making acting characters visible).
fn html_text(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in for_document(text).chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// JSON that can sit inside a `<script>` element: nothing in it can end the
/// element or start a comment, and no line separator breaks older parsers.
fn script_json(value: &serde_json::Value) -> String {
    value
        .to_string()
        .replace('<', "\\u003c")
        .replace('>', "\\u003e")
        .replace('&', "\\u0026")
        .replace('\u{2028}', "\\u2028")
        .replace('\u{2029}', "\\u2029")
}

/// A file name for the saved sheet: `review-<corpus>-<lang>.csv`, with any
/// character but letters, digits, `-` and `_` replaced.
fn saved_file_name(corpus: &str, lang: &str) -> String {
    let safe: String = format!("review-{corpus}-{lang}")
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                c
            } else {
                '_'
            }
        })
        .collect();
    format!("{safe}.csv")
}

/// The form for these cases (the sheet's, in its order). Fails when a case's
/// text cannot be read back from its corpus file.
pub fn review_form(corpus: &Corpus, request: &SheetRequest, cases: &[&Case]) -> Result<String, TextError> {
    let rows: Vec<serde_json::Value> = cases
        .iter()
        .map(|c| SheetRow::of(c).map(|row| serde_json::Value::from(row.values.to_vec())))
        .collect::<Result<_, _>>()?;
    let data = serde_json::json!({
        "file": saved_file_name(&corpus.manifest.name, &request.lang),
        "rows": rows,
    });
    let script_hash = base64::engine::general_purpose::STANDARD.encode(Sha256::digest(SCRIPT.as_bytes()));
    let categories: BTreeSet<&str> = corpus.cases.iter().map(|c| c.category.as_str()).collect();
    let title = format!(
        "Review of {} {} — {} ({} cases)",
        corpus.manifest.name,
        corpus.manifest.version,
        request.lang,
        cases.len()
    );
    let mut html = String::new();
    html.push_str("<!doctype html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n");
    html.push_str("<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n");
    html.push_str(&format!(
        "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; style-src 'unsafe-inline'; script-src 'sha256-{script_hash}'; form-action 'none'; base-uri 'none'\">\n"
    ));
    html.push_str(&format!(
        "<title>{}</title>\n<style>{STYLE}</style>\n</head>\n<body>\n",
        html_text(&title)
    ));
    html.push_str(&format!("<h1>{}</h1>\n", html_text(&title)));
    html.push_str(
        "<p>For each case, give the label you would give (<em>protected</em>: lawful speech that should stay up; \
<em>violating</em>: content the policy prohibits), the kind of speech if you would name it otherwise, whether the \
text reads naturally to a native speaker, and, if you would write it differently, the corrected text. Leave a case \
blank to skip it. Nothing you type leaves this page: <strong>Save the sheet</strong> writes a CSV file to send back \
to the corpus maintainers, and <strong>Load a saved sheet</strong> takes up where you left off.</p>\n",
    );
    html.push_str("<form id=\"review\">\n<datalist id=\"categories\">");
    for category in categories {
        html.push_str(&format!("<option value=\"{}\">", html_text(category)));
    }
    html.push_str("</datalist>\n<ol>\n");
    for (i, case) in cases.iter().enumerate() {
        let text = case.text()?;
        let name = |field: &str| format!("{field}-{i}");
        html.push_str(&format!(
            "<li class=\"case\">\n<h2>Case <code>{}</code></h2>\n<p class=\"text\" lang=\"{}\" dir=\"auto\">{}</p>\n",
            html_text(&case.id),
            html_text(&case.lang),
            html_text(&text)
        ));
        html.push_str(&format!(
            "<dl><dt>Proposed label</dt><dd>{}</dd><dt>Kind of speech</dt><dd>{}</dd><dt>Target group</dt><dd>{}</dd></dl>\n",
            case.label,
            html_text(&case.category),
            html_text(case.target_group.as_deref().unwrap_or("—"))
        ));
        html.push_str(&format!(
            "<fieldset>\n<label for=\"{label}\">Your label</label><select id=\"{label}\" name=\"{label}\"><option value=\"\">—</option><option value=\"protected\">protected</option><option value=\"violating\">violating</option></select>\n\
<label for=\"{category}\">Kind of speech, if not “{shown}”</label><input id=\"{category}\" name=\"{category}\" list=\"categories\">\n\
<label for=\"{natural}\">Natural for a native speaker?</label><select id=\"{natural}\" name=\"{natural}\"><option value=\"\">—</option><option value=\"yes\">yes</option><option value=\"no\">no</option></select>\n\
<label for=\"{corrected}\">Corrected text</label><textarea id=\"{corrected}\" name=\"{corrected}\" lang=\"{lang}\" dir=\"auto\"></textarea>\n\
<label for=\"{comment}\">Comment</label><textarea id=\"{comment}\" name=\"{comment}\"></textarea>\n</fieldset>\n</li>\n",
            label = name("reviewer_label"),
            category = name("reviewer_category"),
            natural = name("natural"),
            corrected = name("corrected_text"),
            comment = name("comment"),
            shown = html_text(&case.category),
            lang = html_text(&case.lang),
        ));
    }
    html.push_str("</ol>\n<div class=\"save\">\n<button type=\"button\" id=\"save\">Save the sheet (CSV)</button>\n");
    html.push_str("<label>Load a saved sheet <input type=\"file\" id=\"load\" accept=\".csv,text/csv\"></label>\n");
    html.push_str("<p id=\"status\" role=\"status\"></p>\n</div>\n");
    html.push_str("<p><label for=\"csv\">The saved sheet, to copy if your browser saved no file:</label></p>\n");
    html.push_str("<textarea id=\"csv\" readonly></textarea>\n</form>\n");
    html.push_str(&format!(
        "<script type=\"application/json\" id=\"cases\">{}</script>\n<script>{SCRIPT}</script>\n</body>\n</html>\n",
        script_json(&data)
    ));
    Ok(html)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_in_a_script_element_cannot_close_it() {
        let value = serde_json::json!(["</script><!-- & \u{2028}"]);
        let text = script_json(&value);
        assert!(!text.contains('<') && !text.contains('>') && !text.contains('&') && !text.contains('\u{2028}'));
        assert_eq!(serde_json::from_str::<serde_json::Value>(&text).unwrap(), value);
    }

    #[test]
    fn text_is_escaped_and_acting_characters_shown() {
        assert_eq!(
            html_text("<b a=\"1\">'&'\u{202e}</b>"),
            "&lt;b a=&quot;1&quot;&gt;&#39;&amp;&#39;&lt;U+202E&gt;&lt;/b&gt;"
        );
        assert_eq!(
            saved_file_name("protected-speech", "zh-Hans"),
            "review-protected-speech-zh-Hans.csv"
        );
        assert_eq!(saved_file_name("a/../b", "sw"), "review-a____b-sw.csv");
    }
}
