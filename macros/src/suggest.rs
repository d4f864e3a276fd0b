//! Did-you-mean: near misses of layer, argument and init names, and the names PyTorch and
//! Keras users reach for, mapped to this DSL's.

/// `` `a`, `b`, `c` ``.
pub fn code_list(names: impl IntoIterator<Item = impl AsRef<str>>) -> String {
    names
        .into_iter()
        .map(|n| format!("`{}`", n.as_ref()))
        .collect::<Vec<_>>()
        .join(", ")
}

pub fn alias(written: &str, aliases: &[(&str, &'static str)]) -> Option<&'static str> {
    let written = normalize(written);
    aliases
        .iter()
        .find(|(alias, _)| normalize(alias) == written)
        .map(|(_, name)| *name)
}

/// Lowercase without underscores, so `MaxPool2d`, `maxpool2d` and `max_pool2d` meet.
fn normalize(name: &str) -> String {
    name.to_lowercase().replace('_', "")
}

/// The candidates close to `written`: those equal up to case and underscores or sharing a
/// prefix with it (`conv` / `conv2d`, `kernel_size` / `kernel`, `xavier` / both Xavier inits),
/// or else the nearest one within an edit distance of a third of its length.
pub fn did_you_mean<'a>(
    written: &str,
    candidates: impl IntoIterator<Item = &'a str>,
) -> Vec<&'a str> {
    let w = normalize(written);
    let scored: Vec<(usize, bool, &str)> = candidates
        .into_iter()
        .map(|candidate| {
            let c = normalize(candidate);
            let prefix = w.len().min(c.len()) >= 2 && (c.starts_with(&w) || w.starts_with(&c));
            (edit_distance(&w, &c), prefix, candidate)
        })
        .collect();
    if let Some(exact) = scored.iter().find(|(d, ..)| *d == 0) {
        return vec![exact.2];
    }
    let prefixed: Vec<&str> = scored
        .iter()
        .filter(|(_, prefix, _)| *prefix)
        .map(|s| s.2)
        .collect();
    if !prefixed.is_empty() {
        return prefixed;
    }
    let near = scored
        .iter()
        .filter(|(d, _, c)| *d <= (normalize(c).chars().count() / 3).max(1));
    near.min_by_key(|(d, ..)| *d)
        .map(|s| s.2)
        .into_iter()
        .collect()
}

/// "did you mean `a`?", "did you mean `a` or `b`?"; `None` without candidates.
pub fn suggestion(candidates: &[&str]) -> Option<String> {
    let (last, rest) = candidates.split_last()?;
    let mut text = String::from("did you mean ");
    if !rest.is_empty() {
        text += &code_list(rest.iter());
        text += " or ";
    }
    Some(format!("{text}`{last}`?"))
}

/// Levenshtein distance (insertions, deletions, substitutions), two rows at a time.
fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut previous: Vec<usize> = (0..=b.len()).collect();
    let mut current = vec![0; b.len() + 1];
    for (i, ca) in a.chars().enumerate() {
        current.clear();
        current.push(i + 1);
        for (j, &cb) in b.iter().enumerate() {
            let substitute = previous
                .get(j)
                .map_or(usize::MAX, |d| d + usize::from(ca != cb));
            let delete = previous.get(j + 1).map_or(usize::MAX, |d| d + 1);
            let insert = current.last().map_or(usize::MAX, |d| d + 1);
            current.push(substitute.min(delete).min(insert));
        }
        std::mem::swap(&mut previous, &mut current);
    }
    previous.last().copied().unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn edit_distances_by_hand() {
        assert_eq!(edit_distance("", ""), 0);
        assert_eq!(edit_distance("abc", ""), 3);
        assert_eq!(edit_distance("", "ab"), 2);
        assert_eq!(edit_distance("kitten", "sitting"), 3);
        assert_eq!(edit_distance("conv2", "conv2d"), 1);
        assert_eq!(edit_distance("flaw", "lawn"), 2);
    }

    #[test]
    fn suggestions() {
        let kinds = || crate::layers::KINDS.iter().map(|k| k.sig.name);
        let none: Vec<&str> = Vec::new();
        assert_eq!(did_you_mean("conv2", kinds()), ["conv2d"]);
        assert_eq!(did_you_mean("Dense", kinds()), ["dense"]);
        assert_eq!(did_you_mean("MaxPool2d", kinds()), ["max_pool2d"]);
        assert_eq!(
            did_you_mean("maxpool", kinds()),
            ["max_pool2d", "max_pool1d"]
        );
        assert_eq!(did_you_mean("flat", kinds()), ["flatten"]);
        assert_eq!(did_you_mean("sigmod", kinds()), ["sigmoid"]);
        assert_eq!(
            did_you_mean("global", kinds()),
            ["global_avg_pool2d", "global_max_pool2d"]
        );
        assert_eq!(did_you_mean("transformer", kinds()), none);
        assert_eq!(
            did_you_mean("kernel_size", ["kernel", "stride"]),
            ["kernel"]
        );
        let inits = crate::bind::INITS.iter().map(|i| i.0);
        assert_eq!(
            did_you_mean("xavier", inits),
            ["xavier_uniform", "xavier_normal"]
        );
        assert_eq!(alias("Linear", crate::check::LAYER_ALIASES), Some("dense"));
        let three = suggestion(&["a", "b", "c"]);
        assert_eq!(three.as_deref(), Some("did you mean `a`, `b` or `c`?"));
        assert_eq!(suggestion(&[]), None);
    }
}
