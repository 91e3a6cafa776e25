//! Reports as `.xlsx` workbooks: one sheet per section, each a title row, a subtitle, a bold
//! filled header row (frozen with the title) and the rows, with columns as wide as their Chinese
//! text, rates as percentages, and native column charts where a comparison reads better drawn.
//!
//! Every figure is written as the number the JSON carries (a rate as its fraction, shown as a
//! percentage), so a reader of the workbook gets the JSON's figures; a missing rate is "—".

use rust_xlsxwriter::{
    Chart, ChartType, Color, Format, FormatAlign, FormatBorder, Workbook, Worksheet, XlsxError,
};

use crate::{Analysis, Volume, Weekly};
use jiesu_domain::Time;

/// What one cell holds.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Cell {
    Text(String),
    Int(i64),
    /// A fraction shown as a percentage; `None` is "—".
    Rate(Option<f64>),
    /// A score with two decimals; `None` is "—".
    Score(Option<f64>),
}

/// A column chart of `values` (columns of the table) against the `category` column.
pub(crate) struct ChartSpec {
    pub title: String,
    pub category: u16,
    pub values: Vec<u16>,
}

pub(crate) struct Sheet {
    pub name: &'static str,
    pub title: String,
    pub subtitle: String,
    pub headers: Vec<&'static str>,
    pub rows: Vec<Vec<Cell>>,
    pub chart: Option<ChartSpec>,
}

/// The row of the header; data starts on the next one.
pub(crate) const HEADER_ROW: u32 = 2;
const NONE: &str = "—";

fn text(s: impl Into<String>) -> Cell {
    Cell::Text(s.into())
}

fn time(t: &Time) -> String {
    t.format("%Y-%m-%d %H:%M").to_string()
}

/// Display width in Excel's units: a CJK character is about two.
fn width(s: &str) -> usize {
    s.chars().map(|c| if c.is_ascii() { 1 } else { 2 }).sum()
}

fn cell_width(c: &Cell) -> usize {
    match c {
        Cell::Text(s) => width(s),
        Cell::Int(n) => n.to_string().len(),
        Cell::Rate(_) => 7,
        Cell::Score(_) => 7,
    }
}

pub(crate) fn workbook(sheets: &[Sheet]) -> Result<Vec<u8>, XlsxError> {
    let mut wb = Workbook::new();
    let font = "等线";
    let title = Format::new()
        .set_font_name(font)
        .set_bold()
        .set_font_size(16)
        .set_align(FormatAlign::Left)
        .set_align(FormatAlign::VerticalCenter);
    let subtitle = Format::new()
        .set_font_name(font)
        .set_font_color(Color::RGB(0x595959));
    let header = Format::new()
        .set_font_name(font)
        .set_bold()
        .set_font_color(Color::White)
        .set_background_color(Color::RGB(0x1F4E79))
        .set_border(FormatBorder::Thin)
        .set_align(FormatAlign::Center)
        .set_align(FormatAlign::VerticalCenter)
        .set_text_wrap();
    let body = Format::new()
        .set_font_name(font)
        .set_border(FormatBorder::Thin);
    let int = body.clone().set_num_format("#,##0");
    let pct = body.clone().set_num_format("0.0%");
    let score = body.clone().set_num_format("0.00");
    let none = body.clone().set_align(FormatAlign::Center);
    for s in sheets {
        let ws: &mut Worksheet = wb.add_worksheet();
        ws.set_name(s.name)?;
        let last_col = s.headers.len().saturating_sub(1) as u16;
        ws.set_row_height(0, 28)?;
        ws.merge_range(0, 0, 0, last_col.max(1), &s.title, &title)?;
        ws.merge_range(1, 0, 1, last_col.max(1), &s.subtitle, &subtitle)?;
        ws.set_row_height(HEADER_ROW, 22)?;
        for (c, h) in s.headers.iter().enumerate() {
            ws.write_string_with_format(HEADER_ROW, c as u16, *h, &header)?;
        }
        for (i, row) in s.rows.iter().enumerate() {
            let r = HEADER_ROW + 1 + i as u32;
            for (c, cell) in row.iter().enumerate() {
                let c = c as u16;
                match cell {
                    Cell::Text(t) => ws.write_string_with_format(r, c, t, &body)?,
                    Cell::Int(n) => ws.write_number_with_format(r, c, *n as f64, &int)?,
                    Cell::Rate(Some(x)) => ws.write_number_with_format(r, c, *x, &pct)?,
                    Cell::Score(Some(x)) => ws.write_number_with_format(r, c, *x, &score)?,
                    Cell::Rate(None) | Cell::Score(None) => {
                        ws.write_string_with_format(r, c, NONE, &none)?
                    }
                };
            }
        }
        for (c, h) in s.headers.iter().enumerate() {
            let w = s
                .rows
                .iter()
                .filter_map(|r| r.get(c))
                .map(cell_width)
                .chain([width(h)])
                .max()
                .unwrap_or(8);
            ws.set_column_width(c as u16, (w + 3).clamp(8, 48) as f64)?;
        }
        ws.set_freeze_panes(HEADER_ROW + 1, 0)?;
        ws.set_landscape();
        ws.set_repeat_rows(0, HEADER_ROW)?;
        if let (Some(ch), false) = (&s.chart, s.rows.is_empty()) {
            let last = HEADER_ROW + s.rows.len() as u32;
            let mut chart = Chart::new(ChartType::Column);
            for &v in &ch.values {
                chart
                    .add_series()
                    .set_name((s.name, HEADER_ROW, v))
                    .set_categories((s.name, HEADER_ROW + 1, ch.category, last, ch.category))
                    .set_values((s.name, HEADER_ROW + 1, v, last, v));
            }
            chart.title().set_name(&ch.title);
            chart.set_width(720).set_height(360);
            ws.insert_chart(HEADER_ROW + 1, last_col + 2, &chart)?;
        }
    }
    wb.save_to_buffer()
}

fn volume_sheet(
    name: &'static str,
    title: String,
    subtitle: &str,
    what: &'static str,
    rows: &[Volume],
) -> Sheet {
    Sheet {
        name,
        title,
        subtitle: subtitle.to_string(),
        headers: vec!["代码", what, "本期", "上期", "环比", "去年同期", "同比"],
        rows: rows.iter().map(volume_row).collect(),
        chart: None,
    }
}

pub(crate) fn volume_row(v: &Volume) -> Vec<Cell> {
    vec![
        text(&v.key),
        text(&v.name),
        Cell::Int(v.count),
        Cell::Int(v.previous),
        Cell::Rate(v.change_previous),
        Cell::Int(v.year_ago),
        Cell::Rate(v.change_year_ago),
    ]
}

pub(crate) fn analysis_sheets(a: &Analysis) -> Vec<Sheet> {
    let sub = format!(
        "统计期 {} 至 {}；上期 {}，去年同期 {}；按受理时间（北京时间）统计",
        a.from,
        a.to,
        a.previous_period.as_deref().unwrap_or(NONE),
        a.year_ago_period.as_deref().unwrap_or(NONE)
    );
    let t = |what: &str| format!("{} · {what}", a.title);
    let mut by_street = volume_sheet(
        "按街道",
        t("按街道（乡镇）"),
        &sub,
        "街道（乡镇）",
        &a.by_street,
    );
    by_street.chart = Some(ChartSpec {
        title: "各街道（乡镇）受理量：本期与上期".into(),
        category: 1,
        values: vec![2, 3],
    });
    let mut rankings = Vec::new();
    for g in &a.rankings {
        for r in &g.rows {
            rankings.push(vec![
                text(g.group_zh),
                text(g.within_name.as_deref().unwrap_or("全县")),
                r.rank
                    .map_or_else(|| text("样本不足"), |n| Cell::Int(n.into())),
                text(&r.unit_name),
                Cell::Int(r.received),
                Cell::Int(r.rated),
                Cell::Rate(r.response_rate),
                Cell::Rate(r.resolution_rate),
                Cell::Rate(r.satisfaction_rate),
                Cell::Rate(r.on_time_rate),
                Cell::Int(r.returns),
                Cell::Int(r.extensions),
                Cell::Int(r.yellow_cards),
                Cell::Int(r.red_cards),
                Cell::Score(r.score),
            ]);
        }
    }
    let ranking = Sheet {
        name: "考核排名",
        title: t("三率考核排名"),
        subtitle: format!("{sub}；同组内按综合得分排名，回访评价数不足最低样本量者列出不排名"),
        headers: vec![
            "分组",
            "范围",
            "名次",
            "单位",
            "派单量",
            "回访评价数",
            "响应率",
            "解决率",
            "满意率",
            "按时办结率",
            "退回",
            "延期",
            "黄牌",
            "红牌",
            "综合得分",
        ],
        rows: rankings,
        chart: None,
    };
    let summary = Sheet {
        name: "概况",
        title: a.title.clone(),
        subtitle: sub.clone(),
        headers: vec!["代码", "指标", "本期", "上期", "环比", "去年同期", "同比"],
        rows: vec![volume_row(&a.total)],
        chart: None,
    };
    let topics = Sheet {
        name: "热点类别",
        title: t("每月一题候选：高频诉求类别"),
        subtitle: sub.clone(),
        headers: vec!["序号", "类别代码", "类别", "受理量", "占比", "环比"],
        rows: a
            .top_categories
            .iter()
            .map(|c| {
                vec![
                    Cell::Int(c.rank.into()),
                    text(&c.category_id),
                    text(&c.name),
                    Cell::Int(c.count),
                    Cell::Rate(c.share),
                    Cell::Rate(c.change_previous),
                ]
            })
            .collect(),
        chart: None,
    };
    let places = Sheet {
        name: "热点地点",
        title: t("每月一题候选：诉求集中的社区（村）"),
        subtitle: sub.clone(),
        headers: vec![
            "序号",
            "社区（村）",
            "所属街道（乡镇）",
            "受理量",
            "占比",
            "主要类别",
        ],
        rows: a
            .top_places
            .iter()
            .map(|p| {
                vec![
                    Cell::Int(p.rank.into()),
                    text(&p.name),
                    text(&p.street),
                    Cell::Int(p.count),
                    Cell::Rate(p.share),
                    text(&p.top_category),
                ]
            })
            .collect(),
        chart: None,
    };
    let volumes = vec![
        summary,
        volume_sheet("按渠道", t("按受理渠道"), &sub, "渠道", &a.by_channel),
        volume_sheet("按类别", t("按诉求类别"), &sub, "类别", &a.by_category),
        volume_sheet("按承办单位", t("按承办单位"), &sub, "承办单位", &a.by_unit),
        by_street,
        topics,
        places,
    ];
    match a.kind {
        // The quarterly assessment leads with the rankings.
        crate::ReportKind::Quarterly => std::iter::once(ranking).chain(volumes).collect(),
        _ => volumes.into_iter().chain([ranking]).collect(),
    }
}

pub(crate) fn weekly_sheets(w: &Weekly) -> Vec<Sheet> {
    let sub = format!(
        "统计周 {} 至 {}；截至 {}，临期指 {} 前到期（{} 个工作日内）",
        w.from,
        w.to,
        time(&w.as_of),
        time(&w.due_soon_until),
        crate::DUE_SOON_WORKING_DAYS
    );
    let t = |what: &str| format!("{} · {what}", w.title);
    let k = &w.totals;
    let summary = Sheet {
        name: "概况",
        title: w.title.clone(),
        subtitle: sub.clone(),
        headers: vec!["指标", "数量"],
        rows: [
            ("超期未办结工单", k.overdue),
            ("临期工单", k.due_soon),
            ("本周黄牌", k.yellow_cards),
            ("本周红牌", k.red_cards),
            ("本周撤销的牌", k.cards_revoked),
            ("本周督办", k.supervisions),
        ]
        .into_iter()
        .map(|(n, v)| vec![text(n), Cell::Int(v)])
        .collect(),
        chart: None,
    };
    let by_unit = Sheet {
        name: "分单位",
        title: t("各单位超期、临期工单"),
        subtitle: sub.clone(),
        headers: vec!["单位代码", "单位", "超期", "临期"],
        rows: w
            .by_unit
            .iter()
            .map(|u| {
                vec![
                    text(&u.unit_id),
                    text(&u.unit_name),
                    Cell::Int(u.overdue),
                    Cell::Int(u.due_soon),
                ]
            })
            .collect(),
        chart: Some(ChartSpec {
            title: "各单位超期与临期工单".into(),
            category: 1,
            values: vec![2, 3],
        }),
    };
    let cases = Sheet {
        name: "超期临期工单",
        title: t("超期、临期工单清单"),
        subtitle: sub.clone(),
        headers: vec!["工单编号", "承办单位", "类别", "状态", "办结时限"],
        rows: w
            .due_cases
            .iter()
            .map(|c| {
                vec![
                    text(&c.number),
                    text(&c.unit_name),
                    text(&c.category),
                    text(c.status_zh),
                    text(time(&c.resolve_due)),
                ]
            })
            .collect(),
        chart: None,
    };
    let cards = Sheet {
        name: "红黄牌",
        title: t("本周红黄牌"),
        subtitle: sub.clone(),
        headers: vec!["时间", "工单编号", "事项", "牌号", "单位", "原因"],
        rows: w
            .cards
            .iter()
            .map(|c| {
                vec![
                    text(time(&c.at)),
                    text(&c.number),
                    text(c.event_zh),
                    text(&c.card_id),
                    text(&c.unit_name),
                    text(c.reason_zh),
                ]
            })
            .collect(),
        chart: None,
    };
    let supervisions = Sheet {
        name: "督办",
        title: t("本周督办"),
        subtitle: sub,
        headers: vec!["时间", "工单编号", "承办单位", "督办级别", "督办时限"],
        rows: w
            .supervisions
            .iter()
            .map(|s| {
                vec![
                    text(time(&s.at)),
                    text(&s.number),
                    text(&s.unit_name),
                    text(s.level_zh),
                    text(s.due.as_ref().map_or_else(|| NONE.to_string(), time)),
                ]
            })
            .collect(),
        chart: None,
    };
    vec![summary, by_unit, cases, cards, supervisions]
}
