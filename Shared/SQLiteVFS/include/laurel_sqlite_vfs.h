#ifndef LAUREL_SQLITE_VFS_H
#define LAUREL_SQLITE_VFS_H

#include <sqlite3.h>

/// Makes "laurel" SQLite's default VFS for the process: SQLite's own default
/// ("unix") with a transaction's write-ahead-log frames gathered into one
/// write. Idempotent and thread-safe; returns an SQLite result code.
int laurel_vfs_register(void);

/// The name of the VFS `laurel_vfs_register` installs.
extern const char *const laurel_vfs_name;

/// What one write-ahead log's handle has done: the writes SQLite asked for
/// and the writes that reached the file. Returns 0 when `file` is not a log
/// opened through the laurel VFS (see SQLITE_FCNTL_JOURNAL_POINTER).
int laurel_vfs_log_writes(sqlite3_file *file, sqlite3_int64 *requested, sqlite3_int64 *issued);

#endif
