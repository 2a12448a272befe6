//! HTML to plain text with a real HTML5 parser (html5ever, via scraper).
//!
//! Only the page's main content is kept when it has one (`<main>`, else
//! `<article>`, else `<body>`): navigation sidebars repeat on every page of a
//! generated book and would otherwise dominate retrieval.

use scraper::{ElementRef, Html, Node, Selector};

/// Elements whose text is never content.
const SKIP: [&str; 7] = [
    "script", "style", "nav", "noscript", "template", "head", "button",
];
/// Elements that end a line of text.
const BLOCK: [&str; 16] = [
    "p",
    "div",
    "br",
    "li",
    "h1",
    "h2",
    "h3",
    "h4",
    "h5",
    "h6",
    "pre",
    "tr",
    "section",
    "table",
    "blockquote",
    "dt",
];

pub fn html_to_text(html: &str) -> String {
    let doc = Html::parse_document(html);
    let root = ["main", "article", "body"]
        .iter()
        .find_map(|tag| {
            let sel = Selector::parse(tag).expect("static selector");
            doc.select(&sel).next()
        })
        .unwrap_or_else(|| doc.root_element());
    let mut out = String::new();
    walk(root, &mut out);
    normalise_whitespace(&out)
}

fn walk(el: ElementRef<'_>, out: &mut String) {
    for child in el.children() {
        match child.value() {
            Node::Text(t) => out.push_str(t),
            Node::Element(e) => {
                let name = e.name();
                if SKIP.contains(&name) {
                    continue;
                }
                if let Some(child_el) = ElementRef::wrap(child) {
                    walk(child_el, out);
                }
                if BLOCK.contains(&name) {
                    out.push('\n');
                }
            }
            _ => {}
        }
    }
}

/// Collapses runs of spaces inside lines and runs of blank lines, keeping
/// paragraph breaks (the text splitter uses them as split points).
fn normalise_whitespace(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut blank_run = 0;
    for line in text.lines() {
        let line = line.split_whitespace().collect::<Vec<_>>().join(" ");
        if line.is_empty() {
            blank_run += 1;
            continue;
        }
        if !out.is_empty() {
            out.push_str(if blank_run > 0 { "\n\n" } else { "\n" });
        }
        out.push_str(&line);
        blank_run = 0;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_main_content_and_drops_scripts_and_navigation() {
        let html = r#"<html><head><title>T</title><style>p{}</style></head><body>
            <nav>Chapter list</nav>
            <main><h1>Ownership</h1><p>Each value has an   <code>owner</code>.</p>
            <script>alert(1)</script><p>Second &amp; last.</p></main></body></html>"#;
        let text = html_to_text(html);
        assert_eq!(text, "Ownership\nEach value has an owner.\nSecond & last.");
    }

    #[test]
    fn falls_back_to_body() {
        assert_eq!(html_to_text("<body><p>a</p><p>b</p></body>"), "a\nb");
    }
}
