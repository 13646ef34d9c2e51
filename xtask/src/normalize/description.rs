//! Step 6: descriptions become safe doc comments. `info.description` becomes plain text (its
//! fenced curl example would be compiled as a doctest), and in every description fenced
//! blocks are dropped and indentation removed, since rustdoc runs indented blocks as code.

use serde_json::Value;

use crate::walk;

/// Rewrites `info.description` to plain text and makes every other description doc-safe.
pub fn to_plain_text(doc: &mut Value) {
    walk::for_each_object_mut(doc, &mut |object| {
        if let Some(Value::String(text)) = object.get_mut("description") {
            *text = doc_safe(text);
        }
    });
    if let Some(Value::String(text)) = doc.pointer_mut("/info/description") {
        *text = plain_text(text);
    }
}

/// Drops fenced blocks and leading indentation.
pub fn doc_safe(text: &str) -> String {
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
