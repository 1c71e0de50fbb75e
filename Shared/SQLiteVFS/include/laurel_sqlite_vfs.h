#ifndef LAUREL_SQLITE_VFS_H
#define LAUREL_SQLITE_VFS_H

#include <sqlite3.h>

/// Makes "laurel" SQLite's default VFS for the process: SQLite's own default
/// ("unix") with a transaction's write-ahead-log frames gathered into one
/// write. Idempotent and thread-safe; returns an SQLite result code.
/// The first call also turns SQLite's memory statistics off for the process
/// (`laurel_sqlite_memory_statistics_off`), so it must come before anything
/// else initializes SQLite.
int laurel_vfs_register(void);

/// Turns SQLite's memory statistics (`sqlite3_memory_used` and the soft heap
/// limit, which Laurel does not use) off for the process, once, with the
/// VFS's registration; returns SQLITE_OK, or SQLITE_MISUSE if SQLite had
/// already been initialized, in which case they stay on.
int laurel_sqlite_memory_statistics_off(void);

/// The name of the VFS `laurel_vfs_register` installs.
extern const char *const laurel_vfs_name;

/// What one write-ahead log's handle has done: the writes SQLite asked for
/// and the writes that reached the file. Returns 0 when `file` is not a log
/// opened through the laurel VFS (see SQLITE_FCNTL_JOURNAL_POINTER).
int laurel_vfs_log_writes(sqlite3_file *file, sqlite3_int64 *requested, sqlite3_int64 *issued);

#endif
