/// Rows of text in aligned columns under a header line, for command-line
/// tools whose output people read and sometimes cut with awk.
public struct TextTable: Sendable {
    public enum Alignment: Sendable {
        case left
        /// For numbers, so that their digits line up.
        case right
    }

    public struct Column: Sendable, ExpressibleByStringLiteral {
        public var title: String
        public var alignment: Alignment

        public init(_ title: String, _ alignment: Alignment = .left) {
            self.title = title
            self.alignment = alignment
        }

        public init(stringLiteral title: String) {
            self.init(title)
        }
    }

    public let columns: [Column]
    /// A table without a header line is a list of "name  value" pairs.
    public let showsHeader: Bool
    public private(set) var rows: [[String]] = []

    public init(_ columns: [Column], showsHeader: Bool = true) {
        self.columns = columns
        self.showsHeader = showsHeader
    }

    /// Missing cells are empty and extra cells are dropped, so a row can
    /// never shift the columns after it.
    public mutating func append(_ cells: [String]) {
        rows.append((0..<columns.count).map { $0 < cells.count ? Self.singleLine(cells[$0]) : "" })
    }

    /// Every line ends with a newline; nothing is printed for a table without
    /// header and rows.
    public func render(gap: Int = 2) -> String {
        let lines = (showsHeader ? [columns.map(\.title)] : []) + rows
        let widths = columns.indices.map { column in lines.map { $0[column].count }.max() ?? 0 }
        var text = ""
        for line in lines {
            var rendered = ""
            for (index, cell) in line.enumerated() {
                let padding = String(repeating: " ", count: widths[index] - cell.count)
                if index > 0 { rendered += String(repeating: " ", count: gap) }
                rendered += columns[index].alignment == .right ? padding + cell : cell + padding
            }
            while rendered.last == " " { rendered.removeLast() }
            text += rendered + "\n"
        }
        return text
    }

    /// A value with a line break or tab would break the grid.
    private static func singleLine(_ cell: String) -> String {
        String(cell.map { $0.isNewline || $0 == "\t" ? " " : $0 })
    }
}
