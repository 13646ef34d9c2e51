//! What a crate's public API is, read from the HTML that stable rustdoc writes: the item list
//! (`all.html`), the module pages (submodules and re-exports), and each item's page (its
//! declaration, fields, variants, and the code headers of its impls and their items).
//!
//! The HTML is read as a flat stream of tags; only rustdoc's own markers are looked at
//! (`class="code-header"`, `class="rust item-decl"`, `id="structfield.…"`, section headers),
//! never the prose of a doc comment. What depends on the toolchain rather than on the crate
//! is left out: blanket impls, the methods of a `Deref` target, the provided items a trait
//! impl inherits, and auto traits a stable user cannot name (`Freeze`, …).
//!
//! A trait impl's items are those the impl writes, known by their source links (an item's
//! lines lie within its impl's): its required items and any provided ones it overrides.
//! rustdoc's link from an item to the trait would tell required from provided, but on stable
//! it exists only when the trait's crate was documented before this one (rustdoc looks for
//! its directory), which varies from build to build for traits of other workspace crates.

/// One line of an item page: a signature, with whether it is a method of the item.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Member {
    /// The signature as one line, e.g. `impl Client: pub fn builder() -> ClientBuilder`.
    pub text: String,
    /// Whether this is a method: an inherent method, or a trait's own required or provided
    /// method (a trait impl's items are not counted; the trait's page counts them once).
    pub method: bool,
}

/// An entry of `all.html`: the page's file (relative to the crate's doc directory) and the
/// item's path inside the crate (`journal::Record`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    /// `journal/struct.Record.html`.
    pub href: String,
    /// `journal::Record`.
    pub path: String,
}

impl Entry {
    /// The item's kind as rustdoc names its page: `struct`, `enum`, `fn`, `trait`, `type`, …
    pub fn kind(&self) -> &str {
        let file = self.href.rsplit('/').next().unwrap_or(&self.href);
        file.split('.').next().unwrap_or(file)
    }
}

/// What a module page lists that `all.html` does not: submodules and re-exports.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ModulePage {
    /// `(name, href)` of each public submodule, href relative to the module page.
    pub modules: Vec<(String, String)>,
    /// Each re-export as written, e.g. `pub use httpmock;`.
    pub reexports: Vec<String>,
}

/// The auto traits a stable user can name; rustdoc also lists unstable ones (`Freeze`,
/// `UnsafeUnpin`), which change with the toolchain rather than with the crate.
const STABLE_AUTO_TRAITS: &[&str] = &["Send", "Sync", "Unpin", "UnwindSafe", "RefUnwindSafe"];

/// The entries of a crate's `all.html`.
pub fn all_items(html: &str) -> Vec<Entry> {
    let mut entries = Vec::new();
    let mut in_list = false;
    let mut link: Option<(String, String)> = None;
    for token in Tokens::new(html) {
        match token {
            Token::Start { name: "ul", attrs } => {
                in_list = has_class(attrs, "all-items");
            }
            Token::End("ul") => in_list = false,
            Token::Start { name: "a", attrs } if in_list => {
                link = attr(attrs, "href").map(|href| (decode(href), String::new()));
            }
            Token::Text(text) => {
                if let Some((_, name)) = &mut link {
                    name.push_str(text);
                }
            }
            Token::End("a") => {
                if let Some((href, name)) = link.take() {
                    entries.push(Entry {
                        href,
                        path: normalize(&decode(&name)),
                    });
                }
            }
            _ => {}
        }
    }
    entries
}

/// The submodules and re-exports of a module page (`index.html`).
pub fn module_page(html: &str) -> ModulePage {
    let mut page = ModulePage::default();
    let mut section = String::new();
    let mut capture: Option<Capture> = None;
    let mut in_reexport = false;
    for token in Tokens::new(html) {
        if let Some(open) = &mut capture {
            if open.feed(&token) {
                let text = capture.take().map(Capture::finish).unwrap_or_default();
                match section.as_str() {
                    "modules" => {
                        if let Some((name, _)) = page.modules.last_mut()
                            && name.is_empty()
                        {
                            *name = text;
                        }
                    }
                    _ => page.reexports.push(text),
                }
            }
            continue;
        }
        match token {
            Token::Start { name: "h2", attrs } if has_class(attrs, "section-header") => {
                section = attr(attrs, "id").unwrap_or_default().to_string();
            }
            Token::Start { name: "a", attrs }
                if section == "modules" && has_class(attrs, "mod") =>
            {
                if let Some(href) = attr(attrs, "href") {
                    page.modules.push((String::new(), decode(href)));
                    capture = Some(Capture::new("a"));
                }
            }
            Token::Start { name: "dt", attrs } => {
                in_reexport = attr(attrs, "id").is_some_and(|id| id.starts_with("reexport."));
            }
            Token::Start { name: "code", .. } if in_reexport => {
                in_reexport = false;
                capture = Some(Capture::new("code"));
            }
            _ => {}
        }
    }
    page
}

/// The members of an item page of crate `krate` (`atlas_migration`). `kind` is the page's
/// kind ([`Entry::kind`]): a type alias's page lists the impls of the aliased type, which
/// belong to that type, so only its declaration is kept.
pub fn item_page(html: &str, kind: &str, krate: &str) -> Vec<Member> {
    let mut members = Vec::new();
    let mut section = String::new();
    let mut element_id = String::new();
    let mut element_class = String::new();
    let mut declared = false;
    // The impl whose items follow; `None` outside impls, `Some(None)` in a skipped impl.
    let mut current_impl: Option<Option<String>> = None;
    let mut pending_field: Option<String> = None;
    let mut capture: Option<Capture> = None;
    // The source links of the current `<section>` and of the current impl.
    let mut element_source = String::new();
    let mut impl_source = String::new();
    let local_source = format!("src/{krate}/");

    for token in Tokens::new(html) {
        if let Some(open) = &mut capture {
            if !open.feed(&token) {
                continue;
            }
            let open = capture.take().expect("a capture is open");
            let tag = open.tag;
            let text = open.finish();
            let skipped = skipped_section(&section) || (kind == "type" && declared && tag != "pre");
            match tag {
                "pre" => members.push(Member {
                    text,
                    method: false,
                }),
                _ if skipped => {}
                "h3" if element_class.split(' ').any(|c| c == "impl") => {
                    let keep = section != "synthetic-implementations" || is_stable_auto_impl(&text);
                    if keep {
                        members.push(Member {
                            text: text.clone(),
                            method: false,
                        });
                    }
                    current_impl = Some(keep.then_some(text));
                    impl_source.clone_from(&element_source);
                }
                "h3" if element_class.split(' ').any(|c| c == "variant") => {
                    members.push(Member {
                        text: format!("variant {text}"),
                        method: false,
                    });
                }
                "h4" => {
                    let trait_impl = element_class.split(' ').any(|c| c == "trait-impl");
                    let fn_item =
                        element_id.starts_with("method.") || element_id.starts_with("tymethod.");
                    match &current_impl {
                        Some(Some(header))
                            if !trait_impl
                                || (element_source.contains(&local_source)
                                    && written_within(&element_source, &impl_source)) =>
                        {
                            members.push(Member {
                                text: format!("{header} {{ {text} }}"),
                                method: fn_item && !trait_impl,
                            });
                        }
                        Some(_) => {}
                        None => members.push(Member {
                            text: format!("{section}: {text}"),
                            method: fn_item,
                        }),
                    }
                }
                "code" => {
                    let field = pending_field.take().unwrap_or_default();
                    members.push(Member {
                        text: format!("{field}{text}"),
                        method: false,
                    });
                }
                _ => {}
            }
            continue;
        }
        match token {
            Token::Start { name: "h2", attrs } if has_class(attrs, "section-header") => {
                section = attr(attrs, "id").unwrap_or_default().to_string();
                current_impl = None;
            }
            Token::Start { name: "pre", attrs } if !declared && has_class(attrs, "item-decl") => {
                declared = true;
                capture = Some(Capture::new("pre"));
            }
            Token::Start {
                name: "section",
                attrs,
            } => {
                element_id = attr(attrs, "id").unwrap_or_default().to_string();
                element_class = attr(attrs, "class").unwrap_or_default().to_string();
                element_source.clear();
            }
            Token::Start { name: "a", attrs } if has_class(attrs, "src") => {
                element_source = attr(attrs, "href").unwrap_or_default().to_string();
            }
            Token::Start { name, attrs }
                if (name == "h3" || name == "h4") && has_class(attrs, "code-header") =>
            {
                capture = Some(Capture::new(if name == "h3" { "h3" } else { "h4" }));
            }
            Token::Start {
                name: "span",
                attrs,
            } => {
                pending_field = attr(attrs, "id").and_then(field_prefix);
            }
            Token::Start { name: "code", .. } if pending_field.is_some() => {
                capture = Some(Capture::new("code"));
            }
            _ => {}
        }
    }
    members
}

/// `field ` for `structfield.name`, `variant Foo field ` for `variant.Foo.field.name`.
fn field_prefix(id: &str) -> Option<String> {
    if id.starts_with("structfield.") {
        return Some("field ".to_string());
    }
    let rest = id.strip_prefix("variant.")?;
    let (variant, _) = rest.split_once(".field.")?;
    Some(format!("variant {variant} field "))
}

/// Whether the source link `item` (`../src/k/f.rs.html#12-14`) points within the lines of
/// `container` (`../src/k/f.rs.html#10-20`): an impl's item the impl writes, not one it
/// inherits from the trait. A derive or macro gives both the same lines.
fn written_within(item: &str, container: &str) -> bool {
    fn lines(href: &str) -> Option<(&str, u32, u32)> {
        if href.contains("://") {
            return None;
        }
        let (file, range) = href.rsplit_once('#')?;
        let (first, last) = range.split_once('-').unwrap_or((range, range));
        Some((file, first.parse().ok()?, last.parse().ok()?))
    }
    match (lines(item), lines(container)) {
        (Some((file, first, last)), Some((outer, start, end))) => {
            file == outer && start <= first && last <= end
        }
        _ => false,
    }
}

/// Sections whose contents come from outside the crate or change with the toolchain.
fn skipped_section(section: &str) -> bool {
    section == "blanket-implementations" || section.starts_with("deref-methods")
}

/// `impl Send for X`, `impl<T> !Sync for X<T> where …`: is the trait a stable auto trait?
fn is_stable_auto_impl(header: &str) -> bool {
    let Some(rest) = header.strip_prefix("impl") else {
        return false;
    };
    // Skip the impl's generics, `<…>`, nested ones included.
    let mut depth = 0usize;
    let mut start = 0;
    for (index, c) in rest.char_indices() {
        match c {
            '<' => depth += 1,
            '>' => depth = depth.saturating_sub(1),
            _ if depth == 0 => {
                start = index;
                break;
            }
            _ => {}
        }
    }
    let name = rest[start..].trim_start().trim_start_matches('!');
    let name = name
        .split(|c: char| !(c.is_alphanumeric() || c == '_'))
        .next()
        .unwrap_or_default();
    STABLE_AUTO_TRAITS.contains(&name)
}

/// Collects the text of one element until its end tag, as one normalized line.
struct Capture {
    tag: &'static str,
    text: String,
    /// Inside `<summary class="hideme">` (rustdoc's "Show 12 variants") or a notable-traits
    /// tooltip (`ⓘ`): not code.
    hidden: Option<&'static str>,
}

impl Capture {
    fn new(tag: &'static str) -> Self {
        Self {
            tag,
            text: String::new(),
            hidden: None,
        }
    }

    /// Takes one token; true once the element has ended.
    fn feed(&mut self, token: &Token<'_>) -> bool {
        match *token {
            Token::End(name) if self.hidden == Some(name) => self.hidden = None,
            _ if self.hidden.is_some() => {}
            Token::End(name) if name == self.tag => return true,
            Token::Start {
                name: "summary",
                attrs,
            } if has_class(attrs, "hideme") => self.hidden = Some("summary"),
            Token::Start { name: "a", attrs } if has_class(attrs, "tooltip") => {
                self.hidden = Some("a");
            }
            Token::Text(text) => self.text.push_str(&decode(text)),
            // Block elements (a `where` clause, an attribute line) separate words.
            Token::Start {
                name: "div" | "br", ..
            }
            | Token::End("div") => self.text.push(' '),
            _ => {}
        }
        false
    }

    fn finish(self) -> String {
        normalize(&self.text)
    }
}

/// One line: whitespace collapsed, and the breaks rustdoc puts in long signatures undone
/// (`fn f( a: A, ) -> B` becomes `fn f(a: A) -> B`).
pub fn normalize(text: &str) -> String {
    let mut line = text.split_whitespace().collect::<Vec<_>>().join(" ");
    for (from, to) in [
        (", )", ")"),
        (",)", ")"),
        ("( ", "("),
        (" )", ")"),
        (", >", ">"),
    ] {
        while line.contains(from) {
            line = line.replace(from, to);
        }
    }
    // A `where` clause that ends the line ends with the comma rustdoc puts after each bound.
    if line.ends_with(',') && line.contains(" where ") {
        line.pop();
    }
    line
}

/// Replaces the character references rustdoc writes.
pub fn decode(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(amp) = rest.find('&') {
        out.push_str(&rest[..amp]);
        rest = &rest[amp..];
        let Some(semi) = rest.find(';').filter(|&semi| semi <= 10) else {
            out.push('&');
            rest = &rest[1..];
            continue;
        };
        let name = &rest[1..semi];
        let decoded = match name {
            "lt" => Some('<'),
            "gt" => Some('>'),
            "amp" => Some('&'),
            "quot" => Some('"'),
            "apos" => Some('\''),
            "nbsp" => Some(' '),
            _ => name
                .strip_prefix("#x")
                .or_else(|| name.strip_prefix("#X"))
                .and_then(|hex| u32::from_str_radix(hex, 16).ok())
                .or_else(|| name.strip_prefix('#').and_then(|dec| dec.parse().ok()))
                .and_then(char::from_u32),
        };
        match decoded {
            Some(c) => {
                out.push(c);
                rest = &rest[semi + 1..];
            }
            None => {
                out.push('&');
                rest = &rest[1..];
            }
        }
    }
    out.push_str(rest);
    out
}

/// A piece of HTML: text, a start tag (name and raw attributes) or an end tag.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Token<'a> {
    Text(&'a str),
    Start { name: &'a str, attrs: &'a str },
    End(&'a str),
}

/// The tokens of an HTML document; comments, doctypes and the contents of `<script>` and
/// `<style>` are skipped.
struct Tokens<'a> {
    rest: &'a str,
}

impl<'a> Tokens<'a> {
    fn new(html: &'a str) -> Self {
        Self { rest: html }
    }

    fn skip_past(&mut self, end: &str) {
        self.rest = self
            .rest
            .find(end)
            .map_or("", |index| &self.rest[index + end.len()..]);
    }
}

impl<'a> Iterator for Tokens<'a> {
    type Item = Token<'a>;

    fn next(&mut self) -> Option<Token<'a>> {
        loop {
            if self.rest.is_empty() {
                return None;
            }
            if !self.rest.starts_with('<') {
                let end = self.rest.find('<').unwrap_or(self.rest.len());
                let (text, rest) = self.rest.split_at(end);
                self.rest = rest;
                return Some(Token::Text(text));
            }
            if self.rest.starts_with("<!--") {
                self.skip_past("-->");
                continue;
            }
            if self.rest.starts_with("<!") || self.rest.starts_with("<?") {
                self.skip_past(">");
                continue;
            }
            let end = tag_end(self.rest);
            let tag = &self.rest[1..end];
            self.rest = &self.rest[(end + 1).min(self.rest.len())..];
            if let Some(name) = tag.strip_prefix('/') {
                return Some(Token::End(name.trim()));
            }
            let tag = tag.strip_suffix('/').unwrap_or(tag);
            let split = tag
                .find(|c: char| c.is_ascii_whitespace())
                .unwrap_or(tag.len());
            let (name, attrs) = tag.split_at(split);
            if name == "script" || name == "style" {
                self.skip_past(&format!("</{name}>"));
                continue;
            }
            return Some(Token::Start { name, attrs });
        }
    }
}

/// The index of the `>` that ends the tag starting `html`, outside quoted attribute values.
fn tag_end(html: &str) -> usize {
    let mut quote = None;
    for (index, c) in html.char_indices() {
        match (quote, c) {
            (None, '"' | '\'') => quote = Some(c),
            (Some(open), _) if c == open => quote = None,
            (None, '>') => return index,
            _ => {}
        }
    }
    html.len()
}

/// The raw value of attribute `name` in a start tag's attributes.
fn attr<'a>(attrs: &'a str, name: &str) -> Option<&'a str> {
    let mut rest = attrs.trim_start();
    while !rest.is_empty() {
        let key_end = rest
            .find(|c: char| c == '=' || c.is_ascii_whitespace())
            .unwrap_or(rest.len());
        let key = &rest[..key_end];
        rest = rest[key_end..].trim_start();
        let value = if let Some(after) = rest.strip_prefix('=') {
            let after = after.trim_start();
            let (value, next) = match after.chars().next() {
                Some(q @ ('"' | '\'')) => {
                    let close = after[1..].find(q).map_or(after.len(), |i| i + 1);
                    (&after[1..close], &after[(close + 1).min(after.len())..])
                }
                _ => {
                    let end = after
                        .find(|c: char| c.is_ascii_whitespace())
                        .unwrap_or(after.len());
                    after.split_at(end)
                }
            };
            rest = next.trim_start();
            value
        } else {
            ""
        };
        if key.eq_ignore_ascii_case(name) {
            return Some(value);
        }
    }
    None
}

fn has_class(attrs: &str, class: &str) -> bool {
    attr(attrs, "class").is_some_and(|classes| classes.split_whitespace().any(|c| c == class))
}

#[cfg(test)]
mod tests {
    use super::*;

    const ALL: &str = include_str!("../../tests/fixtures/api/all.html");
    const INDEX: &str = include_str!("../../tests/fixtures/api/index.html");
    const STRUCT: &str = include_str!("../../tests/fixtures/api/struct.Widget.html");
    const ENUM: &str = include_str!("../../tests/fixtures/api/enum.Shape.html");
    const TRAIT: &str = include_str!("../../tests/fixtures/api/trait.Paint.html");
    const ALIAS: &str = include_str!("../../tests/fixtures/api/type.Alias.html");

    fn texts(members: &[Member]) -> Vec<&str> {
        members.iter().map(|m| m.text.as_str()).collect()
    }

    #[test]
    fn all_html_lists_every_item_with_its_page_and_path() {
        let entries = all_items(ALL);
        let listed: Vec<(&str, &str, &str)> = entries
            .iter()
            .map(|e| (e.kind(), e.path.as_str(), e.href.as_str()))
            .collect();
        assert_eq!(
            listed,
            [
                ("struct", "Widget", "struct.Widget.html"),
                ("struct", "shapes::Corner", "shapes/struct.Corner.html"),
                ("enum", "Shape", "enum.Shape.html"),
                ("trait", "Paint", "trait.Paint.html"),
                ("type", "Alias", "type.Alias.html"),
            ]
        );
    }

    #[test]
    fn a_module_page_names_its_submodules_and_reexports() {
        let page = module_page(INDEX);
        assert_eq!(
            page.modules,
            [("shapes".to_string(), "shapes/index.html".to_string())]
        );
        assert_eq!(page.reexports, ["pub use std::fmt::Write;"]);
    }

    #[test]
    fn a_struct_page_gives_declaration_fields_methods_and_required_trait_items() {
        let members = item_page(STRUCT, "struct", "fixture");
        assert_eq!(
            texts(&members),
            [
                "#[non_exhaustive] pub struct Widget<T> { pub name: String, /* private fields */ }",
                "field name: String",
                "impl<T: Clone> Widget<T>",
                "impl<T: Clone> Widget<T> { pub const LIMIT: usize = 3 }",
                "impl<T: Clone> Widget<T> { pub fn new(name: impl Into<String>, value: T) -> Self }",
                "impl<T: Clone> Clone for Widget<T>",
                "impl<T: Clone> Clone for Widget<T> { fn clone(&self) -> Widget<T> }",
                "impl<T> Deref for Widget<T>",
                "impl<T> Deref for Widget<T> { type Target = String }",
                "impl<T> Deref for Widget<T> { fn deref(&self) -> &String }",
                "impl<T> Iterator for Widget<T>",
                "impl<T> Iterator for Widget<T> { type Item = T }",
                "impl<T> Iterator for Widget<T> { fn next(&mut self) -> Option<T> }",
                "impl Paint for Widget<String>",
                "impl Paint for Widget<String> { fn paint(&self, _colour: &str) -> bool }",
                "impl<T> !RefUnwindSafe for Widget<T>",
                "impl<T> Send for Widget<T> where T: Send",
                "impl<T> !Sync for Widget<T>",
                "impl<T> Unpin for Widget<T> where T: Unpin",
                "impl<T> UnwindSafe for Widget<T> where T: UnwindSafe",
            ]
        );
        let methods: Vec<&str> = members
            .iter()
            .filter(|m| m.method)
            .map(|m| m.text.as_str())
            .collect();
        assert_eq!(methods.len(), 1, "{methods:?}");
    }

    #[test]
    fn trait_impl_items_do_not_depend_on_links_to_the_trait() {
        // Without the trait's docs, rustdoc links neither the trait nor its items.
        let unlinked = STRUCT.replace("href=\"https://doc.rust-lang.org/std/x.html#", "data-x=\"");
        assert_ne!(unlinked, STRUCT);
        assert_eq!(
            item_page(&unlinked, "struct", "fixture"),
            item_page(STRUCT, "struct", "fixture")
        );
    }

    #[test]
    fn an_enum_page_gives_its_variants_and_their_fields() {
        let members = item_page(ENUM, "enum", "fixture");
        assert_eq!(
            texts(&members),
            [
                "pub enum Shape { Round(f64), Square { side: f64, }, }",
                "variant Round(f64)",
                "variant Square",
                "variant Square field side: f64",
                "impl RefUnwindSafe for Shape",
                "impl Send for Shape",
                "impl Sync for Shape",
                "impl Unpin for Shape",
                "impl UnwindSafe for Shape",
            ]
        );
    }

    #[test]
    fn a_trait_page_gives_required_and_provided_methods_and_implementors() {
        let members = item_page(TRAIT, "trait", "fixture");
        assert_eq!(
            texts(&members),
            [
                "pub trait Paint { // Required method fn paint(&self, colour: &str) -> bool; // Provided method fn repaint(&self) -> bool { ... } }",
                "required-methods: fn paint(&self, colour: &str) -> bool",
                "provided-methods: fn repaint(&self) -> bool",
                "impl Paint for Widget<String>",
            ]
        );
        assert_eq!(members.iter().filter(|m| m.method).count(), 2);
    }

    #[test]
    fn a_type_alias_keeps_only_its_declaration() {
        assert_eq!(
            texts(&item_page(ALIAS, "type", "fixture")),
            ["pub type Alias = Widget<u8>;"]
        );
    }

    #[test]
    fn signatures_are_decoded_and_folded_onto_one_line() {
        assert_eq!(
            decode("&lt;&amp;&gt; &#39;a&#x27; &quot;&nbsp;&bogus; &"),
            "<&> 'a' \" &bogus; &"
        );
        assert_eq!(
            normalize("pub fn f(\n    a: A,\n    b: B,\n) -> X"),
            "pub fn f(a: A, b: B) -> X"
        );
    }

    #[test]
    fn an_impl_item_is_written_by_the_impl_when_its_lines_are_the_impls() {
        let impl_lines = "../src/k/lib.rs.html#61-65";
        assert!(written_within("../src/k/lib.rs.html#62-64", impl_lines));
        assert!(written_within("../src/k/lib.rs.html#61", impl_lines));
        assert!(!written_within("../src/k/lib.rs.html#56-58", impl_lines));
        assert!(!written_within("../src/k/other.rs.html#62", impl_lines));
        assert!(!written_within(
            "https://doc.rust-lang.org/src/core/clone.rs.html#62",
            impl_lines
        ));
        assert!(written_within(
            "../src/k/lib.rs.html#9",
            "../src/k/lib.rs.html#9"
        ));
    }

    #[test]
    fn auto_traits_a_stable_user_cannot_name_are_left_out() {
        assert!(is_stable_auto_impl("impl Send for X"));
        assert!(is_stable_auto_impl("impl<T: Ord<U>> !Sync for X<T>"));
        assert!(!is_stable_auto_impl("impl Freeze for X"));
        assert!(!is_stable_auto_impl("impl UnsafeUnpin for X"));
    }

    #[test]
    fn attributes_are_read_with_either_quote_and_script_is_skipped() {
        let tokens: Vec<Token<'_>> = Tokens::new(
            "<script>x = \"<a href='no'>\";</script><a class='x y' href=\"p.html\">t</a>",
        )
        .collect();
        assert_eq!(tokens.len(), 3, "{tokens:?}");
        let Token::Start { attrs, .. } = tokens[0] else {
            panic!("{tokens:?}")
        };
        assert!(has_class(attrs, "y"));
        assert_eq!(attr(attrs, "href"), Some("p.html"));
    }
}
