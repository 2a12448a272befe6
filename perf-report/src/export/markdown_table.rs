//! GitHub-flavoured markdown tables: header, alignment row, one line per
//! row, cells escaped so a `|` or a newline in data cannot break the table.

/// A table under construction; `right` marks numeric columns.
pub struct MarkdownTable {
    header: Vec<String>,
    right: Vec<bool>,
    rows: Vec<Vec<String>>,
}

impl MarkdownTable {
    /// Columns as `(title, right_aligned)`.
    pub fn new(columns: &[(&str, bool)]) -> MarkdownTable {
        MarkdownTable {
            header: columns.iter().map(|(t, _)| t.to_string()).collect(),
            right: columns.iter().map(|(_, r)| *r).collect(),
            rows: Vec::new(),
        }
    }

    pub fn row(&mut self, cells: Vec<String>) -> &mut Self {
        debug_assert_eq!(cells.len(), self.header.len(), "{cells:?}");
        self.rows.push(cells);
        self
    }

    pub fn is_empty(&self) -> bool {
        self.rows.is_empty()
    }

    pub fn render(&self) -> String {
        let line = |cells: &[String]| {
            let cells: Vec<String> = cells.iter().map(|c| escape(c)).collect();
            format!("| {} |\n", cells.join(" | "))
        };
        let mut out = line(&self.header);
        let rule: Vec<String> = self
            .right
            .iter()
            .map(|&r| if r { "--:" } else { "---" }.to_string())
            .collect();
        out.push_str(&format!("| {} |\n", rule.join(" | ")));
        for r in &self.rows {
            out.push_str(&line(r));
        }
        out
    }
}

/// Keeps a cell from breaking the table: `|` ends a cell and a newline the row.
pub fn escape(cell: &str) -> String {
    cell.replace('|', "\\|").replace('\n', " ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_alignment_and_escapes() {
        let mut t = MarkdownTable::new(&[("name", false), ("n", true)]);
        t.row(vec!["a|b".into(), "3".into()]);
        assert_eq!(t.render(), "| name | n |\n| --- | --: |\n| a\\|b | 3 |\n");
    }
}
