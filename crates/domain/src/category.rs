//! The category tree (分类), e.g. 城市管理 › 市容环境 › 占道经营, with ids like `urban.appearance.street_vending`.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::case::Kind;
use crate::org::UnitId;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Category {
    pub id: String,
    pub parent: Option<String>,
    pub name: String,
    pub name_en: String,
    /// The kind a case in this category usually has (a hint for intake forms).
    pub default_kind: Option<Kind>,
    /// The department that usually handles it (a hint for dispatchers).
    pub default_unit: Option<UnitId>,
}

#[derive(Debug, Clone, Default)]
pub struct CategoryTree {
    by_id: BTreeMap<String, Category>,
    /// Retired categories: old cases keep them; new cases may not be filed under them.
    retired: std::collections::BTreeSet<String>,
}

impl CategoryTree {
    pub fn new(cats: Vec<Category>) -> Result<Self, String> {
        let mut by_id = BTreeMap::new();
        for c in cats {
            if by_id.contains_key(&c.id) {
                return Err(format!("category {} is listed twice", c.id));
            }
            by_id.insert(c.id.clone(), c);
        }
        for c in by_id.values() {
            if let Some(p) = &c.parent
                && !by_id.contains_key(p)
            {
                return Err(format!("category {} names missing parent {p}", c.id));
            }
        }
        Ok(Self {
            by_id,
            retired: Default::default(),
        })
    }
    /// Marks categories retired (unknown ids are ignored).
    pub fn with_retired(mut self, retired: impl IntoIterator<Item = String>) -> Self {
        self.retired = retired
            .into_iter()
            .filter(|c| self.by_id.contains_key(c))
            .collect();
        self
    }
    pub fn is_retired(&self, id: &str) -> bool {
        self.retired.contains(id)
    }
    pub fn get(&self, id: &str) -> Option<&Category> {
        self.by_id.get(id)
    }
    pub fn all(&self) -> impl Iterator<Item = &Category> {
        self.by_id.values()
    }
    pub fn len(&self) -> usize {
        self.by_id.len()
    }
    pub fn is_empty(&self) -> bool {
        self.by_id.is_empty()
    }
    /// The category and every category below it, by parent links (a list filtered by a category
    /// shows the cases filed under its children too).
    pub fn subtree(&self, id: &str) -> Vec<&str> {
        let mut out: Vec<&str> = Vec::new();
        let Some((root, _)) = self.by_id.get_key_value(id) else {
            return out;
        };
        out.push(root);
        let mut i = 0;
        while i < out.len() {
            let parent = out[i];
            out.extend(
                self.by_id
                    .values()
                    .filter(|c| c.parent.as_deref() == Some(parent))
                    .map(|c| c.id.as_str()),
            );
            i += 1;
        }
        out
    }
    /// Leaf categories (those no other category names as parent).
    pub fn leaves(&self) -> Vec<&Category> {
        self.by_id
            .values()
            .filter(|c| {
                !self
                    .by_id
                    .values()
                    .any(|o| o.parent.as_deref() == Some(&c.id))
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cat(id: &str, parent: Option<&str>) -> Category {
        Category {
            id: id.into(),
            parent: parent.map(str::to_string),
            name: id.into(),
            name_en: id.into(),
            default_kind: None,
            default_unit: None,
        }
    }

    #[test]
    fn a_subtree_follows_parent_links_not_id_prefixes() {
        let t = CategoryTree::new(vec![
            cat("urban", None),
            cat("urban.noise", Some("urban")),
            cat("urban.noise.night", Some("urban.noise")),
            cat("urbanism", None),
            cat("water", None),
        ])
        .unwrap();
        let mut s = t.subtree("urban");
        s.sort();
        assert_eq!(s, ["urban", "urban.noise", "urban.noise.night"]);
        assert_eq!(t.subtree("urban.noise.night"), ["urban.noise.night"]);
        assert!(t.subtree("nothing").is_empty());
    }
}
