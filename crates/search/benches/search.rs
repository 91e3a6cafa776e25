//! Search over a county's worth of cases: builds an index of N generated cases (default
//! 1,000,000; `JIESU_BENCH_CASES` to change), then times queries one at a time on one thread.
//!
//! `cargo bench -p jiesu-search --bench search`
//!
//! Prints the index build rate, query latency percentiles, and the baseline measured in the same
//! run: scanning the same texts for the same words in memory (`str::contains`, which is the best
//! an unindexed `LIKE '%井盖%'` can do).

use std::time::{Duration, Instant};

use jiesu_search::{CaseDoc, CaseIndex, Position, Scope, SearchQuery, dictionary};

/// A small deterministic generator (xorshift), so every run indexes the same texts.
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn pick<'a>(&mut self, xs: &[&'a str]) -> &'a str {
        xs[(self.next() % xs.len() as u64) as usize]
    }
}

const STREETS: &[&str] = &[
    "均州路街道",
    "大坝街道",
    "丹赵路街道",
    "三官殿街道",
    "土关垭镇",
    "浪河镇",
    "丁家营镇",
    "六里坪镇",
    "盐池河镇",
    "武当山镇",
    "习家店镇",
    "蒿坪镇",
    "石鼓镇",
    "凉水河镇",
    "官山镇",
    "龙山镇",
];
const PLACES: &[&str] = &[
    "幸福里社区",
    "丹二巷",
    "沧浪大道",
    "建设路",
    "新城小区",
    "水都花园",
    "汉江路",
    "太和路",
    "江山名邸",
    "左岸明珠",
    "北京路",
    "朝阳小区",
    "人民广场",
    "体育馆",
    "第一中学",
    "火车站",
    "农贸市场",
    "滨江公园",
];
const PROBLEMS: &[&str] = &[
    "井盖破损",
    "路灯不亮",
    "噪音扰民",
    "占道经营",
    "渣土车撒漏",
    "油烟扰民",
    "违章建筑",
    "垃圾未清运",
    "下水道堵塞",
    "积水严重",
    "停水",
    "供暖不热",
    "物业不作为",
    "飞线充电",
    "消防通道堵塞",
    "拖欠工资",
    "化粪池外溢",
    "窨井异味",
    "树木倒伏",
    "广告牌松动",
    "电动车乱停",
    "施工扰民",
    "违规养犬",
    "漏水",
];
const DETAILS: &[&str] = &[
    "已经持续一周",
    "夜间尤其严重",
    "多次反映未解决",
    "存在安全隐患",
    "老人小孩出行不便",
    "希望尽快处理",
    "影响周边居民休息",
    "曾拨打12345反映",
    "请相关部门核实",
    "要求给予答复",
];
const WHO: &[&str] = &["市民", "居民", "来电人", "业主", "商户", "网格员"];

fn text(r: &mut Rng) -> String {
    let building = r.next() % 30 + 1;
    let unit = r.next() % 6 + 1;
    format!(
        "{}{}{}：{}反映{}{}号楼{}单元附近{}，{}，{}。\n丹江口市{}{}\n",
        r.pick(PLACES),
        r.pick(PROBLEMS),
        r.pick(&["", "问题", "的情况"]),
        r.pick(WHO),
        r.pick(PLACES),
        building,
        unit,
        r.pick(PROBLEMS),
        r.pick(DETAILS),
        r.pick(DETAILS),
        r.pick(STREETS),
        r.pick(PLACES),
    )
}

const STATES: &[&str] = &["received", "dispatched", "accepted", "replied", "closed"];

fn doc(i: u64, r: &mut Rng) -> CaseDoc {
    let unit = format!("U{:03}", r.next() % 300);
    CaseDoc {
        id: format!("C{i:08}"),
        text: text(r),
        state: r.pick(STATES).to_string(),
        holder: unit.clone(),
        parties: vec![unit],
        reporter: None,
        category: Some(format!("cat{}", r.next() % 40)),
        place: Some(format!("G{:04}", r.next() % 2000)),
        received_ms: 1_750_000_000_000 + (i as i64) * 30_000,
    }
}

/// What dispatchers type: single words inside longer phrases, places, numbers, two words.
const QUERIES: &[&str] = &[
    "井盖",
    "路灯",
    "噪音",
    "渣土车",
    "油烟",
    "违建",
    "积水",
    "停水",
    "物业",
    "飞线充电",
    "12345",
    "3号楼",
    "幸福里",
    "丹二巷",
    "沧浪大道",
    "均州路",
    "浪河镇",
    "人民广场",
    "化粪池",
    "窨井",
    "井盖 幸福里",
    "路灯 建设路",
    "噪音 夜间",
    "拖欠工资 商户",
    "消防通道",
    "树木倒伏",
    "广告牌",
    "电动车 乱停",
    "漏水 12号楼",
    "体育馆 施工",
];

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    sorted[((sorted.len() as f64 * p).ceil() as usize).clamp(1, sorted.len()) - 1]
}

fn main() {
    let n: u64 = std::env::var("JIESU_BENCH_CASES")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(1_000_000);
    let dir = tempfile::tempdir().expect("a temp dir");
    let names: Vec<&str> = STREETS.iter().chain(PLACES.iter()).copied().collect();
    let index = CaseIndex::open(dir.path(), dictionary(names)).expect("index");

    // Generating the texts is not part of the build figure.
    let mut r = Rng(0x9E37_79B9_7F4A_7C15);
    let docs: Vec<CaseDoc> = (0..n).map(|i| doc(i, &mut r)).collect();
    let t = Instant::now();
    for chunk in docs.chunks(10_000) {
        index.add_for_rebuild(chunk).expect("add");
    }
    index
        .finish_rebuild(Some(Position {
            seq: n as i64,
            hash: "bench".into(),
        }))
        .expect("commit");
    let build = t.elapsed();
    println!(
        "index build: {n} cases in {:.1} s = {:.0} cases/s (2 writer threads)",
        build.as_secs_f64(),
        n as f64 / build.as_secs_f64()
    );

    let rounds = 20;
    let mut times = Vec::with_capacity(QUERIES.len() * rounds);
    let mut hits = 0usize;
    for round in 0..rounds {
        for q in QUERIES {
            let query = SearchQuery {
                text: q.to_string(),
                scope: if round % 2 == 0 {
                    Scope {
                        everything: true,
                        ..Scope::default()
                    }
                } else {
                    // A street's staff: some tens of units in scope.
                    Scope {
                        everything: false,
                        units: (0..40).map(|u| format!("U{u:03}")).collect(),
                        reporter: Some("u-x".into()),
                    }
                },
                limit: 20,
                ..SearchQuery::default()
            };
            let t = Instant::now();
            let found = index.search(&query).expect("search");
            times.push(t.elapsed());
            hits += found.total;
        }
    }
    times.sort();
    println!(
        "search ({} queries, top 20 with total): p50 {:.2} ms, p99 {:.2} ms, max {:.2} ms; mean hits per query {}",
        times.len(),
        percentile(&times, 0.50).as_secs_f64() * 1e3,
        percentile(&times, 0.99).as_secs_f64() * 1e3,
        times.last().copied().unwrap_or_default().as_secs_f64() * 1e3,
        hits / times.len()
    );

    // Baseline: the same words found by scanning every text.
    let mut scan = Vec::new();
    for q in QUERIES.iter().take(10) {
        let words: Vec<&str> = q.split_whitespace().collect();
        let t = Instant::now();
        let found = docs
            .iter()
            .filter(|d| words.iter().all(|w| d.text.contains(w)))
            .count();
        scan.push(t.elapsed());
        std::hint::black_box(found);
    }
    scan.sort();
    println!(
        "baseline, scanning the texts in memory ({} queries): p50 {:.1} ms, max {:.1} ms",
        scan.len(),
        percentile(&scan, 0.5).as_secs_f64() * 1e3,
        scan.last().copied().unwrap_or_default().as_secs_f64() * 1e3
    );
}
