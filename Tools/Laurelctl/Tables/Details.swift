import LaurelShared

extension TextTable {
    /// One resource as "field  value" lines: a single record reads better
    /// down the page than as one very wide row.
    static func details(_ rows: [(String, String)]) -> TextTable {
        var table = TextTable(["FIELD", "VALUE"], showsHeader: false)
        for (field, value) in rows { table.append([field, value]) }
        return table
    }
}
