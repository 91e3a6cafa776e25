//! Who answers a case: learnt as "what it is, and where", the way a dispatcher decides. For each
//! category and street, how often each unit took such cases first; a text's unit scores are its
//! category probabilities spread over those tables (falling back to the category alone, county
//! wide, where the street has too few cases).

use std::collections::HashMap;

use crate::Suggestion;

/// Cases of a category in a street below which the county-wide table for the category is used.
const LOCAL_MIN: u32 = 3;

#[derive(Debug, Clone, Default)]
pub struct UnitTable {
    /// (category, street) → unit → cases.
    local: HashMap<(String, String), HashMap<String, u32>>,
    /// category → unit → cases.
    county: HashMap<String, HashMap<String, u32>>,
}

impl UnitTable {
    pub fn add(&mut self, category: &str, street: Option<&str>, unit: &str) {
        if let Some(s) = street {
            *self
                .local
                .entry((category.to_string(), s.to_string()))
                .or_default()
                .entry(unit.to_string())
                .or_default() += 1;
        }
        *self
            .county
            .entry(category.to_string())
            .or_default()
            .entry(unit.to_string())
            .or_default() += 1;
    }

    pub fn is_empty(&self) -> bool {
        self.county.is_empty()
    }

    /// Units for a text whose categories are `categories` (probabilities), in `street`.
    pub fn top(
        &self,
        categories: &[Suggestion],
        street: Option<&str>,
        n: usize,
    ) -> Vec<Suggestion> {
        let mut score: HashMap<&str, f64> = HashMap::new();
        for c in categories {
            let local = street.and_then(|s| self.local.get(&(c.label.clone(), s.to_string())));
            let table = match local {
                Some(t) if t.values().sum::<u32>() >= LOCAL_MIN => Some(t),
                _ => self.county.get(&c.label),
            };
            let Some(table) = table else { continue };
            let total: u32 = table.values().sum();
            for (u, k) in table {
                *score.entry(u.as_str()).or_default() +=
                    c.confidence * f64::from(*k) / f64::from(total.max(1));
            }
        }
        let sum: f64 = score.values().sum();
        let mut ranked: Vec<(&str, f64)> = score.into_iter().collect();
        ranked.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(b.0)));
        ranked
            .into_iter()
            .take(n)
            .map(|(u, s)| Suggestion {
                label: u.to_string(),
                confidence: if sum > 0.0 { s / sum } else { 0.0 },
                by_rule: false,
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cat(label: &str, confidence: f64) -> Suggestion {
        Suggestion {
            label: label.into(),
            confidence,
            by_rule: false,
        }
    }

    #[test]
    fn a_street_takes_its_own_and_the_county_fills_in() {
        let mut t = UnitTable::default();
        for _ in 0..5 {
            t.add("vending", Some("s1"), "street-office-1");
            t.add("vending", Some("s2"), "city-management");
            t.add("lights", Some("s1"), "utilities");
        }
        t.add("vending", Some("s3"), "street-office-3");
        let top = t.top(&[cat("vending", 1.0)], Some("s1"), 2);
        assert_eq!(top[0].label, "street-office-1");
        assert!((top[0].confidence - 1.0).abs() < 1e-9);
        // Too few cases in s3: the county-wide share.
        let top = t.top(&[cat("vending", 1.0)], Some("s3"), 3);
        assert_eq!(top.len(), 3);
        assert!(top[0].label == "street-office-1" || top[0].label == "city-management");
        // Two likely categories share out their units.
        let top = t.top(&[cat("vending", 0.5), cat("lights", 0.5)], Some("s1"), 2);
        assert_eq!(top.len(), 2);
        assert!((top[0].confidence - 0.5).abs() < 1e-9);
        assert!(
            UnitTable::default()
                .top(&[cat("x", 1.0)], None, 3)
                .is_empty()
        );
    }
}
