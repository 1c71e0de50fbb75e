import GRDB

extension Row {
    /// The value of `T` whose raw value `column` holds, for records read by
    /// hand. A value no case has means the row was written by a newer
    /// version or by hand: an error naming the row, never a guess.
    public func decoded<T: RawRepresentable<String>>(_ column: String, of table: String) throws -> T {
        let text: String = self[column]
        guard let value = T(rawValue: text) else {
            let id: DatabaseValue = self["id"]
            throw DatabaseError(message: "\(table) \(String.fromDatabaseValue(id) ?? id.description) has an unknown \(column) '\(text)'")
        }
        return value
    }
}
