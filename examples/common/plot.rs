//! Plotting helpers shared by the examples that write figures (`figures`,
//! `real_digits`): line charts with a linear or logarithmic y axis, written
//! as SVG with plotters' SVG backend.
// Each example uses a different subset of these helpers.
#![allow(dead_code)]

use std::error::Error;

use plotters::coord::Shift;
use plotters::coord::ranged1d::{Ranged, ValueFormatter};
use plotters::prelude::*;

pub type Outcome<T> = std::result::Result<T, Box<dyn Error>>;

/// Where the figures go.
pub const FIGURE_DIR: &str = "target/figures";

/// Size of one panel, in SVG pixels.
pub const PANEL: (u32, u32) = (560, 440);

/// The tab10 palette of matplotlib: distinct, color-blind-friendly hues.
pub const PALETTE: [RGBColor; 6] = [
    RGBColor(31, 119, 180),
    RGBColor(255, 127, 14),
    RGBColor(44, 160, 44),
    RGBColor(214, 39, 40),
    RGBColor(148, 103, 189),
    RGBColor(140, 86, 75),
];

pub const FONT: &str = "sans-serif";

/// One line of a chart.
#[derive(Clone)]
pub struct Series {
    /// The legend entry; empty for a series without one.
    pub name: String,
    pub color: RGBColor,
    pub points: Vec<(f64, f64)>,
    /// Draw a marker at every point (for per-direction data).
    pub markers: bool,
    pub dashed: bool,
}

/// How a chart's y axis is scaled.
#[derive(Clone, Copy, PartialEq)]
pub enum Scale {
    Linear,
    Log,
}

/// A chart with a linear x axis and a linear or logarithmic y axis.
pub struct Chart<'a> {
    pub title: &'a str,
    pub x_label: &'a str,
    pub y_label: &'a str,
    pub x_range: (f64, f64),
    pub y_range: (f64, f64),
    pub y_scale: Scale,
    /// Print x ticks as integers (direction indices).
    pub integer_x: bool,
    /// Print y ticks as percentages (error rates).
    pub percent_y: bool,
    pub legend: SeriesLabelPosition,
}

pub fn draw_chart(
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
        // Enough key points that a log axis spanning two or three decades
        // gets ticks at 2, 3, …, 9 times each power of ten (plotters drops
        // them when fewer points are asked for); longer axes keep decades.
        .y_labels(if chart.y_scale == Scale::Log { 30 } else { 10 })
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
        if !s.name.is_empty() {
            anno.label(s.name.as_str()).legend(move |(x, y)| {
                PathElement::new(vec![(x, y), (x + 22, y)], color.stroke_width(3))
            });
        }
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
pub fn format_log_tick(v: &f64, percent: bool) -> String {
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
pub fn format_linear_tick(v: &f64) -> String {
    let s = format!("{v:.4}");
    let s = s.trim_end_matches('0').trim_end_matches('.');
    if s == "-0" {
        "0".to_string()
    } else {
        s.to_string()
    }
}

/// `(i, values[i − 1])` for the directions `i = 1..=d`.
pub fn per_direction(values: &[f64]) -> Vec<(f64, f64)> {
    values
        .iter()
        .enumerate()
        .map(|(i, &v)| ((i + 1) as f64, v))
        .collect()
}

/// Running sums `S_k = e₁ + … + e_k` of per-direction shares.
pub fn running_sums(values: &[f64]) -> Vec<f64> {
    values
        .iter()
        .scan(0.0, |sum, v| {
            *sum += v;
            Some(*sum)
        })
        .collect()
}
