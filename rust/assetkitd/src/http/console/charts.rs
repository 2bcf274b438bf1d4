//! The dashboard's charts: SVG drawn on the server by plotters' SVG backend, then a layer of
//! links laid over the bars so that each bar opens the asset list it counts.
//!
//! plotters runs without a font backend: its SVG backend writes text as `<text>` elements that
//! the browser sets in its own sans-serif, and lays text out by a fixed width estimate, which is
//! why labels are clipped to a length that fits. Everything is presentation attributes (`fill`,
//! `opacity`), never a `style` attribute, so the console's Content-Security-Policy (no inline
//! style, no script) holds. Text is escaped by plotters; the link layer escapes its own.

use plotters::coord::Shift;
use plotters::prelude::*;
pub use plotters::style::RGBColor;
use plotters::style::text_anchor::{HPos, Pos, VPos};

/// One bar: what it is, how many, and the list it opens.
#[derive(Debug, Clone)]
pub struct Bar {
    /// Its label.
    pub label: String,
    /// Its value.
    pub n: u64,
    /// The filtered asset list, when there is one.
    pub href: Option<String>,
    /// Its colour.
    pub color: RGBColor,
}

/// A series of the stacked chart.
pub struct Stack<'a> {
    /// Legend text.
    pub name: &'a str,
    /// Colour.
    pub color: RGBColor,
}

/// One column of the stacked chart.
pub struct Column {
    /// Label under the axis (empty for none).
    pub label: String,
    /// Tooltip.
    pub title: String,
    /// One value per stack.
    pub values: Vec<u64>,
}

/// The console's accent blue, for single-series charts.
pub const ACCENT: RGBColor = RGBColor(0x0a, 0x58, 0xca);
/// Colours of the stacked series, distinguishable with the common colour-vision deficiencies
/// (Okabe–Ito).
pub const SERIES: &[RGBColor] = &[
    RGBColor(0x00, 0x72, 0xb2),
    RGBColor(0xe6, 0x9f, 0x00),
    RGBColor(0x00, 0x9e, 0x73),
    RGBColor(0xcc, 0x79, 0xa7),
    RGBColor(0x56, 0xb4, 0xe9),
    RGBColor(0xd5, 0x5e, 0x00),
    RGBColor(0x99, 0x99, 0x99),
];
const AXIS: RGBColor = RGBColor(0x57, 0x60, 0x6a);
const FONT: &str = "sans-serif";
const LABEL_CHARS: usize = 26;

/// A link (or a tooltip alone) over a rectangle of the chart, in pixels.
struct Hit {
    href: Option<String>,
    title: String,
    rect: ((i32, i32), (i32, i32)),
}

/// Text that fits the label space: plotters estimates width by characters, so clip by them.
fn clip(s: &str, max: usize) -> String {
    let clean: String = s.chars().map(|c| if c.is_control() { ' ' } else { c }).collect();
    if clean.chars().count() <= max { clean } else { clean.chars().take(max - 1).collect::<String>() + "…" }
}

fn xml_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '&' => out.push_str("&amp;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            c if c.is_control() => out.push(' '),
            c => out.push(c),
        }
    }
    out
}

/// Draws with `draw` on a `width`×`height` SVG, then lays the hits over it.
fn svg(
    width: u32,
    height: u32,
    label: &str,
    draw: impl FnOnce(&DrawingArea<SVGBackend<'_>, Shift>) -> Result<Vec<Hit>, String>,
) -> String {
    let mut out = String::new();
    let hits = {
        let root = SVGBackend::with_string(&mut out, (width, height)).into_drawing_area();
        let hits = root.fill(&WHITE).map_err(|e| e.to_string()).and_then(|()| draw(&root));
        let presented = root.present().map_err(|e| e.to_string());
        match (hits, presented) {
            (Ok(h), Ok(())) => h,
            (Err(e), _) | (_, Err(e)) => {
                tracing::warn!(error = %e, chart = label, "chart not drawn");
                Vec::new()
            }
        }
    };
    let mut layer = String::new();
    for hit in hits {
        let ((x0, y0), (x1, y1)) = hit.rect;
        let rect = format!(
            "<rect class=\"hit\" x=\"{}\" y=\"{}\" width=\"{}\" height=\"{}\" fill=\"transparent\"/>",
            x0.min(x1),
            y0.min(y1),
            (x1 - x0).abs().max(1),
            (y1 - y0).abs().max(1)
        );
        let title = xml_escape(&hit.title);
        match hit.href {
            Some(href) => layer.push_str(&format!(
                "<a href=\"{}\" aria-label=\"{title}\"><title>{title}</title>{rect}</a>\n",
                xml_escape(&href)
            )),
            None => layer.push_str(&format!("<g><title>{title}</title>{rect}</g>\n")),
        }
    }
    // The figure's accessible name, and the link layer as the last (topmost) children.
    let open = format!("<svg role=\"img\" aria-label=\"{}\" class=\"chart\"", xml_escape(label));
    let out = out.replacen("<svg", &open, 1);
    match out.rfind("</svg>") {
        Some(end) => format!("{}{layer}{}", &out[..end], &out[end..]),
        None => out,
    }
}

/// An axis tick for counts: whole numbers only (a scale of 0..2 would otherwise read 0, 0, 1, 1).
fn count_tick(v: &f64) -> String {
    if (v - v.round()).abs() < 1e-6 { format!("{v:.0}") } else { String::new() }
}

fn font(size: f64) -> TextStyle<'static> {
    (FONT, size).into_font().color(&BLACK)
}

/// Horizontal bars with their names on the left, for named categories (models, IDCs, statuses).
pub fn hbars(label: &str, bars: &[Bar]) -> String {
    const ROW: u32 = 24;
    let width = 520;
    let height = ROW * bars.len().max(1) as u32 + 34;
    let max = bars.iter().map(|b| b.n).max().unwrap_or(0).max(1) as f64 * 1.15;
    svg(width, height, label, |root| {
        let mut chart = ChartBuilder::on(root)
            .margin(6)
            .margin_right(16)
            .x_label_area_size(22)
            .y_label_area_size(190)
            .build_cartesian_2d(0f64..max, 0f64..bars.len().max(1) as f64)
            .map_err(|e| e.to_string())?;
        chart
            .configure_mesh()
            .disable_y_mesh()
            .y_labels(0)
            .x_labels(5)
            .x_label_formatter(&count_tick)
            .axis_style(AXIS)
            .label_style(font(12.0))
            .light_line_style(RGBColor(0xea, 0xee, 0xf2))
            .bold_line_style(RGBColor(0xd0, 0xd7, 0xde))
            .draw()
            .map_err(|e| e.to_string())?;
        // Row 0 at the top.
        let row = |i: usize| (bars.len() - 1 - i) as f64;
        chart
            .draw_series(
                bars.iter().enumerate().map(|(i, b)| {
                    Rectangle::new([(0.0, row(i) + 0.18), (b.n as f64, row(i) + 0.82)], b.color.filled())
                }),
            )
            .map_err(|e| e.to_string())?;
        let mut hits = Vec::new();
        for (i, b) in bars.iter().enumerate() {
            let (x0, y_mid) = chart.backend_coord(&(0.0, row(i) + 0.5));
            let (x_end, _) = chart.backend_coord(&(b.n as f64, row(i) + 0.5));
            let left = Pos::new(HPos::Left, VPos::Center);
            let right = Pos::new(HPos::Right, VPos::Center);
            root.draw(&Text::new(clip(&b.label, LABEL_CHARS), (x0 - 8, y_mid), font(13.0).pos(right)))
                .map_err(|e| e.to_string())?;
            root.draw(&Text::new(b.n.to_string(), (x_end + 4, y_mid), font(12.0).color(&AXIS).pos(left)))
                .map_err(|e| e.to_string())?;
            let (_, top) = chart.backend_coord(&(0.0, row(i) + 1.0));
            let (_, bottom) = chart.backend_coord(&(0.0, row(i)));
            let (far, _) = chart.backend_coord(&(max, 0.0));
            // The whole row is the target: a bar of 1 among 10,000 is still easy to click.
            hits.push(Hit {
                href: b.href.clone(),
                title: format!("{}: {}", b.label, b.n),
                rect: ((0, top), (far, bottom)),
            });
        }
        Ok(hits)
    })
}

/// Vertical columns over ordered buckets (a histogram): memory sizes, core counts.
pub fn histogram(label: &str, x_desc: &str, bars: &[Bar]) -> String {
    let (width, height) = (520, 260);
    let n = bars.len().max(1);
    let max = bars.iter().map(|b| b.n).max().unwrap_or(0).max(1) as f64 * 1.15;
    svg(width, height, label, |root| {
        let mut chart = ChartBuilder::on(root)
            .margin(8)
            .margin_right(16)
            .x_label_area_size(40)
            .y_label_area_size(52)
            .build_cartesian_2d(0f64..n as f64, 0f64..max)
            .map_err(|e| e.to_string())?;
        chart
            .configure_mesh()
            .disable_x_mesh()
            .x_labels(0)
            .y_labels(5)
            .y_label_formatter(&count_tick)
            .x_desc(x_desc)
            .axis_style(AXIS)
            .label_style(font(12.0))
            .axis_desc_style(font(12.0))
            .light_line_style(RGBColor(0xea, 0xee, 0xf2))
            .bold_line_style(RGBColor(0xd0, 0xd7, 0xde))
            .draw()
            .map_err(|e| e.to_string())?;
        chart
            .draw_series(
                bars.iter().enumerate().map(|(i, b)| {
                    Rectangle::new([(i as f64 + 0.1, 0.0), (i as f64 + 0.9, b.n as f64)], b.color.filled())
                }),
            )
            .map_err(|e| e.to_string())?;
        let mut hits = Vec::new();
        for (i, b) in bars.iter().enumerate() {
            let (x_mid, y0) = chart.backend_coord(&(i as f64 + 0.5, 0.0));
            let (_, y_top) = chart.backend_coord(&(i as f64 + 0.5, b.n as f64));
            let below = Pos::new(HPos::Center, VPos::Top);
            let above = Pos::new(HPos::Center, VPos::Bottom);
            root.draw(&Text::new(clip(&b.label, 12), (x_mid, y0 + 4), font(12.0).pos(below)))
                .map_err(|e| e.to_string())?;
            root.draw(&Text::new(b.n.to_string(), (x_mid, y_top - 3), font(12.0).color(&AXIS).pos(above)))
                .map_err(|e| e.to_string())?;
            let (left, top) = chart.backend_coord(&(i as f64, max));
            let (right, _) = chart.backend_coord(&(i as f64 + 1.0, 0.0));
            hits.push(Hit {
                href: b.href.clone(),
                title: format!("{}: {}", b.label, b.n),
                rect: ((left, top), (right, y0)),
            });
        }
        Ok(hits)
    })
}

/// Stacked columns (events per day by kind), with a legend.
pub fn stacked(label: &str, stacks: &[Stack<'_>], columns: &[Column]) -> String {
    let (width, height) = (1040, 300);
    let n = columns.len().max(1);
    let max = columns.iter().map(|c| c.values.iter().sum::<u64>()).max().unwrap_or(0).max(1) as f64 * 1.15;
    svg(width, height, label, |root| {
        let (plot, legend) = root.split_horizontally(width - 150);
        let mut chart = ChartBuilder::on(&plot)
            .margin(8)
            .x_label_area_size(26)
            .y_label_area_size(52)
            .build_cartesian_2d(0f64..n as f64, 0f64..max)
            .map_err(|e| e.to_string())?;
        chart
            .configure_mesh()
            .disable_x_mesh()
            .x_labels(0)
            .y_labels(5)
            .y_label_formatter(&count_tick)
            .axis_style(AXIS)
            .label_style(font(12.0))
            .light_line_style(RGBColor(0xea, 0xee, 0xf2))
            .bold_line_style(RGBColor(0xd0, 0xd7, 0xde))
            .draw()
            .map_err(|e| e.to_string())?;
        let mut rects = Vec::new();
        for (i, c) in columns.iter().enumerate() {
            let mut base = 0u64;
            for (s, v) in c.values.iter().enumerate().filter(|(_, v)| **v > 0) {
                let color = stacks.get(s).map(|s| s.color).unwrap_or(AXIS);
                rects.push(Rectangle::new(
                    [(i as f64 + 0.12, base as f64), (i as f64 + 0.88, (base + v) as f64)],
                    color.filled(),
                ));
                base += v;
            }
        }
        chart.draw_series(rects).map_err(|e| e.to_string())?;
        let mut hits = Vec::new();
        for (i, c) in columns.iter().enumerate() {
            let (x_mid, y0) = chart.backend_coord(&(i as f64 + 0.5, 0.0));
            if !c.label.is_empty() {
                plot.draw(&Text::new(
                    c.label.clone(),
                    (x_mid, y0 + 5),
                    font(11.0).pos(Pos::new(HPos::Center, VPos::Top)),
                ))
                .map_err(|e| e.to_string())?;
            }
            let (left, top) = chart.backend_coord(&(i as f64, max));
            let (right, _) = chart.backend_coord(&(i as f64 + 1.0, 0.0));
            hits.push(Hit { href: None, title: c.title.clone(), rect: ((left, top), (right, y0)) });
        }
        for (s, stack) in stacks.iter().enumerate() {
            let y = 20 + 22 * s as i32;
            legend.draw(&Rectangle::new([(8, y - 6), (20, y + 6)], stack.color.filled())).map_err(|e| e.to_string())?;
            legend
                .draw(&Text::new(stack.name, (26, y), font(12.0).pos(Pos::new(HPos::Left, VPos::Center))))
                .map_err(|e| e.to_string())?;
        }
        // The plot is the root's left part, so its pixels are the root's: the hits need no shift.
        Ok(hits)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bars_carry_their_links_and_no_style_attributes() {
        let bars = [
            Bar { label: "dc1 <&>".into(), n: 7, href: Some("/assets?idc=dc1+%3C%26%3E".into()), color: ACCENT },
            Bar { label: "unnamed".into(), n: 0, href: None, color: ACCENT },
        ];
        let svg = hbars("Assets per IDC", &bars);
        assert!(svg.starts_with("<svg role=\"img\" aria-label=\"Assets per IDC\""), "{svg}");
        assert!(svg.contains("<a href=\"/assets?idc=dc1+%3C%26%3E\" aria-label=\"dc1 &lt;&amp;&gt;: 7\">"), "{svg}");
        assert!(svg.contains(">dc1 &lt;&amp;&gt;<") || svg.contains(">\ndc1 &lt;&amp;&gt;\n<"), "{svg}");
        assert!(!svg.contains("style="), "{svg}");
        assert!(svg.trim_end().ends_with("</svg>"));
    }

    #[test]
    fn long_labels_are_clipped() {
        assert_eq!(clip("abcdef", 4), "abc…");
        assert_eq!(clip("a\u{7}b", 4), "a b");
    }
}
