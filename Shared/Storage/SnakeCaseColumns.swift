import GRDB

/// Records whose Swift properties are camelCase and whose columns are
/// snake_case, as every Laurel table is.
public protocol SnakeCaseColumns {}

extension SnakeCaseColumns where Self: FetchableRecord {
    public static var databaseColumnDecodingStrategy: DatabaseColumnDecodingStrategy { .convertFromSnakeCase }
}

extension SnakeCaseColumns where Self: EncodableRecord {
    public static var databaseColumnEncodingStrategy: DatabaseColumnEncodingStrategy { .convertToSnakeCase }
}
