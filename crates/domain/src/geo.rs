//! Unit areas: which unit's polygon holds a point. Enough to file a located report at the street
//! it happened in; the gazetteer and routing build on the same areas.

use serde_json::Value;

use crate::org::UnitId;

/// One unit's area: polygons of rings (outer ring first, then holes), lon/lat.
#[derive(Debug, Clone, PartialEq)]
pub struct Area {
    pub unit: UnitId,
    polygons: Vec<Vec<Vec<(f64, f64)>>>,
    bbox: (f64, f64, f64, f64),
}

#[derive(Debug, thiserror::Error, PartialEq)]
#[error("geometry of {unit}: {message}")]
pub struct GeometryError {
    pub unit: UnitId,
    pub message: String,
}

fn ring(v: &Value) -> Option<Vec<(f64, f64)>> {
    v.as_array()?
        .iter()
        .map(|p| {
            let p = p.as_array()?;
            Some((p.first()?.as_f64()?, p.get(1)?.as_f64()?))
        })
        .collect()
}

fn polygon(v: &Value) -> Option<Vec<Vec<(f64, f64)>>> {
    v.as_array()?.iter().map(ring).collect()
}

/// Even-odd ray casting; a point on an edge may fall either way, which is fine for filing.
fn in_ring(r: &[(f64, f64)], x: f64, y: f64) -> bool {
    let mut inside = false;
    let mut j = r.len().wrapping_sub(1);
    for i in 0..r.len() {
        let ((xi, yi), (xj, yj)) = (r[i], r[j]);
        if (yi > y) != (yj > y) && x < (xj - xi) * (y - yi) / (yj - yi) + xi {
            inside = !inside;
        }
        j = i;
    }
    inside
}

impl Area {
    /// Reads a GeoJSON `Polygon` or `MultiPolygon` geometry.
    pub fn from_geojson(unit: UnitId, text: &str) -> Result<Area, GeometryError> {
        let bad = |message: &str| GeometryError {
            unit: unit.clone(),
            message: message.into(),
        };
        let v: Value = serde_json::from_str(text).map_err(|e| bad(&e.to_string()))?;
        let coords = v.get("coordinates").ok_or_else(|| bad("no coordinates"))?;
        let polygons = match v.get("type").and_then(Value::as_str) {
            Some("Polygon") => vec![polygon(coords).ok_or_else(|| bad("bad Polygon"))?],
            Some("MultiPolygon") => coords
                .as_array()
                .ok_or_else(|| bad("bad MultiPolygon"))?
                .iter()
                .map(polygon)
                .collect::<Option<_>>()
                .ok_or_else(|| bad("bad MultiPolygon"))?,
            _ => return Err(bad("only Polygon and MultiPolygon are areas")),
        };
        let points = polygons.iter().flat_map(|p| p.first()).flatten();
        let mut bbox = (f64::MAX, f64::MAX, f64::MIN, f64::MIN);
        let mut any = false;
        for &(x, y) in points {
            any = true;
            bbox = (bbox.0.min(x), bbox.1.min(y), bbox.2.max(x), bbox.3.max(y));
        }
        if !any {
            return Err(bad("empty polygon"));
        }
        Ok(Area {
            unit,
            polygons,
            bbox,
        })
    }

    pub fn contains(&self, lon: f64, lat: f64) -> bool {
        let (x0, y0, x1, y1) = self.bbox;
        if !(x0..=x1).contains(&lon) || !(y0..=y1).contains(&lat) {
            return false;
        }
        self.polygons.iter().any(|rings| match rings.split_first() {
            Some((outer, holes)) => {
                in_ring(outer, lon, lat) && !holes.iter().any(|h| in_ring(h, lon, lat))
            }
            None => false,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn point_in_polygon_with_hole() {
        let a = Area::from_geojson(
            UnitId::new("g"),
            r#"{"type":"Polygon","coordinates":[[[0,0],[10,0],[10,10],[0,10],[0,0]],[[4,4],[6,4],[6,6],[4,6],[4,4]]]}"#,
        )
        .unwrap();
        assert!(a.contains(1.0, 1.0));
        assert!(!a.contains(5.0, 5.0), "inside the hole");
        assert!(!a.contains(11.0, 5.0));
        assert!(
            Area::from_geojson(UnitId::new("x"), r#"{"type":"Point","coordinates":[1,2]}"#)
                .is_err()
        );
        assert!(Area::from_geojson(UnitId::new("x"), "not json").is_err());
    }
}
