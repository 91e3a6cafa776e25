//! Training the router from the store's closed cases, measuring it, and keeping each node's
//! router fresh.
//!
//! Every node trains its own router from the store — at start and every six hours — as the
//! search index is each node's own: training is deterministic, so nodes on one database suggest
//! alike, and no model needs storing or shipping. The rules come from the `routing_rules`
//! setting.

use std::sync::Arc;
use std::time::Duration;

use jiesu_domain::{Case, CaseState, Jurisdiction, OrgTree, UnitId, UnitKind};
use jiesu_routing::{Model, Router, Rules, Trainer, UnitTable, features};
use jiesu_store::Store;

/// Laplace smoothing.
const ALPHA: f64 = 0.1;
/// How often a serving node retrains.
const RETRAIN: Duration = Duration::from_secs(6 * 3600);

/// One closed case as the router learns from it.
#[derive(Debug, Clone)]
pub struct Example {
    pub features: Vec<String>,
    /// The street or town it is in.
    pub street: Option<String>,
    pub category: Option<String>,
    /// The unit the case was first dispatched to (what a county dispatcher chooses).
    pub unit: Option<String>,
    /// For demo cases: which phrasing of its category the title was written from.
    pub story: Option<usize>,
    pub id: String,
}

/// The street or town a unit lies in (the place feature: who answers locally).
pub fn street_of(org: &OrgTree, unit: &UnitId) -> Option<UnitId> {
    let mut cur = org.get(unit)?;
    loop {
        if matches!(cur.kind, UnitKind::Street | UnitKind::Town) {
            return Some(cur.id.clone());
        }
        cur = org.get(cur.parent.as_ref()?)?;
    }
}

/// Where a case's text and place say it is, as a feature value.
pub fn place_feature(org: &OrgTree, case_place: Option<UnitId>) -> Option<String> {
    case_place
        .and_then(|u| street_of(org, &u))
        .map(|u| u.to_string())
}

fn example(case: &Case, juris: &Jurisdiction, jieba: &jieba_rs::Jieba) -> Example {
    let d = &case.draft;
    let place = juris.org.place_of_report(d.location, d.address.as_deref());
    let unit = case
        .involved_units
        .iter()
        .find(|u| **u != case.intake_unit)
        .map(|u| u.to_string());
    let street = place_feature(&juris.org, place);
    Example {
        features: features(jieba, &d.title, &d.description, street.as_deref()),
        street,
        category: d.category.clone(),
        unit,
        story: d
            .category
            .as_deref()
            .and_then(|c| crate::demo::story_of(c, &d.title)),
        id: case.id.clone(),
    }
}

/// Calls `each` with every closed case of the store as an example, a page at a time.
async fn closed_examples(
    store: &Store,
    juris: &Jurisdiction,
    jieba: &jieba_rs::Jieba,
    mut each: impl FnMut(Example),
) -> anyhow::Result<()> {
    let mut after = String::new();
    loop {
        let (cases, last) = store.cases_after(&after, 5_000).await?;
        let Some(last) = last else { break };
        after = last;
        for c in cases.iter().filter(|c| c.state == CaseState::Closed) {
            each(example(c, juris, jieba));
        }
    }
    Ok(())
}

/// Every closed case of the store, as examples (for measuring: a serving node never holds them
/// all, see [`build`]).
pub async fn examples(
    store: &Store,
    juris: &Jurisdiction,
    jieba: &jieba_rs::Jieba,
) -> anyhow::Result<Vec<Example>> {
    let mut out = Vec::new();
    closed_examples(store, juris, jieba, |e| out.push(e)).await?;
    Ok(out)
}

/// The two models being counted.
#[derive(Default)]
struct Training {
    categories: Trainer,
    units: UnitTable,
}

impl Training {
    fn add(&mut self, e: &Example) {
        if let Some(c) = &e.category {
            self.categories.add(&e.features, c);
            if let Some(u) = &e.unit {
                self.units.add(c, e.street.as_deref(), u);
            }
        }
    }

    fn finish(self) -> (Model, UnitTable) {
        (self.categories.build(ALPHA), self.units)
    }
}

/// Both models from `examples`.
pub fn train<'a>(examples: impl IntoIterator<Item = &'a Example>) -> (Model, UnitTable) {
    let mut t = Training::default();
    examples.into_iter().for_each(|e| t.add(e));
    t.finish()
}

/// Top-1 and top-3 accuracy of a model on held-out examples.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Accuracy {
    pub n: usize,
    pub top1: usize,
    pub top3: usize,
    /// Held-out examples whose top suggestion was confident ([`jiesu_routing::CONFIDENT`]), and
    /// how many of those were right.
    pub confident: usize,
    pub confident_right: usize,
}

impl Accuracy {
    fn add(&mut self, top: &[jiesu_routing::Suggestion], truth: &str) {
        self.n += 1;
        self.top1 += usize::from(top.first().is_some_and(|s| s.label == truth));
        self.top3 += usize::from(top.iter().any(|s| s.label == truth));
        if top
            .first()
            .is_some_and(|s| s.confidence >= jiesu_routing::CONFIDENT)
        {
            self.confident += 1;
            self.confident_right += usize::from(top[0].label == truth);
        }
    }
    pub fn merge(&mut self, o: Accuracy) {
        self.n += o.n;
        self.top1 += o.top1;
        self.top3 += o.top3;
        self.confident += o.confident;
        self.confident_right += o.confident_right;
    }
    pub fn pct(part: usize, whole: usize) -> f64 {
        100.0 * part as f64 / whole.max(1) as f64
    }
}

/// Trains on `train_set`, measures on `test_set`: (categories, units).
pub fn measure(train_set: &[&Example], test_set: &[&Example]) -> (Accuracy, Accuracy) {
    let (cm, um) = train(train_set.iter().copied());
    let (mut ca, mut ua) = (Accuracy::default(), Accuracy::default());
    for e in test_set {
        let cats = cm.top(&e.features, 5);
        if let Some(c) = &e.category {
            ca.add(&cats[..cats.len().min(3)], c);
        }
        if let Some(u) = &e.unit {
            ua.add(&um.top(&cats, e.street.as_deref(), 3), u);
        }
    }
    (ca, ua)
}

/// A stable fifth of the examples (by a hash of the case id) as the held-out set.
pub fn held_out(e: &Example) -> bool {
    let h = e.id.bytes().fold(0xcbf2_9ce4_8422_2325u64, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x100_0000_01b3)
    });
    h % 5 == 0
}

/// The router of the store as it stands. The cases are read a page at a time and counted into
/// the models as they come, so a store of millions of cases costs the models' size, not theirs.
pub async fn build(
    store: &Store,
    juris: &Jurisdiction,
    jieba: Arc<jieba_rs::Jieba>,
) -> anyhow::Result<Router> {
    let mut t = Training::default();
    closed_examples(store, juris, &jieba, |e| t.add(&e)).await?;
    let (categories, units) = t.finish();
    let rules = match store.get_setting("routing_rules").await? {
        Some(t) => Rules::parse(
            &t,
            |c| juris.categories.get(c).is_some(),
            |u| juris.org.contains(&UnitId::new(u)),
        )
        .unwrap_or_else(|e| {
            tracing::warn!(error = %e, "routing rules ignored");
            Rules::default()
        }),
        None => Rules::default(),
    };
    Ok(Router {
        jieba,
        categories,
        units,
        rules,
    })
}

/// Trains this node's router now and every six hours, handing each to the API.
pub fn start(state: jiesu_api::AppState, jieba: Arc<jieba_rs::Jieba>) {
    tokio::spawn(async move {
        loop {
            let started = std::time::Instant::now();
            match build(&state.store, &state.juris(), jieba.clone()).await {
                Ok(r) => {
                    tracing::info!(
                        categories = r.categories.labels().len(),
                        seconds = started.elapsed().as_secs_f64(),
                        "routing suggestions trained"
                    );
                    state.set_router(Arc::new(r));
                }
                Err(e) => tracing::warn!(error = ?e, "routing suggestions not trained"),
            }
            tokio::time::sleep(RETRAIN).await;
        }
    });
}
