//! Which area holds a point: an R-tree over the areas' polygons finds the few whose bounding box
//! holds it, and `Contains` (robust predicates, holes and multipolygons included) decides.

use geo::{Contains, Coord, LineString, MultiPolygon, Point, Polygon};
use rstar::primitives::GeomWithData;
use rstar::{AABB, RTree};
use serde_json::Value;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GeometryError(pub String);

impl std::fmt::Display for GeometryError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for GeometryError {}

fn ring(v: &Value) -> Option<LineString<f64>> {
    let points: Option<Vec<Coord<f64>>> = v
        .as_array()?
        .iter()
        .map(|p| {
            let p = p.as_array()?;
            let (x, y) = (p.first()?.as_f64()?, p.get(1)?.as_f64()?);
            (x.is_finite() && y.is_finite()).then_some(Coord { x, y })
        })
        .collect();
    let points = points?;
    (points.len() >= 3).then(|| LineString::new(points))
}

fn polygon(v: &Value) -> Option<Polygon<f64>> {
    let mut rings = v.as_array()?.iter().map(ring);
    let outer = rings.next()??;
    let holes: Option<Vec<LineString<f64>>> = rings.collect();
    Some(Polygon::new(outer, holes?))
}

/// Reads a GeoJSON `Polygon` or `MultiPolygon` geometry (lon/lat).
pub fn parse_geometry(v: &Value) -> Result<MultiPolygon<f64>, GeometryError> {
    let bad = |m: &str| GeometryError(m.to_string());
    let coords = v.get("coordinates").ok_or_else(|| bad("no coordinates"))?;
    match v.get("type").and_then(Value::as_str) {
        Some("Polygon") => Ok(MultiPolygon::new(vec![
            polygon(coords).ok_or_else(|| bad("bad Polygon"))?,
        ])),
        Some("MultiPolygon") => coords
            .as_array()
            .ok_or_else(|| bad("bad MultiPolygon"))?
            .iter()
            .map(polygon)
            .collect::<Option<Vec<_>>>()
            .map(MultiPolygon::new)
            .ok_or_else(|| bad("bad MultiPolygon")),
        _ => Err(bad("only Polygon and MultiPolygon are areas")),
    }
}

/// The same, from GeoJSON text.
pub fn parse_geometry_text(text: &str) -> Result<MultiPolygon<f64>, GeometryError> {
    let v: Value = serde_json::from_str(text).map_err(|e| GeometryError(e.to_string()))?;
    parse_geometry(&v)
}

/// Areas keyed by `T`, each with a depth in its tree: where areas nest (street › community ›
/// grid), a point belongs to the deepest that holds it.
#[derive(Clone)]
pub struct AreaIndex<T> {
    tree: RTree<GeomWithData<Polygon<f64>, usize>>,
    keys: Vec<(T, u32)>,
}

impl<T: std::fmt::Debug> std::fmt::Debug for AreaIndex<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AreaIndex")
            .field("areas", &self.keys.len())
            .field("polygons", &self.tree.size())
            .finish()
    }
}

impl<T> Default for AreaIndex<T> {
    fn default() -> Self {
        AreaIndex {
            tree: RTree::new(),
            keys: Vec::new(),
        }
    }
}

impl<T> AreaIndex<T> {
    /// `areas`: key, depth (deeper wins), shape.
    pub fn new(areas: impl IntoIterator<Item = (T, u32, MultiPolygon<f64>)>) -> Self {
        let mut keys = Vec::new();
        let mut polys = Vec::new();
        for (key, depth, shape) in areas {
            let i = keys.len();
            keys.push((key, depth));
            polys.extend(shape.0.into_iter().map(|p| GeomWithData::new(p, i)));
        }
        AreaIndex {
            tree: RTree::bulk_load(polys),
            keys,
        }
    }

    pub fn len(&self) -> usize {
        self.keys.len()
    }

    pub fn is_empty(&self) -> bool {
        self.keys.is_empty()
    }

    /// The deepest area holding the point (on a tie, the one listed first). Candidates are
    /// tried deepest first, so a point in a grid costs one polygon test, not one per level.
    pub fn locate(&self, lon: f64, lat: f64) -> Option<&T> {
        let p = Point::new(lon, lat);
        let mut candidates: Vec<_> = self
            .tree
            .locate_in_envelope_intersecting(&AABB::from_point(p))
            .map(|g| (std::cmp::Reverse(self.keys[g.data].1), g.data, g))
            .collect();
        candidates.sort_unstable_by_key(|c| (c.0, c.1));
        candidates
            .iter()
            .find(|c| c.2.geom().contains(&p))
            .map(|c| &self.keys[c.1].0)
    }

    /// Every area holding the point, any depth.
    pub fn all_at(&self, lon: f64, lat: f64) -> Vec<&T> {
        let p = Point::new(lon, lat);
        let mut out: Vec<usize> = self
            .tree
            .locate_in_envelope_intersecting(&AABB::from_point(p))
            .filter(|g| g.geom().contains(&p))
            .map(|g| g.data)
            .collect();
        out.sort_unstable();
        out.dedup();
        out.into_iter().map(|i| &self.keys[i].0).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn area(text: &str) -> MultiPolygon<f64> {
        parse_geometry_text(text).unwrap()
    }

    #[test]
    fn deepest_area_with_holes_and_multipolygons() {
        let street =
            area(r#"{"type":"Polygon","coordinates":[[[0,0],[10,0],[10,10],[0,10],[0,0]]]}"#);
        let grid = area(
            r#"{"type":"Polygon","coordinates":[[[0,0],[5,0],[5,5],[0,5],[0,0]],[[1,1],[2,1],[2,2],[1,2],[1,1]]]}"#,
        );
        let islands = area(
            r#"{"type":"MultiPolygon","coordinates":[[[[20,20],[21,20],[21,21],[20,21],[20,20]]],[[[30,30],[31,30],[31,31],[30,31],[30,30]]]]}"#,
        );
        let ix = AreaIndex::new([
            ("street", 1, street),
            ("grid", 2, grid),
            ("islands", 1, islands),
        ]);
        assert_eq!(ix.locate(3.0, 3.0), Some(&"grid"));
        assert_eq!(ix.locate(1.5, 1.5), Some(&"street"), "in the grid's hole");
        assert_eq!(ix.locate(7.0, 7.0), Some(&"street"));
        assert_eq!(ix.locate(30.5, 30.5), Some(&"islands"));
        assert_eq!(ix.locate(25.0, 25.0), None);
        assert_eq!(ix.all_at(3.0, 3.0).len(), 2);
    }

    #[test]
    fn refuses_what_is_not_an_area() {
        for bad in [
            r#"{"type":"Point","coordinates":[1,2]}"#,
            r#"{"type":"Polygon","coordinates":[[[0,0],[1,1]]]}"#,
            r#"{"type":"Polygon","coordinates":"x"}"#,
            r#"{"type":"Polygon"}"#,
            "not json",
        ] {
            assert!(parse_geometry_text(bad).is_err(), "{bad}");
        }
    }
}
