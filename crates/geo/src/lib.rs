//! Where a case is: the area holding a point (`AreaIndex`, an R-tree over polygons) and the place
//! an address names (`Gazetteer`). Pure and synchronous; the org tree and the API build on it.

mod areas;
/// The geometry types the areas are made of.
pub use geo;
pub mod gazetteer;

pub use areas::{AreaIndex, GeometryError, parse_geometry, parse_geometry_text};
pub use gazetteer::{Gazetteer, Place, PlaceKind};
