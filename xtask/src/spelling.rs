//! The closest known names to a misspelt one, for errors that say what the
//! user probably meant (`rag_query.latncy` → `rag_query.latency`).

/// Up to `n` of `known`, closest to `typed` first (edit distance, then
/// name order); none further than half the typed name's length, so an
/// unrelated name is never offered as a correction.
pub fn closest<'a>(
    typed: &str,
    known: impl IntoIterator<Item = &'a str>,
    n: usize,
) -> Vec<&'a str> {
    let limit = typed.chars().count().div_ceil(2).max(2);
    let mut scored: Vec<(usize, &str)> = known
        .into_iter()
        .map(|k| (edit_distance(typed, k), k))
        .filter(|(d, _)| *d <= limit)
        .collect();
    scored.sort();
    scored.dedup();
    scored.into_iter().take(n).map(|(_, k)| k).collect()
}

/// Levenshtein distance over characters.
fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut diagonal = row[0];
        row[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let substitute = diagonal + usize::from(ca != *cb);
            diagonal = row[j + 1];
            row[j + 1] = substitute.min(row[j] + 1).min(diagonal + 1);
        }
    }
    row[b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nearest_first_and_nothing_unrelated() {
        assert_eq!(edit_distance("kitten", "sitting"), 3);
        let known = ["rag_query.latency", "rag_query.stage.embed", "embedding"];
        assert_eq!(
            closest("rag_query.latncy", known, 3)[0],
            "rag_query.latency"
        );
        assert!(closest("zzzz", known, 3).is_empty());
    }
}
