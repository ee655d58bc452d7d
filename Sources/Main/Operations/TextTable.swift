/// A plain-text table with aligned columns, as `ps` and `docker ps` print them: a header
/// row, then one line per row, columns separated by two spaces. Numbers align right.
struct TextTable {
    struct Column {
        var title: String
        var alignRight = false
        /// Cells longer than this are cut with "…" (nil: never).
        var maxWidth: Int?
    }

    var columns: [Column]
    private(set) var rows: [[String]] = []

    init(_ columns: [Column]) { self.columns = columns }

    mutating func add(_ cells: [String]) {
        rows.append(
            cells.enumerated().map { index, cell in
                let flat = cell.replacingOccurrences(of: "\n", with: " ")
                guard index < columns.count, let limit = columns[index].maxWidth else { return flat }
                return TextTable.truncate(flat, to: limit)
            })
    }

    /// The table as lines; trailing spaces trimmed. An empty last column adds no padding.
    func render() -> String {
        var widths = columns.map(\.title.count)
        for row in rows {
            for (index, cell) in row.enumerated() where index < widths.count {
                widths[index] = max(widths[index], cell.count)
            }
        }
        func line(_ cells: [String]) -> String {
            var parts: [String] = []
            for (index, column) in columns.enumerated() {
                let cell = index < cells.count ? cells[index] : ""
                let padding = String(repeating: " ", count: max(widths[index] - cell.count, 0))
                parts.append(column.alignRight ? padding + cell : cell + padding)
            }
            var text = parts.joined(separator: "  ")
            while text.last == " " { text.removeLast() }
            return text
        }
        return ([line(columns.map(\.title))] + rows.map(line)).joined(separator: "\n")
    }

    /// Cuts `text` to `limit` characters, ending with "…" when something was cut.
    static func truncate(_ text: String, to limit: Int) -> String {
        guard text.count > limit else { return text }
        guard limit > 1 else { return String(text.prefix(limit)) }
        return String(text.prefix(limit - 1)) + "…"
    }
}
