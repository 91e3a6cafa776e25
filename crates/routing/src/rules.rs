//! Rules an admin writes, in TOML:
//!
//! ```toml
//! [[rule]]
//! words = ["井盖"]            # every word must occur in the title or description
//! category = "municipal.manhole"
//! unit = "420381D03"          # either or both
//! ```
//!
//! The first rule (in file order) whose words all occur wins.

use aho_corasick::AhoCorasick;
use serde::Deserialize;

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Rule {
    pub words: Vec<String>,
    #[serde(default)]
    pub category: Option<String>,
    #[serde(default)]
    pub unit: Option<String>,
}

#[derive(Debug, thiserror::Error, PartialEq)]
pub enum RuleError {
    #[error("routing rules: {0}")]
    Toml(String),
    #[error("routing rule {0}: {1}")]
    Rule(usize, String),
}

#[derive(Debug, Clone, Default)]
pub struct Rules {
    rules: Vec<Rule>,
    words: Vec<String>,
    matcher: Option<AhoCorasick>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct File {
    #[serde(default)]
    rule: Vec<Rule>,
}

impl Rules {
    /// Parses and checks rules; `known` says whether a category or unit id exists.
    pub fn parse(
        text: &str,
        category_exists: impl Fn(&str) -> bool,
        unit_exists: impl Fn(&str) -> bool,
    ) -> Result<Rules, RuleError> {
        let file: File = toml::from_str(text).map_err(|e| RuleError::Toml(e.to_string()))?;
        for (i, r) in file.rule.iter().enumerate() {
            let bad = |m: String| RuleError::Rule(i + 1, m);
            if r.words.is_empty() || r.words.iter().any(|w| w.trim().is_empty()) {
                return Err(bad("words must be a list of non-blank words".into()));
            }
            if r.category.is_none() && r.unit.is_none() {
                return Err(bad("a rule names a category, a unit or both".into()));
            }
            if let Some(c) = &r.category
                && !category_exists(c)
            {
                return Err(bad(format!("no category {c}")));
            }
            if let Some(u) = &r.unit
                && !unit_exists(u)
            {
                return Err(bad(format!("no unit {u}")));
            }
        }
        Ok(Rules::new(file.rule))
    }

    pub fn new(rules: Vec<Rule>) -> Rules {
        let mut words: Vec<String> = rules.iter().flat_map(|r| r.words.clone()).collect();
        words.sort();
        words.dedup();
        let matcher = AhoCorasick::new(&words).ok();
        Rules {
            rules,
            words,
            matcher,
        }
    }

    pub fn len(&self) -> usize {
        self.rules.len()
    }

    pub fn is_empty(&self) -> bool {
        self.rules.is_empty()
    }

    /// The first rule whose words all occur in `text`.
    pub fn first_match(&self, text: &str) -> Option<&Rule> {
        let m = self.matcher.as_ref()?;
        let mut present = vec![false; self.words.len()];
        for hit in m.find_overlapping_iter(text) {
            present[hit.pattern().as_usize()] = true;
        }
        self.rules.iter().find(|r| {
            r.words
                .iter()
                .all(|w| self.words.binary_search(w).is_ok_and(|i| present[i]))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rules_parse_check_and_match_in_order() {
        let text = r#"
[[rule]]
words = ["井盖", "丢失"]
category = "municipal.manhole"
unit = "D03"

[[rule]]
words = ["井盖"]
category = "municipal.manhole"
"#;
        let r = Rules::parse(text, |c| c == "municipal.manhole", |u| u == "D03").unwrap();
        assert_eq!(r.len(), 2);
        assert_eq!(
            r.first_match("小区井盖丢失了").unwrap().unit.as_deref(),
            Some("D03")
        );
        assert_eq!(r.first_match("井盖破损").unwrap().unit, None);
        assert!(r.first_match("路灯不亮").is_none());
        assert!(matches!(
            Rules::parse(text, |_| false, |_| true),
            Err(RuleError::Rule(1, _))
        ));
        assert!(Rules::parse("[[rule]]\nwords = []\nunit = \"D03\"", |_| true, |_| true).is_err());
        assert!(Rules::parse("[[rule]]\nwords = [\"x\"]", |_| true, |_| true).is_err());
        assert!(Rules::parse("nonsense =", |_| true, |_| true).is_err());
        assert!(Rules::parse("", |_| true, |_| true).unwrap().is_empty());
    }
}
