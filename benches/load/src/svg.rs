//! Plots of one run as a self-contained SVG (`--svg FILE`): throughput per second over
//! the run, and end-to-end latency by percentile on the usual HDR axis (1 / (1 - q), log
//! scale), so that the tail reads left to right. Hand-written SVG: no plotting library.

use std::fmt::Write as _;

use hdrhistogram::Histogram;

/// The quantiles reported in the JSON (`percentiles_us`) and plotted.
pub(crate) const QUANTILES: [f64; 15] = [
    0.0, 0.1, 0.25, 0.5, 0.75, 0.9, 0.95, 0.99, 0.995, 0.999, 0.9995, 0.9999, 0.99995, 0.99999, 1.0,
];

/// (quantile, value in µs) for each of [`QUANTILES`]; empty for an empty histogram.
pub(crate) fn percentiles_us(h: &Histogram<u64>) -> Vec<(f64, f64)> {
    if h.is_empty() {
        return Vec::new();
    }
    QUANTILES
        .iter()
        .map(|&q| (q, h.value_at_quantile(q) as f64 / 1e3))
        .collect()
}

/// The percentiles as a JSON array of `[quantile, µs]` pairs.
pub(crate) fn percentiles_json(p: &[(f64, f64)]) -> String {
    let items: Vec<String> = p.iter().map(|(q, v)| format!("[{q},{v:.1}]")).collect();
    format!("[{}]", items.join(","))
}

/// Per-second counts as a JSON array of `[a, b]` pairs.
pub(crate) fn per_second_json(p: &[(u64, u64)]) -> String {
    let items: Vec<String> = p.iter().map(|(a, b)| format!("[{a},{b}]")).collect();
    format!("[{}]", items.join(","))
}

const W: f64 = 900.0;
const PANEL_H: f64 = 260.0;
const LEFT: f64 = 90.0;
const RIGHT: f64 = 40.0;

/// The two panels: `series` names the two per-second counts (e.g. "published",
/// "delivered"); `latency_what` labels the latency axis.
pub(crate) fn render(
    title: &str,
    per_second: &[(u64, u64)],
    series: (&str, &str),
    percentiles: &[(f64, f64)],
    latency_what: &str,
) -> String {
    let height = 2.0 * PANEL_H + 120.0;
    let mut s = String::new();
    let _ = write!(
        s,
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="{W}" height="{height}" viewBox="0 0 {W} {height}" font-family="sans-serif" font-size="12">"#
    );
    let _ = write!(
        s,
        r#"<rect width="100%" height="100%" fill="white"/><text x="{}" y="22" font-size="14" text-anchor="middle">{}</text>"#,
        W / 2.0,
        escape(title)
    );
    throughput_panel(&mut s, 40.0, per_second, series);
    latency_panel(&mut s, 80.0 + PANEL_H, percentiles, latency_what);
    s.push_str("</svg>\n");
    s
}

fn throughput_panel(s: &mut String, top: f64, per_second: &[(u64, u64)], series: (&str, &str)) {
    let (x0, x1, y0, y1) = (LEFT, W - RIGHT, top + PANEL_H - 30.0, top + 10.0);
    let n = per_second.len().max(1) as f64;
    let max = per_second
        .iter()
        .map(|&(a, b)| a.max(b))
        .max()
        .unwrap_or(0)
        .max(1) as f64;
    let top_value = nice_ceiling(max);
    axes(s, x0, x1, y0, y1, "second of the run", "messages / s");
    for k in 0..=4 {
        let v = top_value * f64::from(k) / 4.0;
        let y = y0 - (y0 - y1) * f64::from(k) / 4.0;
        tick_y(s, x0, x1, y, &human(v));
    }
    let step = (n / 10.0).ceil().max(1.0) as usize;
    for i in (0..per_second.len()).step_by(step) {
        let x = x0 + (x1 - x0) * (i as f64 + 1.0) / n;
        let _ = write!(
            s,
            r#"<text x="{x:.1}" y="{:.1}" text-anchor="middle">{}</text>"#,
            y0 + 15.0,
            i + 1
        );
    }
    for (k, (name, colour)) in [(series.0, "#888888"), (series.1, "#1f77b4")]
        .into_iter()
        .enumerate()
    {
        let points: Vec<String> = per_second
            .iter()
            .enumerate()
            .map(|(i, &(a, b))| {
                let v = if k == 0 { a } else { b } as f64;
                let x = x0 + (x1 - x0) * (i as f64 + 1.0) / n;
                let y = y0 - (y0 - y1) * v / top_value;
                format!("{x:.1},{y:.1}")
            })
            .collect();
        let _ = write!(
            s,
            r#"<polyline fill="none" stroke="{colour}" stroke-width="2" points="{}"/>"#,
            points.join(" ")
        );
        let lx = x1 - 200.0 + 100.0 * k as f64;
        let _ = write!(
            s,
            r#"<rect x="{lx}" y="{}" width="12" height="3" fill="{colour}"/><text x="{}" y="{}">{}</text>"#,
            y1 - 2.0,
            lx + 16.0,
            y1 + 3.0,
            escape(name)
        );
    }
}

fn latency_panel(s: &mut String, top: f64, percentiles: &[(f64, f64)], what: &str) {
    let (x0, x1, y0, y1) = (LEFT, W - RIGHT, top + PANEL_H - 30.0, top + 10.0);
    axes(s, x0, x1, y0, y1, "percentile", what);
    // x = log10(1 / (1 - q)), q = 0 .. 0.99999 -> 0 .. 5; the max is drawn at 5.
    let xq = |q: f64| {
        let d = (1.0 - q).max(1e-5);
        x0 + (x1 - x0) * (-d.log10()) / 5.0
    };
    for (q, label) in [
        (0.0, "0%"),
        (0.9, "90%"),
        (0.99, "99%"),
        (0.999, "99.9%"),
        (0.9999, "99.99%"),
        (0.99999, "99.999%"),
    ] {
        let x = xq(q);
        let _ = write!(
            s,
            r##"<line x1="{x:.1}" y1="{y0}" x2="{x:.1}" y2="{y1}" stroke="#eeeeee"/><text x="{x:.1}" y="{:.1}" text-anchor="middle">{label}</text>"##,
            y0 + 15.0
        );
    }
    let values: Vec<f64> = percentiles.iter().map(|&(_, v)| v.max(1.0)).collect();
    if values.is_empty() {
        return;
    }
    // Log scale in µs, whole decades.
    let lo = values
        .iter()
        .copied()
        .fold(f64::MAX, f64::min)
        .log10()
        .floor();
    let hi = values
        .iter()
        .copied()
        .fold(1.0, f64::max)
        .log10()
        .ceil()
        .max(lo + 1.0);
    let yv = |v: f64| y0 - (y0 - y1) * (v.max(1.0).log10() - lo) / (hi - lo);
    let mut d = lo;
    while d <= hi {
        tick_y(s, x0, x1, yv(10f64.powf(d)), &micros(10f64.powf(d)));
        d += 1.0;
    }
    let points: Vec<String> = percentiles
        .iter()
        .map(|&(q, v)| format!("{:.1},{:.1}", xq(q), yv(v)))
        .collect();
    let _ = write!(
        s,
        r##"<polyline fill="none" stroke="#d62728" stroke-width="2" points="{}"/>"##,
        points.join(" ")
    );
    for &(q, v) in percentiles {
        if [0.5, 0.99, 0.999].contains(&q) {
            let _ = write!(
                s,
                r##"<circle cx="{:.1}" cy="{:.1}" r="3" fill="#d62728"/><text x="{:.1}" y="{:.1}">p{} {}</text>"##,
                xq(q),
                yv(v),
                xq(q) + 5.0,
                yv(v) - 6.0,
                q * 100.0,
                micros(v)
            );
        }
    }
}

fn axes(s: &mut String, x0: f64, x1: f64, y0: f64, y1: f64, x_label: &str, y_label: &str) {
    let _ = write!(
        s,
        r##"<line x1="{x0}" y1="{y0}" x2="{x1}" y2="{y0}" stroke="black"/><line x1="{x0}" y1="{y0}" x2="{x0}" y2="{y1}" stroke="black"/><text x="{:.1}" y="{:.1}" text-anchor="middle">{}</text><text transform="translate(18,{:.1}) rotate(-90)" text-anchor="middle">{}</text>"##,
        (x0 + x1) / 2.0,
        y0 + 30.0,
        escape(x_label),
        (y0 + y1) / 2.0,
        escape(y_label)
    );
}

fn tick_y(s: &mut String, x0: f64, x1: f64, y: f64, label: &str) {
    let _ = write!(
        s,
        r##"<line x1="{x0}" y1="{y:.1}" x2="{x1}" y2="{y:.1}" stroke="#eeeeee"/><text x="{:.1}" y="{:.1}" text-anchor="end">{}</text>"##,
        x0 - 5.0,
        y + 4.0,
        escape(label)
    );
}

/// The smallest 1, 2 or 5 times a power of ten at least `v`.
fn nice_ceiling(v: f64) -> f64 {
    let p = 10f64.powf(v.log10().floor());
    [1.0, 2.0, 5.0, 10.0]
        .into_iter()
        .map(|m| m * p)
        .find(|&c| c >= v)
        .unwrap_or(10.0 * p)
}

/// 1234567 -> "1.2M", 45000 -> "45k".
fn human(v: f64) -> String {
    if v >= 1e6 {
        format!("{:.1}M", v / 1e6)
    } else if v >= 1e3 {
        format!("{:.0}k", v / 1e3)
    } else {
        format!("{v:.0}")
    }
}

/// A latency in µs as µs, ms or s.
fn micros(v: f64) -> String {
    if v >= 1e6 {
        format!("{:.1} s", v / 1e6)
    } else if v >= 1e3 {
        format!("{:.1} ms", v / 1e3)
    } else {
        format!("{v:.0} µs")
    }
}

fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_both_panels() {
        let mut h = crate::subscriber::histogram();
        for v in 1..10_000u64 {
            h.record(v * 1000).unwrap();
        }
        let p = percentiles_us(&h);
        assert_eq!(p.len(), QUANTILES.len());
        let svg = render("t <1>", &[(10, 9), (12, 11)], ("a", "b"), &p, "µs");
        assert!(svg.starts_with("<svg") && svg.ends_with("</svg>\n"));
        assert_eq!(svg.matches("<polyline").count(), 3);
        assert!(svg.contains("t &lt;1&gt;"));
        assert_eq!(nice_ceiling(3.2e4), 5e4);
        assert_eq!(human(1.25e6), "1.2M");
    }
}
