//! Snippets: a short window of a case's text around the first match, HTML-escaped, with every
//! occurrence of the query's terms inside `<mark>`.

/// Characters of context shown before the first match.
const LEAD: usize = 20;

fn escape(s: &str, out: &mut String) {
    for c in s.chars() {
        match c {
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '&' => out.push_str("&amp;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            '\n' | '\r' | '\t' => out.push(' '),
            c => out.push(c),
        }
    }
}

/// Byte ranges of `terms` in `text`, case-insensitive for ASCII, longest first where they
/// overlap; `terms` is ordered longest first.
fn matches(text: &str, terms: &[String]) -> Vec<(usize, usize)> {
    let lower = text.to_ascii_lowercase();
    let mut ranges: Vec<(usize, usize)> = Vec::new();
    for t in terms {
        let t = t.to_ascii_lowercase();
        if t.is_empty() {
            continue;
        }
        for (at, _) in lower.match_indices(t.as_str()) {
            let r = (at, at + t.len());
            if !ranges.iter().any(|&(a, b)| r.0 < b && a < r.1) {
                ranges.push(r);
            }
        }
    }
    ranges.sort_unstable();
    ranges
}

/// The first of `texts` that contains a term, cut to about `width` characters around its first
/// match, with matches marked. With no match anywhere, the start of the first text.
pub fn snippet(texts: &[&str], terms: &[String], width: usize) -> String {
    let (text, ranges) = texts
        .iter()
        .map(|t| (*t, matches(t, terms)))
        .find(|(_, r)| !r.is_empty())
        .unwrap_or_else(|| (texts.first().copied().unwrap_or(""), Vec::new()));
    let first = ranges.first().map(|r| r.0).unwrap_or(0);
    // Start LEAD characters before the first match, on a character boundary.
    let start = text[..first]
        .char_indices()
        .rev()
        .nth(LEAD.saturating_sub(1))
        .map(|(i, _)| i)
        .unwrap_or(0);
    let end = text[start..]
        .char_indices()
        .nth(width)
        .map(|(i, _)| start + i)
        .unwrap_or(text.len());
    let mut out = String::with_capacity((end - start) * 2);
    if start > 0 {
        out.push('…');
    }
    let mut at = start;
    for &(a, b) in &ranges {
        if a < at || b > end {
            continue;
        }
        escape(&text[at..a], &mut out);
        out.push_str("<mark>");
        escape(&text[a..b], &mut out);
        out.push_str("</mark>");
        at = b;
    }
    escape(&text[at..end], &mut out);
    if end < text.len() {
        out.push('…');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn marks_terms_escapes_and_cuts() {
        let terms = vec!["井盖".to_string()];
        assert_eq!(
            snippet(&["标题", "小区门口井盖破损<危险>"], &terms, 40),
            "小区门口<mark>井盖</mark>破损&lt;危险&gt;"
        );
        let long = format!("{}路灯不亮{}", "甲".repeat(50), "乙".repeat(50));
        let s = snippet(&[&long], &["路灯".to_string()], 30);
        assert!(s.starts_with('…') && s.ends_with('…'), "{s}");
        assert!(s.contains("<mark>路灯</mark>"), "{s}");
        assert_eq!(s.chars().filter(|c| *c == '甲').count(), 20);
        // No match: the beginning of the first text.
        assert_eq!(snippet(&["无关", "x"], &terms, 10), "无关");
        // ASCII terms match regardless of case; overlapping terms mark once.
        let t = vec!["abc".to_string(), "bc".to_string()];
        assert_eq!(snippet(&["xABCx"], &t, 10), "x<mark>ABC</mark>x");
    }
}
