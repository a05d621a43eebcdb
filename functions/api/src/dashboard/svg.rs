//! Charts as inline SVG, drawn on the server: no script, nothing fetched from elsewhere (the
//! dashboard works offline), no inline style (the CSP forbids it: colours come from classes in
//! `app.css`). Integer arithmetic from the figure to the pixel; every mark that stands for rows is
//! an `<a href>` to them, with its figure in words as its accessible name and tooltip. Every
//! chart is followed on its page by a table of the same numbers.

use super::html::esc;
use otto_core::StoreDay;
use std::fmt::Write;

/// Width and height of every chart's coordinate system (it scales to the page's width).
pub const W: i64 = 720;
/// The plot area's margins: left (tick labels), right, top, bottom (day labels).
const LEFT: i64 = 64;
const RIGHT: i64 = 16;
const TOP: i64 = 14;
const BOTTOM: i64 = 30;

/// Maps an integer domain onto pixels.
#[derive(Debug, Clone, Copy)]
pub struct Scale {
    d0: i64,
    d1: i64,
    r0: i64,
    r1: i64,
}

impl Scale {
    pub fn new(d0: i64, d1: i64, r0: i64, r1: i64) -> Self {
        Scale {
            d0,
            d1: if d1 == d0 { d0 + 1 } else { d1 },
            r0,
            r1,
        }
    }
    /// The pixel of `v` (clamped to the range).
    pub fn at(&self, v: i64) -> i64 {
        let v = v.clamp(self.d0.min(self.d1), self.d0.max(self.d1));
        let num = i128::from(v - self.d0) * i128::from(self.r1 - self.r0);
        self.r0 + (num / i128::from(self.d1 - self.d0)) as i64
    }
}

/// A step of 1, 2, 2.5 or 5 × 10ⁿ that cuts `span` into at most `max` parts.
pub fn nice_step(span: i64, max: i64) -> i64 {
    let span = span.max(1);
    let mut pow = 1i64;
    loop {
        for m in [10, 20, 25, 50] {
            let step = pow.saturating_mul(m) / 10;
            if step > 0 && span / step <= max {
                return step;
            }
        }
        pow = pow.saturating_mul(10);
    }
}

/// The end of a chart opened by [`open`].
const CLOSE: &str = "</svg></div>";

/// The chart's `<svg>` opening (in a box that scrolls sideways on a narrow screen): its name and description for assistive technology.
fn open(id: &str, title: &str, desc: &str, h: i64) -> String {
    open_sized(id, title, desc, W, h, "chart")
}

fn open_sized(id: &str, title: &str, desc: &str, w: i64, h: i64, class: &str) -> String {
    format!(
        "<div class=\"chart-wrap\"><svg class=\"{class}\" viewBox=\"0 0 {w} {h}\" role=\"group\" aria-labelledby=\"{id}-t\" aria-describedby=\"{id}-d\" id=\"{id}\">\
<title id=\"{id}-t\">{}</title><desc id=\"{id}-d\">{}</desc>",
        esc(title),
        esc(desc)
    )
}

/// A mark linked to its rows: the label is its accessible name and its tooltip.
pub fn link(href: &str, label: &str, mark: &str) -> String {
    format!(
        "<a href=\"{}\" aria-label=\"{}\"><title>{}</title>{mark}</a>",
        esc(href),
        esc(label),
        esc(label)
    )
}

fn text(x: i64, y: i64, anchor: &str, class: &str, s: &str) -> String {
    format!(
        "<text x=\"{x}\" y=\"{y}\" text-anchor=\"{anchor}\" class=\"{class}\">{}</text>",
        esc(s)
    )
}

/// One value of a day series, linked to the rows it comes from.
#[derive(Debug, Clone)]
pub struct DayPoint {
    pub day: StoreDay,
    pub value: i64,
    /// The figure in words, with its day and its row (the tooltip).
    pub label: String,
    pub href: String,
}

/// A horizontal line across a chart (a target, a floor), linked to the row that sets it.
#[derive(Debug, Clone)]
pub struct Rule {
    pub value: i64,
    pub label: String,
    pub class: &'static str,
    pub href: Option<String>,
}

/// How a day series is drawn.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mark {
    Bars,
    Line,
}

/// A series over the days `from..=to`.
pub struct DayChart<'a> {
    pub id: &'a str,
    pub title: &'a str,
    pub desc: &'a str,
    pub from: StoreDay,
    pub to: StoreDay,
    pub points: &'a [DayPoint],
    pub mark: Mark,
    pub rules: &'a [Rule],
    /// A tick value in words (`€200.00`, `4.0`).
    pub tick: &'a dyn Fn(i64) -> String,
    /// The class of the series (its colour).
    pub class: &'static str,
}

/// "24 Nov".
fn day_label(d: StoreDay) -> String {
    d.date().format("%-d %b").to_string()
}

/// The day axis: a band per day, labelled every few days.
fn day_axis(
    from: StoreDay,
    days: i64,
    h: i64,
    left: i64,
) -> (String, impl Fn(StoreDay) -> (i64, i64)) {
    let band = (W - left - RIGHT) / days.max(1);
    let x_of = move |d: StoreDay| (left + d.days_since(from) * band, band);
    let every = (days / 7).max(1);
    let mut out = String::new();
    for i in (0..days).step_by(every as usize) {
        let d = from.plus_days(i);
        let (x, b) = x_of(d);
        out.push_str(&text(x + b / 2, h - 10, "middle", "tick", &day_label(d)));
    }
    (out, x_of)
}

/// The value axis: gridlines and labels at nice steps from `lo` to `hi`.
fn value_axis(y: &Scale, lo: i64, hi: i64, tick: &dyn Fn(i64) -> String) -> String {
    let step = nice_step(hi - lo, 4);
    let mut out = String::new();
    let mut v = lo.div_euclid(step) * step;
    while v <= hi {
        if v >= lo {
            let py = y.at(v);
            let _ = write!(
                out,
                "<line x1=\"{LEFT}\" x2=\"{}\" y1=\"{py}\" y2=\"{py}\" class=\"grid\"/>",
                W - RIGHT
            );
            out.push_str(&text(LEFT - 6, py + 4, "end", "tick", &tick(v)));
        }
        v += step;
    }
    out
}

/// The domain a day chart's values and rules span (zero included: bars and ratios start at 0).
fn domain(points: &[DayPoint], rules: &[Rule]) -> (i64, i64) {
    let vals = points
        .iter()
        .map(|p| p.value)
        .chain(rules.iter().map(|r| r.value));
    let (lo, hi) = vals.fold((0i64, 0i64), |(lo, hi), v| (lo.min(v), hi.max(v)));
    let step = nice_step(hi - lo, 4);
    (
        lo.div_euclid(step) * step,
        (hi + step - 1).div_euclid(step) * step,
    )
}

/// A day series as bars or a line with points, its rules drawn across it.
pub fn day_chart(c: &DayChart) -> String {
    let h = 200;
    let days = c.to.days_since(c.from) + 1;
    let (lo, hi) = domain(c.points, c.rules);
    let y = Scale::new(lo, hi.max(lo + 1), h - BOTTOM, TOP);
    let mut out = open(c.id, c.title, c.desc, h);
    out.push_str(&value_axis(&y, lo, hi, c.tick));
    let (labels, x_of) = day_axis(c.from, days, h, LEFT);
    out.push_str(&labels);
    let _ = write!(out, "<g class=\"series {}\">", c.class);
    let inside = c.points.iter().filter(|p| p.day >= c.from && p.day <= c.to);
    match c.mark {
        Mark::Bars => {
            for p in inside {
                let (x, b) = x_of(p.day);
                let (top, base) = (y.at(p.value.max(0)), y.at(p.value.min(0)));
                let bar = format!(
                    "<rect x=\"{}\" y=\"{top}\" width=\"{}\" height=\"{}\" class=\"bar\"/>",
                    x + b / 6,
                    (b - b / 3).max(2),
                    (base - top).max(1)
                );
                out.push_str(&link(&p.href, &p.label, &bar));
            }
        }
        Mark::Line => {
            let pts: Vec<&DayPoint> = inside.collect();
            out.push_str(&line_path(&pts, &x_of, &y));
            for p in pts {
                let (x, b) = x_of(p.day);
                let dot = format!(
                    "<circle cx=\"{}\" cy=\"{}\" r=\"5\" class=\"pt\"/>",
                    x + b / 2,
                    y.at(p.value)
                );
                out.push_str(&link(&p.href, &p.label, &dot));
            }
        }
    }
    out.push_str("</g>");
    for r in c.rules {
        out.push_str(&rule(r, &y));
    }
    out.push_str(CLOSE);
    out
}

/// The line through consecutive days' points (a day without a point breaks it).
fn line_path(pts: &[&DayPoint], x_of: &dyn Fn(StoreDay) -> (i64, i64), y: &Scale) -> String {
    let mut d = String::new();
    let mut prev: Option<StoreDay> = None;
    for p in pts {
        let (x, b) = x_of(p.day);
        let cmd = match prev {
            Some(q) if p.day.days_since(q) == 1 => 'L',
            _ => 'M',
        };
        let _ = write!(d, "{cmd}{} {} ", x + b / 2, y.at(p.value));
        prev = Some(p.day);
    }
    if d.is_empty() {
        return d;
    }
    format!("<path d=\"{}\" class=\"line\"/>", d.trim_end())
}

fn rule(r: &Rule, y: &Scale) -> String {
    let py = y.at(r.value);
    let mark = format!(
        "<line x1=\"{LEFT}\" x2=\"{}\" y1=\"{py}\" y2=\"{py}\" class=\"rule {}\"/>{}",
        W - RIGHT,
        r.class,
        text(
            W - RIGHT - 4,
            py - 4,
            "end",
            &format!("rule-label {}", r.class),
            &r.label
        )
    );
    match &r.href {
        Some(h) => link(h, &r.label, &mark),
        None => format!("<g><title>{}</title>{mark}</g>", esc(&r.label)),
    }
}

/// One bar of a histogram: `[lo, hi)` and its count, split by class.
#[derive(Debug, Clone)]
pub struct Bin {
    pub lo: i64,
    pub hi: i64,
    /// (class, count), bottom first.
    pub parts: Vec<(&'static str, usize)>,
    pub label: String,
    pub href: String,
}

/// A vertical marker on a histogram (a percentile), linked to its row.
#[derive(Debug, Clone)]
pub struct Marker {
    pub value: i64,
    pub label: String,
    pub class: &'static str,
    pub href: String,
}

/// A histogram over `[lo, hi)` with markers at given values.
pub struct Histogram<'a> {
    pub id: &'a str,
    pub title: &'a str,
    pub desc: &'a str,
    pub bins: &'a [Bin],
    pub markers: &'a [Marker],
    pub tick: &'a dyn Fn(i64) -> String,
}

pub fn histogram(c: &Histogram) -> String {
    let h = 240;
    let (Some(first), Some(last)) = (c.bins.first(), c.bins.last()) else {
        return String::new();
    };
    let x = Scale::new(first.lo, last.hi, LEFT, W - RIGHT);
    let max = c
        .bins
        .iter()
        .map(|b| b.parts.iter().map(|p| p.1).sum::<usize>())
        .max()
        .unwrap_or(0)
        .max(1) as i64;
    let top = TOP + 16;
    let y = Scale::new(0, max, h - BOTTOM, top);
    let mut out = open(c.id, c.title, c.desc, h);
    out.push_str(&value_axis(&y, 0, max, &|v| v.to_string()));
    for b in c.bins {
        let (x0, x1) = (x.at(b.lo), x.at(b.hi));
        let mut base = 0i64;
        let mut mark = String::new();
        for (class, n) in &b.parts {
            let n = *n as i64;
            if n == 0 {
                continue;
            }
            let (yt, yb) = (y.at(base + n), y.at(base));
            let _ = write!(
                mark,
                "<rect x=\"{}\" y=\"{yt}\" width=\"{}\" height=\"{}\" class=\"bar {class}\"/>",
                x0 + 1,
                (x1 - x0 - 2).max(1),
                (yb - yt).max(1)
            );
            base += n;
        }
        if !mark.is_empty() {
            out.push_str(&link(&b.href, &b.label, &mark));
        }
    }
    let step = nice_step(last.hi - first.lo, 8);
    let mut v = first.lo.div_euclid(step) * step;
    while v <= last.hi {
        if v >= first.lo {
            out.push_str(&text(x.at(v), h - 10, "middle", "tick", &(c.tick)(v)));
        }
        v += step;
    }
    for (i, m) in c.markers.iter().enumerate() {
        let px = x.at(m.value);
        let ly = TOP + 2 + (i as i64 % 2) * 12;
        // The lowest marker's words to the left of its line, the others to the right (as room
        // allows), so neighbouring markers do not write over each other.
        let left = (i == 0 && px > LEFT + 170) || px > W - 170;
        let anchor = if left { "end" } else { "start" };
        let dx = if anchor == "end" { -4 } else { 4 };
        let mark = format!(
            "<line x1=\"{px}\" x2=\"{px}\" y1=\"{}\" y2=\"{}\" class=\"marker {}\"/>{}",
            TOP,
            h - BOTTOM,
            m.class,
            text(
                px + dx,
                ly + 8,
                anchor,
                &format!("rule-label {}", m.class),
                &m.label
            )
        );
        out.push_str(&link(&m.href, &m.label, &mark));
    }
    out.push_str(CLOSE);
    out
}

/// One horizontal bar: a count, named, linked to its rows.
#[derive(Debug, Clone)]
pub struct HBar {
    pub name: String,
    pub count: usize,
    pub class: &'static str,
    /// The count in words (the tooltip).
    pub label: String,
    pub href: String,
}

/// Counts as horizontal bars, the longest first as given.
pub fn hbars(id: &str, title: &str, desc: &str, bars: &[HBar]) -> String {
    // Narrower than the other charts: it fits a phone's width without scrolling.
    const HW: i64 = 480;
    const ROW: i64 = 40;
    const X0: i64 = 16;
    let h = TOP + ROW * bars.len() as i64;
    let max = bars.iter().map(|b| b.count).max().unwrap_or(0).max(1) as i64;
    let x = Scale::new(0, max, X0, HW - RIGHT - 48);
    let mut out = open_sized(id, title, desc, HW, h, "chart fit");
    for (i, b) in bars.iter().enumerate() {
        let y = TOP + ROW * i as i64;
        let end = x.at(b.count as i64).max(X0 + 2);
        let mark = format!(
            "{}<rect x=\"{X0}\" y=\"{}\" width=\"{}\" height=\"14\" class=\"bar {}\"/>{}",
            text(X0, y + 10, "start", "tick lane", &b.name),
            y + 15,
            end - X0,
            b.class,
            text(end + 6, y + 26, "start", "tick", &b.count.to_string())
        );
        out.push_str(&link(&b.href, &b.label, &mark));
    }
    out.push_str(CLOSE);
    out
}

/// An event on a timeline: a day, a lane, its class (colour) and its row.
#[derive(Debug, Clone)]
pub struct Event {
    pub day: StoreDay,
    pub lane: usize,
    pub class: String,
    pub label: String,
    pub href: String,
}

/// A span on a timeline (a discount window), drawn behind the events.
#[derive(Debug, Clone)]
pub struct Span {
    pub from: StoreDay,
    pub to: StoreDay,
    pub label: String,
    pub href: String,
}

/// Events in named lanes over the days `from..=to`.
pub struct Timeline<'a> {
    pub id: &'a str,
    pub title: &'a str,
    pub desc: &'a str,
    pub from: StoreDay,
    pub to: StoreDay,
    pub lanes: &'a [String],
    pub events: &'a [Event],
    pub spans: &'a [Span],
}

pub fn timeline(c: &Timeline) -> String {
    const LANE: i64 = 26;
    let h = TOP + LANE * c.lanes.len().max(1) as i64 + BOTTOM + 4;
    let days = c.to.days_since(c.from) + 1;
    let mut out = open(c.id, c.title, c.desc, h);
    // Room on the left for the longest lane name (about 7.5 units a character).
    let longest = c.lanes.iter().map(|l| l.chars().count()).max().unwrap_or(0) as i64;
    let left = LEFT.max(longest * 15 / 2 + 12);
    let (labels, x_of) = day_axis(c.from, days, h, left);
    out.push_str(&labels);
    let lane_y = |i: usize| TOP + LANE * i as i64 + LANE / 2;
    for (i, name) in c.lanes.iter().enumerate() {
        let y = lane_y(i);
        let _ = write!(
            out,
            "<line x1=\"{left}\" x2=\"{}\" y1=\"{y}\" y2=\"{y}\" class=\"grid\"/>",
            W - RIGHT
        );
        out.push_str(&text(left - 6, y + 4, "end", "tick lane", name));
    }
    for s in c.spans {
        let (x0, _) = x_of(s.from.max(c.from));
        let (x1, b) = x_of(s.to.min(c.to));
        let r = format!(
            "<rect x=\"{x0}\" y=\"{TOP}\" width=\"{}\" height=\"{}\" class=\"span\"/>",
            (x1 + b - x0).max(2),
            h - TOP - BOTTOM
        );
        out.push_str(&link(&s.href, &s.label, &r));
    }
    // Events of one day in one lane sit side by side.
    let mut seen: std::collections::HashMap<(StoreDay, usize), i64> = Default::default();
    for e in c.events.iter().filter(|e| e.day >= c.from && e.day <= c.to) {
        let (x, b) = x_of(e.day);
        let k = seen.entry((e.day, e.lane)).or_default();
        let cx = x + b / 2 + *k * 7;
        *k += 1;
        let dot = format!(
            "<circle cx=\"{cx}\" cy=\"{}\" r=\"6\" class=\"ev {}\"/>",
            lane_y(e.lane),
            esc(&e.class)
        );
        out.push_str(&link(&e.href, &e.label, &dot));
    }
    out.push_str(CLOSE);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn day(s: &str) -> StoreDay {
        StoreDay::parse(s).unwrap()
    }

    #[test]
    fn scales_and_steps_are_integer_and_nice() {
        let s = Scale::new(0, 100, 170, 14);
        assert_eq!((s.at(0), s.at(100), s.at(50), s.at(400)), (170, 14, 92, 14));
        assert_eq!(nice_step(100, 4), 25);
        assert_eq!(nice_step(64_805, 8), 10_000);
        assert_eq!(nice_step(0, 4), 1);
        assert_eq!(nice_step(7, 4), 2);
    }

    #[test]
    fn every_point_is_a_link_with_its_words_and_gaps_break_the_line() {
        let p = |d: &str, v: i64| DayPoint {
            day: day(d),
            value: v,
            label: format!("{d}: {v} <x>"),
            href: format!("/dashboard/rows/ad_decision_log/{v}"),
        };
        let pts = [p("2026-11-20", 1), p("2026-11-21", 2), p("2026-11-23", 3)];
        let svg = day_chart(&DayChart {
            id: "roas",
            title: "ROAS",
            desc: "per morning",
            from: day("2026-11-17"),
            to: day("2026-11-30"),
            points: &pts,
            mark: Mark::Line,
            rules: &[Rule {
                value: 4,
                label: "target 4".into(),
                class: "target",
                href: None,
            }],
            tick: &|v| v.to_string(),
            class: "roas",
        });
        assert_eq!(svg.matches("<circle").count(), 3);
        assert_eq!(svg.matches("<a href=").count(), 3);
        assert!(svg.contains("href=\"/dashboard/rows/ad_decision_log/3\""));
        assert!(svg.contains("aria-label=\"2026-11-23: 3 &lt;x&gt;\""));
        let path = svg.split("<path d=\"").nth(1).unwrap();
        assert_eq!(
            path.matches('M').count(),
            2,
            "a missing day breaks the line: {path}"
        );
        assert!(svg.contains("target 4"));
        assert!(
            svg.contains("role=\"group\"") && svg.contains("<title id=\"roas-t\">ROAS</title>")
        );
    }
}
