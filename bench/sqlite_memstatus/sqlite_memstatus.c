// Whether SQLite's memory statistics cost the members writer anything, before
// Laurel turns them off (Shared/SQLiteVFS). Debian's SQLite is built without
// lookaside memory, so each statement allocates and frees often; with
// statistics on (SQLite's default), each allocation takes a process-wide
// mutex and updates counters.
//
// This runs a purchase's statements as the members writer does (WAL, a batch
// of 32 purchases per transaction, each in its savepoint; an update of the
// member and its spend, inserts of a ledger entry, a point lot, an event, the
// purchase and its idempotency key, with their indexes) with statistics on or
// off. synchronous=OFF, so that only the CPU is measured. Instructions are
// repeatable under callgrind, whatever else the machine does (see run).
//
// "bare" runs the purchases without their savepoints, as group commit now
// does unless a write fails after changing rows (Shared/Storage/GroupCommit):
// a savepoint makes SQLite copy each page a purchase touches into an
// in-memory journal of 1 KiB pieces (temp_store=MEMORY).
//
//     run [purchases]
//     sqlite_memstatus on|off purchases database-path [bare]
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static void execute(sqlite3 *db, const char *sql) {
    char *error = NULL;
    if (sqlite3_exec(db, sql, NULL, NULL, &error) != SQLITE_OK) {
        fprintf(stderr, "%s: %s\n", sql, error);
        exit(1);
    }
}

static sqlite3_stmt *prepare(sqlite3 *db, const char *sql) {
    sqlite3_stmt *statement = NULL;
    if (sqlite3_prepare_v3(db, sql, -1, SQLITE_PREPARE_PERSISTENT, &statement, NULL) != SQLITE_OK) {
        fprintf(stderr, "%s: %s\n", sql, sqlite3_errmsg(db));
        exit(1);
    }
    return statement;
}

static void run(sqlite3_stmt *statement) {
    int result;
    while ((result = sqlite3_step(statement)) == SQLITE_ROW) {}
    if (result != SQLITE_DONE) {
        fprintf(stderr, "%s: %s\n", sqlite3_sql(statement), sqlite3_errmsg(sqlite3_db_handle(statement)));
        exit(1);
    }
    sqlite3_reset(statement);
}

int main(int argc, char **argv) {
    if (argc < 4 || argc > 5 || (strcmp(argv[1], "on") != 0 && strcmp(argv[1], "off") != 0)
        || (argc == 5 && strcmp(argv[4], "bare") != 0)) {
        fprintf(stderr, "usage: %s on|off purchases database-path [bare]\n", argv[0]);
        return 64;
    }
    int savepoints = argc == 4;
    if (strcmp(argv[1], "off") == 0 && sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0) != SQLITE_OK) {
        fprintf(stderr, "sqlite3_config failed\n");
        return 1;
    }
    int purchases = atoi(argv[2]);
    const char *path = argv[3];
    char name[4096];
    unlink(path);
    snprintf(name, sizeof name, "%s-wal", path), unlink(name);
    snprintf(name, sizeof name, "%s-shm", path), unlink(name);

    sqlite3 *db;
    if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, NULL) != SQLITE_OK) {
        fprintf(stderr, "cannot open %s\n", path);
        return 1;
    }
    execute(db, "PRAGMA journal_mode = WAL; PRAGMA synchronous = OFF; PRAGMA temp_store = MEMORY");
    execute(db,
        "CREATE TABLE member (id TEXT PRIMARY KEY, seq INTEGER, available INTEGER, last_purchase_at INTEGER, tier TEXT, status TEXT);"
        "CREATE INDEX member_by_available ON member (available);"
        "CREATE INDEX member_by_last_purchase ON member (last_purchase_at);"
        "CREATE TABLE member_spend (member_id TEXT, currency_code TEXT, spend_minor INTEGER, PRIMARY KEY (member_id, currency_code));"
        "CREATE INDEX member_spend_by_amount ON member_spend (currency_code, spend_minor);"
        "CREATE TABLE ledger_entry (id INTEGER PRIMARY KEY, member_id TEXT, kind TEXT, points INTEGER, reference TEXT, reason TEXT, created_at INTEGER);"
        "CREATE INDEX ledger_entry_by_member ON ledger_entry (member_id, id);"
        "CREATE INDEX ledger_entry_by_time ON ledger_entry (created_at);"
        "CREATE TABLE point_lot (id INTEGER PRIMARY KEY, member_id TEXT, remaining INTEGER, expires_at INTEGER);"
        "CREATE INDEX point_lot_by_member ON point_lot (member_id, remaining, id);"
        "CREATE INDEX point_lot_by_expiry ON point_lot (expires_at);"
        "CREATE TABLE member_event (id INTEGER PRIMARY KEY, member_id TEXT, partner_id TEXT, body BLOB);"
        "CREATE INDEX member_event_by_member ON member_event (member_id, id);"
        "CREATE INDEX member_event_by_partner ON member_event (partner_id, id);"
        "CREATE TABLE purchase (order_id TEXT PRIMARY KEY, member_id TEXT, amount_minor INTEGER, points INTEGER, occurred_at INTEGER);"
        "CREATE INDEX purchase_by_member ON purchase (member_id, occurred_at);"
        "CREATE INDEX purchase_by_time ON purchase (occurred_at);"
        "CREATE TABLE idempotency_key (scope TEXT, key TEXT, fingerprint BLOB, answer BLOB, created_at INTEGER, PRIMARY KEY (scope, key));");
    execute(db,
        "WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i < 999)"
        " INSERT INTO member SELECT printf('member-%08d', i), i, 0, 0, 'base', 'active' FROM n;"
        "INSERT INTO member_spend SELECT id, 'USD', 0 FROM member");

    sqlite3_stmt *read = prepare(db, "SELECT available, tier, status FROM member WHERE id = ?1");
    sqlite3_stmt *writes[] = {
        prepare(db, "UPDATE member SET available = available + ?2, last_purchase_at = ?3 WHERE id = ?1"),
        prepare(db, "UPDATE member_spend SET spend_minor = spend_minor + 12345 WHERE member_id = ?1 AND currency_code = 'USD'"),
        prepare(db, "INSERT INTO ledger_entry (member_id, kind, points, reference, reason, created_at) VALUES (?1, 'earn', ?2, printf('order-%d', ?3), 'purchase', ?3)"),
        prepare(db, "INSERT INTO point_lot (member_id, remaining, expires_at) VALUES (?1, ?2, ?3 + 31536000)"),
        prepare(db, "INSERT INTO member_event (member_id, partner_id, body) VALUES (?1, 'partner', zeroblob(120))"),
        prepare(db, "INSERT INTO purchase VALUES (printf('order-%d', ?3), ?1, 12345, ?2, ?3)"),
        prepare(db, "INSERT INTO idempotency_key VALUES ('purchase', printf('order-%d', ?3), zeroblob(32), zeroblob(60), ?3)"),
    };
    sqlite3_stmt *savepoint = prepare(db, "SAVEPOINT purchase");
    sqlite3_stmt *release = prepare(db, "RELEASE purchase");

    unsigned seed = 1;
    int clock = 1000000;
    for (int done = 0; done < purchases;) {
        execute(db, "BEGIN IMMEDIATE");
        for (int k = 0; k < 32 && done < purchases; k++, done++) {
            char member[32];
            seed = seed * 1103515245 + 12345;
            snprintf(member, sizeof member, "member-%08u", (seed >> 8) % 1000);
            clock++;
            if (savepoints) run(savepoint);
            sqlite3_bind_text(read, 1, member, -1, SQLITE_TRANSIENT);
            run(read);
            for (size_t w = 0; w < sizeof writes / sizeof *writes; w++) {
                // ?1 the member, ?2 the points, ?3 the time; a statement
                // binds those it has (the others return SQLITE_RANGE).
                sqlite3_bind_text(writes[w], 1, member, -1, SQLITE_TRANSIENT);
                sqlite3_bind_int(writes[w], 2, 10);
                sqlite3_bind_int(writes[w], 3, clock);
                run(writes[w]);
            }
            if (savepoints) run(release);
        }
        execute(db, "COMMIT");
    }
    printf("%d purchases, statistics %s%s\n", purchases, argv[1], savepoints ? "" : ", bare");
    return 0;
}
