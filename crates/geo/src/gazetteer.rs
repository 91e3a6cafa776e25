//! The gazetteer: named places (streets and towns, communities and villages, roads, alleys,
//! compounds, landmarks, village groups), each tied to the unit that answers for it, found in
//! Chinese address text in one leftmost-longest pass.
//!
//! Addresses name places loosely: with or without the province, city and county before them,
//! and with a suffix another caller would say differently (建设路 / 建设街, 水都小区 / 水都花园,
//! 幸福里社区 / 幸福里社区居委会). Each name is entered with the variants of its suffix class; the
//! prefixes need nothing, since a match may start anywhere.

use aho_corasick::{AhoCorasick, MatchKind};

/// What a place is. Specific kinds say more about where a case is than broad ones.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum PlaceKind {
    /// 街道 / 乡镇.
    Street,
    /// 社区 / 村.
    Community,
    /// 路, 街, 大道.
    Road,
    /// 巷, 胡同.
    Alley,
    /// 小区, 号院, 花园…
    Compound,
    /// Markets, schools, squares, parks, stations.
    Landmark,
    /// 组 (a village group) and its fields.
    Group,
}

impl PlaceKind {
    pub const ALL: &'static [PlaceKind] = &[
        PlaceKind::Street,
        PlaceKind::Community,
        PlaceKind::Road,
        PlaceKind::Alley,
        PlaceKind::Compound,
        PlaceKind::Landmark,
        PlaceKind::Group,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            PlaceKind::Street => "street",
            PlaceKind::Community => "community",
            PlaceKind::Road => "road",
            PlaceKind::Alley => "alley",
            PlaceKind::Compound => "compound",
            PlaceKind::Landmark => "landmark",
            PlaceKind::Group => "group",
        }
    }

    pub fn parse(s: &str) -> Option<PlaceKind> {
        PlaceKind::ALL.iter().copied().find(|k| k.as_str() == s)
    }

    /// How precisely a place of this kind locates a case: streets least.
    fn precision(self) -> u8 {
        match self {
            PlaceKind::Street => 0,
            PlaceKind::Community => 1,
            PlaceKind::Road => 2,
            PlaceKind::Alley | PlaceKind::Compound | PlaceKind::Landmark | PlaceKind::Group => 3,
        }
    }
}

/// One named place. `path` is the materialised path of the unit that answers for it (a grid for
/// a place inside one, a community, a street), as the org tree writes it: `/a/b/c/`.
#[derive(Debug, Clone, PartialEq)]
pub struct Place {
    pub name: String,
    pub kind: PlaceKind,
    pub unit: String,
    pub path: String,
}

/// Suffixes callers use interchangeably, longest first within a class.
const SUFFIX_CLASSES: &[&[&str]] = &[
    &["大道", "大街", "路", "街"],
    &["胡同", "巷", "弄"],
    &["小区", "号院", "花园", "家园", "苑"],
    &["社区居委会", "居委会", "社区"],
    &["村民委员会", "村委会", "村"],
    &["村民小组", "组"],
    &["街道办事处", "办事处", "街道"],
    &["镇人民政府", "镇政府", "镇"],
    &["乡人民政府", "乡政府", "乡"],
];

/// The names an address may use for `name`: itself, and its core with each suffix of its class.
/// A compound's core alone counts too when it is at least three characters (幸福里 for
/// 幸福里小区); shorter cores are common words.
pub fn variants(name: &str) -> Vec<String> {
    let mut out = vec![name.to_string()];
    for class in SUFFIX_CLASSES {
        let Some(suffix) = class.iter().find(|s| name.ends_with(*s)) else {
            continue;
        };
        let core = &name[..name.len() - suffix.len()];
        if core.chars().count() < 2 {
            break;
        }
        for s in class.iter() {
            out.push(format!("{core}{s}"));
        }
        if class.contains(&"小区") && core.chars().count() >= 3 {
            out.push(core.to_string());
        }
        break;
    }
    out.sort();
    out.dedup();
    out
}

/// A place found in a text.
#[derive(Debug, Clone, PartialEq)]
pub struct Found<'a> {
    pub place: &'a Place,
    /// Byte range of the words that named it.
    pub start: usize,
    pub end: usize,
}

#[derive(Clone, Debug)]
pub struct Gazetteer {
    places: Vec<Place>,
    matcher: Option<AhoCorasick>,
    /// For each pattern, the places it names (one name may be several places).
    named: Vec<Vec<usize>>,
}

impl Default for Gazetteer {
    fn default() -> Self {
        Gazetteer::new(Vec::new())
    }
}

impl Gazetteer {
    pub fn new(places: Vec<Place>) -> Gazetteer {
        let mut by_pattern: std::collections::BTreeMap<String, Vec<usize>> = Default::default();
        for (i, p) in places.iter().enumerate() {
            for v in variants(&p.name) {
                by_pattern.entry(v).or_default().push(i);
            }
        }
        let (patterns, named): (Vec<String>, Vec<Vec<usize>>) = by_pattern.into_iter().unzip();
        let matcher = AhoCorasick::builder()
            .match_kind(MatchKind::LeftmostLongest)
            .build(&patterns)
            .ok();
        Gazetteer {
            places,
            matcher,
            named,
        }
    }

    pub fn len(&self) -> usize {
        self.places.len()
    }

    pub fn is_empty(&self) -> bool {
        self.places.is_empty()
    }

    pub fn places(&self) -> &[Place] {
        &self.places
    }

    /// Every place named in `text`, left to right (a name several places share gives each).
    pub fn all_in<'a>(&'a self, text: &str) -> Vec<Found<'a>> {
        let Some(m) = &self.matcher else {
            return Vec::new();
        };
        let mut out = Vec::new();
        for hit in m.find_iter(text) {
            for &i in &self.named[hit.pattern().as_usize()] {
                out.push(Found {
                    place: &self.places[i],
                    start: hit.start(),
                    end: hit.end(),
                });
            }
        }
        out
    }

    /// The place `text` most precisely names: among the places it names, those that lie within
    /// every broader place it also names (幸福里社区 then 建设路 picks the 建设路 inside 幸福里),
    /// the most precise kind, then the one named last (addresses go from broad to narrow).
    pub fn best<'a>(&'a self, text: &str) -> Option<Found<'a>> {
        let all = self.all_in(text);
        let consistent = |f: &Found<'_>| {
            all.iter().all(|g| {
                g.place.kind.precision() >= f.place.kind.precision()
                    || f.place.path.starts_with(&g.place.path)
                    // Another place of the same broad name (two 建设路 in two streets) does not
                    // rule this one out; only a broader place with no reading consistent with it.
                    || all.iter().any(|h| {
                        h.start == g.start && f.place.path.starts_with(&h.place.path)
                    })
            })
        };
        let pick = all
            .iter()
            .filter(|f| consistent(f))
            .max_by_key(|f| (f.place.kind.precision(), f.start))
            .or_else(|| {
                all.iter()
                    .max_by_key(|f| (f.place.kind.precision(), f.start))
            })?;
        Some(pick.clone())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn place(name: &str, kind: PlaceKind, path: &str) -> Place {
        Place {
            name: name.into(),
            kind,
            unit: path
                .trim_end_matches('/')
                .rsplit('/')
                .next()
                .unwrap_or("")
                .into(),
            path: path.into(),
        }
    }

    fn county() -> Gazetteer {
        Gazetteer::new(vec![
            place("均州路街道", PlaceKind::Street, "/c/s1/"),
            place("大坝街道", PlaceKind::Street, "/c/s2/"),
            place("幸福里社区", PlaceKind::Community, "/c/s1/m1/"),
            place("建设路", PlaceKind::Road, "/c/s1/m1/g1/"),
            place("建设路", PlaceKind::Road, "/c/s2/m2/g7/"),
            place("均州路", PlaceKind::Road, "/c/s1/m1/g2/"),
            place("丹二巷", PlaceKind::Alley, "/c/s1/m1/g2/"),
            place("水都花园", PlaceKind::Compound, "/c/s2/m2/g8/"),
            place("幸福里小区", PlaceKind::Compound, "/c/s1/m1/g3/"),
            place("黄家湾村", PlaceKind::Community, "/c/s2/v1/"),
            place("黄家湾村三组", PlaceKind::Group, "/c/s2/v1/g9/"),
        ])
    }

    fn unit(g: &Gazetteer, text: &str) -> Option<String> {
        g.best(text).map(|f| f.place.unit.clone())
    }

    #[test]
    fn longest_name_wins_and_prefixes_do_not_matter() {
        let g = county();
        // 均州路街道 is the street, not the road 均州路 inside it.
        let f = g.all_in("均州路街道办事处");
        assert_eq!(f[0].place.name, "均州路街道");
        assert_eq!(
            unit(&g, "湖北省十堰市丹江口市均州路街道丹二巷12号"),
            Some("g2".into())
        );
        assert_eq!(unit(&g, "丹二巷12号门口"), Some("g2".into()));
        assert_eq!(unit(&g, "幸福里社区居委会旁"), Some("m1".into()));
    }

    #[test]
    fn suffix_variants() {
        let g = county();
        assert_eq!(unit(&g, "水都小区5栋"), Some("g8".into()));
        assert_eq!(
            unit(&g, "幸福里3号楼"),
            Some("g3".into()),
            "a compound's own name"
        );
        assert_eq!(unit(&g, "黄家湾村民委员会"), Some("v1".into()));
        assert_eq!(unit(&g, "黄家湾村三村民小组"), Some("g9".into()));
        assert_eq!(variants("水都花园").len(), 5, "{:?}", variants("水都花园"));
        assert!(
            !variants("水都花园").contains(&"水都".to_string()),
            "two characters alone are a common word"
        );
    }

    #[test]
    fn a_broader_place_picks_among_namesakes() {
        let g = county();
        assert_eq!(unit(&g, "大坝街道建设路88号"), Some("g7".into()));
        assert_eq!(unit(&g, "均州路街道幸福里社区建设路1号"), Some("g1".into()));
        // With nothing broader named, the first of the namesakes.
        assert!(unit(&g, "建设路").is_some());
        assert_eq!(unit(&g, "没有地名的描述"), None);
        assert!(Gazetteer::default().best("建设路").is_none());
    }
}
