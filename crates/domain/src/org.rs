//! The org tree: city › county › street/town › community/village › grid › micro-grid, plus departments.

use std::collections::HashMap;

use serde::{Deserialize, Serialize};

/// Code of an org unit, in the style of administrative division codes (`420381001`).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct UnitId(pub String);

impl UnitId {
    pub fn new(s: impl Into<String>) -> Self {
        Self(s.into())
    }
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Display for UnitId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum UnitKind {
    City,
    County,
    /// The 12345 hotline centre of a county or city.
    HotlineCenter,
    Street,
    Town,
    Community,
    Village,
    Grid,
    MicroGrid,
    Department,
}

impl UnitKind {
    pub const ALL: &'static [UnitKind] = &[
        UnitKind::City,
        UnitKind::County,
        UnitKind::HotlineCenter,
        UnitKind::Street,
        UnitKind::Town,
        UnitKind::Community,
        UnitKind::Village,
        UnitKind::Grid,
        UnitKind::MicroGrid,
        UnitKind::Department,
    ];
    pub fn as_str(self) -> &'static str {
        match self {
            UnitKind::City => "city",
            UnitKind::County => "county",
            UnitKind::HotlineCenter => "hotline_center",
            UnitKind::Street => "street",
            UnitKind::Town => "town",
            UnitKind::Community => "community",
            UnitKind::Village => "village",
            UnitKind::Grid => "grid",
            UnitKind::MicroGrid => "micro_grid",
            UnitKind::Department => "department",
        }
    }
    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "city" => UnitKind::City,
            "county" => UnitKind::County,
            "hotline_center" => UnitKind::HotlineCenter,
            "street" => UnitKind::Street,
            "town" => UnitKind::Town,
            "community" => UnitKind::Community,
            "village" => UnitKind::Village,
            "grid" => UnitKind::Grid,
            "micro_grid" => UnitKind::MicroGrid,
            "department" => UnitKind::Department,
            _ => return None,
        })
    }
    /// The Chinese name shown in the console.
    pub fn name_zh(self) -> &'static str {
        match self {
            UnitKind::City => "市",
            UnitKind::County => "县(市、区)",
            UnitKind::HotlineCenter => "12345热线中心",
            UnitKind::Street => "街道",
            UnitKind::Town => "乡镇",
            UnitKind::Community => "社区",
            UnitKind::Village => "村",
            UnitKind::Grid => "网格",
            UnitKind::MicroGrid => "微网格",
            UnitKind::Department => "职能部门",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OrgUnit {
    pub id: UnitId,
    pub parent: Option<UnitId>,
    pub kind: UnitKind,
    pub name: String,
}

#[derive(Debug, thiserror::Error, PartialEq)]
pub enum OrgError {
    #[error("unit {0} is listed twice")]
    Duplicate(UnitId),
    #[error("unit {unit} names parent {parent}, which does not exist")]
    MissingParent { unit: UnitId, parent: UnitId },
    #[error("the org tree has a cycle through {0}")]
    Cycle(UnitId),
    #[error("the org tree must have exactly one root, found {0}")]
    Roots(usize),
}

/// An immutable, validated org tree with O(depth) ancestry checks.
#[derive(Debug, Clone, Default)]
pub struct OrgTree {
    units: HashMap<UnitId, OrgUnit>,
    children: HashMap<UnitId, Vec<UnitId>>,
    /// `/root/child/…/self/`, so "is within" is a prefix test.
    paths: HashMap<UnitId, String>,
    root: Option<UnitId>,
    /// Areas of the units that have one, in an R-tree; a point belongs to the deepest holding it.
    areas: jiesu_geo::AreaIndex<UnitId>,
    /// Named places (roads, compounds, landmarks…), each tied to a unit, for reading addresses.
    places: jiesu_geo::Gazetteer,
    /// Units closed by an admin: they keep their history and take no new cases.
    closed: std::collections::HashSet<UnitId>,
}

impl OrgTree {
    pub fn new(units: Vec<OrgUnit>) -> Result<Self, OrgError> {
        let mut map = HashMap::with_capacity(units.len());
        let mut order = Vec::with_capacity(units.len());
        for u in units {
            if map.contains_key(&u.id) {
                return Err(OrgError::Duplicate(u.id));
            }
            order.push(u.id.clone());
            map.insert(u.id.clone(), u);
        }
        let mut children: HashMap<UnitId, Vec<UnitId>> = HashMap::new();
        let mut roots = Vec::new();
        for id in &order {
            let u = &map[id];
            match &u.parent {
                Some(p) if !map.contains_key(p) => {
                    return Err(OrgError::MissingParent {
                        unit: id.clone(),
                        parent: p.clone(),
                    });
                }
                Some(p) => children.entry(p.clone()).or_default().push(id.clone()),
                None => roots.push(id.clone()),
            }
        }
        if map.is_empty() {
            return Ok(Self::default());
        }
        if roots.len() != 1 {
            return Err(OrgError::Roots(roots.len()));
        }
        let mut paths = HashMap::with_capacity(map.len());
        let mut stack = vec![(roots[0].clone(), format!("/{}/", roots[0]))];
        while let Some((id, path)) = stack.pop() {
            if let Some(kids) = children.get(&id) {
                for k in kids {
                    stack.push((k.clone(), format!("{path}{k}/")));
                }
            }
            paths.insert(id, path);
        }
        if paths.len() != map.len() {
            let orphan = order
                .into_iter()
                .find(|id| !paths.contains_key(id))
                .unwrap_or_else(|| roots[0].clone());
            return Err(OrgError::Cycle(orphan));
        }
        Ok(Self {
            units: map,
            children,
            paths,
            root: Some(roots[0].clone()),
            areas: Default::default(),
            places: Default::default(),
            closed: Default::default(),
        })
    }

    /// Adds the units' areas (GeoJSON polygons) used to place a located report. Areas of
    /// unknown units are ignored.
    pub fn with_areas(mut self, areas: Vec<crate::geo::Area>) -> Self {
        let keyed: Vec<(UnitId, u32, _)> = areas
            .into_iter()
            .filter_map(|a| {
                let depth = self.paths.get(&a.unit)?.matches('/').count() as u32;
                Some((a.unit, depth, a.shape))
            })
            .collect();
        self.areas = jiesu_geo::AreaIndex::new(keyed);
        self
    }

    /// Adds the gazetteer: `(name, kind, unit)`; places of unknown units are ignored.
    pub fn with_places(mut self, places: Vec<(String, jiesu_geo::PlaceKind, UnitId)>) -> Self {
        let places = places
            .into_iter()
            .filter_map(|(name, kind, unit)| {
                let path = self.paths.get(&unit)?.clone();
                Some(jiesu_geo::Place {
                    name,
                    kind,
                    unit: unit.to_string(),
                    path,
                })
            })
            .collect();
        self.places = jiesu_geo::Gazetteer::new(places);
        self
    }

    pub fn gazetteer(&self) -> &jiesu_geo::Gazetteer {
        &self.places
    }

    /// Where a case is: the smallest area holding its point, or else the place its address
    /// names in the gazetteer.
    pub fn place_of_report(
        &self,
        location: Option<crate::case::GeoPoint>,
        address: Option<&str>,
    ) -> Option<UnitId> {
        location
            .filter(|p| p.lon.is_finite() && p.lat.is_finite())
            .and_then(|p| self.locate(p.lon, p.lat).cloned())
            .or_else(|| address.and_then(|a| self.place_of(a)))
    }

    /// The unit answering for the place an address (or any text) most precisely names.
    pub fn place_of(&self, text: &str) -> Option<UnitId> {
        self.places
            .best(text)
            .map(|f| UnitId::new(f.place.unit.as_str()))
    }

    /// Marks units closed (unknown ids are ignored).
    pub fn with_closed(mut self, closed: impl IntoIterator<Item = UnitId>) -> Self {
        self.closed = closed
            .into_iter()
            .filter(|u| self.units.contains_key(u))
            .collect();
        self
    }

    /// A closed unit keeps its history but is sent no new cases.
    pub fn is_closed(&self, id: &UnitId) -> bool {
        self.closed.contains(id)
    }

    /// The smallest unit whose area holds the point.
    pub fn locate(&self, lon: f64, lat: f64) -> Option<&UnitId> {
        self.areas.locate(lon, lat)
    }

    /// Where reports with no known place are filed: the county's dispatch centre when the tree
    /// serves one county (a city root over a single county, or a county root), else the root.
    pub fn intake_center(&self) -> Option<&UnitId> {
        let root = self.root.as_ref()?;
        if self
            .units
            .get(root)
            .is_some_and(|u| u.kind == UnitKind::County)
        {
            return Some(root);
        }
        let mut counties = self.units.values().filter(|u| u.kind == UnitKind::County);
        match (counties.next(), counties.next()) {
            (Some(only), None) => Some(&only.id),
            _ => Some(root),
        }
    }

    pub fn root(&self) -> Option<&UnitId> {
        self.root.as_ref()
    }
    pub fn get(&self, id: &UnitId) -> Option<&OrgUnit> {
        self.units.get(id)
    }
    pub fn contains(&self, id: &UnitId) -> bool {
        self.units.contains_key(id)
    }
    pub fn len(&self) -> usize {
        self.units.len()
    }
    pub fn is_empty(&self) -> bool {
        self.units.is_empty()
    }
    pub fn units(&self) -> impl Iterator<Item = &OrgUnit> {
        self.units.values()
    }
    pub fn children(&self, id: &UnitId) -> &[UnitId] {
        self.children.get(id).map(Vec::as_slice).unwrap_or(&[])
    }
    /// Materialised path of a unit, used by the store for subtree queries.
    pub fn path(&self, id: &UnitId) -> Option<&str> {
        self.paths.get(id).map(String::as_str)
    }
    /// True when `unit` is `ancestor` or lies in its subtree.
    pub fn is_within(&self, unit: &UnitId, ancestor: &UnitId) -> bool {
        match (self.paths.get(unit), self.paths.get(ancestor)) {
            (Some(u), Some(a)) => u.starts_with(a.as_str()),
            _ => false,
        }
    }
    /// True when `unit` lies strictly below `ancestor`.
    pub fn is_strictly_within(&self, unit: &UnitId, ancestor: &UnitId) -> bool {
        unit != ancestor && self.is_within(unit, ancestor)
    }
    /// The nearest unit at or above `unit` that dispatches cases: a street, town, county or city.
    pub fn dispatch_center(&self, unit: &UnitId) -> UnitId {
        let mut cur = unit;
        for _ in 0..64 {
            let Some(u) = self.units.get(cur) else { break };
            if matches!(
                u.kind,
                UnitKind::Street | UnitKind::Town | UnitKind::County | UnitKind::City
            ) {
                return u.id.clone();
            }
            match &u.parent {
                Some(p) => cur = p,
                None => return u.id.clone(),
            }
        }
        unit.clone()
    }

    /// Every unit of the subtree rooted at `id`, itself included.
    pub fn subtree(&self, id: &UnitId) -> Vec<UnitId> {
        let mut out = Vec::new();
        if !self.contains(id) {
            return out;
        }
        let mut stack = vec![id.clone()];
        while let Some(u) = stack.pop() {
            stack.extend(self.children(&u).iter().cloned());
            out.push(u);
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn u(id: &str, parent: Option<&str>, kind: UnitKind) -> OrgUnit {
        OrgUnit {
            id: UnitId::new(id),
            parent: parent.map(UnitId::new),
            kind,
            name: id.to_string(),
        }
    }

    #[test]
    fn subtree_and_ancestry() {
        let t = OrgTree::new(vec![
            u("c", None, UnitKind::County),
            u("s1", Some("c"), UnitKind::Street),
            u("s10", Some("c"), UnitKind::Street),
            u("m1", Some("s1"), UnitKind::Community),
            u("d1", Some("c"), UnitKind::Department),
        ])
        .unwrap();
        assert!(t.is_within(&UnitId::new("m1"), &UnitId::new("s1")));
        assert!(t.is_within(&UnitId::new("m1"), &UnitId::new("c")));
        // A prefix of the code is not an ancestor: s1 is not s10's parent.
        assert!(!t.is_within(&UnitId::new("s10"), &UnitId::new("s1")));
        assert!(!t.is_within(&UnitId::new("d1"), &UnitId::new("s1")));
        assert!(!t.is_strictly_within(&UnitId::new("s1"), &UnitId::new("s1")));
        let mut sub = t.subtree(&UnitId::new("s1"));
        sub.sort();
        assert_eq!(sub, vec![UnitId::new("m1"), UnitId::new("s1")]);
    }

    #[test]
    fn rejects_bad_trees() {
        assert_eq!(
            OrgTree::new(vec![u("a", Some("zz"), UnitKind::County)]).unwrap_err(),
            OrgError::MissingParent {
                unit: UnitId::new("a"),
                parent: UnitId::new("zz")
            }
        );
        assert!(matches!(
            OrgTree::new(vec![
                u("r", None, UnitKind::County),
                u("a", Some("b"), UnitKind::Street),
                u("b", Some("a"), UnitKind::Street)
            ]),
            Err(OrgError::Cycle(_))
        ));
        assert_eq!(
            OrgTree::new(vec![
                u("a", None, UnitKind::County),
                u("b", None, UnitKind::County)
            ])
            .unwrap_err(),
            OrgError::Roots(2)
        );
    }
}
