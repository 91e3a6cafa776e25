//! `jiesu bench geo`: where a case is, on one core, over the demo county (its 900-odd units with
//! areas and its gazetteer). Each figure comes with the way it would be done without the index,
//! measured in the same run: every area checked in turn, every place name searched for in turn.

use std::time::{Duration, Instant};

use jiesu_domain::geo::Area;
use jiesu_domain::{OrgTree, PlaceKind, UnitId};

use crate::demo;
use crate::rng::Rng;

pub struct GeoFigures {
    pub areas: usize,
    pub places: usize,
    pub lookups_per_s: f64,
    pub scan_lookups_per_s: f64,
    pub hit_share: f64,
    pub addresses_per_s: f64,
    pub scan_addresses_per_s: f64,
    pub placed_share: f64,
}

/// Runs `f` over `items` round and round for about `secs`; returns items per second.
fn rate<T>(items: &[T], secs: f64, mut f: impl FnMut(&T) -> bool) -> (f64, f64) {
    let budget = Duration::from_secs_f64(secs);
    let t = Instant::now();
    let (mut n, mut hits) = (0u64, 0u64);
    while t.elapsed() < budget {
        for x in items {
            hits += u64::from(std::hint::black_box(f(x)));
        }
        n += items.len() as u64;
    }
    let s = t.elapsed().as_secs_f64();
    (n as f64 / s, hits as f64 / n.max(1) as f64)
}

pub fn run(secs: f64) -> GeoFigures {
    let county = demo::build_county(7);
    let areas: Vec<Area> = county
        .geometry
        .iter()
        .filter_map(|(u, g)| Area::from_geojson(u.clone(), g).ok())
        .collect();
    let places: Vec<(String, PlaceKind, UnitId)> = demo::gazetteer(&county)
        .into_iter()
        .filter_map(|(n, k, u)| Some((n, PlaceKind::parse(&k)?, u)))
        .collect();
    let org = OrgTree::new(county.units.clone())
        .expect("the demo's org tree")
        .with_areas(areas.clone())
        .with_places(places.clone());

    // Points where reports come from: in a grid's bounding box (mostly inside the grid), one in
    // ten anywhere over the county's extent.
    let bbox = |ring: &[[f64; 2]]| {
        ring.iter()
            .fold((f64::MAX, f64::MAX, f64::MIN, f64::MIN), |b, p| {
                (b.0.min(p[0]), b.1.min(p[1]), b.2.max(p[0]), b.3.max(p[1]))
            })
    };
    let all: Vec<[f64; 2]> = county.grids.iter().flat_map(|g| g.ring.clone()).collect();
    let county_box = bbox(&all);
    let mut rng = Rng::new(11);
    let points: Vec<(f64, f64)> = (0..100_000)
        .map(|i| {
            let (x0, y0, x1, y1) = if i % 10 == 0 {
                county_box
            } else {
                bbox(&county.grids[rng.below(county.grids.len())].ring)
            };
            (x0 + rng.float() * (x1 - x0), y0 + rng.float() * (y1 - y0))
        })
        .collect();
    let (lookups_per_s, hit_share) = rate(&points, secs, |&(x, y)| org.locate(x, y).is_some());
    let (scan_lookups_per_s, _) = rate(&points[..2_000], secs, |&(x, y)| {
        areas.iter().any(|a| a.contains(x, y))
    });

    // Addresses as the demo writes them for its cases.
    let name = |u: &UnitId| org.get(u).map(|u| u.name.clone()).unwrap_or_default();
    let addresses: Vec<String> = (0..20_000)
        .map(|_| {
            let p = &county.places[rng.below(county.places.len())];
            let g = &county.grids[p.grid];
            p.address(&name(&g.street), &name(&g.community), &mut rng)
        })
        .collect();
    let (addresses_per_s, placed_share) = rate(&addresses, secs, |a| org.place_of(a).is_some());
    let names: Vec<&str> = places.iter().map(|p| p.0.as_str()).collect();
    let (scan_addresses_per_s, _) = rate(&addresses[..500], secs, |a| {
        names.iter().filter(|n| a.contains(**n)).count() > 0
    });
    GeoFigures {
        areas: areas.len(),
        places: org.gazetteer().len(),
        lookups_per_s,
        scan_lookups_per_s,
        hit_share,
        addresses_per_s,
        scan_addresses_per_s,
        placed_share,
    }
}
