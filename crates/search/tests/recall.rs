//! What a dispatcher types must find the case that says it, however jieba cuts the text.

use jiesu_search::{CaseDoc, CaseIndex, Position, Scope, SearchQuery, dictionary};

fn doc(id: &str, text: &str) -> CaseDoc {
    CaseDoc {
        id: id.into(),
        text: text.into(),
        state: "dispatched".into(),
        holder: "st-a".into(),
        parties: vec!["st-a".into()],
        reporter: None,
        category: Some("urban".into()),
        place: None,
        received_ms: 1_000,
    }
}

fn all(text: &str) -> SearchQuery {
    SearchQuery {
        text: text.into(),
        scope: Scope {
            everything: true,
            ..Scope::default()
        },
        limit: 10,
        ..SearchQuery::default()
    }
}

fn index(docs: &[CaseDoc]) -> (tempfile::TempDir, CaseIndex) {
    let dir = tempfile::tempdir().unwrap();
    let ix = CaseIndex::open(dir.path(), dictionary(["望京街道", "幸福里社区"])).unwrap();
    ix.apply(
        docs,
        &Position {
            seq: 1,
            hash: "h".into(),
        },
    )
    .unwrap();
    (dir, ix)
}

#[test]
fn words_inside_longer_phrases_places_and_digits() {
    let (_d, ix) = index(&[
        doc("c1", "小区门口井盖破损，夜里有人差点掉下去"),
        doc("c2", "海淀区中关村路灯不亮已经一周"),
        doc("c3", "幸福里社区3号楼2单元楼道堆放杂物"),
        doc("c4", "市民拨打12345反映望京街道渣土车夜间施工扰民"),
        doc("c5", "接诉即办工单回访不满意"),
        doc("c6", "Wifi 信号差，ABC小区"),
    ]);
    let ids = |q: &str| ix.search(&all(q)).unwrap().ids;
    assert_eq!(ids("井盖"), vec!["c1"]);
    assert_eq!(ids("路灯"), vec!["c2"], "jieba alone cuts 中关村/路/灯不亮");
    assert_eq!(ids("灯不亮"), vec!["c2"]);
    assert_eq!(ids("3号楼"), vec!["c3"]);
    assert_eq!(ids("号楼"), vec!["c3"]);
    assert_eq!(ids("12345"), vec!["c4"]);
    assert_eq!(ids("望京"), vec!["c4"]);
    assert_eq!(ids("幸福里"), vec!["c3"]);
    assert_eq!(ids("工单"), vec!["c5"]);
    assert_eq!(ids("wifi"), vec!["c6"], "ASCII regardless of case");
    // Every word must match; words apart in the text still match.
    assert_eq!(ids("渣土车 扰民"), vec!["c4"]);
    assert!(ids("渣土车 井盖").is_empty());
    // A pair that is not in the text in that order does not match.
    assert!(ids("盖井").is_empty());
    assert!(ids("，。").is_empty());
}

#[test]
fn scope_and_filters() {
    let mut a = doc("a", "路灯不亮");
    a.parties = vec!["comm-1".into()];
    a.holder = "comm-1".into();
    a.place = Some("grid-1".into());
    let mut b = doc("b", "路灯坏了");
    b.parties = vec!["dept-2".into()];
    b.holder = "dept-2".into();
    b.reporter = Some("u-citizen".into());
    b.state = "closed".into();
    b.received_ms = 5_000;
    let (_d, ix) = index(&[a, b]);
    let q = |f: &dyn Fn(&mut SearchQuery)| {
        let mut q = all("路灯");
        f(&mut q);
        let r = ix.search(&q).unwrap();
        (r.total, r.ids)
    };
    assert_eq!(q(&|_| {}).0, 2);
    let scoped = |units: &[&str], reporter: Option<&str>| Scope {
        everything: false,
        units: units.iter().map(|s| s.to_string()).collect(),
        reporter: reporter.map(str::to_string),
    };
    assert_eq!(q(&|q| q.scope = scoped(&["comm-1"], None)).1, vec!["a"]);
    assert_eq!(
        q(&|q| q.scope = scoped(&[], Some("u-citizen"))).1,
        vec!["b"]
    );
    assert_eq!(
        q(&|q| q.scope = scoped(&["comm-1"], Some("u-citizen"))).0,
        2
    );
    assert_eq!(q(&|q| q.scope = scoped(&[], None)).0, 0);
    assert_eq!(q(&|q| q.states = vec!["closed".into()]).1, vec!["b"]);
    assert_eq!(q(&|q| q.holders = vec!["comm-1".into()]).1, vec!["a"]);
    assert_eq!(q(&|q| q.places = vec!["grid-1".into()]).1, vec!["a"]);
    assert_eq!(q(&|q| q.from_ms = Some(2_000)).1, vec!["b"]);
    assert_eq!(q(&|q| q.until_ms = Some(2_000)).1, vec!["a"]);
    assert_eq!(q(&|q| q.categories = vec!["other".into()]).0, 0);
    // Paging: the total stays, the page moves.
    let page = q(&|q| {
        q.limit = 1;
        q.offset = 1
    });
    assert_eq!((page.0, page.1.len()), (2, 1));
}

#[test]
fn replacing_a_case_and_the_position_survive_reopening() {
    let dir = tempfile::tempdir().unwrap();
    let pos = |seq| Position {
        seq,
        hash: format!("h{seq}"),
    };
    {
        let ix = CaseIndex::open(dir.path(), dictionary([])).unwrap();
        assert_eq!(ix.position(), None);
        ix.apply(&[doc("c1", "井盖破损")], &pos(1)).unwrap();
        // The same case again replaces it.
        ix.apply(&[doc("c1", "路灯不亮")], &pos(2)).unwrap();
        assert!(ix.search(&all("井盖")).unwrap().ids.is_empty());
        assert_eq!(ix.search(&all("路灯")).unwrap().ids, vec!["c1"]);
        // A second writer on the same directory is refused while the first holds it.
        assert!(matches!(
            CaseIndex::open(dir.path(), dictionary([])),
            Err(jiesu_search::SearchError::Busy(_))
        ));
    }
    let ix = CaseIndex::open(dir.path(), dictionary([])).unwrap();
    assert_eq!(ix.position(), Some(pos(2)));
    assert_eq!(ix.len(), 1);
    ix.clear().unwrap();
    assert_eq!((ix.position(), ix.len()), (None, 0));
}
