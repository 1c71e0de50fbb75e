import GRDB
import GRDBSQLite
import LaurelShared
import Testing

/// SQLite's process-wide settings are made before the first connection opens,
/// which holds only as long as every connection, tests' included, is opened
/// through `DatabaseBootstrap`.
@Suite struct SQLiteSettingsTests {
    @Test func sqliteKeepsNoMemoryStatistics() throws {
        let database = try DatabaseBootstrap.inMemory()
        try database.write { db in
            try db.execute(sql: "CREATE TABLE t (body BLOB NOT NULL)")
            try db.execute(sql: "INSERT INTO t VALUES (randomblob(100000))")
        }
        #expect(DatabaseBootstrap.memoryStatisticsOff)
        // With statistics on, this counts what the open connection holds.
        #expect(sqlite3_memory_used() == 0)
    }
}
