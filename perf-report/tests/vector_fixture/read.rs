//! Reading a rendered report back: a heading's part of the markdown, a
//! table's cells, an SVG's text, and whether an SVG is well-formed XML.

/// The markdown after the heading `start` up to the next heading of its
/// level or higher.
pub fn part<'a>(md: &'a str, start: &str) -> &'a str {
    let at = md
        .find(start)
        .unwrap_or_else(|| panic!("no `{start}` in\n{md}"));
    let rest = &md[at + start.len()..];
    let level = start.chars().take_while(|&c| c == '#').count();
    let end = (1..=level)
        .filter_map(|l| rest.find(&format!("\n{} ", "#".repeat(l))))
        .min()
        .unwrap_or(rest.len());
    &rest[..end]
}

/// The rows of the first markdown table in `text` whose header starts
/// with `header`, split into trimmed cells.
pub fn table(text: &str, header: &str) -> Vec<Vec<String>> {
    let lines: Vec<&str> = text.lines().collect();
    let at = lines
        .iter()
        .position(|l| l.starts_with(header))
        .unwrap_or_else(|| panic!("no table `{header}` in\n{text}"));
    lines[at + 2..]
        .iter()
        .take_while(|l| l.starts_with('|'))
        .map(|l| {
            l.trim_matches('|')
                .split(" | ")
                .map(|c| c.trim().to_string())
                .collect()
        })
        .collect()
}

/// The trimmed text of every `<text>` element.
pub fn texts(svg: &str) -> Vec<String> {
    svg.split("<text")
        .skip(1)
        .filter_map(|t| {
            let body = &t[t.find('>')? + 1..];
            Some(body[..body.find("</text>")?].trim().to_string())
        })
        .collect()
}

/// Well-formed XML, checked by hand (no parser among the dependencies):
/// tags nest and close, attributes are quoted, text holds no bare `<` or
/// stray `&`.
pub fn assert_well_formed(path: &str, svg: &str) {
    let mut open: Vec<&str> = Vec::new();
    let mut rest = svg;
    let mut roots = 0;
    while let Some(lt) = rest.find('<') {
        let text = &rest[..lt];
        for (i, _) in text.match_indices('&') {
            let entity = &text[i..];
            let ok = ["&amp;", "&lt;", "&gt;", "&quot;", "&apos;", "&#"]
                .iter()
                .any(|e| entity.starts_with(e));
            assert!(ok, "{path}: bare & in {text:?}");
        }
        let gt = rest[lt..]
            .find('>')
            .unwrap_or_else(|| panic!("{path}: unclosed tag"))
            + lt;
        let tag = &rest[lt + 1..gt];
        rest = &rest[gt + 1..];
        if tag.starts_with('?') || tag.starts_with('!') {
            continue;
        }
        if let Some(name) = tag.strip_prefix('/') {
            let top = open
                .pop()
                .unwrap_or_else(|| panic!("{path}: stray </{name}>"));
            assert_eq!(top, name.trim(), "{path}: </{name}> closes <{top}>");
            continue;
        }
        let self_closing = tag.ends_with('/');
        let body = tag.trim_end_matches('/');
        let name = body.split_whitespace().next().unwrap_or_default();
        assert!(
            !name.is_empty() && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '-'),
            "{path}: bad tag <{tag}>"
        );
        assert_eq!(
            body.matches('"').count() % 2,
            0,
            "{path}: unbalanced quotes in <{tag}>"
        );
        for attr in body[name.len()..].split('"').step_by(2) {
            let attr = attr.trim();
            assert!(
                attr.is_empty() || attr.ends_with('='),
                "{path}: unquoted attribute in <{tag}>"
            );
        }
        if open.is_empty() {
            roots += 1;
        }
        if !self_closing {
            open.push(name);
        }
    }
    assert!(open.is_empty(), "{path}: unclosed {open:?}");
    assert_eq!(roots, 1, "{path}: one root element");
    assert!(svg.trim_start().starts_with("<svg"), "{path}");
}
