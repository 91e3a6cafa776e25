//! The demo county's places: the roads, residential compounds (小区), markets, schools, squares and
//! village groups (组) a case can happen at. Each place lies in one grid, so a case that names a
//! place also has a point inside that grid's polygon and a community that answers for it.

use std::collections::HashSet;

use jiesu_domain::UnitId;
use jiesu_domain::case::GeoPoint;

use crate::demo_data::{COMPOUND_SUFFIXES, COMPOUNDS, PLACE_WORDS};
use crate::rng::Rng;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PlaceKind {
    /// A named road or street, in town.
    Road,
    /// A village's road to its groups (通组公路).
    VillageRoad,
    Compound,
    Market,
    School,
    Square,
    /// A village group (组) or its orchards and fields.
    Field,
}

/// A grid with its polygon, and the community and street it belongs to.
#[derive(Debug, Clone)]
pub struct Grid {
    pub id: UnitId,
    pub community: UnitId,
    pub street: UnitId,
    /// The polygon's closed ring of `[lon, lat]`, exactly as written into the unit's GeoJSON.
    pub ring: Vec<[f64; 2]>,
}

#[derive(Debug, Clone)]
pub struct Place {
    pub name: String,
    pub kind: PlaceKind,
    /// Index into `County::grids`.
    pub grid: usize,
}

impl Place {
    /// The address line of something at this place: `丹江口市`, street, community, place, detail.
    pub fn address(&self, street: &str, community: &str, rng: &mut Rng) -> String {
        let detail = match self.kind {
            PlaceKind::Road | PlaceKind::VillageRoad => format!("{}号", 1 + rng.below(300)),
            PlaceKind::Compound if !self.name.starts_with(community) => {
                format!("{}栋{}单元", 1 + rng.below(24), 1 + rng.below(4))
            }
            _ => String::new(),
        };
        // A village's own places begin with its name: say it once.
        if self.name.starts_with(community) {
            format!("丹江口市{street}{}{detail}", self.name)
        } else {
            format!("丹江口市{street}{community}{}{detail}", self.name)
        }
    }
}

/// True when the point lies inside the ring (even-odd rule; a point on an edge may go either way).
pub fn contains(ring: &[[f64; 2]], p: GeoPoint) -> bool {
    let mut inside = false;
    let mut j = ring.len().wrapping_sub(1);
    for i in 0..ring.len() {
        let ([xi, yi], [xj, yj]) = (ring[i], ring[j]);
        if (yi > p.lat) != (yj > p.lat) && p.lon < (xj - xi) * (p.lat - yi) / (yj - yi) + xi {
            inside = !inside;
        }
        j = i;
    }
    inside
}

/// A point inside the ring, drawn uniformly from its bounding box by rejection and rounded to six
/// decimals (about 0.1 m) as the polygons are. `None` only for a ring with no inside.
pub fn sample_in(ring: &[[f64; 2]], rng: &mut Rng) -> Option<GeoPoint> {
    let (mut x0, mut y0, mut x1, mut y1) = (f64::MAX, f64::MAX, f64::MIN, f64::MIN);
    for [x, y] in ring {
        (x0, y0, x1, y1) = (x0.min(*x), y0.min(*y), x1.max(*x), y1.max(*y));
    }
    let round = |v: f64| (v * 1e6).round() / 1e6;
    (0..64).find_map(|_| {
        let p = GeoPoint {
            lon: round(x0 + rng.float() * (x1 - x0)),
            lat: round(y0 + rng.float() * (y1 - y0)),
        };
        contains(ring, p).then_some(p)
    })
}

/// Names residential compounds, each once in the county: the real ones first, then made-up ones.
pub struct CompoundNames {
    rng: Rng,
    used: HashSet<String>,
    real: std::slice::Iter<'static, &'static str>,
}

impl CompoundNames {
    pub fn new(seed: u64) -> Self {
        Self {
            rng: Rng::new(seed ^ 0x706c_6163_6573),
            used: HashSet::new(),
            real: COMPOUNDS.iter(),
        }
    }
    pub fn name(&mut self) -> String {
        let used = &mut self.used;
        if let Some(r) = self.real.by_ref().find(|r| used.insert(r.to_string())) {
            return r.to_string();
        }
        // Made-up names; past a few hundred tries (the county needs far fewer) a number keeps
        // them apart.
        for tries in 0usize.. {
            let mut name = format!(
                "{}{}",
                self.rng.pick_str(PLACE_WORDS),
                self.rng.pick_str(COMPOUND_SUFFIXES)
            );
            if tries >= 300 {
                name.push_str(&tries.to_string());
            }
            if self.used.insert(name.clone()) {
                return name;
            }
        }
        unreachable!("a numbered name is always new")
    }
}

/// A street's or town's name without 街道/镇: 均州路街道 → 均州路, 浪河镇 → 浪河.
pub fn stem(street: &str) -> &str {
    street
        .strip_suffix("街道")
        .or_else(|| street.strip_suffix('镇'))
        .unwrap_or(street)
}

/// The places of community number `ci` of a street or town, spread over its `grids` (indices into
/// `County::grids`, at least one). `roads` are the street's named roads.
pub fn community_places(
    street: &str,
    roads: &[&str],
    is_street: bool,
    ci: usize,
    community: &str,
    grids: &[usize],
    compounds: &mut CompoundNames,
) -> Vec<Place> {
    let g = |i: usize| grids[i % grids.len()];
    let mut out = Vec::new();
    let mut add = |name: String, kind: PlaceKind, grid: usize| out.push(Place { name, kind, grid });
    let s = stem(street);
    if is_street {
        for i in 0..grids.len() {
            add(compounds.name(), PlaceKind::Compound, g(i));
        }
        if !roads.is_empty() {
            add(roads[ci % roads.len()].to_string(), PlaceKind::Road, g(1));
            let other = roads[(ci + 1) % roads.len()];
            if other != roads[ci % roads.len()] {
                add(other.to_string(), PlaceKind::Road, g(2));
            }
        }
        if ci.is_multiple_of(3) {
            add(format!("{community}文化广场"), PlaceKind::Square, g(0));
        }
        match ci {
            0 => add(format!("{s}农贸市场"), PlaceKind::Market, g(2)),
            1 => add(format!("{s}小学"), PlaceKind::School, g(0)),
            2 => add(format!("{s}中学"), PlaceKind::School, g(1)),
            _ => {}
        }
    } else {
        for (i, n) in ["一组", "二组", "三组"]
            .iter()
            .enumerate()
            .take(grids.len())
        {
            add(format!("{community}{n}"), PlaceKind::Field, g(i));
        }
        let settlement = if ci.is_multiple_of(2) {
            "移民安置点"
        } else {
            "集中居住点"
        };
        add(
            format!("{community}{settlement}"),
            PlaceKind::Compound,
            g(0),
        );
        add(format!("{community}通组公路"), PlaceKind::VillageRoad, g(1));
        add(format!("{community}柑橘园"), PlaceKind::Field, g(2));
        add(format!("{community}文化广场"), PlaceKind::Square, g(0));
        // The town's seat (集镇) is in its first villages.
        match ci {
            0 => {
                add(format!("{s}集贸市场"), PlaceKind::Market, g(2));
                for r in roads {
                    add(r.to_string(), PlaceKind::Road, g(1));
                }
            }
            1 => add(format!("{street}中心小学"), PlaceKind::School, g(0)),
            2 => add(format!("{street}初级中学"), PlaceKind::School, g(1)),
            _ => {}
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn point_in_polygon_and_sampling() {
        let ring = [[0.0, 0.0], [2.0, 0.0], [2.0, 1.0], [0.0, 1.0], [0.0, 0.0]];
        assert!(contains(&ring, GeoPoint { lon: 1.0, lat: 0.5 }));
        assert!(!contains(&ring, GeoPoint { lon: 2.5, lat: 0.5 }));
        assert!(!contains(
            &ring,
            GeoPoint {
                lon: 1.0,
                lat: -0.1
            }
        ));
        // A triangle: half its bounding box is outside.
        let tri = [[0.0, 0.0], [1.0, 0.0], [0.0, 1.0], [0.0, 0.0]];
        assert!(!contains(&tri, GeoPoint { lon: 0.9, lat: 0.9 }));
        let mut rng = Rng::new(3);
        for _ in 0..200 {
            let p = sample_in(&tri, &mut rng).expect("a point");
            assert!(contains(&tri, p), "{p:?}");
        }
    }

    #[test]
    fn compound_names_are_unique() {
        let mut n = CompoundNames::new(1);
        let names: Vec<String> = (0..400).map(|_| n.name()).collect();
        let set: HashSet<&String> = names.iter().collect();
        assert_eq!(set.len(), names.len());
        assert_eq!(names[0], COMPOUNDS[0]);
    }
}
