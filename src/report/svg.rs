//! Inline SVG charts for the HTML report: rates with interval whiskers, a
//! forest plot of rate ratios, and over-removal against detection across
//! thresholds (also written as a file of its own for the Markdown report).
//! Every label is XML-escaped; charts need no script and no network.

use std::fmt::Write;

use super::sweep_view::CurveChart;
use super::threshold_text;
use super::view::{Bar, ForestRow, RateRow};
use super::visible::for_document;

const WIDTH: f64 = 760.0;
const LABEL_WIDTH: f64 = 230.0;
const RIGHT_MARGIN: f64 = 20.0;
const TOP: f64 = 30.0;
const OVER_REMOVAL_COLOUR: &str = "#c0392b";
const DETECTION_COLOUR: &str = "#2c6e9b";
const MAX_LABEL_CHARS: usize = 34;

/// Escapes text for XML and HTML content and attribute values.
pub fn xml_escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c if c.is_control() && c != '\n' && c != '\t' => {}
            c => out.push(c),
        }
    }
    out
}

fn short(label: &str) -> String {
    if label.chars().count() > MAX_LABEL_CHARS {
        format!("{}…", label.chars().take(MAX_LABEL_CHARS - 1).collect::<String>())
    } else {
        label.to_string()
    }
}

fn pct(v: f64) -> String {
    format!("{:.1} %", v * 100.0)
}

/// The opening of a chart: the root element with its accessible name, and a title.
fn open_svg(height: f64, title: &str) -> String {
    let title = xml_escape(title);
    format!(
        r#"<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {WIDTH} {height}" width="100%" role="img" aria-label="{title}" font-family="sans-serif" font-size="12"><title>{title}</title>"#
    )
}

/// Horizontal bars of over-removal (and detection, where measured) with whiskers.
pub fn rate_chart(rows: &[RateRow], title: &str) -> String {
    let row_height = 30.0;
    let height = TOP + rows.len() as f64 * row_height + 40.0;
    let plot = WIDTH - LABEL_WIDTH - RIGHT_MARGIN;
    let x = |v: f64| LABEL_WIDTH + v.clamp(0.0, 1.0) * plot;
    let mut svg = open_svg(height, title);
    for tick in [0.0, 0.25, 0.5, 0.75, 1.0] {
        let tx = x(tick);
        let _ = write!(
            svg,
            r##"<line x1="{tx:.1}" y1="{TOP}" x2="{tx:.1}" y2="{:.1}" stroke="#ddd"/><text x="{tx:.1}" y="{:.1}" text-anchor="middle" fill="#555">{:.0} %</text>"##,
            height - 30.0,
            height - 14.0,
            tick * 100.0
        );
    }
    let _ = write!(
        svg,
        r##"<rect x="{LABEL_WIDTH}" y="6" width="10" height="10" fill="{OVER_REMOVAL_COLOUR}"/><text x="{:.1}" y="15">over-removal (protected posts actioned)</text><rect x="{:.1}" y="6" width="10" height="10" fill="{DETECTION_COLOUR}"/><text x="{:.1}" y="15">detection (violating posts actioned)</text>"##,
        LABEL_WIDTH + 14.0,
        LABEL_WIDTH + 270.0,
        LABEL_WIDTH + 284.0
    );
    for (i, row) in rows.iter().enumerate() {
        let y = TOP + i as f64 * row_height;
        let bars = [row.over_removal.as_ref(), row.detection.as_ref()];
        let marker = if bars.iter().flatten().any(|b| b.small_sample) {
            " †"
        } else {
            ""
        };
        let _ = write!(
            svg,
            r##"<text x="{:.1}" y="{:.1}" text-anchor="end" fill="#222">{}{marker}</text>"##,
            LABEL_WIDTH - 8.0,
            y + 16.0,
            xml_escape(&short(&row.label))
        );
        for (offset, bar, colour, what) in [
            (4.0, bars[0], OVER_REMOVAL_COLOUR, "over-removal"),
            (16.0, bars[1], DETECTION_COLOUR, "detection"),
        ] {
            let Some(&Bar { rate, ci, small_sample }) = bar else {
                continue;
            };
            let opacity = if small_sample { 0.45 } else { 1.0 };
            let by = y + offset;
            let tooltip = match ci {
                Some([lo, hi]) => format!("{}: {what} {} (CI {}–{})", row.label, pct(rate), pct(lo), pct(hi)),
                None => format!("{}: {what} {}", row.label, pct(rate)),
            };
            let _ = write!(
                svg,
                r#"<g opacity="{opacity}"><title>{}</title><rect x="{LABEL_WIDTH}" y="{by:.1}" width="{:.1}" height="9" fill="{colour}"/>"#,
                xml_escape(&tooltip),
                x(rate) - LABEL_WIDTH
            );
            if let Some([lo, hi]) = ci {
                let my = by + 4.5;
                let _ = write!(
                    svg,
                    r##"<line x1="{:.1}" y1="{my:.1}" x2="{:.1}" y2="{my:.1}" stroke="#111"/><line x1="{:.1}" y1="{:.1}" x2="{:.1}" y2="{:.1}" stroke="#111"/><line x1="{:.1}" y1="{:.1}" x2="{:.1}" y2="{:.1}" stroke="#111"/>"##,
                    x(lo),
                    x(hi),
                    x(lo),
                    my - 3.0,
                    x(lo),
                    my + 3.0,
                    x(hi),
                    my - 3.0,
                    x(hi),
                    my + 3.0
                );
            }
            svg.push_str("</g>");
        }
    }
    svg.push_str("</svg>");
    svg
}

/// Forest plot of rate ratios on a log scale, with the line of parity at 1.
pub fn forest_plot(rows: &[ForestRow], title: &str) -> String {
    let row_height = 22.0;
    let height = TOP + rows.len() as f64 * row_height + 40.0;
    let plot = WIDTH - LABEL_WIDTH - RIGHT_MARGIN;
    let (mut lo, mut hi) = (0.5f64, 2.0f64);
    for r in rows {
        if let Some([a, b]) = r.ci {
            lo = lo.min(a);
            hi = hi.max(b);
        }
        if let Some(v) = r.ratio {
            lo = lo.min(v);
            hi = hi.max(v);
        }
    }
    let (lo, hi) = (lo.max(0.01), hi.min(100.0));
    let (llo, lhi) = (lo.ln(), hi.ln());
    let x = |v: f64| LABEL_WIDTH + ((v.clamp(lo, hi).ln() - llo) / (lhi - llo)) * plot;
    let mut svg = open_svg(height, title);
    for tick in [0.01, 0.05, 0.1, 0.25, 0.5, 1.0, 2.0, 4.0, 10.0, 20.0, 50.0, 100.0] {
        if tick < lo || tick > hi {
            continue;
        }
        let tx = x(tick);
        let colour = if tick == 1.0 { "#333" } else { "#ddd" };
        let _ = write!(
            svg,
            r##"<line x1="{tx:.1}" y1="{TOP}" x2="{tx:.1}" y2="{:.1}" stroke="{colour}"/><text x="{tx:.1}" y="{:.1}" text-anchor="middle" fill="#555">{tick}</text>"##,
            height - 30.0,
            height - 14.0
        );
    }
    let _ = write!(
        svg,
        r##"<text x="{LABEL_WIDTH}" y="16" fill="#333">rate ratio against the reference (log scale; filled = significant after correction)</text>"##
    );
    for (i, row) in rows.iter().enumerate() {
        let y = TOP + i as f64 * row_height + 11.0;
        let _ = write!(
            svg,
            r##"<text x="{:.1}" y="{:.1}" text-anchor="end" fill="#222">{}</text>"##,
            LABEL_WIDTH - 8.0,
            y + 4.0,
            xml_escape(&short(&row.label))
        );
        let Some(ratio) = row.ratio else { continue };
        let tooltip = match row.ci {
            Some([a, b]) => format!("{}: ratio {ratio:.2} (CI {a:.2}–{b:.2})", row.label),
            None => format!("{}: ratio {ratio:.2} (no interval: a count is zero)", row.label),
        };
        let _ = write!(svg, r#"<g><title>{}</title>"#, xml_escape(&tooltip));
        if let Some([a, b]) = row.ci {
            let _ = write!(
                svg,
                r##"<line x1="{:.1}" y1="{y:.1}" x2="{:.1}" y2="{y:.1}" stroke="#111"/>"##,
                x(a),
                x(b)
            );
        }
        let fill = if row.significant { OVER_REMOVAL_COLOUR } else { "#fff" };
        let _ = write!(
            svg,
            r##"<circle cx="{:.1}" cy="{y:.1}" r="4.5" fill="{fill}" stroke="#111"/></g>"##,
            x(ratio)
        );
    }
    svg.push_str("</svg>");
    svg
}

/// Colours of the groups' curves, in order; the overall curve is black.
const CURVE_COLOURS: [&str; 10] = [
    "#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf",
];

/// Dash patterns that tell apart curves sharing a colour (beyond ten groups).
const CURVE_DASHES: [&str; 3] = ["", "8 3", "2 2"];

/// Over-removal (x) against detection (y), one line per group from the lowest
/// threshold (top right) to the highest, with the run's threshold marked by a
/// dot (and a re-analysis's by a square). The chart stands alone: it is also
/// written as a file of its own.
pub fn curve_chart(chart: &CurveChart, title: &str) -> String {
    let (left, top, side): (f64, f64, f64) = (64.0, 52.0, 400.0);
    let legend_x = left + side + 36.0;
    let legend_row = 18.0;
    let height = (top + side + 56.0).max(top + chart.lines.len() as f64 * legend_row + 20.0);
    let x = |v: f64| left + v.clamp(0.0, 1.0) * side;
    let y = |v: f64| top + side - v.clamp(0.0, 1.0) * side;
    let mut svg = open_svg(height, title);
    let run = threshold_text(chart.run_threshold);
    let _ = write!(
        svg,
        r##"<circle cx="{left}" cy="14" r="4" fill="#111"/><text x="{:.1}" y="18">the run's threshold {run}</text>"##,
        left + 8.0
    );
    if let Some(t) = chart.operating_threshold {
        let _ = write!(
            svg,
            r##"<rect x="{:.1}" y="10" width="8" height="8" fill="#111"/><text x="{:.1}" y="18">threshold {} (this re-analysis)</text>"##,
            left + 200.0,
            left + 212.0,
            threshold_text(t)
        );
    }
    for tick in [0.0, 0.25, 0.5, 0.75, 1.0] {
        let (tx, ty) = (x(tick), y(tick));
        let _ = write!(
            svg,
            r##"<line x1="{tx:.1}" y1="{top}" x2="{tx:.1}" y2="{:.1}" stroke="#ddd"/><text x="{tx:.1}" y="{:.1}" text-anchor="middle" fill="#555">{:.0} %</text><line x1="{left}" y1="{ty:.1}" x2="{:.1}" y2="{ty:.1}" stroke="#ddd"/><text x="{:.1}" y="{:.1}" text-anchor="end" fill="#555">{:.0} %</text>"##,
            top + side,
            top + side + 16.0,
            tick * 100.0,
            left + side,
            left - 6.0,
            ty + 4.0,
            tick * 100.0
        );
    }
    let _ = write!(
        svg,
        r##"<text x="{:.1}" y="{:.1}" text-anchor="middle" fill="#333">over-removal (protected posts actioned)</text><text transform="translate(16 {:.1}) rotate(-90)" text-anchor="middle" fill="#333">detection (violating posts actioned)</text>"##,
        left + side / 2.0,
        top + side + 38.0,
        top + side / 2.0
    );
    let mut coloured = 0;
    for (i, line) in chart.lines.iter().enumerate() {
        let (colour, dash, width) = if line.overall {
            ("#111", "", 2.5)
        } else {
            let k = coloured;
            coloured += 1;
            (
                CURVE_COLOURS[k % CURVE_COLOURS.len()],
                CURVE_DASHES[(k / CURVE_COLOURS.len()) % CURVE_DASHES.len()],
                1.5,
            )
        };
        let dash = if line.small_sample { "4 3" } else { dash };
        let opacity = if line.small_sample { 0.6 } else { 1.0 };
        let label = format!(
            "{}{}",
            xml_escape(&for_document(&short(&line.label))),
            if line.small_sample { " †" } else { "" }
        );
        let mut points: Vec<String> = Vec::with_capacity(line.points.len());
        for [or, det] in &line.points {
            let point = format!("{:.1},{:.1}", x(*or), y(*det));
            if points.last() != Some(&point) {
                points.push(point);
            }
        }
        let tooltip = match line.run_point {
            Some([or, det]) => format!(
                "{}: at threshold {run}, over-removal {}, detection {}",
                line.label,
                pct(or),
                pct(det)
            ),
            None => line.label.clone(),
        };
        let dash_attribute = if dash.is_empty() {
            String::new()
        } else {
            format!(r#" stroke-dasharray="{dash}""#)
        };
        let _ = write!(
            svg,
            r#"<g opacity="{opacity}"><title>{}</title><polyline points="{}" fill="none" stroke="{colour}" stroke-width="{width}"{dash_attribute}/>"#,
            xml_escape(&for_document(&tooltip)),
            points.join(" ")
        );
        if let Some([or, det]) = line.run_point {
            let _ = write!(
                svg,
                r##"<circle cx="{:.1}" cy="{:.1}" r="4" fill="{colour}" stroke="#fff"/>"##,
                x(or),
                y(det)
            );
        }
        if let Some([or, det]) = line.operating_point {
            let _ = write!(
                svg,
                r##"<rect x="{:.1}" y="{:.1}" width="8" height="8" fill="{colour}" stroke="#fff"/>"##,
                x(or) - 4.0,
                y(det) - 4.0
            );
        }
        let ly = top + i as f64 * legend_row;
        let _ = write!(
            svg,
            r##"<line x1="{legend_x}" y1="{ly:.1}" x2="{:.1}" y2="{ly:.1}" stroke="{colour}" stroke-width="{width}"{dash_attribute}/><text x="{:.1}" y="{:.1}" fill="#222">{label}</text></g>"##,
            legend_x + 22.0,
            legend_x + 28.0,
            ly + 4.0
        );
    }
    svg.push_str("</svg>");
    svg
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_are_escaped() {
        let rows = vec![RateRow {
            label: "<script>alert('x')</script>&".into(),
            over_removal: Some(Bar {
                rate: 0.5,
                ci: Some([0.2, 0.8]),
                small_sample: true,
            }),
            detection: None,
        }];
        let svg = rate_chart(&rows, "t");
        assert!(!svg.contains("<script>"));
        assert!(svg.contains("&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;&amp;"));
        let forest = forest_plot(
            &[ForestRow {
                label: "\"><g onload=x>".into(),
                ratio: Some(2.0),
                ci: Some([1.0, 4.0]),
                significant: true,
            }],
            "t",
        );
        assert!(!forest.contains("<g onload"));
    }

    #[test]
    fn curve_labels_are_escaped_and_acting_characters_shown() {
        use super::super::sweep_view::CurveLine;
        let chart = CurveChart {
            file: "threshold-sweep-language.svg".into(),
            lines: vec![
                CurveLine {
                    label: "All posts".into(),
                    points: vec![[1.0, 1.0], [0.5, 0.8], [0.5, 0.8], [0.0, 0.2]],
                    run_point: Some([0.5, 0.8]),
                    operating_point: Some([0.0, 0.2]),
                    overall: true,
                    small_sample: false,
                },
                CurveLine {
                    label: "<script>x</script>\u{202e}txt".into(),
                    points: vec![[0.9, 1.0], [0.1, 0.3]],
                    run_point: None,
                    operating_point: None,
                    overall: false,
                    small_sample: true,
                },
            ],
            run_threshold: 0.5,
            operating_threshold: Some(0.7),
        };
        let svg = curve_chart(&chart, "a & b");
        assert!(!svg.contains("<script>") && !svg.contains('\u{202e}'));
        assert!(
            svg.contains("&lt;script&gt;x&lt;/script&gt;&lt;U+202E&gt;txt †"),
            "{svg}"
        );
        assert!(svg.contains("the run's threshold 0.5") && svg.contains("threshold 0.7 (this re-analysis)"));
        // repeated points are drawn once
        assert!(svg.contains(r#"points="464.0,52.0 264.0,132.0 64.0,372.0""#), "{svg}");
        assert!(
            !svg.contains("http") || svg.matches("http").count() == 1,
            "no reference but the SVG namespace"
        );
    }
}
