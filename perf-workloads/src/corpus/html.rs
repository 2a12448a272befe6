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
/// Elements that end a paragraph (a blank line: the splitter's best cut).
const PARAGRAPH: [&str; 12] = [
    "p",
    "h1",
    "h2",
    "h3",
    "h4",
    "h5",
    "h6",
    "pre",
    "section",
    "table",
    "blockquote",
    "article",
];
/// Elements that end a line.
const LINE: [&str; 7] = ["div", "br", "li", "tr", "dt", "dd", "figcaption"];

/// The page's readable text; empty for a redirect stub (a page whose
/// `<meta http-equiv="refresh">` sends the reader elsewhere has no content
/// of its own, and mdBook leaves one behind for every moved chapter).
pub fn html_to_text(html: &str) -> String {
    let doc = Html::parse_document(html);
    let refresh = Selector::parse("meta[http-equiv]").expect("static selector");
    if doc.select(&refresh).any(|m| {
        m.value()
            .attr("http-equiv")
            .is_some_and(|v| v.eq_ignore_ascii_case("refresh"))
    }) {
        return String::new();
    }
    let root = ["main", "article", "body"]
        .iter()
        .find_map(|tag| {
            let sel = Selector::parse(tag).expect("static selector");
            doc.select(&sel).next()
        })
        .unwrap_or_else(|| doc.root_element());
    let mut out = String::new();
    walk(root, false, &mut out);
    normalise_whitespace(&out)
}

/// Appends the text under `el`. Outside `<pre>` a newline in the source is
/// just whitespace (as a browser renders it); only elements break lines.
fn walk(el: ElementRef<'_>, in_pre: bool, out: &mut String) {
    for child in el.children() {
        match child.value() {
            Node::Text(t) if in_pre => out.push_str(t),
            Node::Text(t) => out.extend(t.chars().map(|c| if c == '\n' { ' ' } else { c })),
            Node::Element(e) => {
                let name = e.name();
                if SKIP.contains(&name) {
                    continue;
                }
                if let Some(child_el) = ElementRef::wrap(child) {
                    walk(child_el, in_pre || name == "pre", out);
                }
                if PARAGRAPH.contains(&name) {
                    out.push_str("\n\n");
                } else if LINE.contains(&name) {
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
        assert_eq!(
            text,
            "Ownership\n\nEach value has an owner.\n\nSecond & last."
        );
    }

    #[test]
    fn redirect_stubs_have_no_text() {
        let html = r#"<html><head><meta http-equiv="refresh" content="0; URL=ch20.html"></head>
            <body><p>Redirecting to... <a href="ch20.html">ch20.html</a>.</p></body></html>"#;
        assert_eq!(html_to_text(html), "");
    }

    #[test]
    fn falls_back_to_body() {
        assert_eq!(html_to_text("<body><p>a</p><p>b</p></body>"), "a\n\nb");
    }

    #[test]
    fn pre_keeps_its_lines_and_other_source_newlines_are_spaces() {
        let text = html_to_text("<body><p>one\ntwo</p><pre>fn main() {\n    x();\n}</pre><ul><li>a</li><li>b</li></ul></body>");
        assert_eq!(text, "one two\n\nfn main() {\nx();\n}\n\na\nb");
    }
}
