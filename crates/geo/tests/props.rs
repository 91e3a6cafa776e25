//! Properties: the R-tree answers exactly what checking every area would; the parsers never
//! panic on any input.

use geo::{Contains, MultiPolygon, Point, Polygon, polygon};
use jiesu_geo::{AreaIndex, Gazetteer, Place, PlaceKind, parse_geometry_text};
use proptest::prelude::*;

fn square(x: f64, y: f64, w: f64) -> MultiPolygon<f64> {
    let p: Polygon<f64> =
        polygon![(x: x, y: y), (x: x + w, y: y), (x: x + w, y: y + w), (x: x, y: y + w)];
    MultiPolygon::new(vec![p])
}

proptest! {
    #[test]
    fn rtree_agrees_with_a_scan(
        squares in prop::collection::vec((0.0f64..100.0, 0.0f64..100.0, 0.5f64..30.0, 0u32..3), 1..40),
        points in prop::collection::vec((0.0f64..130.0, 0.0f64..130.0), 1..50),
    ) {
        let shapes: Vec<(usize, u32, MultiPolygon<f64>)> = squares
            .iter()
            .enumerate()
            .map(|(i, &(x, y, w, d))| (i, d, square(x, y, w)))
            .collect();
        let ix = AreaIndex::new(shapes.clone());
        for (x, y) in points {
            let p = Point::new(x, y);
            let expected = shapes
                .iter()
                .filter(|(_, _, s)| s.contains(&p))
                .max_by(|a, b| a.1.cmp(&b.1).then(b.0.cmp(&a.0)))
                .map(|s| s.0);
            prop_assert_eq!(ix.locate(x, y).copied(), expected);
        }
    }

    #[test]
    fn geometry_parser_never_panics(s in ".{0,200}") {
        let _ = parse_geometry_text(&s);
    }

    #[test]
    fn geometry_parser_never_panics_on_json_shapes(
        t in prop::sample::select(vec!["Polygon", "MultiPolygon", "Point", ""]),
        coords in "[\\[\\]0-9.,\\- eE]{0,80}",
    ) {
        let _ = parse_geometry_text(&format!(r#"{{"type":"{t}","coordinates":{coords}}}"#));
    }

    #[test]
    fn gazetteer_never_panics_and_ranges_are_in_the_text(text in "[均州路街道幸福里社区建设巷小区组村0-9a-z ]{0,60}") {
        let g = Gazetteer::new(vec![
            Place { name: "均州路街道".into(), kind: PlaceKind::Street, unit: "s".into(), path: "/c/s/".into() },
            Place { name: "建设路".into(), kind: PlaceKind::Road, unit: "g".into(), path: "/c/s/m/g/".into() },
            Place { name: "幸福里小区".into(), kind: PlaceKind::Compound, unit: "h".into(), path: "/c/s/m/h/".into() },
        ]);
        for f in g.all_in(&text) {
            prop_assert!(text.get(f.start..f.end).is_some());
        }
        let _ = g.best(&text);
    }
}
