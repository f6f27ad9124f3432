//! `diff.html`: the comparison as a self-contained page (inline CSS, no
//! script, no external requests; a Content-Security-Policy forbids both),
//! rendered with minijinja, whose HTML auto-escaping covers every value.

use minijinja::value::Serde;
use minijinja::{Environment, Value, context};

use super::RunDiff;
use super::view::build_view;
use crate::gates::GateStatus;
use crate::report::visible::for_document;

const TEMPLATE: &str = include_str!("../templates/diff.html");

/// Renders the HTML comparison.
pub fn render_html(diff: &RunDiff) -> Result<String, minijinja::Error> {
    let view = build_view(diff);
    let mut env = Environment::new();
    // The `.html` name turns on HTML auto-escaping.
    env.add_template("diff.html", TEMPLATE)?;
    let status_class = match diff.gate.as_ref().map(|g| g.status) {
        None | Some(GateStatus::Passed) => "passed",
        Some(GateStatus::Failed) => "gates_failed",
        Some(GateStatus::NotMeasurable) => "incomplete",
    };
    env.get_template("diff.html")?.render(context! {
        view => Value::from(Serde(&view)),
        status_class => status_class,
        version => for_document(env!("CARGO_PKG_VERSION")),
    })
}
