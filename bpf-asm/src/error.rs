//! Errors with a position, and "did you mean" suggestions.

use std::fmt;

use crate::check::Check;

/// One error at a position: a `proc_macro2::Span` in the macro, a
/// [`Pos`](crate::Pos) in the runtime assembler.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Error<S> {
    /// Where.
    pub(crate) span: S,
    /// What is wrong and what would be accepted.
    pub(crate) message: String,
    /// The named check that found it (`None`: syntax and encoding).
    pub(crate) check: Option<Check>,
}

impl<S> Error<S> {
    /// An error at `span`.
    pub(crate) fn new(span: S, message: impl Into<String>) -> Self {
        Error {
            span,
            message: message.into(),
            check: None,
        }
    }
}

impl<S> fmt::Display for Error<S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

/// The candidates closest to `word` by edit distance (at most a third of
/// its length, at least 1), best first, at most `max`.
pub(crate) fn nearest<'c>(
    word: &str,
    candidates: impl IntoIterator<Item = &'c str>,
    max: usize,
) -> Vec<&'c str> {
    // Long words are not misspelt names; bound the work on hostile input.
    let len = word.chars().count();
    if len > 64 {
        return Vec::new();
    }
    let limit = (len / 3).max(1);
    let mut scored: Vec<(usize, &str)> = candidates
        .into_iter()
        .filter(|c| c.len().abs_diff(word.len()) <= limit)
        .map(|c| (distance(word, c), c))
        .filter(|&(d, _)| d <= limit)
        .collect();
    scored.sort_unstable();
    scored.dedup_by(|a, b| a.1 == b.1);
    scored.into_iter().take(max).map(|(_, c)| c).collect()
}

/// " (did you mean `a` or `b`?)", or "" when nothing is close.
pub(crate) fn did_you_mean(near: &[&str]) -> String {
    match near {
        [] => String::new(),
        [one] => format!("; did you mean `{one}`?"),
        many => {
            let list: Vec<String> = many.iter().map(|n| format!("`{n}`")).collect();
            format!("; did you mean one of {}?", list.join(", "))
        }
    }
}

/// Edit distance counting a swap of neighbours as one edit (optimal string
/// alignment), so `mvo` is one edit from `mov`.
fn distance(a: &str, b: &str) -> usize {
    let a: Vec<char> = a.chars().collect();
    let b: Vec<char> = b.chars().collect();
    let w = b.len() + 1;
    let mut d = vec![0usize; (a.len() + 1) * w];
    for (j, cell) in d.iter_mut().take(w).enumerate() {
        *cell = j;
    }
    for i in 0..=a.len() {
        d[i * w] = i;
    }
    for i in 1..=a.len() {
        for j in 1..=b.len() {
            let cost = usize::from(a[i - 1] != b[j - 1]);
            let mut v = (d[(i - 1) * w + j] + 1)
                .min(d[i * w + j - 1] + 1)
                .min(d[(i - 1) * w + j - 1] + cost);
            if i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] {
                v = v.min(d[(i - 2) * w + j - 2] + 1);
            }
            d[i * w + j] = v;
        }
    }
    d[a.len() * w + b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn suggests_close_names() {
        assert_eq!(nearest("mvo", ["mov", "movsx8", "exit"], 3), ["mov"]);
        assert_eq!(nearest("exti", ["exit", "ja"], 3), ["exit"]);
        assert!(nearest("zzzz", ["exit"], 3).is_empty());
    }
}
