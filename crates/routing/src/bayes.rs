//! Sparse multinomial naive Bayes.

use std::collections::HashMap;

/// Words of evidence per unit of temperature (see [`Model::top`]).
const TEMPER_WORDS: f64 = 2.0;

/// One suggested label with its probability.
#[derive(Debug, Clone, PartialEq)]
pub struct Suggestion {
    pub label: String,
    pub confidence: f64,
    /// Put first by an admin's rule rather than by the model.
    pub by_rule: bool,
}

/// Counts gathered from labelled texts.
#[derive(Default)]
pub struct Trainer {
    labels: Vec<String>,
    index: HashMap<String, usize>,
    docs: Vec<u64>,
    words_in: Vec<u64>,
    counts: HashMap<String, HashMap<usize, u32>>,
}

impl Trainer {
    pub fn add(&mut self, features: &[String], label: &str) {
        let l = match self.index.get(label) {
            Some(&l) => l,
            None => {
                self.labels.push(label.to_string());
                self.docs.push(0);
                self.words_in.push(0);
                self.index.insert(label.to_string(), self.labels.len() - 1);
                self.labels.len() - 1
            }
        };
        self.docs[l] += 1;
        for f in features {
            *self
                .counts
                .entry(f.clone())
                .or_default()
                .entry(l)
                .or_default() += 1;
            self.words_in[l] += 1;
        }
    }

    pub fn examples(&self) -> u64 {
        self.docs.iter().sum()
    }

    /// The model: log-probabilities, with Laplace smoothing `alpha`.
    pub fn build(self, alpha: f64) -> Model {
        let total: f64 = self.docs.iter().sum::<u64>().max(1) as f64;
        let vocabulary = self.counts.len().max(1) as f64;
        let denominators: Vec<f64> = self
            .words_in
            .iter()
            .map(|&n| (n as f64 + alpha * vocabulary).ln())
            .collect();
        let priors = self.docs.iter().map(|&d| (d as f64 / total).ln()).collect();
        let postings = self
            .counts
            .into_iter()
            .map(|(w, by)| {
                let mut p: Vec<(u32, f32)> = by
                    .into_iter()
                    // What a seen word adds over an unseen one.
                    .map(|(l, n)| (l as u32, ((n as f64 + alpha).ln() - alpha.ln()) as f32))
                    .collect();
                p.sort_unstable_by_key(|x| x.0);
                (w, p)
            })
            .collect();
        Model {
            labels: self.labels,
            priors,
            denominators,
            alpha_ln: alpha.ln(),
            postings,
        }
    }
}

/// A trained classifier. Scoring a text costs one hash lookup per word and one addition per
/// label the word was seen with.
#[derive(Debug, Clone, Default)]
pub struct Model {
    labels: Vec<String>,
    priors: Vec<f64>,
    denominators: Vec<f64>,
    alpha_ln: f64,
    postings: HashMap<String, Vec<(u32, f32)>>,
}

impl Model {
    pub fn labels(&self) -> &[String] {
        &self.labels
    }

    pub fn is_empty(&self) -> bool {
        self.labels.is_empty()
    }

    /// The `n` likeliest labels with their probabilities (softmax over the log scores).
    pub fn top(&self, features: &[String], n: usize) -> Vec<Suggestion> {
        if self.labels.is_empty() {
            return Vec::new();
        }
        // Every word an unseen one for every label, then what seen words add. Words the model
        // never saw weigh the same for all labels and are left out.
        let known: Vec<&Vec<(u32, f32)>> = features
            .iter()
            .filter_map(|f| self.postings.get(f))
            .collect();
        let len = known.len() as f64;
        let mut scores: Vec<f64> = self
            .priors
            .iter()
            .zip(&self.denominators)
            .map(|(p, d)| p + len * (self.alpha_ln - d))
            .collect();
        for posting in known {
            for &(l, add) in posting {
                scores[l as usize] += f64::from(add);
            }
        }
        // Naive Bayes counts every word as independent evidence, which makes its probabilities
        // far too sure; tempering by the number of words keeps "confident" meaningful.
        let temper = (len / TEMPER_WORDS).max(1.0);
        let best = scores.iter().copied().fold(f64::MIN, f64::max);
        let exp: Vec<f64> = scores.iter().map(|s| ((s - best) / temper).exp()).collect();
        let sum: f64 = exp.iter().sum();
        let mut ranked: Vec<(usize, f64)> = exp.iter().map(|e| e / sum).enumerate().collect();
        ranked.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
        ranked
            .into_iter()
            .take(n)
            .map(|(l, p)| Suggestion {
                label: self.labels[l].clone(),
                confidence: p,
                by_rule: false,
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn f(words: &str) -> Vec<String> {
        words.split(' ').map(str::to_string).collect()
    }

    #[test]
    fn learns_which_words_go_with_which_label() {
        let mut t = Trainer::default();
        for _ in 0..5 {
            t.add(&f("井盖 破损 小区"), "municipal");
            t.add(&f("噪音 扰民 小区 夜间"), "noise");
            t.add(&f("路灯 不亮 夜间"), "municipal");
        }
        assert_eq!(t.examples(), 15);
        let m = t.build(1.0);
        let top = m.top(&f("小区 井盖 丢失"), 2);
        assert_eq!(top[0].label, "municipal");
        // Two known words: sure, but tempered (naive Bayes alone would say 0.99).
        assert!(
            top[0].confidence > 0.8 && top[0].confidence < 0.99,
            "{top:?}"
        );
        assert!((top.iter().map(|s| s.confidence).sum::<f64>() - 1.0).abs() < 1e-9);
        assert_eq!(m.top(&f("噪音 夜间"), 1)[0].label, "noise");
        // Nothing known: the prior decides, unsure.
        let unsure = m.top(&f("完全 陌生"), 2);
        assert_eq!(unsure[0].label, "municipal");
        assert!(unsure[0].confidence < 0.7, "{unsure:?}");
        assert!(Model::default().top(&f("井盖"), 3).is_empty());
    }
}
