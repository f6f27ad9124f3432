//! `report.html`: a self-contained page (inline CSS and SVG, no script, no
//! external requests; a Content-Security-Policy forbids both) rendered with
//! minijinja, whose HTML auto-escaping covers every value from the report.

use minijinja::value::Serde;
use minijinja::{Environment, Value, context};

use super::Report;
use super::svg::{curve_chart, forest_plot, rate_chart, xml_escape};
use super::view::{Chart, build_view};
use super::visible::for_document;

const TEMPLATE: &str = include_str!("templates/report.html");

/// Renders the HTML report.
pub fn render_html(report: &Report) -> Result<String, minijinja::Error> {
    let view = build_view(report);
    let mut env = Environment::new();
    // The `.html` name turns on HTML auto-escaping.
    env.add_template("report.html", TEMPLATE)?;
    let sections: Vec<Value> = view
        .sections
        .iter()
        .map(|s| {
            let svg = s.chart.as_ref().map(|chart| {
                Value::from_safe_string(match chart {
                    Chart::Rates(rows) => rate_chart(rows, &s.title),
                    Chart::Forest(rows) => forest_plot(rows, &s.title),
                    Chart::Curves(chart) => curve_chart(chart, &s.title),
                })
            });
            let paragraphs: Vec<Value> = s
                .paragraphs
                .iter()
                .map(|p| Value::from_safe_string(with_code_spans(p)))
                .collect();
            context! {
                id => &s.id,
                title => &s.title,
                paragraphs => paragraphs,
                svg => svg,
                table => Value::from(Serde(&s.table)),
            }
        })
        .collect();
    let status_class = match report.outcome.status {
        super::Status::Passed => "passed",
        super::Status::GatesFailed => "gates_failed",
        super::Status::Incomplete => "incomplete",
    };
    env.get_template("report.html")?.render(context! {
        view => Value::from(Serde(&view)),
        sections => sections,
        status_class => status_class,
        version => for_document(&report.run.tool_version),
        run_id => for_document(&report.run.id),
    })
}

/// The charts that are also files of their own (the threshold sweep's, which
/// the Markdown report shows): each file name with its SVG.
pub fn chart_files(report: &Report) -> Vec<(String, String)> {
    build_view(report)
        .sections
        .iter()
        .filter_map(|s| match &s.chart {
            Some(Chart::Curves(chart)) => Some((chart.file.clone(), curve_chart(chart, &s.title))),
            _ => None,
        })
        .collect()
}

/// Escapes modaudit's own prose and turns `backtick` spans into `<code>`.
fn with_code_spans(text: &str) -> String {
    let mut out = String::new();
    for (i, part) in text.split('`').enumerate() {
        if i % 2 == 1 {
            out.push_str("<code>");
            out.push_str(&xml_escape(part));
            out.push_str("</code>");
        } else {
            out.push_str(&xml_escape(part));
        }
    }
    out
}
