//! The figures of the README, computed on the default model.
//!
//! Run with `cargo run --release --example figures`; it writes SVG files to
//! `target/figures/`:
//!
//! 1. `energy_profiles.svg` — claim 1: the share of a minimal attack's
//!    energy in each eigen-direction, for regular (ℓ2, ℓ∞) and generative
//!    attacks, on the Bayes classifier and on the mean-difference classifier.
//! 2. `variance_growth.svg` — claim 2: the relative growth of each
//!    direction's variance under ℓ2 and generative adversarial training at a
//!    matched optimal robust error.
//! 3. `robust_error_curves.svg` — the optimal robust error against the
//!    budget, as a fraction of each threat's own limit, for five threats.
//! 4. `conflict_matrix.svg` — claim 3: how much training against one
//!    threat costs against another at budgets of equal strength.

use std::error::Error;
use std::path::{Path, PathBuf};

use manifold_robustness::{default_model, Gmm, LinearClassifier, Threat};
use plotters::coord::ranged1d::{Ranged, ValueFormatter};
use plotters::coord::Shift;
use plotters::prelude::*;
use rand::rngs::StdRng;
use rand::SeedableRng;

type Outcome<T> = std::result::Result<T, Box<dyn Error>>;

/// Where the figures go.
const FIGURE_DIR: &str = "target/figures";

/// Size of one panel, in SVG pixels.
const PANEL: (u32, u32) = (560, 440);

/// The tab10 palette of matplotlib: distinct, colour-blind-friendly hues.
const PALETTE: [RGBColor; 6] = [
    RGBColor(31, 119, 180),
    RGBColor(255, 127, 14),
    RGBColor(44, 160, 44),
    RGBColor(214, 39, 40),
    RGBColor(148, 103, 189),
    RGBColor(140, 86, 75),
];

const FONT: &str = "sans-serif";

fn main() -> Outcome<()> {
    let gmm = default_model();
    let dir = PathBuf::from(FIGURE_DIR);
    std::fs::create_dir_all(&dir)?;
    energy_profiles(&gmm, &dir.join("energy_profiles.svg"))?;
    variance_growth(&gmm, &dir.join("variance_growth.svg"))?;
    robust_error_curves(&gmm, &dir.join("robust_error_curves.svg"))?;
    for name in [
        "energy_profiles.svg",
        "variance_growth.svg",
        "robust_error_curves.svg",
    ] {
        println!("wrote {}", dir.join(name).display());
    }
    Ok(())
}

/// One line of a chart.
struct Series {
    name: String,
    color: RGBColor,
    points: Vec<(f64, f64)>,
    /// Draw a marker at every point (for per-direction data).
    markers: bool,
    dashed: bool,
}

/// How a chart's y axis is scaled.
#[derive(Clone, Copy, PartialEq)]
enum Scale {
    Linear,
    Log,
}

/// A chart with a linear x axis and a linear or logarithmic y axis.
struct Chart<'a> {
    title: &'a str,
    x_label: &'a str,
    y_label: &'a str,
    x_range: (f64, f64),
    y_range: (f64, f64),
    y_scale: Scale,
    /// Print x ticks as integers (direction indices).
    integer_x: bool,
    /// Print y ticks as percentages (error rates).
    percent_y: bool,
    legend: SeriesLabelPosition,
}

fn draw_chart(
    area: &DrawingArea<SVGBackend, Shift>,
    chart: &Chart,
    series: &[Series],
) -> Outcome<()> {
    let mut builder = ChartBuilder::on(area);
    builder
        .caption(chart.title, (FONT, 19))
        .margin(14)
        .x_label_area_size(46)
        .y_label_area_size(74);
    let x_range = chart.x_range.0..chart.x_range.1;
    let y_range = chart.y_range.0..chart.y_range.1;
    match chart.y_scale {
        Scale::Log => {
            let ctx = builder.build_cartesian_2d(x_range, y_range.log_scale())?;
            let format = |v: &f64| format_log_tick(v, chart.percent_y);
            finish_chart(ctx, chart, series, &format)
        }
        Scale::Linear => {
            let ctx = builder.build_cartesian_2d(x_range, y_range)?;
            let format = |v: &f64| {
                if chart.percent_y {
                    format!("{}%", format_linear_tick(&(100.0 * v)))
                } else {
                    format_linear_tick(v)
                }
            };
            finish_chart(ctx, chart, series, &format)
        }
    }
}

/// Mesh, series and legend, for either y scale.
fn finish_chart<'a, X, Y>(
    mut ctx: ChartContext<'a, SVGBackend<'a>, Cartesian2d<X, Y>>,
    chart: &Chart,
    series: &[Series],
    y_format: &dyn Fn(&f64) -> String,
) -> Outcome<()>
where
    X: Ranged<ValueType = f64> + ValueFormatter<f64>,
    Y: Ranged<ValueType = f64> + ValueFormatter<f64>,
{
    let x_format = |v: &f64| {
        if chart.integer_x {
            format!("{v:.0}")
        } else {
            format_linear_tick(v)
        }
    };
    ctx.configure_mesh()
        .x_desc(chart.x_label)
        .y_desc(chart.y_label)
        .label_style((FONT, 14))
        .axis_desc_style((FONT, 16))
        .x_label_formatter(&x_format)
        .y_label_formatter(y_format)
        // Bold and light grid lines alike: on a log axis plotters draws a
        // bold line at 2, 3, …, 9 times a power of ten, which would band.
        .bold_line_style(RGBColor(220, 220, 220))
        .light_line_style(RGBColor(240, 240, 240))
        // On a log axis the ticks already mark 2, 3, …, 9 within a decade
        // (or only the decades, on long ranges); light lines between them
        // would crowd where the ticks are dense.
        .y_max_light_lines(if chart.y_scale == Scale::Log { 0 } else { 4 })
        .draw()?;
    let (lo, hi) = chart.y_range;
    for s in series {
        let color = s.color;
        // Keep lines inside the axis: values outside the plotted range (a
        // share of exactly 0 on a log axis) sit on its edge.
        let points: Vec<(f64, f64)> = s
            .points
            .iter()
            .map(|&(x, y)| (x, y.clamp(lo, hi)))
            .collect();
        let style = ShapeStyle::from(&color).stroke_width(2);
        let anno = if s.dashed {
            ctx.draw_series(DashedLineSeries::new(points.clone(), 8, 5, style))?
        } else {
            ctx.draw_series(LineSeries::new(points.clone(), style))?
        };
        anno.label(s.name.as_str()).legend(move |(x, y)| {
            PathElement::new(vec![(x, y), (x + 22, y)], color.stroke_width(3))
        });
        if s.markers {
            ctx.draw_series(
                points
                    .iter()
                    .map(|&p| Circle::new(p, 2, ShapeStyle::from(&color).filled())),
            )?;
        }
    }
    ctx.configure_series_labels()
        .position(chart.legend.clone())
        .label_font((FONT, 15))
        .background_style(WHITE.mix(0.9))
        .border_style(RGBColor(160, 160, 160))
        .draw()?;
    Ok(())
}

/// Log-axis ticks: only at 1, 2 and 5 times a power of ten (plotters puts a
/// tick at every integer multiple, too many to label legibly); `1e-3` style
/// outside `[0.01, 1000)`, or percentages.
fn format_log_tick(v: &f64, percent: bool) -> String {
    let exponent = v.log10().floor();
    let mantissa = v / 10f64.powf(exponent);
    let is_key = [1.0, 2.0, 5.0]
        .iter()
        .any(|m| (mantissa - m).abs() < 1e-6 * m);
    if !is_key {
        return String::new();
    }
    if percent {
        format!("{}%", format_linear_tick(&(100.0 * v)))
    } else if (0.01..1000.0).contains(v) {
        format_linear_tick(v)
    } else {
        format!("{v:.0e}")
    }
}

/// Shortest plain rendering with at most four decimals.
fn format_linear_tick(v: &f64) -> String {
    let s = format!("{v:.4}");
    let s = s.trim_end_matches('0').trim_end_matches('.');
    if s == "-0" {
        "0".to_string()
    } else {
        s.to_string()
    }
}

/// Figure 1 (claim 1): per-direction energy share of the minimal attacks on
/// 2,000 sampled points (top row, log axis) and the cumulative top-k share
/// `S_k` (bottom row), for the Bayes and the mean-difference classifiers.
fn energy_profiles(gmm: &Gmm, path: &Path) -> Outcome<()> {
    let (xs, ys) = gmm.sample(2000, &mut StdRng::seed_from_u64(2021));
    let bayes = gmm.bayes_classifier();
    let mean_difference = LinearClassifier::new(gmm.half_difference() * 2.0, 0.0)?;
    let threats = [
        ("regular ℓ2", Threat::l2()),
        ("regular ℓ∞", Threat::linf()),
        (
            "generative (full latent)",
            Threat::generative(gmm.covariance()),
        ),
    ];
    let root = SVGBackend::new(path, (2 * PANEL.0, 2 * PANEL.1)).into_drawing_area();
    root.fill(&WHITE)?;
    let panels = root.split_evenly((2, 2));
    let classifiers = [
        ("Bayes classifier w = Σ⁻¹(μ₊ − μ₋)", &bayes),
        ("Mean-difference classifier w = μ₊ − μ₋", &mean_difference),
    ];
    for (column, (title, clf)) in classifiers.iter().enumerate() {
        let mut shares = Vec::new();
        let mut cumulative = Vec::new();
        for (color, (name, threat)) in PALETTE.iter().zip(&threats) {
            let batch = manifold_robustness::minimal_perturbations(clf, threat, &xs, &ys)?;
            let profile = batch
                .mean_energy_profile(gmm.covariance())?
                .ok_or("no point was flipped")?;
            let values = profile.shares().as_slice();
            let running: Vec<f64> = values
                .iter()
                .scan(0.0, |sum, v| {
                    *sum += v;
                    Some(*sum)
                })
                .collect();
            for (target, data) in [(&mut shares, values), (&mut cumulative, &running[..])] {
                target.push(Series {
                    name: name.to_string(),
                    color: *color,
                    points: per_direction(data),
                    markers: true,
                    dashed: false,
                });
            }
        }
        let uniform: Vec<f64> = (1..=gmm.dim())
            .map(|k| k as f64 / gmm.dim() as f64)
            .collect();
        cumulative.push(Series {
            name: "uniform spread, k/d".to_string(),
            color: RGBColor(120, 120, 120),
            points: per_direction(&uniform),
            markers: false,
            dashed: true,
        });
        draw_chart(
            &panels[column],
            &Chart {
                title,
                x_label: "eigen-direction i (1 = largest variance, λᵢ = i^−1.5)",
                y_label: "energy share eᵢ = (uᵢᵀδ)²/‖δ‖²",
                x_range: (0.0, 65.0),
                y_range: (1e-8, 1.0),
                y_scale: Scale::Log,
                integer_x: true,
                percent_y: false,
                legend: if column == 0 {
                    SeriesLabelPosition::LowerRight
                } else {
                    SeriesLabelPosition::LowerLeft
                },
            },
            &shares,
        )?;
        draw_chart(
            &panels[2 + column],
            &Chart {
                title: "Cumulative: share in the k largest-variance directions",
                x_label: "k (number of leading eigen-directions)",
                y_label: "top-k share S_k = e₁ + … + e_k",
                x_range: (0.0, 65.0),
                y_range: (0.0, 1.0),
                y_scale: Scale::Linear,
                integer_x: true,
                percent_y: false,
                legend: if column == 0 {
                    SeriesLabelPosition::UpperLeft
                } else {
                    SeriesLabelPosition::LowerRight
                },
            },
            &cumulative,
        )?;
    }
    root.present()?;
    Ok(())
}

/// `(i, values[i − 1])` for the directions `i = 1..=d`.
fn per_direction(values: &[f64]) -> Vec<(f64, f64)> {
    values
        .iter()
        .enumerate()
        .map(|(i, &v)| ((i + 1) as f64, v))
        .collect()
}

/// The budget at which `threat` alone has optimal robust error `target`.
fn matched_budget(gmm: &Gmm, threat: &Threat, target: f64) -> Outcome<f64> {
    let limit = gmm
        .robust_optimum(threat, 0.0)?
        .budget_limit()
        .ok_or("not an ellipsoid")?;
    let (mut lo, mut hi) = (0.0, limit);
    for _ in 0..200 {
        let mid = 0.5 * (lo + hi);
        if gmm.robust_optimum(threat, mid)?.robust_error() < target {
            lo = mid;
        } else {
            hi = mid;
        }
    }
    Ok(0.5 * (lo + hi))
}

/// Figure 2 (claim 2): the relative increase `λ·mᵢ/λᵢ` of each direction's
/// variance in the extended covariance `Σ + λM` of adversarial training
/// (the growth factor minus one; directions it leaves alone are not drawn).
fn variance_growth(gmm: &Gmm, path: &Path) -> Outcome<()> {
    let cov = gmm.covariance();
    let rank16 = Threat::generative_rank(cov, 16)?;
    let bayes = gmm.bayes_error();
    // Rank-16 training can only raise the optimal robust error up to its
    // ceiling (the mean's energy beyond direction 16 stays out of reach):
    // compare half-way up that range.
    let ceiling = gmm.robust_optimum(&rank16, f64::MAX)?.robust_error();
    let low_target = bayes + 0.5 * (ceiling - bayes);
    let high_target = 0.10;
    let panels_spec = [
        (
            format!(
                "Matched optimal robust error {:.3}% (Bayes {:.0}%)",
                100.0 * low_target,
                100.0 * bayes
            ),
            low_target,
            vec![
                ("ℓ2 training", Threat::l2()),
                ("generative rank-16 training", rank16),
            ],
        ),
        (
            format!(
                "Matched optimal robust error {:.0}% (Bayes {:.0}%)",
                100.0 * high_target,
                100.0 * bayes
            ),
            high_target,
            vec![
                ("ℓ2 training", Threat::l2()),
                ("generative (full latent) training", Threat::generative(cov)),
            ],
        ),
    ];
    let root = SVGBackend::new(path, (2 * PANEL.0, PANEL.1)).into_drawing_area();
    root.fill(&WHITE)?;
    let panels = root.split_evenly((1, 2));
    let legends = [
        SeriesLabelPosition::LowerRight,
        SeriesLabelPosition::UpperLeft,
    ];
    for ((panel, legend), (title, target, threats)) in panels.iter().zip(legends).zip(&panels_spec)
    {
        let mut series = Vec::new();
        let (mut low, mut high) = (f64::INFINITY, 0.0f64);
        for (color, (name, threat)) in PALETTE.iter().zip(threats) {
            let eps = matched_budget(gmm, threat, *target)?;
            let opt = gmm.robust_optimum(threat, eps)?;
            let growth = opt
                .extended_covariance()
                .ok_or("ellipsoids report their extension")?;
            let increase: Vec<(f64, f64)> = per_direction(growth.relative_growth().as_slice())
                .into_iter()
                .map(|(i, g)| (i, g - 1.0))
                .filter(|&(_, v)| v > 0.0)
                .collect();
            for &(_, v) in &increase {
                low = low.min(v);
                high = high.max(v);
            }
            series.push(Series {
                name: format!("{name}, ε = {eps:.4}, λ = {:.2e}", growth.lambda()),
                color: *color,
                points: increase,
                markers: true,
                dashed: false,
            });
        }
        draw_chart(
            panel,
            &Chart {
                title,
                x_label: "eigen-direction i (1 = largest variance, λᵢ = i^−1.5)",
                y_label: "relative variance increase λ·mᵢ/λᵢ",
                x_range: (0.0, 65.0),
                y_range: (
                    10f64.powf(low.log10().floor()),
                    10f64.powf(high.log10().ceil() + 0.5),
                ),
                y_scale: Scale::Log,
                integer_x: true,
                percent_y: false,
                legend,
            },
            &series,
        )?;
    }
    root.present()?;
    Ok(())
}

/// Figure 3: the optimal robust error `RE*(ε) = Φ(−r*(ε))` against the
/// budget as a fraction of the threat's own limit `ε_max` (the smallest
/// budget past which more budget no longer helps the adversary). Left: all
/// threats, log axis; right: the two rank-16 threats, whose robust error is
/// capped just above the Bayes error, on a linear axis.
fn robust_error_curves(gmm: &Gmm, path: &Path) -> Outcome<()> {
    let cov = gmm.covariance();
    let threats = [
        ("regular ℓ2", Threat::l2()),
        ("generative (full latent)", Threat::generative(cov)),
        ("generative rank 16", Threat::generative_rank(cov, 16)?),
        (
            "eigenspace 16 (on-manifold ℓ2)",
            Threat::eigenspace(cov, 16)?,
        ),
    ];
    let steps = 200;
    let fractions: Vec<f64> = (0..=steps).map(|s| s as f64 / steps as f64).collect();
    let mut series = Vec::new();
    for (color, (name, threat)) in PALETTE.iter().zip(&threats) {
        let limit = gmm
            .robust_optimum(threat, 0.0)?
            .budget_limit()
            .ok_or("not an ellipsoid")?;
        let budgets: Vec<f64> = fractions.iter().map(|f| f * limit).collect();
        let curve = gmm.robust_sweep(threat, &budgets)?;
        series.push(Series {
            name: format!("{name}, ε_max = {limit:.3}"),
            color: *color,
            points: fractions
                .iter()
                .zip(&curve)
                .map(|(&f, opt)| (f, opt.robust_error()))
                .collect(),
            markers: false,
            dashed: false,
        });
    }
    let ceiling = gmm.robust_optimum(&threats[2].1, f64::MAX)?.robust_error();
    let root = SVGBackend::new(path, (2 * PANEL.0, PANEL.1)).into_drawing_area();
    root.fill(&WHITE)?;
    let panels = root.split_evenly((1, 2));
    draw_chart(
        &panels[0],
        &Chart {
            title: "Optimal robust error against the budget",
            x_label: "budget ε / ε_max (linear axis)",
            y_label: "optimal robust error RE*(ε)",
            x_range: (0.0, 1.0),
            y_range: (0.008, 0.6),
            y_scale: Scale::Log,
            integer_x: false,
            percent_y: true,
            legend: SeriesLabelPosition::UpperLeft,
        },
        &series,
    )?;
    let mut zoom: Vec<Series> = series.split_off(2);
    zoom.push(Series {
        name: format!("ceiling: RE* for ε ≥ ε_max = {:.3}%", 100.0 * ceiling),
        color: RGBColor(120, 120, 120),
        points: vec![(0.0, ceiling), (1.0, ceiling)],
        markers: false,
        dashed: true,
    });
    let bayes = gmm.bayes_error();
    draw_chart(
        &panels[1],
        &Chart {
            title: "Zoom: the rank-16 threats",
            x_label: "budget ε / ε_max (linear axis)",
            y_label: "optimal robust error RE*(ε)",
            x_range: (0.0, 1.0),
            y_range: (
                bayes - 0.45 * (ceiling - bayes),
                ceiling + 0.15 * (ceiling - bayes),
            ),
            y_scale: Scale::Linear,
            integer_x: false,
            percent_y: true,
            legend: SeriesLabelPosition::LowerRight,
        },
        &zoom,
    )?;
    root.present()?;
    Ok(())
}
