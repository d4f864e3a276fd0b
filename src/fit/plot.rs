//! Pictures as SVG: learning curves of a [`History`] and a [`ConfusionMatrix`] heat map.
//!
//! A small hand-written writer rather than a plotting crate: two chart kinds with fixed
//! layouts need a few hundred lines, add nothing to build times and give markup that tests can
//! count (`plotters` with only its SVG backend and line series costs about 3.5 s of a clean
//! debug build, and its text layout would still be an estimate without a font crate).
//! Every point is a `<circle>` inside its series' `<g class="series" data-name="…">`, every
//! heat-map cell a `<rect class="cell">`.

use std::fmt::Write as _;
use std::io;
use std::path::Path;

use super::History;
use crate::data::ConfusionMatrix;

const PANEL_W: f64 = 480.0;
const PANEL_H: f64 = 340.0;
/// Space for the y ticks and label on the left, the x ticks, label and legend below, the
/// title above.
const LEFT: f64 = 64.0;
const RIGHT: f64 = 16.0;
const TOP: f64 = 36.0;
const BOTTOM: f64 = 66.0;
const TRAIN: &str = "#1f77b4";
const VALIDATION: &str = "#d62728";

impl History {
    /// Learning curves as an SVG document: a panel with the training and validation loss per
    /// epoch, and one panel per metric (training and validation values).
    pub fn to_svg(&self) -> String {
        let mut panels = vec![Panel {
            title: "loss".into(),
            y_label: "loss",
            percent: false,
            series: vec![
                Series::new("train loss", TRAIN, self.points(|e| Some(e.train_loss))),
                Series::new("validation loss", VALIDATION, self.points(|e| e.val_loss)),
            ],
        }];
        for name in self.metric_names() {
            let percent = name == "accuracy";
            panels.push(Panel {
                title: name.to_string(),
                y_label: name,
                percent,
                series: vec![
                    Series::new(
                        &format!("train {name}"),
                        TRAIN,
                        self.points(|e| e.train_metric(name)),
                    ),
                    Series::new(
                        &format!("validation {name}"),
                        VALIDATION,
                        self.points(|e| e.val_metric(name)),
                    ),
                ],
            });
        }
        for p in &mut panels {
            p.series.retain(|s| !s.points.is_empty());
        }
        let width = PANEL_W * panels.len() as f64;
        let mut body = String::new();
        for (i, p) in panels.iter().enumerate() {
            p.render(&mut body, i as f64 * PANEL_W, 0.0);
        }
        document(width, PANEL_H, "learning curves", &body)
    }

    /// Writes [`to_svg`](History::to_svg) to `path`, creating its directory.
    pub fn write_svg(&self, path: impl AsRef<Path>) -> io::Result<()> {
        write_creating_dir(path.as_ref(), &self.to_svg())
    }

    /// (epoch from 1, value) for the epochs where `f` gives a finite value.
    fn points(&self, f: impl Fn(&super::EpochRecord) -> Option<f64>) -> Vec<(f64, f64)> {
        self.epochs
            .iter()
            .filter_map(|e| {
                f(e).filter(|v| v.is_finite())
                    .map(|v| (e.epoch as f64 + 1.0, v))
            })
            .collect()
    }
}

impl<const K: usize> ConfusionMatrix<K> {
    /// A heat map as an SVG document: true classes down, predicted classes across, each cell
    /// labelled with its count and shaded by its share of the true class's samples (the
    /// diagonal shows recall), on a square-root scale so that a few confusions still show.
    pub fn to_svg(&self) -> String {
        let cell = if K <= 12 { 40.0 } else { 480.0 / K as f64 };
        let (left, top) = (70.0, 76.0);
        let size = cell * K as f64;
        let (width, height) = (left + size + 20.0, top + size + 20.0);
        let mut s = String::new();
        let _ = write!(
            s,
            r#"<text x="{:.1}" y="22" text-anchor="middle" font-size="15">confusion matrix: accuracy {:.2}% ({}/{})</text>"#,
            width / 2.0,
            100.0 * self.accuracy(),
            self.correct(),
            self.total()
        );
        let _ = write!(
            s,
            r#"<text x="{:.1}" y="{:.1}" text-anchor="middle" font-size="12">predicted class</text>"#,
            left + size / 2.0,
            top - 30.0
        );
        let _ = write!(
            s,
            r#"<text x="16" y="{0:.1}" text-anchor="middle" font-size="12" transform="rotate(-90 16 {0:.1})">true class</text>"#,
            top + size / 2.0
        );
        let font = (cell * 0.32).clamp(6.0, 12.0);
        for c in 0..K {
            let mid = c as f64 * cell + cell / 2.0;
            let _ = write!(
                s,
                r#"<text x="{:.1}" y="{:.1}" text-anchor="middle" font-size="{font:.1}">{c}</text>"#,
                left + mid,
                top - 8.0
            );
            let _ = write!(
                s,
                r#"<text x="{:.1}" y="{:.1}" text-anchor="end" dominant-baseline="middle" font-size="{font:.1}">{c}</text>"#,
                left - 8.0,
                top + mid
            );
        }
        for (a, row) in self.counts().iter().enumerate() {
            let row_total: u64 = row.iter().sum();
            for (p, &n) in row.iter().enumerate() {
                let share = if row_total == 0 {
                    0.0
                } else {
                    n as f64 / row_total as f64
                };
                let (x, y) = (left + p as f64 * cell, top + a as f64 * cell);
                let _ = write!(
                    s,
                    r##"<rect class="cell" data-true="{a}" data-predicted="{p}" data-count="{n}" x="{x:.1}" y="{y:.1}" width="{cell:.1}" height="{cell:.1}" fill="{}" stroke="#ffffff" stroke-width="0.5"/>"##,
                    blue(share.sqrt())
                );
                if n > 0 {
                    let ink = if share.sqrt() > 0.6 {
                        "#ffffff"
                    } else {
                        "#000000"
                    };
                    let _ = write!(
                        s,
                        r#"<text x="{:.1}" y="{:.1}" text-anchor="middle" dominant-baseline="middle" font-size="{font:.1}" fill="{ink}">{n}</text>"#,
                        x + cell / 2.0,
                        y + cell / 2.0
                    );
                }
            }
        }
        document(width, height, "confusion matrix", &s)
    }

    /// Writes [`to_svg`](ConfusionMatrix::to_svg) to `path`, creating its directory.
    pub fn write_svg(&self, path: impl AsRef<Path>) -> io::Result<()> {
        write_creating_dir(path.as_ref(), &self.to_svg())
    }
}

/// White at 0 to a dark blue at 1.
fn blue(share: f64) -> String {
    let t = share.clamp(0.0, 1.0);
    let mix = |from: f64, to: f64| (from + (to - from) * t).round() as u8;
    format!(
        "#{:02x}{:02x}{:02x}",
        mix(255.0, 8.0),
        mix(255.0, 48.0),
        mix(255.0, 107.0)
    )
}

pub(crate) fn write_creating_dir(path: &Path, text: &str) -> io::Result<()> {
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir)?;
    }
    std::fs::write(path, text)
}

fn document(width: f64, height: f64, title: &str, body: &str) -> String {
    format!(
        concat!(
            r#"<?xml version="1.0" encoding="UTF-8"?>"#,
            "\n",
            r#"<svg xmlns="http://www.w3.org/2000/svg" width="{w}" height="{h}" viewBox="0 0 {w} {h}" font-family="sans-serif">"#,
            "\n<title>{t}</title>\n",
            r##"<rect width="100%" height="100%" fill="#ffffff"/>"##,
            "\n{b}\n</svg>\n"
        ),
        w = width,
        h = height,
        t = escape(title),
        b = body
    )
}

fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

struct Series {
    name: String,
    color: &'static str,
    points: Vec<(f64, f64)>,
}

impl Series {
    fn new(name: &str, color: &'static str, points: Vec<(f64, f64)>) -> Self {
        Series {
            name: name.to_string(),
            color,
            points,
        }
    }
}

/// A line chart over epochs.
struct Panel {
    title: String,
    y_label: &'static str,
    /// Ticks as percentages (for fractions such as accuracy).
    percent: bool,
    series: Vec<Series>,
}

impl Panel {
    fn render(&self, s: &mut String, x0: f64, y0: f64) {
        let all = || self.series.iter().flat_map(|p| p.points.iter());
        let last_epoch = all().map(|p| p.0).fold(1.0, f64::max);
        let (xmin, xmax) = (1.0, last_epoch.max(2.0));
        let (mut ymin, mut ymax) = all().fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), p| {
            (lo.min(p.1), hi.max(p.1))
        });
        if !ymin.is_finite() {
            (ymin, ymax) = (0.0, 1.0);
        }
        if ymax - ymin < 1e-12 * ymax.abs().max(1.0) {
            (ymin, ymax) = (
                ymin - 0.5 * ymin.abs().max(1e-3),
                ymax + 0.5 * ymax.abs().max(1e-3),
            );
        }
        let ystep = nice_step((ymax - ymin) / 5.0);
        let (ymin, ymax) = (
            (ymin / ystep).floor() * ystep,
            (ymax / ystep).ceil() * ystep,
        );
        let xstep = nice_step((xmax - xmin) / 8.0).max(1.0);

        let (px, py) = (x0 + LEFT, y0 + TOP);
        let (pw, ph) = (PANEL_W - LEFT - RIGHT, PANEL_H - TOP - BOTTOM);
        let sx = |x: f64| px + (x - xmin) / (xmax - xmin) * pw;
        let sy = |y: f64| py + ph - (y - ymin) / (ymax - ymin) * ph;

        let _ = write!(
            s,
            r#"<g class="panel" data-title="{}"><text x="{:.1}" y="{:.1}" text-anchor="middle" font-size="14">{}</text>"#,
            escape(&self.title),
            px + pw / 2.0,
            y0 + 22.0,
            escape(&self.title)
        );
        // Grid and ticks.
        let ticks = ((ymax - ymin) / ystep).round() as usize;
        for k in 0..=ticks {
            let y = ymin + k as f64 * ystep;
            let label = if self.percent {
                format!("{}%", trim(100.0 * y, ystep * 100.0))
            } else {
                trim(y, ystep)
            };
            let _ = write!(
                s,
                r##"<line x1="{px:.1}" y1="{yy:.1}" x2="{x2:.1}" y2="{yy:.1}" stroke="#e0e0e0"/><text x="{tx:.1}" y="{yy:.1}" text-anchor="end" dominant-baseline="middle" font-size="10">{label}</text>"##,
                yy = sy(y),
                x2 = px + pw,
                tx = px - 6.0,
            );
        }
        let mut x = xmin;
        while x <= xmax + 1e-9 {
            let _ = write!(
                s,
                r#"<text x="{:.1}" y="{:.1}" text-anchor="middle" font-size="10">{}</text>"#,
                sx(x),
                py + ph + 14.0,
                x.round()
            );
            x += xstep;
        }
        let _ = write!(
            s,
            r##"<rect x="{px:.1}" y="{py:.1}" width="{pw:.1}" height="{ph:.1}" fill="none" stroke="#444444"/>"##
        );
        let _ = write!(
            s,
            r#"<text class="axis-label" x="{:.1}" y="{:.1}" text-anchor="middle" font-size="12">epoch</text>"#,
            px + pw / 2.0,
            py + ph + 32.0
        );
        let (lx, ly) = (x0 + 14.0, py + ph / 2.0);
        let _ = write!(
            s,
            r#"<text class="axis-label" x="{lx:.1}" y="{ly:.1}" text-anchor="middle" font-size="12" transform="rotate(-90 {lx:.1} {ly:.1})">{}</text>"#,
            escape(self.y_label)
        );
        for (k, series) in self.series.iter().enumerate() {
            let name = escape(&series.name);
            let _ = write!(
                s,
                r#"<g class="series" data-name="{name}" stroke="{0}" fill="{0}">"#,
                series.color
            );
            let line: Vec<String> = series
                .points
                .iter()
                .map(|&(x, y)| format!("{:.1},{:.1}", sx(x), sy(y)))
                .collect();
            let _ = write!(
                s,
                r#"<polyline fill="none" stroke-width="1.5" points="{}"/>"#,
                line.join(" ")
            );
            for &(x, y) in &series.points {
                let _ = write!(
                    s,
                    r#"<circle cx="{:.1}" cy="{:.1}" r="2.5"/>"#,
                    sx(x),
                    sy(y)
                );
            }
            // The legend, in a row below the axis label, where it hides no point.
            let (lx, ly) = (px + 150.0 * k as f64, py + ph + 54.0);
            let _ = write!(
                s,
                r#"<line x1="{lx:.1}" y1="{ly:.1}" x2="{:.1}" y2="{ly:.1}" stroke-width="2"/><text x="{:.1}" y="{ly:.1}" dominant-baseline="middle" font-size="11" stroke="none">{name}</text></g>"#,
                lx + 18.0,
                lx + 24.0
            );
        }
        s.push_str("</g>\n");
    }
}

/// 1, 2 or 5 times a power of ten, at least `raw`.
fn nice_step(raw: f64) -> f64 {
    if raw.is_nan() || raw <= 0.0 || raw.is_infinite() {
        return 1.0;
    }
    let p = 10f64.powf(raw.log10().floor());
    let m = raw / p;
    let k = if m <= 1.0 {
        1.0
    } else if m <= 2.0 {
        2.0
    } else if m <= 5.0 {
        5.0
    } else {
        10.0
    };
    k * p
}

/// `v` with as many decimals as the tick step needs.
fn trim(v: f64, step: f64) -> String {
    let decimals = (-step.log10().floor()).max(0.0) as usize;
    format!("{v:.decimals$}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn steps_are_nice() {
        assert_eq!(nice_step(0.3), 0.5);
        assert_eq!(nice_step(1.0), 1.0);
        assert_eq!(nice_step(13.0), 20.0);
        assert!((nice_step(0.0012) - 0.002).abs() < 1e-15);
        assert_eq!(trim(0.25, 0.05), "0.25");
        assert_eq!(trim(3.0, 1.0), "3");
    }

    #[test]
    fn shades_run_from_white_to_blue() {
        assert_eq!(blue(0.0), "#ffffff");
        assert_eq!(blue(1.0), "#08306b");
    }
}
