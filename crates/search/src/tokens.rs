//! The two ways case text is cut into terms.
//!
//! - **Words** (jieba, search mode, with a domain dictionary): ranks well, but jieba's segmentation
//!   depends on context — "中关村路灯不亮" cuts as 中关村/路/灯不亮, so "路灯" alone finds nothing.
//! - **Grams**: overlapping pairs of characters, where a run of ASCII letters or digits counts as
//!   one character ("3号楼" → 3号, 号楼; "12345" stays whole). Every word of two or more
//!   characters inside a text is a phrase of its pairs, so no query misses for segmentation.

use std::sync::Arc;

use jieba_rs::{Jieba, TokenizeMode};
use tantivy::tokenizer::{Token, TokenStream, Tokenizer};

/// Words a county's cases use that jieba's general dictionary cuts wrongly (路灯 is 路/灯 in
/// context). The organisation's own names are added when the index opens.
pub const DOMAIN_WORDS: &[&str] = &[
    "接诉即办",
    "12345",
    "路灯",
    "井盖",
    "占道经营",
    "噪音",
    "扰民",
    "违建",
    "违章建筑",
    "私搭乱建",
    "渣土车",
    "垃圾清运",
    "油烟",
    "积水",
    "漏水",
    "停水",
    "停电",
    "供暖",
    "物业",
    "小区",
    "网格员",
    "网格",
    "隐患",
    "欠薪",
    "拖欠工资",
    "电动车",
    "飞线充电",
    "消防通道",
    "化粪池",
    "窨井",
    "污水",
    "氨氮",
    "断面",
    "黄牌",
    "红牌",
    "吹哨",
    "报到",
    "号楼",
    "单元",
];

/// A jieba with the domain words and `extra` (unit names, gazetteer places) added, shared by
/// every tokenizer clone: tantivy clones a field's tokenizer for each segment it writes, and a
/// jieba dictionary is megabytes.
pub fn dictionary<'a>(extra: impl IntoIterator<Item = &'a str>) -> Arc<Jieba> {
    let mut j = Jieba::new();
    for w in DOMAIN_WORDS.iter().copied().chain(extra) {
        let w = w.trim();
        if w.chars().count() >= 2 {
            j.add_word(w, None, None);
        }
    }
    Arc::new(j)
}

/// A term worth indexing: it has a letter or digit (jieba also yields punctuation and spaces).
fn is_term(s: &str) -> bool {
    s.chars().any(char::is_alphanumeric)
}

/// Jieba's search-mode words, ASCII lowercased, punctuation dropped.
#[derive(Clone)]
pub struct WordTokenizer {
    jieba: Arc<Jieba>,
}

impl WordTokenizer {
    pub fn new(jieba: Arc<Jieba>) -> Self {
        WordTokenizer { jieba }
    }

    /// The words of a query: jieba's default mode (one cut, no overlapping sub-words), as terms.
    pub fn query_words(&self, text: &str) -> Vec<String> {
        self.jieba
            .cut(text, true)
            .into_iter()
            .map(|t| t.word)
            .filter(|w| is_term(w))
            .map(str::to_lowercase)
            .collect()
    }
}

pub struct TokenList {
    tokens: Vec<Token>,
    next: usize,
}

impl TokenStream for TokenList {
    fn advance(&mut self) -> bool {
        self.next += 1;
        self.next <= self.tokens.len()
    }
    fn token(&self) -> &Token {
        &self.tokens[self.next - 1]
    }
    fn token_mut(&mut self) -> &mut Token {
        &mut self.tokens[self.next - 1]
    }
}

impl Tokenizer for WordTokenizer {
    type TokenStream<'a> = TokenList;

    fn token_stream<'a>(&'a mut self, text: &'a str) -> TokenList {
        let tokens = self
            .jieba
            .tokenize(text, TokenizeMode::Search, true)
            .into_iter()
            .filter(|t| is_term(t.word))
            .enumerate()
            .map(|(i, t)| Token {
                offset_from: t.byte_start,
                offset_to: t.byte_start + t.word.len(),
                position: i,
                text: t.word.to_lowercase(),
                position_length: 1,
            })
            .collect();
        TokenList { tokens, next: 0 }
    }
}

/// One "character" of the gram cutting: a CJK (or other non-ASCII) letter, or a run of ASCII
/// letters and digits; `joined` is false where punctuation or space came before it.
struct Unit<'a> {
    text: &'a str,
    start: usize,
    joined: bool,
}

fn units(text: &str) -> Vec<Unit<'_>> {
    fn flush<'a>(
        text: &'a str,
        out: &mut Vec<Unit<'a>>,
        from: &mut Option<usize>,
        to: usize,
        joined: &mut bool,
    ) {
        if let Some(s) = from.take() {
            out.push(Unit {
                text: &text[s..to],
                start: s,
                joined: *joined,
            });
            *joined = true;
        }
    }
    let mut out: Vec<Unit<'_>> = Vec::new();
    let mut joined = false;
    let mut ascii_from: Option<usize> = None;
    for (i, c) in text.char_indices() {
        if c.is_ascii_alphanumeric() {
            ascii_from.get_or_insert(i);
            continue;
        }
        flush(text, &mut out, &mut ascii_from, i, &mut joined);
        if c.is_alphanumeric() {
            out.push(Unit {
                text: &text[i..i + c.len_utf8()],
                start: i,
                joined,
            });
            joined = true;
        } else {
            joined = false;
        }
    }
    flush(text, &mut out, &mut ascii_from, text.len(), &mut joined);
    out
}

/// Overlapping pairs of units, each at the position of its first unit. A unit that pairs with
/// nothing (a lone character between punctuation), and every ASCII run, is a term of its own too.
#[derive(Clone, Default)]
pub struct GramTokenizer;

/// The gram terms of `text` with their positions, lowercased.
pub fn grams(text: &str) -> Vec<(usize, String, usize, usize)> {
    let u = units(text);
    let mut out = Vec::with_capacity(u.len() * 2);
    for (i, a) in u.iter().enumerate() {
        let next = u.get(i + 1).filter(|b| b.joined);
        let prev_joined = a.joined && i > 0;
        let ascii = a.text.as_bytes()[0].is_ascii_alphanumeric();
        if ascii || (next.is_none() && !prev_joined) {
            out.push((
                i,
                a.text.to_ascii_lowercase(),
                a.start,
                a.start + a.text.len(),
            ));
        }
        if let Some(b) = next {
            let mut t = String::with_capacity(a.text.len() + b.text.len());
            t.push_str(&a.text.to_ascii_lowercase());
            t.push_str(&b.text.to_ascii_lowercase());
            out.push((i, t, a.start, b.start + b.text.len()));
        }
    }
    out
}

impl Tokenizer for GramTokenizer {
    type TokenStream<'a> = TokenList;

    fn token_stream<'a>(&'a mut self, text: &'a str) -> TokenList {
        let tokens = grams(text)
            .into_iter()
            .map(|(position, text, offset_from, offset_to)| Token {
                offset_from,
                offset_to,
                position,
                text,
                position_length: 1,
            })
            .collect();
        TokenList { tokens, next: 0 }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn g(s: &str) -> Vec<(usize, String)> {
        grams(s).into_iter().map(|(p, t, _, _)| (p, t)).collect()
    }

    #[test]
    fn grams_pair_characters_and_keep_ascii_runs_whole() {
        assert_eq!(
            g("3号楼漏水"),
            vec![
                (0, "3".into()),
                (0, "3号".into()),
                (1, "号楼".into()),
                (2, "楼漏".into()),
                (3, "漏水".into())
            ]
        );
        assert_eq!(
            g("拨打12345"),
            vec![
                (0, "拨打".into()),
                (1, "打12345".into()),
                (2, "12345".into())
            ]
        );
        // Punctuation breaks pairs; a lone character stands as itself.
        assert_eq!(
            g("井，盖 ABC"),
            vec![(0, "井".into()), (1, "盖".into()), (2, "abc".into())]
        );
        assert!(g("，。 ").is_empty());
    }

    #[test]
    fn offsets_point_into_the_text() {
        let s = "小区3号楼";
        for (_, t, a, b) in grams(s) {
            assert_eq!(s[a..b].to_lowercase(), t);
        }
    }
}
