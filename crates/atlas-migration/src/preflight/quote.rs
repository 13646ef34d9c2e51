//! Quoting names in findings. Names come from the network (project, cluster and host names
//! in Atlas's reply) or from the caller, so each is cut to a bounded length and escaped, and a
//! list names only its first few entries: a message stays one short line whatever arrives.

/// The longest name quoted in full, in characters.
const MAX_NAME: usize = 64;
/// How many entries of a list are named.
const MAX_LISTED: usize = 5;

/// `name` in double quotes, control characters escaped, cut to [`MAX_NAME`] characters.
pub(super) fn quote(name: &str) -> String {
    let mut cut: String = name.chars().take(MAX_NAME).collect();
    if cut.len() < name.len() {
        cut.push('…');
    }
    format!("{cut:?}")
}

/// The first [`MAX_LISTED`] of `names`, quoted and joined, then how many more there are;
/// `none` when the list is empty.
pub(super) fn quote_list<'a>(names: impl ExactSizeIterator<Item = &'a str>, none: &str) -> String {
    let total = names.len();
    if total == 0 {
        return none.to_owned();
    }
    let mut text = names
        .take(MAX_LISTED)
        .map(quote)
        .collect::<Vec<_>>()
        .join(", ");
    if total > MAX_LISTED {
        text.push_str(&format!(" and {} more", total - MAX_LISTED));
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_escaped_and_cut() {
        assert_eq!(quote("rs0"), "\"rs0\"");
        assert_eq!(quote("a\nb\u{1b}[31m"), "\"a\\nb\\u{1b}[31m\"");
        let long = quote(&"é".repeat(1000));
        assert_eq!(long.chars().count(), MAX_NAME + 3);
        assert!(long.ends_with("…\""));
    }

    #[test]
    fn lists_name_a_few_and_count_the_rest() {
        assert_eq!(quote_list(std::iter::empty::<&str>(), "none"), "none");
        assert_eq!(quote_list(["a", "b"].into_iter(), "none"), "\"a\", \"b\"");
        let many: Vec<String> = (0..1000).map(|i| format!("h{i}")).collect();
        let text = quote_list(many.iter().map(String::as_str), "none");
        assert!(text.ends_with("\"h4\" and 995 more"), "{text}");
    }
}
