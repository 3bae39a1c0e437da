//! The report's five charts as static SVG, drawn with `plotters`' SVG backend: monthly volume
//! by scope, technology mix, energy price distribution, corridor flows and the certificate
//! lifecycle.
//!
//! Values go to `plotters` as integers (kWh, fen/MWh, certificates), so bars land on whole
//! pixels the same way on every machine; every number written in a chart is either an axis
//! tick (an exact decimal of an integer tick) or one of the report's figures formatted by
//! [`super::figures`]. Text is drawn with the generic `sans-serif` family: the page's CSS
//! names the CJK fonts a browser should try first. A chart with nothing to show still draws
//! its axes, with a note.

use anyhow::{Context, Result};
use market::AnnualReport;
use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

use super::figures::{self, VolumeUnit};
use super::texts::{Texts, province_name, technology_name};

/// Every chart's width in pixels (the page scales them down on narrow screens).
const WIDTH: u32 = 960;
/// Height of a chart with categories along the bottom.
const HEIGHT: u32 = 360;
/// The font family written into the SVG; the page's CSS adds the CJK fonts.
const FONT: &str = "sans-serif";
/// Coordinate width of one category, and the padding on each side of its bars: the bars of a
/// category share `SLOT - 2 × PAD`, which divides by 1, 2, 3, 4, 6, 7 and 12.
const SLOT: i64 = 120;
const PAD: i64 = 18;

const INTRA: RGBColor = RGBColor(46, 125, 50);
const INTER: RGBColor = RGBColor(21, 101, 192);
const SENT: RGBColor = RGBColor(21, 101, 192);
const DELIVERED: RGBColor = RGBColor(102, 187, 106);
const ISSUED: RGBColor = RGBColor(46, 125, 50);
const TRANSFERRED: RGBColor = RGBColor(239, 160, 30);
const CLAIMED: RGBColor = RGBColor(106, 27, 154);
const PRICE: RGBColor = RGBColor(0, 131, 143);
const TECHNOLOGY: [RGBColor; 8] = [
    RGBColor(21, 101, 192),
    RGBColor(0, 131, 143),
    RGBColor(239, 160, 30),
    RGBColor(251, 192, 45),
    RGBColor(46, 125, 50),
    RGBColor(121, 85, 72),
    RGBColor(96, 125, 139),
    RGBColor(158, 158, 158),
];
const AXIS_TEXT: RGBColor = RGBColor(55, 65, 81);

/// One chart's SVG text.
pub struct Svg(pub String);

/// A legend entry.
struct Series {
    name: String,
    color: RGBColor,
}

/// One bar: `slot` of the category's `slots`, from `from` to `to` on the value axis.
struct Bar {
    category: usize,
    slot: usize,
    from: i64,
    to: i64,
    color: RGBColor,
    /// Written at the bar's end.
    label: Option<String>,
}

/// A bar chart over categories (months, technologies, corridors).
struct BarChart {
    horizontal: bool,
    categories: Vec<String>,
    slots: usize,
    legend: Vec<Series>,
    bars: Vec<Bar>,
    /// The axis' description (what and in which unit).
    value_desc: String,
    /// An axis tick's text.
    tick: Box<dyn Fn(i64) -> String>,
    /// The value axis' end when there is nothing to draw.
    empty_top: i64,
    /// Shown across the plot when there is nothing to draw.
    empty_note: String,
}

/// Figure 1: each month's volume within and between provinces, stacked.
pub fn monthly(report: &AnnualReport, t: &Texts) -> Result<Svg> {
    let mut months = Vec::new();
    for m in &report.months {
        months.push((figures::kwh(&m.intra_mwh)?, figures::kwh(&m.inter_mwh)?));
    }
    let top = months
        .iter()
        .map(|(a, b)| a.saturating_add(*b))
        .max()
        .unwrap_or(0);
    let unit = VolumeUnit::for_volume(t.lang, top);
    let mut bars = Vec::new();
    for (i, (intra, inter)) in months.iter().enumerate() {
        for (from, to, color) in [
            (0, *intra, INTRA),
            (*intra, intra.saturating_add(*inter), INTER),
        ] {
            if to > from {
                bars.push(Bar {
                    category: i,
                    slot: 0,
                    from: axis(from),
                    to: axis(to),
                    color,
                    label: None,
                });
            }
        }
    }
    draw(&BarChart {
        horizontal: false,
        categories: t.months.iter().map(|m| (*m).to_owned()).collect(),
        slots: 1,
        legend: vec![
            Series {
                name: t.intra_col.to_owned(),
                color: INTRA,
            },
            Series {
                name: t.inter_col.to_owned(),
                color: INTER,
            },
        ],
        bars,
        value_desc: volume_desc(t, unit),
        tick: volume_tick(unit),
        empty_top: axis(unit.kwh()),
        empty_note: t.no_data_for(report.year),
    })
}

/// Figure 2: volume by the sellers' projects' technology.
pub fn technology(report: &AnnualReport, t: &Texts) -> Result<Svg> {
    let mut rows = Vec::new();
    for v in &report.by_technology {
        rows.push((
            technology_name(t.lang, &v.technology),
            figures::kwh(&v.mwh)?,
        ));
    }
    let unit = VolumeUnit::for_volume(t.lang, rows.iter().map(|r| r.1).max().unwrap_or(0));
    let bars = rows
        .iter()
        .enumerate()
        .map(|(i, (_, kwh))| Bar {
            category: i,
            slot: 0,
            from: 0,
            to: axis(*kwh),
            color: TECHNOLOGY[i % TECHNOLOGY.len()],
            label: Some(unit.show(*kwh)),
        })
        .collect();
    draw(&BarChart {
        horizontal: true,
        categories: rows.into_iter().map(|r| r.0).collect(),
        slots: 1,
        legend: Vec::new(),
        bars,
        value_desc: volume_desc(t, unit),
        tick: volume_tick(unit),
        empty_top: axis(unit.kwh()),
        empty_note: t.no_data_for(report.year),
    })
}

/// Figure 4: each corridor's energy sent and delivered (after losses), most sent first.
pub fn corridors(report: &AnnualReport, t: &Texts) -> Result<Svg> {
    let mut rows = Vec::new();
    for c in &report.top_corridors {
        let name = format!(
            "{}→{}",
            province_name(t.lang, &c.from),
            province_name(t.lang, &c.to)
        );
        rows.push((
            name,
            figures::kwh(&c.sent_mwh)?,
            figures::kwh(&c.delivered_mwh)?,
        ));
    }
    let unit = VolumeUnit::for_volume(t.lang, rows.iter().map(|r| r.1.max(r.2)).max().unwrap_or(0));
    let mut bars = Vec::new();
    for (i, (_, sent, delivered)) in rows.iter().enumerate() {
        for (slot, kwh, color) in [(0, *sent, SENT), (1, *delivered, DELIVERED)] {
            bars.push(Bar {
                category: i,
                slot,
                from: 0,
                to: axis(kwh),
                color,
                label: Some(unit.show(kwh)),
            });
        }
    }
    draw(&BarChart {
        horizontal: true,
        categories: rows.into_iter().map(|r| r.0).collect(),
        slots: 2,
        legend: vec![
            Series {
                name: t.sent.to_owned(),
                color: SENT,
            },
            Series {
                name: t.delivered.to_owned(),
                color: DELIVERED,
            },
        ],
        bars,
        value_desc: volume_desc(t, unit),
        tick: volume_tick(unit),
        empty_top: axis(unit.kwh()),
        empty_note: t.corridors_none.to_owned(),
    })
}

/// Figure 5: certificates issued, transferred and claimed, by production month.
pub fn certificates(report: &AnnualReport, t: &Texts) -> Result<Svg> {
    let mut bars = Vec::new();
    for (i, m) in report.months.iter().enumerate() {
        let c = &m.certificates;
        for (slot, n, color) in [
            (0, c.issued, ISSUED),
            (1, c.transferred, TRANSFERRED),
            (2, c.claimed, CLAIMED),
        ] {
            if n > 0 {
                bars.push(Bar {
                    category: i,
                    slot,
                    from: 0,
                    to: axis(i128::from(n)),
                    color,
                    label: None,
                });
            }
        }
    }
    draw(&BarChart {
        horizontal: false,
        categories: t.months.iter().map(|m| (*m).to_owned()).collect(),
        slots: 3,
        legend: vec![
            Series {
                name: t.issued.to_owned(),
                color: ISSUED,
            },
            Series {
                name: t.transferred.to_owned(),
                color: TRANSFERRED,
            },
            Series {
                name: t.claimed.to_owned(),
                color: CLAIMED,
            },
        ],
        bars,
        value_desc: t.certificates_col.to_owned(),
        tick: Box::new(|n| figures::fixed(i128::from(n), 0)),
        empty_top: 10,
        empty_note: t.no_data_for(report.year),
    })
}

/// Figure 3: traded volume by energy price, one bar per 20 yuan/MWh band with volume, on a
/// price axis (so bands without volume show as gaps).
pub fn prices(report: &AnnualReport, t: &Texts) -> Result<Svg> {
    let mut bands = Vec::new();
    for b in &report.energy_price_bands {
        bands.push((
            axis(figures::fen(&b.from_price)?),
            axis(figures::fen(&b.to_price)?),
            figures::kwh(&b.mwh)?,
        ));
    }
    let unit = VolumeUnit::for_volume(t.lang, bands.iter().map(|b| b.2).max().unwrap_or(0));
    let first = bands.iter().map(|b| b.0).min();
    let last = bands.iter().map(|b| b.1).max();
    let (x_range, empty) = match (first, last) {
        (Some(first), Some(last)) => (first..last, false),
        // No band: an axis of 0 to 100 yuan/MWh.
        _ => (0..10_000, true),
    };
    let top = value_top(
        bands.iter().map(|b| axis(b.2)).max().unwrap_or(0),
        axis(unit.kwh()),
    );
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (WIDTH, HEIGHT)).into_drawing_area();
        root.fill(&WHITE).context("drawing the price chart")?;
        let mut chart = ChartBuilder::on(&root)
            .margin(16)
            .margin_top(24)
            .margin_right(40)
            .set_label_area_size(LabelAreaPosition::Left, 80)
            .set_label_area_size(LabelAreaPosition::Bottom, 56)
            .build_cartesian_2d(x_range, 0i64..top)
            .context("drawing the price chart")?;
        let x_tick = |fen: &i64| figures::trimmed(i128::from(*fen), 100);
        let y_tick = volume_tick(unit);
        let y_tick = |v: &i64| y_tick(*v);
        chart
            .configure_mesh()
            .disable_x_mesh()
            .x_labels(10)
            .y_labels(8)
            .x_label_formatter(&x_tick)
            .y_label_formatter(&y_tick)
            .x_desc(t.band)
            .y_desc(volume_desc(t, unit))
            .label_style(text(13, &AXIS_TEXT))
            .axis_desc_style(text(14, &AXIS_TEXT))
            .max_light_lines(1)
            .light_line_style(RGBColor(240, 240, 240))
            .bold_line_style(RGBColor(224, 224, 224))
            .draw()
            .context("drawing the price chart")?;
        chart
            .draw_series(bands.iter().map(|(from, to, kwh)| {
                let mut bar = Rectangle::new([(*from, 0), (*to, axis(*kwh))], PRICE.filled());
                bar.set_margin(0, 0, 1, 1);
                bar
            }))
            .context("drawing the price chart")?;
        if empty {
            note(&root, &chart, (5_000, top / 2), &t.no_data_for(report.year))?;
        }
        root.present().context("drawing the price chart")?;
    }
    Ok(Svg(svg))
}

/// Draws a bar chart.
fn draw(c: &BarChart) -> Result<Svg> {
    let n = c.categories.len().max(1);
    let n_i64 = i64::try_from(n).unwrap_or(i64::MAX);
    let legend = if c.legend.is_empty() { 16 } else { 44 };
    let height = if c.horizontal {
        // 56 pixels a category (two at least), the value axis below.
        u32::try_from(legend + 56 * n.max(2) + 56 + 16).unwrap_or(HEIGHT)
    } else {
        HEIGHT
    };
    let empty = c.bars.is_empty();
    let top = value_top(c.bars.iter().map(|b| b.to).max().unwrap_or(0), c.empty_top);
    // Bars run along the value axis; categories stack top to bottom (horizontal) or left to
    // right: a (category position, value) pair is a chart point either way.
    let point = |along: i64, value: i64| {
        if c.horizontal {
            (value, along)
        } else {
            (along, value)
        }
    };
    let position = |category: usize| {
        let i = i64::try_from(category).unwrap_or(0);
        if c.horizontal { n_i64 - 1 - i } else { i }
    };
    let slots = i64::try_from(c.slots.max(1)).unwrap_or(1);
    let width = (SLOT - 2 * PAD) / slots;
    // Where a bar starts along its category: slots left to right, or top to bottom.
    let start = |b: &Bar| {
        let slot = i64::try_from(b.slot).unwrap_or(0);
        let slot = if c.horizontal { slots - 1 - slot } else { slot };
        position(b.category) * SLOT + PAD + slot * width
    };
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (WIDTH, height)).into_drawing_area();
        root.fill(&WHITE).context("drawing a chart")?;
        let values = 0i64..top;
        let categories = 0i64..n_i64 * SLOT;
        let mut builder = ChartBuilder::on(&root);
        builder
            .margin(16)
            .margin_top(u32::try_from(legend).unwrap_or(16));
        let mut chart = if c.horizontal {
            builder
                .margin_right(120)
                .set_label_area_size(LabelAreaPosition::Left, 170)
                .set_label_area_size(LabelAreaPosition::Bottom, 56)
                .build_cartesian_2d(values, categories)
        } else {
            builder
                .margin_right(24)
                .set_label_area_size(LabelAreaPosition::Left, 72)
                .set_label_area_size(LabelAreaPosition::Bottom, 40)
                .build_cartesian_2d(categories, values)
        }
        .context("drawing a chart")?;
        let tick = |v: &i64| (c.tick)(*v);
        let mut mesh = chart.configure_mesh();
        mesh.label_style(text(13, &AXIS_TEXT))
            .axis_desc_style(text(14, &AXIS_TEXT))
            .max_light_lines(1)
            .light_line_style(RGBColor(240, 240, 240))
            .bold_line_style(RGBColor(224, 224, 224));
        // The category axis has no ticks of its own (names are drawn below): one blank label,
        // as plotters' integer key points need at least one.
        let blank = |_: &i64| String::new();
        if c.horizontal {
            mesh.disable_y_mesh()
                .y_labels(1)
                .y_label_formatter(&blank)
                .set_tick_mark_size(LabelAreaPosition::Left, 0)
                .x_labels(8)
                .x_label_formatter(&tick)
                .x_desc(c.value_desc.as_str());
        } else {
            mesh.disable_x_mesh()
                .x_labels(1)
                .x_label_formatter(&blank)
                .set_tick_mark_size(LabelAreaPosition::Bottom, 0)
                .y_labels(8)
                .y_label_formatter(&tick)
                .y_desc(c.value_desc.as_str());
        }
        mesh.draw().context("drawing a chart")?;

        chart
            .draw_series(c.bars.iter().map(|b| {
                Rectangle::new(
                    [point(start(b), b.from), point(start(b) + width, b.to)],
                    b.color.filled(),
                )
            }))
            .context("drawing a chart")?;

        // Category names beside the axis, value labels at the bars' ends, the legend, a note.
        for (i, name) in c.categories.iter().enumerate() {
            let (x, y) = chart.backend_coord(&point(position(i) * SLOT + SLOT / 2, 0));
            let (at, anchor) = if c.horizontal {
                ((x - 10, y), Pos::new(HPos::Right, VPos::Center))
            } else {
                ((x, y + 10), Pos::new(HPos::Center, VPos::Top))
            };
            root.draw(&Text::new(
                name.as_str(),
                at,
                text(13, &AXIS_TEXT).pos(anchor),
            ))
            .context("drawing a chart")?;
        }
        for b in &c.bars {
            let Some(label) = &b.label else { continue };
            let (x, y) = chart.backend_coord(&point(start(b) + width / 2, b.to));
            let (at, anchor) = if c.horizontal {
                ((x + 6, y), Pos::new(HPos::Left, VPos::Center))
            } else {
                ((x, y - 4), Pos::new(HPos::Center, VPos::Bottom))
            };
            root.draw(&Text::new(
                label.as_str(),
                at,
                text(12, &AXIS_TEXT).pos(anchor),
            ))
            .context("drawing a chart")?;
        }
        for (i, s) in c.legend.iter().enumerate() {
            let x = 100 + 190 * i32::try_from(i).unwrap_or(0);
            root.draw(&Rectangle::new([(x, 14), (x + 14, 28)], s.color.filled()))
                .context("drawing a chart")?;
            root.draw(&Text::new(
                s.name.as_str(),
                (x + 20, 21),
                text(13, &AXIS_TEXT).pos(Pos::new(HPos::Left, VPos::Center)),
            ))
            .context("drawing a chart")?;
        }
        if empty {
            note(
                &root,
                &chart,
                point(n_i64 * SLOT / 2, top / 2),
                &c.empty_note,
            )?;
        }
        root.present().context("drawing a chart")?;
    }
    Ok(Svg(svg))
}

/// A note across the middle of an empty plot.
fn note<DB: DrawingBackend, X: Ranged<ValueType = i64>, Y: Ranged<ValueType = i64>>(
    root: &DrawingArea<DB, Shift>,
    chart: &ChartContext<'_, DB, Cartesian2d<X, Y>>,
    at: (i64, i64),
    message: &str,
) -> Result<()> {
    let pixel = chart.backend_coord(&at);
    root.draw(&Text::new(
        message,
        pixel,
        text(16, &RGBColor(120, 120, 120)).pos(Pos::new(HPos::Center, VPos::Center)),
    ))
    .map_err(|e| anyhow::anyhow!("drawing a chart: {e}"))
}

/// The value axis' end: a little above the largest bar, for its label; `empty` with none.
fn value_top(max: i64, empty: i64) -> i64 {
    if max <= 0 {
        empty.max(1)
    } else {
        max.saturating_add(max / 8).max(1)
    }
}

/// The text style of the charts.
fn text(size: u32, color: &RGBColor) -> TextStyle<'static> {
    (FONT, size).into_font().color(color)
}

/// The largest magnitude on a chart axis: 10^17 (kWh: a session's bound), far below where
/// plotters' tick search would overflow `i64`.
const AXIS_MAX: i128 = 100_000_000_000_000_000;

/// A report's figure on a chart axis, clamped to ±[`AXIS_MAX`].
fn axis(value: i128) -> i64 {
    i64::try_from(value.clamp(-AXIS_MAX, AXIS_MAX)).expect("clamped to ±10^17")
}

/// "电量（万千瓦时）" / "Volume (MWh)".
fn volume_desc(t: &Texts, unit: VolumeUnit) -> String {
    match t.lang {
        super::Lang::Zh => format!("{}（{}）", t.volume, unit.name()),
        super::Lang::En => format!("{} ({})", t.volume, unit.name()),
    }
}

/// Axis ticks of kWh in `unit`.
fn volume_tick(unit: VolumeUnit) -> Box<dyn Fn(i64) -> String> {
    Box::new(move |kwh| unit.tick(i128::from(kwh)))
}
