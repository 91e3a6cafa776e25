//! Unit areas: a unit's polygons, read from GeoJSON. The org tree keeps them in an R-tree
//! (`jiesu_geo::AreaIndex`) to place a located report in the smallest unit holding it.

use crate::org::UnitId;

/// One unit's area (lon/lat polygons, holes included).
#[derive(Debug, Clone, PartialEq)]
pub struct Area {
    pub unit: UnitId,
    pub shape: jiesu_geo::geo::MultiPolygon<f64>,
}

#[derive(Debug, thiserror::Error, PartialEq)]
#[error("geometry of {unit}: {message}")]
pub struct GeometryError {
    pub unit: UnitId,
    pub message: String,
}

impl Area {
    /// Reads a GeoJSON `Polygon` or `MultiPolygon` geometry.
    pub fn from_geojson(unit: UnitId, text: &str) -> Result<Area, GeometryError> {
        match jiesu_geo::parse_geometry_text(text) {
            Ok(shape) => Ok(Area { unit, shape }),
            Err(e) => Err(GeometryError { unit, message: e.0 }),
        }
    }

    pub fn contains(&self, lon: f64, lat: f64) -> bool {
        use jiesu_geo::geo::Contains;
        self.shape.contains(&jiesu_geo::geo::Point::new(lon, lat))
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
