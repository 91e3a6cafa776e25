//! The assessment of a small county over November 2026, every figure worked out by hand, on both
//! backends: the counters the writer keeps as events commit (`unit_day_stats`), summed for the
//! period and turned into figures and ranks by the domain, and the same table rebuilt from the
//! trail. docs/ASSESSMENT.md defines the figures; the comments below apply it case by case.
//!
//! The county is the domain tests' (streets street1 and street2, departments deptA and deptB).
//! Times are Beijing time; November 2026 has no holiday; office hours 08:30–12:00, 14:00–17:30;
//! accept is due 2 working hours after dispatch, contact 24 hours after, resolve 15 working days
//! (3 for an inquiry) after the first dispatch.

#[path = "../../domain/tests/common/mod.rs"]
mod common;

use std::sync::Arc;

use common::{Staff, dispatch, draft, reply, staff, t, world};
use jiesu_domain::assessment::{AssessmentRules, Period, UnitFigures, figures, rank};
use jiesu_domain::case::{ReviewDecision, Satisfaction};
use jiesu_domain::supervision::{AppealDecision, due_events};
use jiesu_domain::*;
use jiesu_store::Store;

struct Fx {
    store: Store,
    juris: Arc<Jurisdiction>,
    s: Staff,
}

impl Fx {
    async fn new(store: Store) -> Fx {
        let w = world();
        let units: Vec<OrgUnit> = w.org.units().cloned().collect();
        store.put_units(&units, &[]).await.expect("units");
        let categories: Vec<Category> = w.categories.all().cloned().collect();
        store.put_categories(&categories).await.expect("categories");
        for body in [
            include_str!("../../../calendar/2025.toml"),
            include_str!("../../../calendar/2026.toml"),
        ] {
            store.put_calendar_year(body).await.expect("calendar");
        }
        let juris = Arc::new(store.load_jurisdiction().await.expect("jurisdiction"));
        Fx {
            store,
            juris,
            s: staff(),
        }
    }

    async fn intake(&self, kind: Kind, at: &str) -> String {
        let (c, _) = self
            .store
            .intake(
                self.juris.clone(),
                draft(kind),
                &self.s.operator,
                t(at),
                None,
            )
            .await
            .expect("intake");
        c.id
    }

    async fn cmd(&self, id: &str, cmd: Command, who: &Actor, at: &str) -> Case {
        self.store
            .command(self.juris.clone(), id, cmd, who, t(at))
            .await
            .unwrap_or_else(|e| panic!("{id} at {at}: {e}"))
    }

    /// What the clock would write at `at`: `supervision::due_events`, through `system_event`.
    async fn clock(&self, id: &str, at: &str) -> Vec<CaseEvent> {
        let mut case = self.store.get_case(id).await.expect("read").expect("case");
        let events = due_events(&case, t(at), &self.juris.ctx(), &|_, _| 0);
        for ev in &events {
            case = self
                .store
                .system_event(self.juris.clone(), id, case.version, ev.clone(), t(at))
                .await
                .expect("system event");
        }
        events
    }

    /// Dispatched to `unit` at 09:00 on `day`, accepted 09:30, contacted 10:00.
    async fn responded(&self, kind: Kind, unit: &str, handler: &Actor, day: &str) -> String {
        let id = self.intake(kind, &format!("{day}T08:50:00+08:00")).await;
        let s = &self.s;
        self.cmd(
            &id,
            dispatch(unit),
            &s.dispatcher,
            &format!("{day}T09:00:00+08:00"),
        )
        .await;
        self.cmd(&id, accept(), handler, &format!("{day}T09:30:00+08:00"))
            .await;
        self.cmd(&id, contact(), handler, &format!("{day}T10:00:00+08:00"))
            .await;
        id
    }

    /// Replied at 10:00 on `day`, approved at 10:30.
    async fn replied(&self, id: &str, handler: &Actor, day: &str) {
        self.cmd(id, reply(), handler, &format!("{day}T10:00:00+08:00"))
            .await;
        self.cmd(
            id,
            approve(),
            &self.s.dispatcher,
            &format!("{day}T10:30:00+08:00"),
        )
        .await;
    }

    async fn callback(&self, id: &str, sat: Satisfaction, resolved: bool, fault: bool, at: &str) {
        let cmd = Command::Callback {
            resolved,
            satisfaction: sat,
            note: None,
            unit_at_fault: Some(fault),
        };
        self.cmd(id, cmd, &self.s.operator, at).await;
    }
}

fn accept() -> Command {
    Command::Accept { note: None }
}
fn contact() -> Command {
    Command::Contact { note: None }
}
fn approve() -> Command {
    Command::Review {
        decision: ReviewDecision::Approve,
        comment: None,
    }
}

const NOV: &str = "2026-11";

/// The county's history: October's last case, and November's.
async fn history(fx: &Fx) {
    let s = &fx.s;
    let (a, b) = (&s.handler_a, &s.handler_b);
    let done = Satisfaction::Satisfied;

    // deptA, A1–A8: responded on Nov 2, replied Nov 3, satisfied and resolved Nov 4.
    for _ in 0..8 {
        let id = fx
            .responded(Kind::Complaint, "deptA", a, "2026-11-02")
            .await;
        fx.replied(&id, a, "2026-11-03").await;
        fx.callback(&id, done, true, true, "2026-11-04T10:00:00+08:00")
            .await;
    }
    // A9: basically satisfied, resolved.
    let id = fx
        .responded(Kind::Complaint, "deptA", a, "2026-11-02")
        .await;
    fx.replied(&id, a, "2026-11-03").await;
    let basically = Satisfaction::BasicallySatisfied;
    fx.callback(&id, basically, true, true, "2026-11-04T10:00:00+08:00")
        .await;
    // A10: unsatisfied, not resolved, not the unit's fault: closed at once.
    let id = fx
        .responded(Kind::Complaint, "deptA", a, "2026-11-02")
        .await;
    fx.replied(&id, a, "2026-11-03").await;
    let unsat = Satisfaction::Unsatisfied;
    fx.callback(&id, unsat, false, false, "2026-11-04T10:00:00+08:00")
        .await;
    // A11: unreachable three times; the third is the outcome and closes it.
    let id = fx
        .responded(Kind::Complaint, "deptA", a, "2026-11-02")
        .await;
    fx.replied(&id, a, "2026-11-03").await;
    for at in ["10:00", "11:00", "14:00"] {
        let at = format!("2026-11-04T{at}:00+08:00");
        fx.callback(&id, Satisfaction::Unreachable, false, true, &at)
            .await;
    }
    // A12: unsatisfied by the unit's fault → reopened once (Nov 4); replied again Nov 5;
    // satisfied and resolved Nov 6: only this final rating counts.
    let id = fx
        .responded(Kind::Complaint, "deptA", a, "2026-11-02")
        .await;
    fx.replied(&id, a, "2026-11-03").await;
    fx.callback(&id, unsat, false, true, "2026-11-04T10:00:00+08:00")
        .await;
    fx.replied(&id, a, "2026-11-05").await;
    fx.callback(&id, done, true, true, "2026-11-06T10:00:00+08:00")
        .await;
    // A13: dispatched 09:00, not accepted by 11:00. The clock at 15:00: accept missed, a yellow
    // card issued at 11:00. Accepted 15:30 (late: no response), contacted 16:00. deptA appeals
    // the card, the inspector revokes it: it leaves Nov 2.
    let id = fx
        .intake(Kind::Complaint, "2026-11-02T08:50:00+08:00")
        .await;
    fx.cmd(
        &id,
        dispatch("deptA"),
        &s.dispatcher,
        "2026-11-02T09:00:00+08:00",
    )
    .await;
    let fired = fx.clock(&id, "2026-11-02T15:00:00+08:00").await;
    let types: Vec<&str> = fired.iter().map(|e| e.type_name()).collect();
    assert_eq!(types, ["deadline_missed", "yellow_card"]);
    fx.cmd(&id, accept(), a, "2026-11-02T15:30:00+08:00").await;
    fx.cmd(&id, contact(), a, "2026-11-02T16:00:00+08:00").await;
    let appeal = Command::Appeal {
        card: "Y1".into(),
        reason: "系统派单延迟".into(),
    };
    fx.cmd(&id, appeal, a, "2026-11-03T09:00:00+08:00").await;
    let revoke = Command::DecideAppeal {
        card: "Y1".into(),
        decision: AppealDecision::Revoke,
        reason: "情况属实".into(),
    };
    fx.cmd(&id, revoke, &s.inspector, "2026-11-03T09:30:00+08:00")
        .await;
    fx.replied(&id, a, "2026-11-03").await;
    fx.callback(&id, done, true, true, "2026-11-04T10:00:00+08:00")
        .await;

    // B1: dispatched to deptB 09:00, returned by deptB 10:00 (never accepted), dispatched to
    // street2 11:00, which accepts 11:30 (due 15:00), contacts 11:45, and is rated satisfied.
    let id = fx
        .intake(Kind::Complaint, "2026-11-02T08:50:00+08:00")
        .await;
    fx.cmd(
        &id,
        dispatch("deptB"),
        &s.dispatcher,
        "2026-11-02T09:00:00+08:00",
    )
    .await;
    let ret = Command::Return {
        reason: "不属于本部门职责".into(),
    };
    fx.cmd(&id, ret, b, "2026-11-02T10:00:00+08:00").await;
    let s2 = &s.street2_handler;
    fx.cmd(
        &id,
        dispatch("street2"),
        &s.dispatcher,
        "2026-11-02T11:00:00+08:00",
    )
    .await;
    fx.cmd(&id, accept(), s2, "2026-11-02T11:30:00+08:00").await;
    fx.cmd(&id, contact(), s2, "2026-11-02T11:45:00+08:00")
        .await;
    fx.replied(&id, s2, "2026-11-03").await;
    fx.callback(&id, done, true, true, "2026-11-04T10:00:00+08:00")
        .await;
    // B2: deptB responds, asks for 5 more working days on Nov 3 09:00, approved 09:30; replies
    // Nov 4, satisfied and resolved Nov 5.
    let id = fx
        .responded(Kind::Complaint, "deptB", b, "2026-11-02")
        .await;
    let ext = Command::RequestExtension {
        working_days: 5,
        reason: "需协调施工单位".into(),
    };
    fx.cmd(&id, ext, b, "2026-11-03T09:00:00+08:00").await;
    let ok = Command::ApproveExtension { comment: None };
    fx.cmd(&id, ok, &s.dispatcher, "2026-11-03T09:30:00+08:00")
        .await;
    fx.replied(&id, b, "2026-11-04").await;
    fx.callback(&id, done, true, true, "2026-11-05T10:00:00+08:00")
        .await;
    // B3: an inquiry (resolve due 3 working days after Nov 2 09:00 = Nov 5 09:00), responded.
    // The clock on Nov 13 12:00: resolve missed (yellow, issued Nov 5 09:00) and more than 5
    // working days late (red, issued Nov 12 09:00). Replied late Nov 13, rated unsatisfied and
    // unresolved, not the unit's fault (closed) on Nov 16.
    let id = fx.responded(Kind::Inquiry, "deptB", b, "2026-11-02").await;
    let fired = fx.clock(&id, "2026-11-13T12:00:00+08:00").await;
    let types: Vec<&str> = fired.iter().map(|e| e.type_name()).collect();
    assert_eq!(types, ["deadline_missed", "yellow_card", "red_card"]);
    fx.replied(&id, b, "2026-11-13").await;
    fx.callback(&id, unsat, false, false, "2026-11-16T10:00:00+08:00")
        .await;
    // D1: dispatched to deptB and responded on Fri Oct 30 (October's), replied Nov 2, basically
    // satisfied and resolved Nov 3 (November's).
    let id = fx
        .responded(Kind::Complaint, "deptB", b, "2026-10-30")
        .await;
    fx.replied(&id, b, "2026-11-02").await;
    fx.callback(&id, basically, true, true, "2026-11-03T10:00:00+08:00")
        .await;

    // S1: street1 responds Nov 2, replies Nov 3; unsatisfied, not its fault: closed Nov 4. The
    // inspector reopens the closed case Nov 5 (its first closing stops counting); replied Nov 6,
    // satisfied and resolved Nov 9.
    let h = &s.street_handler;
    let id = fx
        .responded(Kind::Complaint, "street1", h, "2026-11-02")
        .await;
    fx.replied(&id, h, "2026-11-03").await;
    fx.callback(&id, unsat, false, false, "2026-11-04T10:00:00+08:00")
        .await;
    let reopen = Command::Reopen {
        reason: "群众反映问题仍未解决".into(),
    };
    fx.cmd(&id, reopen, &s.inspector, "2026-11-05T09:00:00+08:00")
        .await;
    fx.replied(&id, h, "2026-11-06").await;
    fx.callback(&id, done, true, true, "2026-11-09T10:00:00+08:00")
        .await;
}

/// The figures of `group` for `period`, as the API computes them.
async fn ranked(fx: &Fx, period: &str, units: &[&str]) -> Vec<UnitFigures> {
    let period = Period::parse(period).expect("period");
    let counters = fx.store.unit_counters(&period).await.expect("counters");
    let rules = AssessmentRules::default();
    let mut rows: Vec<UnitFigures> = units
        .iter()
        .map(|u| {
            let c = counters.get(*u).cloned().unwrap_or_default();
            figures(&UnitId::new(*u), u, &c, &rules)
        })
        .collect();
    rank(&mut rows, &rules);
    rows
}

fn close(a: Option<f64>, b: Option<f64>) -> bool {
    match (a, b) {
        (Some(a), Some(b)) => (a - b).abs() < 1e-9,
        (None, None) => true,
        _ => false,
    }
}

/// Every figure of `row` against the hand-computed ones.
#[allow(clippy::too_many_arguments)]
fn pin(
    row: &UnitFigures,
    counts: [i64; 8], // received, rated, returns, extensions, reopened, unreachable, yellow, red
    rates: [Option<f64>; 4], // response, resolution, satisfaction, on time
    score: Option<f64>,
    rank: Option<u32>,
) {
    let got = [
        row.received,
        row.rated,
        row.returns,
        row.extensions,
        row.reopened,
        row.unreachable,
        row.yellow_cards,
        row.red_cards,
    ];
    assert_eq!(got, counts, "{}: counts", row.unit_id);
    let got = [
        row.response_rate,
        row.resolution_rate,
        row.satisfaction_rate,
        row.on_time_rate,
    ];
    for (g, want) in got.iter().zip(rates) {
        assert!(
            close(*g, want),
            "{}: rates {got:?}, want {rates:?}",
            row.unit_id
        );
    }
    assert!(
        close(row.score, score),
        "{}: score {:?}, want {score:?}",
        row.unit_id,
        row.score
    );
    assert_eq!(row.rank, rank, "{}: rank", row.unit_id);
}

async fn county_figures(store: Store) {
    let fx = Fx::new(store).await;
    history(&fx).await;

    let depts = ranked(&fx, NOV, &["deptA", "deptB"]).await;
    // Ranked first, deptB after it, unranked.
    assert_eq!(depts[0].unit_id.as_str(), "deptA");
    // deptA: received 13 (A1–A13, dispatched Nov 2); responded 12 (all but A13, accepted
    // late); rated 12 (A1–A10, A12, A13; A11 unreachable is listed, not rated); resolved 11
    // (A1–A9, A12, A13); satisfied 10 (A1–A8, A12, A13), basically 1 (A9), unsatisfied 1 (A10);
    // closed 13, all replied by their resolve due (Nov 23; A12 by its reopened due): on time 13;
    // reopened 1 (A12); the yellow card of A13 was revoked: 0.
    //   response     12/13
    //   resolution   11/12
    //   satisfaction (10 + 0.8 × 1)/12 = 10.8/12 = 0.9
    //   on time      13/13 = 1
    //   score 20 × 12/13 + 40 × 11/12 + 40 × 0.9 = 18.4615… + 36.6666… + 36 = 91.1282…
    pin(
        &depts[0],
        [13, 12, 0, 0, 1, 1, 0, 0],
        [Some(12.0 / 13.0), Some(11.0 / 12.0), Some(0.9), Some(1.0)],
        Some(20.0 * 12.0 / 13.0 + 40.0 * 11.0 / 12.0 + 36.0),
        Some(1),
    );
    // deptB: received 3 (B1, B2, B3; D1 was dispatched in October); responded 2 (B2, B3; B1
    // was returned unaccepted); rated 3 (B2, B3, D1: closed in November); resolved 2 (B2, D1);
    // satisfied 1 (B2), basically 1 (D1), unsatisfied 1 (B3); closed 3, on time 2 (B3 replied
    // after its due); returns 1 (B1); extensions 1 (B2); yellow 1, red 1 (B3).
    //   response 2/3, resolution 2/3, satisfaction (1 + 0.8)/3 = 0.6, on time 2/3
    //   score 20 × 2/3 + 40 × 2/3 + 40 × 0.6 − 1 × 1 − 3 × 1 = 13.33… + 26.66… + 24 − 4 = 60
    //   3 rated < 10: listed, not ranked.
    pin(
        &depts[1],
        [3, 3, 1, 1, 0, 0, 1, 1],
        [Some(2.0 / 3.0), Some(2.0 / 3.0), Some(0.6), Some(2.0 / 3.0)],
        Some(60.0),
        None,
    );

    let streets = ranked(&fx, NOV, &["street1", "street2"]).await;
    // street1: S1 received and responded Nov 2; its first closing (unsatisfied, Nov 4) was
    // taken back by the inspector's reopening; the final rating (satisfied, resolved, replied
    // by the reopened due) counts: rated 1, all rates 1; reopened 1. Score 20 + 40 + 40 = 100.
    // street2: B1 after its return, received 11:00 and accepted 11:30 (due 15:00): the same
    // rates, score 100. Both have 1 rated case < 10: unranked, listed by id.
    pin(
        &streets[0],
        [1, 1, 0, 0, 1, 0, 0, 0],
        [Some(1.0); 4],
        Some(100.0),
        None,
    );
    assert_eq!(streets[0].unit_id.as_str(), "street1");
    pin(
        &streets[1],
        [1, 1, 0, 0, 0, 0, 0, 0],
        [Some(1.0); 4],
        Some(100.0),
        None,
    );

    // October: D1's dispatch and response count on Oct 30, for deptB: received 1, responded 1;
    // nothing rated yet. Score 20 × 1 = 20. deptA had nothing: no rates, no score.
    // Unranked rows are listed by score, then id: deptB (20) before deptA (none).
    let oct = ranked(&fx, "2026-10", &["deptA", "deptB"]).await;
    assert_eq!(oct[0].unit_id.as_str(), "deptB");
    pin(&oct[1], [0, 0, 0, 0, 0, 0, 0, 0], [None; 4], None, None);
    pin(
        &oct[0],
        [1, 0, 0, 0, 0, 0, 0, 0],
        [Some(1.0), None, None, None],
        Some(20.0),
        None,
    );

    // A week of it: W45 is Nov 2–8. B3's red card (Nov 12) and rating (Nov 16) fall outside;
    // its yellow card (issued Nov 5) falls inside.
    let w45 = ranked(&fx, "2026-W45", &["deptB"]).await;
    assert_eq!(w45[0].rated, 2);
    assert_eq!((w45[0].yellow_cards, w45[0].red_cards), (1, 0));

    // The table rebuilt from the trail is the table the writer kept.
    let incremental = fx.store.assessment_table().await.expect("table");
    assert!(!incremental.is_empty());
    let report = fx.store.rebuild_assessment().await.expect("rebuild");
    assert_eq!(report.cases, 18);
    let rebuilt = fx.store.assessment_table().await.expect("table");
    assert_eq!(rebuilt, incremental);
    fx.store.close().await;
}

#[tokio::test]
async fn sqlite_county_figures_by_hand() {
    let dir = tempfile::tempdir().expect("temp dir");
    let url = format!("sqlite://{}?mode=rwc", dir.path().join("t.db").display());
    county_figures(Store::open(&url).await.expect("open")).await;
}

#[tokio::test]
async fn postgres_county_figures_by_hand() {
    let Some(url) = jiesu_store::testing::fresh_pg_database("jiesu_assessment").await else {
        return;
    };
    county_figures(Store::open(&url).await.expect("open")).await;
}
