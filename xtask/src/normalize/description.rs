//! Step 6: descriptions become safe doc comments. `info.description` becomes plain text (its
//! fenced curl example would be compiled as a doctest), and in every description fenced
//! blocks are dropped and indentation removed, since rustdoc runs indented blocks as code.
//! Bare URLs become `<url>` autolinks, which rustdoc accepts without a warning; the
//! `info.termsOfService` URL (which progenitor prints bare) moves into the description.

use serde_json::Value;

use crate::walk;

/// Rewrites `info.description` to plain text and makes every other description doc-safe.
pub fn to_plain_text(doc: &mut Value) {
    walk::for_each_object_mut(doc, &mut |object| {
        if let Some(Value::String(text)) = object.get_mut("description") {
            *text = doc_safe(text);
        }
    });
    let Some(info) = doc.get_mut("info").and_then(Value::as_object_mut) else {
        return;
    };
    let mut description = match info.get("description") {
        Some(Value::String(text)) => plain_text(text),
        _ => String::new(),
    };
    if let Some(Value::String(terms)) = info.remove("termsOfService") {
        description.push_str(&format!("\n\nTerms of service: <{terms}>"));
    }
    info.insert(
        "description".into(),
        Value::String(description.trim().to_string()),
    );
}

/// Wraps every `http(s)://` URL that is not already a link target or autolink in `<…>`.
pub fn autolink_bare_urls(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 8);
    let mut rest = text;
    while let Some(start) = rest.find("http") {
        let (before, candidate) = rest.split_at(start);
        out.push_str(before);
        let is_url = candidate.starts_with("https://") || candidate.starts_with("http://");
        let linked = matches!(before.chars().last(), Some('(' | '<' | '[' | '"' | '`'));
        if !is_url || linked {
            out.push_str("http");
            rest = &candidate[4..];
            continue;
        }
        let end = candidate
            .find(|c: char| c.is_whitespace() || matches!(c, ')' | '>' | '"' | '`'))
            .unwrap_or(candidate.len());
        let url = candidate[..end].trim_end_matches(['.', ',', ';', ':']);
        out.push('<');
        out.push_str(url);
        out.push('>');
        rest = &candidate[url.len()..];
    }
    out.push_str(rest);
    out
}

/// Drops fenced blocks and leading indentation; autolinks bare URLs.
pub fn doc_safe(text: &str) -> String {
    autolink_bare_urls(&drop_fences_and_indentation(text))
}

fn drop_fences_and_indentation(text: &str) -> String {
    let mut out = Vec::new();
    let mut in_fence = false;
    for line in text.lines() {
        let trimmed = line.trim_start();
        if trimmed.starts_with("```") {
            in_fence = !in_fence;
            continue;
        }
        if !in_fence {
            out.push(trimmed.trim_end());
        }
    }
    collapse_blank_lines(&out)
}

/// [`doc_safe`], plus markdown links reduced to their text and emphasis markers removed.
pub fn plain_text(text: &str) -> String {
    let text = doc_safe(text).replace("**", "");
    let mut out = String::with_capacity(text.len());
    let mut rest = text.as_str();
    while let Some(open) = rest.find('[') {
        let after = &rest[open + 1..];
        match after.find("](").and_then(|close| {
            after[close + 2..]
                .find(')')
                .map(|end| (close, close + 2 + end))
        }) {
            Some((close, end)) if !after[..close].contains('[') => {
                out.push_str(&rest[..open]);
                out.push_str(&after[..close]);
                rest = &after[end + 1..];
            }
            _ => {
                out.push_str(&rest[..=open]);
                rest = after;
            }
        }
    }
    out.push_str(rest);
    out
}

fn collapse_blank_lines(lines: &[&str]) -> String {
    let mut out: Vec<&str> = Vec::with_capacity(lines.len());
    for line in lines {
        if line.is_empty() && out.last().is_none_or(|l| l.is_empty()) {
            continue;
        }
        out.push(line);
    }
    while out.last() == Some(&"") {
        out.pop();
    }
    out.join("\n")
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn info_description_loses_its_code_fence_and_links() {
        let mut doc = json!({"info": {"description":
            "The API uses [Digest](https://x.example/d) auth:\n\n```\ncurl --user \"{PUBLIC-KEY}:{PRIVATE-KEY}\" \\\n  --digest\n```\n\nSee **docs**."}});
        to_plain_text(&mut doc);
        assert_eq!(
            doc["info"]["description"],
            "The API uses Digest auth:\n\nSee docs."
        );
    }

    #[test]
    fn indented_lines_cannot_become_doctests() {
        assert_eq!(
            doc_safe("Text:\n\n    let x = 1;\n- item"),
            "Text:\n\nlet x = 1;\n- item"
        );
    }

    #[test]
    fn bare_urls_become_autolinks_and_links_stay() {
        assert_eq!(
            autolink_bare_urls(
                "See https://x.example/a. Or [docs](https://x.example/b) or <http://y.example>."
            ),
            "See <https://x.example/a>. Or [docs](https://x.example/b) or <http://y.example>."
        );
        let mut doc =
            json!({"info": {"description": "API.", "termsOfService": "https://x.example/terms"}});
        to_plain_text(&mut doc);
        assert_eq!(
            doc["info"],
            json!({"description": "API.\n\nTerms of service: <https://x.example/terms>"})
        );
    }

    #[test]
    fn a_property_called_description_is_not_touched() {
        let mut doc =
            json!({"properties": {"description": {"type": "string", "description": "  Why."}}});
        to_plain_text(&mut doc);
        assert_eq!(
            doc["properties"]["description"],
            json!({"type": "string", "description": "Why."})
        );
    }
}
