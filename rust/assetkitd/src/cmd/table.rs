//! The tables the list commands print for people (`assets list`, `keys list`, `users list`,
//! `webhooks list`, `webhooks dead`): each column as wide as its widest cell, the header aligned
//! as its cells are (numbers to the right, text to the left), and a cell longer than its
//! column's bound cut at a word boundary with an ellipsis, so one long value never pushes the
//! columns after it out of line. `--json` is the place for whole values.

use crate::out;

/// How a column's cells sit.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Align {
    /// Text.
    Left,
    /// Numbers.
    Right,
}

/// One column: its header, alignment and the most characters a cell shows.
#[derive(Clone, Copy, Debug)]
pub struct Column {
    /// The header, in capitals.
    pub name: &'static str,
    /// Where its cells sit.
    pub align: Align,
    /// Cells longer than this are cut (with "…") at a word boundary.
    pub max: usize,
}

impl Column {
    /// A text column of at most `max` characters.
    pub const fn text(name: &'static str, max: usize) -> Column {
        Column { name, align: Align::Left, max }
    }
    /// A number column.
    pub const fn number(name: &'static str) -> Column {
        Column { name, align: Align::Right, max: 20 }
    }
}

/// Rows under their columns, printed together once the widths are known.
#[derive(Debug)]
pub struct Table {
    columns: Vec<Column>,
    rows: Vec<Vec<String>>,
}

impl Table {
    /// An empty table with these columns.
    pub fn new(columns: &[Column]) -> Table {
        Table { columns: columns.to_vec(), rows: Vec::new() }
    }

    /// Adds a row; its cells are cut to their columns' bounds here.
    pub fn row(&mut self, cells: impl IntoIterator<Item = String>) {
        let cells = cells.into_iter().zip(&self.columns).map(|(cell, column)| clip(&cell, column.max)).collect();
        self.rows.push(cells);
    }

    /// The lines of the table: the header, then the rows.
    pub fn lines(&self) -> Vec<String> {
        let widths: Vec<usize> = self
            .columns
            .iter()
            .enumerate()
            .map(|(i, c)| {
                let widest = self.rows.iter().filter_map(|r| r.get(i)).map(|s| s.chars().count()).max();
                widest.unwrap_or(0).max(c.name.chars().count())
            })
            .collect();
        let header: Vec<String> = self.columns.iter().map(|c| c.name.to_owned()).collect();
        std::iter::once(&header).chain(&self.rows).map(|cells| self.line(cells, &widths)).collect()
    }

    fn line(&self, cells: &[String], widths: &[usize]) -> String {
        let last = self.columns.len().saturating_sub(1);
        let mut line = String::new();
        for (i, (column, width)) in self.columns.iter().zip(widths).enumerate() {
            let cell = cells.get(i).map_or("", String::as_str);
            let pad = width.saturating_sub(cell.chars().count());
            if i > 0 {
                line.push_str("  ");
            }
            match column.align {
                Align::Right => {
                    line.push_str(&" ".repeat(pad));
                    line.push_str(cell);
                }
                Align::Left if i == last => line.push_str(cell),
                Align::Left => {
                    line.push_str(cell);
                    line.push_str(&" ".repeat(pad));
                }
            }
        }
        line
    }

    /// Prints the table on stdout.
    pub fn print(&self) {
        for line in self.lines() {
            out!("{line}");
        }
    }
}

/// `text` in at most `max` characters: whole if it fits, else cut after the last space or
/// comma that keeps at least half of it (a word boundary), else mid-word, and "…" appended.
pub fn clip(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        return text.to_owned();
    }
    let keep: String = text.chars().take(max.saturating_sub(1)).collect();
    let at_word = keep
        .char_indices()
        .filter(|(_, c)| *c == ' ' || *c == ',')
        .map(|(i, _)| i)
        .rfind(|i| keep[..*i].chars().count() * 2 >= max);
    let kept = at_word.map_or(keep.as_str(), |i| &keep[..i]).trim_end();
    format!("{kept}…")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn headers_sit_over_their_cells_and_long_cells_are_cut_at_a_word() {
        let mut t = Table::new(&[Column::number("ID"), Column::text("FILTERS", 20), Column::number("DEAD")]);
        t.row(["1".to_owned(), "disk.*,memory_module.*,host.offline idc=dc1".to_owned(), "0".to_owned()]);
        t.row(["12".to_owned(), "all events".to_owned(), "3".to_owned()]);
        assert_eq!(
            t.lines(),
            [
                "ID  FILTERS               DEAD", //
                " 1  disk.*,memory_modul…     0",
                "12  all events               3",
            ]
        );
        assert_eq!(clip("abcdefghijklmnop", 8), "abcdefg…");
        assert_eq!(clip("short", 8), "short");
        assert_eq!(clip("a slot, a bay, a serial", 12), "a slot, a…");
    }
}
