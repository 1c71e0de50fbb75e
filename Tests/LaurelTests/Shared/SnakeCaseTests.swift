import CatalogService
import GRDB
import LaurelShared
import MembersService
import RedemptionService
import Testing

/// Records map properties to columns through `SnakeCase`, in place of GRDB's
/// own conversion; every column of every table must survive the round trip.
@Suite struct SnakeCaseTests {
    @Test func convertsLikeJSONEncoder() {
        #expect(SnakeCase.snakeCased("lifetimeEarned") == "lifetime_earned")
        #expect(SnakeCase.snakeCased("id") == "id")
        #expect(SnakeCase.snakeCased("myURLValue") == "my_url_value")
        #expect(SnakeCase.snakeCased("memberID") == "member_id")
        #expect(SnakeCase.snakeCased("within30Days") == "within30_days")
        #expect(SnakeCase.camelCased("lifetime_earned") == "lifetimeEarned")
        #expect(SnakeCase.camelCased("within30_days") == "within30Days")
    }

    @Test func everyColumnOfEveryTableRoundTrips() throws {
        let writers: [any DatabaseWriter] = try [
            MembersDatabase.inMemory().writer, CatalogDatabase.inMemory().writer, RedemptionDatabase.inMemory().writer,
        ]
        var checked = 0
        for writer in writers {
            try writer.read { db in
                let tables = try String.fetchAll(db, sql: "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' AND name NOT LIKE 'grdb_%'")
                for table in tables {
                    for column in try db.columns(in: table) {
                        #expect(SnakeCase.snakeCased(SnakeCase.camelCased(column.name)) == column.name, "\(table).\(column.name)")
                        checked += 1
                    }
                }
            }
        }
        #expect(checked > 100)
    }
}
