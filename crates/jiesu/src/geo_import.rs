//! Reading grid and gazetteer files for `jiesu import`: every feature and place is checked
//! before anything is written, and a bad one is named with its position in the file.

use anyhow::{Context as _, bail};
use jiesu_domain::{OrgTree, OrgUnit, PlaceKind, UnitId, UnitKind};
use serde_json::Value;

fn text_prop<'a>(f: &'a Value, key: &str) -> Option<&'a str> {
    f.get("properties")?
        .get(key)?
        .as_str()
        .map(str::trim)
        .filter(|s| !s.is_empty())
}

/// Grids from a GeoJSON FeatureCollection: `(unit, path, geometry)` for each feature.
pub fn grids(text: &str, org: &OrgTree) -> anyhow::Result<Vec<(OrgUnit, String, String)>> {
    let v: Value = serde_json::from_str(text).context("not JSON")?;
    if v.get("type").and_then(Value::as_str) != Some("FeatureCollection") {
        bail!("expected a GeoJSON FeatureCollection");
    }
    let features = v
        .get("features")
        .and_then(Value::as_array)
        .context("a FeatureCollection without features")?;
    let mut out = Vec::with_capacity(features.len());
    let mut seen = std::collections::HashSet::new();
    for (i, f) in features.iter().enumerate() {
        let at = |m: String| anyhow::anyhow!("feature {}: {m}", i + 1);
        let id = text_prop(f, "id").ok_or_else(|| at("no properties.id".into()))?;
        let name = text_prop(f, "name").ok_or_else(|| at(format!("{id}: no properties.name")))?;
        let parent =
            text_prop(f, "parent").ok_or_else(|| at(format!("{id}: no properties.parent")))?;
        let kind = match text_prop(f, "kind").unwrap_or("grid") {
            "grid" => UnitKind::Grid,
            "micro_grid" => UnitKind::MicroGrid,
            k => return Err(at(format!("{id}: kind {k:?} is not grid or micro_grid"))),
        };
        if id.len() > 64 || name.chars().count() > 100 {
            return Err(at(format!("{id}: id or name too long")));
        }
        if !seen.insert(id.to_string()) {
            return Err(at(format!("{id} appears twice")));
        }
        let parent = UnitId::new(parent);
        let parent_kind = org
            .get(&parent)
            .map(|u| u.kind)
            .ok_or_else(|| at(format!("{id}: no unit {parent}")))?;
        if !matches!(
            parent_kind,
            UnitKind::Community
                | UnitKind::Village
                | UnitKind::Street
                | UnitKind::Town
                | UnitKind::Grid
        ) {
            return Err(at(format!(
                "{id}: a grid belongs to a community, village, street or town, not a {}",
                parent_kind.as_str()
            )));
        }
        let unit = UnitId::new(id);
        if let Some(existing) = org.get(&unit)
            && !matches!(existing.kind, UnitKind::Grid | UnitKind::MicroGrid)
        {
            return Err(at(format!("{id} is a {} already", existing.kind.as_str())));
        }
        let geometry = f
            .get("geometry")
            .ok_or_else(|| at(format!("{id}: no geometry")))?;
        jiesu_geo::parse_geometry(geometry).map_err(|e| at(format!("{id}: {e}")))?;
        let path = format!("{}{id}/", org.path(&parent).unwrap_or("/"));
        out.push((
            OrgUnit {
                id: unit,
                parent: Some(parent),
                kind,
                name: name.to_string(),
            },
            path,
            geometry.to_string(),
        ));
    }
    Ok(out)
}

/// The gazetteer from a JSON array of `{name, kind, unit}`.
pub fn places(text: &str) -> anyhow::Result<Vec<(String, String, UnitId)>> {
    let v: Value = serde_json::from_str(text).context("not JSON")?;
    let items = v.as_array().context("expected a JSON array of places")?;
    let mut out = Vec::with_capacity(items.len());
    for (i, p) in items.iter().enumerate() {
        let at = |m: &str| anyhow::anyhow!("place {}: {m}", i + 1);
        let field = |k: &str| {
            p.get(k)
                .and_then(Value::as_str)
                .map(str::trim)
                .filter(|s| !s.is_empty())
        };
        let name = field("name").ok_or_else(|| at("no name"))?;
        if name.chars().count() > 50 || name.chars().any(char::is_control) {
            return Err(at(
                "a name is at most 50 characters, without control characters",
            ));
        }
        let kind = field("kind").ok_or_else(|| at("no kind"))?;
        let kind = PlaceKind::parse(kind).ok_or_else(|| {
            at(&format!(
                "kind {kind:?} is not one of street, community, road, alley, compound, landmark, group"
            ))
        })?;
        let unit = field("unit").ok_or_else(|| at("no unit"))?;
        out.push((
            name.to_string(),
            kind.as_str().to_string(),
            UnitId::new(unit),
        ));
    }
    Ok(out)
}
