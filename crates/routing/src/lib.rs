//! Who and what: suggested categories and lead units for a case's text.
//!
//! **What**: a sparse multinomial naive Bayes over jieba's words (search mode, so a compound also
//! counts as its parts): counts are kept only where a word occurred with a category, and a text
//! is scored in one pass over its words' postings; Laplace smoothing, a tempered softmax.
//! **Who**: the category probabilities spread over who took such cases first in that street (or
//! county-wide) — see [`UnitTable`]. A top unit below [`CONFIDENT`] means "dispatch by hand".
//!
//! **Rules** an admin writes (`[[rule]] words = ["井盖"], category = "…", unit = "…"`) come first:
//! a text containing every word of a rule gets that rule's category or unit at the top.

mod bayes;
mod rules;
mod units;

pub use bayes::{Model, Suggestion, Trainer};
pub use rules::{Rule, RuleError, Rules};
pub use units::UnitTable;

use std::sync::Arc;

/// Categories whose units are weighed for the unit suggestion.
const CATEGORIES_FOR_UNITS: usize = 5;

/// Below this probability the top suggestion is shown as a hint only.
pub const CONFIDENT: f64 = 0.6;

/// What a case says, as the classifier reads it: words of its title and description, and the
/// place it is in.
pub fn features(
    jieba: &jieba_rs::Jieba,
    title: &str,
    description: &str,
    place: Option<&str>,
) -> Vec<String> {
    let mut out: Vec<String> = Vec::with_capacity(64);
    for text in [title, description] {
        for t in jieba.cut_for_search(text, true) {
            let w = t.word;
            // Single characters and punctuation carry little and are many.
            if w.chars().count() >= 2 && w.chars().any(char::is_alphanumeric) {
                out.push(w.to_lowercase());
            }
        }
    }
    // Pairs of characters too: a word said another way often shares them (摊贩 / 小摊贩).
    for text in [title, description] {
        let cs: Vec<char> = text.chars().filter(|c| c.is_alphanumeric()).collect();
        for w in cs.windows(2) {
            out.push(format!("#{}{}", w[0], w[1]));
        }
    }
    if let Some(p) = place {
        out.push(format!("@place:{p}"));
    }
    out
}

/// A trained pair of classifiers with the rules and the dictionary they read text with.
pub struct Router {
    pub jieba: Arc<jieba_rs::Jieba>,
    pub categories: Model,
    pub units: UnitTable,
    pub rules: Rules,
}

/// Both suggestions for one text.
#[derive(Debug, Clone, PartialEq)]
pub struct Suggested {
    pub categories: Vec<Suggestion>,
    pub units: Vec<Suggestion>,
}

impl Router {
    /// Top `n` categories and units for a text. `place`: the street the case is in, if known.
    pub fn suggest(
        &self,
        title: &str,
        description: &str,
        place: Option<&str>,
        n: usize,
    ) -> Suggested {
        let f = features(&self.jieba, title, description, place);
        let mut categories = self.categories.top(&f, CATEGORIES_FOR_UNITS);
        let text = format!("{title}\n{description}");
        let rule = self.rules.first_match(&text);
        if let Some(c) = rule.and_then(|r| r.category.as_ref()) {
            promote(&mut categories, c, CATEGORIES_FOR_UNITS);
        }
        let mut units = self.units.top(&categories, place, n);
        if let Some(u) = rule.and_then(|r| r.unit.as_ref()) {
            promote(&mut units, u, n);
        }
        categories.truncate(n);
        Suggested { categories, units }
    }
}

/// Puts `label` first with full confidence (a rule is an admin's decision, not a guess).
fn promote(list: &mut Vec<Suggestion>, label: &str, n: usize) {
    list.retain(|s| s.label != label);
    list.insert(
        0,
        Suggestion {
            label: label.to_string(),
            confidence: 1.0,
            by_rule: true,
        },
    );
    list.truncate(n);
}
