//! The figures of the README, computed on the default model.
//!
//! Run with `cargo run --release --example figures`; it writes SVG files to
//! `target/figures/` (with `-- --docs`, also to `docs/figures/`, the copies
//! the README shows):
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

use std::path::{Path, PathBuf};

use manifold_robustness::rand::SeedableRng;
use manifold_robustness::rand::rngs::StdRng;
use manifold_robustness::{Gmm, LinearClassifier, Threat, default_model, tradeoff};
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

#[path = "common/cli.rs"]
mod cli;
use cli::{ArgError, Args};
#[path = "common/plot.rs"]
mod plot;
use plot::{
    Chart, FIGURE_DIR, Outcome, PALETTE, PANEL, Scale, Series, draw_chart, per_direction,
    running_sums,
};

const USAGE: &str = "usage: figures [--docs]\n  \
    --docs      also copy the figures to docs/figures/ (the README's copies)\n  \
    -h, --help  print this help\n\
The figures are written to target/figures/.";

/// Whether `--docs` was given.
fn parse_args() -> Result<bool, ArgError> {
    let mut docs = false;
    let mut args = Args::from_env();
    while let Some(flag) = args.flag()? {
        match flag.as_str() {
            "--docs" => docs = true,
            other => return Err(cli::unknown(other)),
        }
    }
    Ok(docs)
}

fn main() -> Outcome<()> {
    let docs = cli::settings_or_exit(USAGE, parse_args());
    let gmm = default_model();
    let dir = PathBuf::from(FIGURE_DIR);
    std::fs::create_dir_all(&dir)?;
    energy_profiles(&gmm, &dir.join("energy_profiles.svg"))?;
    variance_growth(&gmm, &dir.join("variance_growth.svg"))?;
    robust_error_curves(&gmm, &dir.join("robust_error_curves.svg"))?;
    conflict_matrix(&gmm, &dir.join("conflict_matrix.svg"))?;
    for name in [
        "energy_profiles.svg",
        "variance_growth.svg",
        "robust_error_curves.svg",
        "conflict_matrix.svg",
    ] {
        println!("wrote {}", dir.join(name).display());
        if docs {
            let target = Path::new(DOCS_DIR).join(name);
            std::fs::create_dir_all(DOCS_DIR)?;
            std::fs::copy(dir.join(name), &target)?;
            println!("  copied to {}", target.display());
        }
    }
    Ok(())
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
            let running = running_sums(values);
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

/// The budget `ε_max` past which the adversary gains nothing: the secular
/// limit for ellipsoids, `‖μ‖_∞` for ℓ∞ (the smallest box that covers `μ`).
fn budget_limit(gmm: &Gmm, threat: &Threat) -> Outcome<f64> {
    if let Some(limit) = gmm.robust_optimum(threat, 0.0)?.budget_limit() {
        return Ok(limit);
    }
    match threat.lp_exponent() {
        Some(p) if p == f64::INFINITY => Ok(gmm.half_difference().amax()),
        _ => Err(format!("no budget limit for {threat}").into()),
    }
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
            let eps = tradeoff::matched_budget(gmm, threat, *target)?;
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
                    0.8 * 10f64.powf(low.log10().floor()),
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
        ("ℓ2", Threat::l2()),
        ("ℓ∞", Threat::linf()),
        ("generative", Threat::generative(cov)),
        ("generative rank 16", Threat::generative_rank(cov, 16)?),
        ("eigenspace 16", Threat::eigenspace(cov, 16)?),
    ];
    let steps = 200;
    let fractions: Vec<f64> = (0..=steps).map(|s| s as f64 / steps as f64).collect();
    let mut series = Vec::new();
    for (color, (name, threat)) in PALETTE.iter().zip(&threats) {
        let limit = budget_limit(gmm, threat)?;
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
    let ceiling = gmm.robust_optimum(&threats[3].1, f64::MAX)?.robust_error();
    let root = SVGBackend::new(path, (2 * PANEL.0, PANEL.1)).into_drawing_area();
    root.fill(&WHITE)?;
    let panels = root.split_evenly((1, 2));
    // The rank-16 threats are named in the zoom's legend.
    let overview: Vec<Series> = series
        .iter()
        .enumerate()
        .map(|(i, s)| Series {
            name: if i < 3 { s.name.clone() } else { String::new() },
            ..s.clone()
        })
        .collect();
    draw_chart(
        &panels[0],
        &Chart {
            title: "Optimal robust error against the budget (rank 16: zoom →)",
            x_label: "budget ε / ε_max (linear axis)",
            y_label: "optimal robust error RE*(ε)",
            x_range: (0.0, 1.0),
            y_range: (0.008, 0.6),
            y_scale: Scale::Log,
            integer_x: false,
            percent_y: true,
            legend: SeriesLabelPosition::MiddleRight,
        },
        &overview,
    )?;
    let mut zoom: Vec<Series> = series.split_off(3);
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

/// Where `--docs` copies the figures for the README.
const DOCS_DIR: &str = "docs/figures";

/// Target optimal robust error of the conflict matrix.
const CONFLICT_TARGET: f64 = 0.10;

/// Figure 4 (claim 3): the conflict `C(A→B) = RE_B(w*_A) − RE*_B` between
/// every ordered pair of threats, each at its budget matched so that it
/// alone has optimal robust error 10%, as a heat map with the numbers in
/// the cells (percentage points).
fn conflict_matrix(gmm: &Gmm, path: &Path) -> Outcome<()> {
    let cov = gmm.covariance();
    let threats = [
        Threat::l2(),
        Threat::linf(),
        Threat::generative(cov),
        Threat::off_manifold(cov, 16)?,
    ];
    // ℓ1 is left out: its matched budget fails on this model (the dual
    // solver reports NoConvergence exactly at the covering budget ‖μ‖₁,
    // the end of the bracket the matched-budget search starts from).
    let names = ["ℓ2", "ℓ∞", "generative", "off-manifold 16"];
    let matrix = tradeoff::conflict_matrix(gmm, &threats, CONFLICT_TARGET)?;
    let budgets = matrix.budgets();
    let n = threats.len();
    let largest = matrix.conflicts.max();

    let (left, top, cell) = (190i32, 110i32, 118i32);
    let width = (left + cell * n as i32 + 40) as u32;
    let height = (top + cell * n as i32 + 64) as u32;
    let root = SVGBackend::new(path, (width, height)).into_drawing_area();
    root.fill(&WHITE)?;
    let centered = |size: u32| {
        TextStyle::from((plot::FONT, size).into_font()).pos(Pos::new(HPos::Center, VPos::Center))
    };
    let right_aligned = |size: u32| {
        TextStyle::from((plot::FONT, size).into_font()).pos(Pos::new(HPos::Right, VPos::Center))
    };
    root.draw(&Text::new(
        format!(
            "Conflict C(A→B) = RE_B(w*_A) − RE*_B, percentage points, at matched RE* = {:.0}%",
            100.0 * CONFLICT_TARGET
        ),
        (width as i32 / 2, 22),
        centered(17),
    ))?;
    root.draw(&Text::new(
        "attacked by B (budget ε_B)",
        (left + cell * n as i32 / 2, 52),
        centered(15),
    ))?;
    for (j, name) in names.iter().enumerate() {
        let x = left + cell * j as i32 + cell / 2;
        root.draw(&Text::new(name.to_string(), (x, 76), centered(14)))?;
        root.draw(&Text::new(
            format!("ε = {:.3}", budgets[j]),
            (x, 94),
            centered(12),
        ))?;
    }
    root.draw(&Text::new(
        "trained against A",
        (left - 12, top - 14),
        right_aligned(15),
    ))?;
    for i in 0..n {
        let y = top + cell * i as i32 + cell / 2;
        root.draw(&Text::new(
            names[i].to_string(),
            (left - 12, y - 8),
            right_aligned(14),
        ))?;
        root.draw(&Text::new(
            format!("ε = {:.3}", budgets[i]),
            (left - 12, y + 10),
            right_aligned(12),
        ))?;
        for j in 0..n {
            let x0 = left + cell * j as i32;
            let y0 = top + cell * i as i32;
            let value = matrix.conflict(i, j);
            let color = if i == j {
                RGBColor(235, 235, 235)
            } else {
                heat_color(value / largest)
            };
            root.draw(&Rectangle::new(
                [(x0, y0), (x0 + cell, y0 + cell)],
                color.filled(),
            ))?;
            root.draw(&Rectangle::new(
                [(x0, y0), (x0 + cell, y0 + cell)],
                RGBColor(255, 255, 255).stroke_width(2),
            ))?;
            let label = if i == j {
                "—".to_string()
            } else {
                format!("{:.2}", 100.0 * value)
            };
            let ink = if i != j && value / largest > 0.6 {
                WHITE
            } else {
                BLACK
            };
            root.draw(&Text::new(
                label,
                (x0 + cell / 2, y0 + cell / 2),
                centered(17).color(&ink),
            ))?;
        }
    }
    root.draw(&Text::new(
        "Each cell: the classifier trained against the row's threat, attacked by the column's.",
        (width as i32 / 2, top + cell * n as i32 + 24),
        centered(13),
    ))?;
    root.draw(&Text::new(
        "ε: input norm for ℓp; latent norm for generative; off-manifold 16 = ℓ2 outside directions 1–16.",
        (width as i32 / 2, top + cell * n as i32 + 44),
        centered(13),
    ))?;
    root.present()?;
    Ok(())
}

/// White → dark red, for `t ∈ [0, 1]`.
fn heat_color(t: f64) -> RGBColor {
    let t = t.clamp(0.0, 1.0);
    let mix = |a: f64, b: f64| (a + (b - a) * t).round() as u8;
    RGBColor(mix(255.0, 165.0), mix(245.0, 15.0), mix(240.0, 21.0))
}
