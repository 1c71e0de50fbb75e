// SQLite writes each frame of its write-ahead log with two system calls, the
// frame's 24-byte header and then its page, so a commit of a group of
// purchases made some twenty `pwrite`s per purchase, each partly filling a
// kernel page (docs/performance.md). This VFS is SQLite's default one with
// the log's consecutive frames gathered in memory and written in one call.
//
// What reaches the file, and when it must have, is unchanged:
// - the buffer is written out as soon as the page of a commit frame (a frame
//   whose header gives the database size after the commit) joins it, inside
//   the same call, so a commit's frames are in the file before SQLite syncs
//   the log or publishes the commit to other connections, whatever
//   `synchronous` says, and a failed write fails the commit as before;
// - every other operation on the log (read, sync, size, truncate, lock, file
//   control, close) writes the buffer out first;
// - only writes that continue the log are gathered (new frames); rewrites
//   of earlier frames go straight to the file. Gathered or not, writes reach
//   the file in the order SQLite made them.
// Files other than write-ahead logs are SQLite's own, untouched.

#include "laurel_sqlite_vfs.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

const char *const laurel_vfs_name = "laurel";

/// SQLite's unix VFS writes at most 128 KiB - 1 bytes per call (it masks the
/// length with 0x1ffff), so gathered frames go out in pieces of up to this:
/// 30 frames of 4 KiB pages, a write instead of 60.
#define LAUREL_LOG_BUFFER_LIMIT (124 * 1024)
#define LAUREL_FRAME_HEADER_SIZE 24

typedef struct LogFile {
    sqlite3_file base;
    sqlite3_file *real;
    unsigned char *buffer;
    int capacity;
    int length;
    sqlite3_int64 start;
    /// Where the last write ended, and the furthest any did: a write that
    /// starts at either continues the log (new frames after a rewrite of
    /// earlier ones, or after a savepoint took frames back); -1 until known.
    sqlite3_int64 next;
    sqlite3_int64 end;
    /// The last write was the header of a commit frame: its page ends the commit.
    int commitPending;
    sqlite3_int64 requested;
    sqlite3_int64 issued;
} LogFile;

static sqlite3_vfs *baseVfs;
static sqlite3_vfs laurelVfs;
static int registerResult = SQLITE_OK;
static int memoryStatisticsResult = SQLITE_OK;
static pthread_once_t registerOnce = PTHREAD_ONCE_INIT;

static sqlite3_file *realFile(LogFile *log) { return log->real; }

static int flush(LogFile *log) {
    if (log->length == 0) return SQLITE_OK;
    int length = log->length;
    log->length = 0;
    log->issued += 1;
    return realFile(log)->pMethods->xWrite(realFile(log), log->buffer, length, log->start);
}

static int keep(LogFile *log, const void *data, int amount, sqlite3_int64 offset) {
    if (log->length == 0) log->start = offset;
    int needed = log->length + amount;
    if (needed > log->capacity) {
        int capacity = log->capacity == 0 ? 32 * 1024 : log->capacity;
        while (capacity < needed) capacity *= 2;
        if (capacity > LAUREL_LOG_BUFFER_LIMIT) capacity = LAUREL_LOG_BUFFER_LIMIT;
        unsigned char *buffer = realloc(log->buffer, (size_t)capacity);
        if (buffer == NULL) return SQLITE_IOERR_NOMEM;
        log->buffer = buffer;
        log->capacity = capacity;
    }
    memcpy(log->buffer + log->length, data, (size_t)amount);
    log->length = needed;
    return SQLITE_OK;
}

static int logWrite(sqlite3_file *file, const void *data, int amount, sqlite3_int64 offset) {
    LogFile *log = (LogFile *)file;
    int rc = SQLITE_OK;
    log->requested += 1;
    if (log->length > 0 && offset == log->start + log->length && log->length + amount <= LAUREL_LOG_BUFFER_LIMIT) {
        rc = keep(log, data, amount, offset);
    } else {
        rc = flush(log);
        if (rc == SQLITE_OK) {
            if ((offset == log->next || offset == log->end) && amount <= LAUREL_LOG_BUFFER_LIMIT) {
                rc = keep(log, data, amount, offset);
            } else {
                log->issued += 1;
                rc = realFile(log)->pMethods->xWrite(realFile(log), data, amount, offset);
            }
        }
    }
    if (rc != SQLITE_OK) {
        log->length = 0;
        log->next = -1;
        log->end = -1;
        log->commitPending = 0;
        return rc;
    }
    log->next = offset + amount;
    // A write at the top is the header of a log started again.
    if (offset == 0 || log->next > log->end) log->end = log->next;
    if (amount == LAUREL_FRAME_HEADER_SIZE) {
        // Bytes 4-7 of a frame header: the database's size in pages after
        // the commit this frame ends, 0 for a frame that ends none.
        const unsigned char *header = data;
        log->commitPending = (header[4] | header[5] | header[6] | header[7]) != 0;
    } else if (log->commitPending) {
        log->commitPending = 0;
        rc = flush(log);
    }
    return rc;
}

static int logClose(sqlite3_file *file) {
    LogFile *log = (LogFile *)file;
    int rc = flush(log);
    int closed = realFile(log)->pMethods->xClose(realFile(log));
    free(log->buffer);
    log->buffer = NULL;
    log->capacity = 0;
    return rc != SQLITE_OK ? rc : closed;
}

/// Every other operation on the log sees the file as SQLite alone would
/// have left it: the gathered frames go out first.
#define FLUSH_THEN(method, ...)                                                  \
    LogFile *log = (LogFile *)file;                                              \
    int rc = flush(log);                                                         \
    return rc != SQLITE_OK ? rc : realFile(log)->pMethods->method(realFile(log), __VA_ARGS__)

static int logRead(sqlite3_file *file, void *data, int amount, sqlite3_int64 offset) {
    FLUSH_THEN(xRead, data, amount, offset);
}
static int logTruncate(sqlite3_file *file, sqlite3_int64 size) { FLUSH_THEN(xTruncate, size); }
static int logSync(sqlite3_file *file, int flags) { FLUSH_THEN(xSync, flags); }
static int logFileSize(sqlite3_file *file, sqlite3_int64 *size) { FLUSH_THEN(xFileSize, size); }
static int logLock(sqlite3_file *file, int lock) { FLUSH_THEN(xLock, lock); }
static int logUnlock(sqlite3_file *file, int lock) { FLUSH_THEN(xUnlock, lock); }
static int logCheckReservedLock(sqlite3_file *file, int *reserved) {
    FLUSH_THEN(xCheckReservedLock, reserved);
}
static int logFileControl(sqlite3_file *file, int op, void *argument) {
    FLUSH_THEN(xFileControl, op, argument);
}

static int logSectorSize(sqlite3_file *file) {
    LogFile *log = (LogFile *)file;
    return realFile(log)->pMethods->xSectorSize(realFile(log));
}

static int logDeviceCharacteristics(sqlite3_file *file) {
    LogFile *log = (LogFile *)file;
    return realFile(log)->pMethods->xDeviceCharacteristics(realFile(log));
}

/// Version 1: SQLite calls nothing of a later version on a log (shared
/// memory and memory mapping belong to the database file).
static const sqlite3_io_methods logMethods = {
    1, logClose, logRead, logWrite, logTruncate, logSync, logFileSize, logLock, logUnlock,
    logCheckReservedLock, logFileControl, logSectorSize, logDeviceCharacteristics,
};

static int vfsOpen(sqlite3_vfs *vfs, sqlite3_filename name, sqlite3_file *file, int flags, int *outFlags) {
    (void)vfs;
    if ((flags & SQLITE_OPEN_WAL) == 0) {
        // Not a log: SQLite's own file, in the space SQLite allocated.
        return baseVfs->xOpen(baseVfs, name, file, flags, outFlags);
    }
    LogFile *log = (LogFile *)file;
    memset(log, 0, sizeof *log);
    log->real = (sqlite3_file *)((char *)file + ((sizeof(LogFile) + 7) & ~(size_t)7));
    log->next = -1;
    log->end = -1;
    int rc = baseVfs->xOpen(baseVfs, name, log->real, flags, outFlags);
    log->base.pMethods = rc == SQLITE_OK ? &logMethods : NULL;
    return rc;
}

static int vfsDelete(sqlite3_vfs *vfs, const char *name, int syncDirectory) {
    (void)vfs;
    return baseVfs->xDelete(baseVfs, name, syncDirectory);
}

static int vfsAccess(sqlite3_vfs *vfs, const char *name, int flags, int *result) {
    (void)vfs;
    return baseVfs->xAccess(baseVfs, name, flags, result);
}

static int vfsFullPathname(sqlite3_vfs *vfs, const char *name, int size, char *out) {
    (void)vfs;
    return baseVfs->xFullPathname(baseVfs, name, size, out);
}

static void *vfsDlOpen(sqlite3_vfs *vfs, const char *name) {
    (void)vfs;
    return baseVfs->xDlOpen(baseVfs, name);
}

static void vfsDlError(sqlite3_vfs *vfs, int size, char *message) {
    (void)vfs;
    baseVfs->xDlError(baseVfs, size, message);
}

static void (*vfsDlSym(sqlite3_vfs *vfs, void *library, const char *symbol))(void) {
    (void)vfs;
    return baseVfs->xDlSym(baseVfs, library, symbol);
}

static void vfsDlClose(sqlite3_vfs *vfs, void *library) {
    (void)vfs;
    baseVfs->xDlClose(baseVfs, library);
}

static int vfsRandomness(sqlite3_vfs *vfs, int size, char *out) {
    (void)vfs;
    return baseVfs->xRandomness(baseVfs, size, out);
}

static int vfsSleep(sqlite3_vfs *vfs, int microseconds) {
    (void)vfs;
    return baseVfs->xSleep(baseVfs, microseconds);
}

static int vfsCurrentTime(sqlite3_vfs *vfs, double *now) {
    (void)vfs;
    return baseVfs->xCurrentTime(baseVfs, now);
}

static int vfsGetLastError(sqlite3_vfs *vfs, int size, char *message) {
    (void)vfs;
    return baseVfs->xGetLastError ? baseVfs->xGetLastError(baseVfs, size, message) : 0;
}

static int vfsCurrentTimeInt64(sqlite3_vfs *vfs, sqlite3_int64 *now) {
    (void)vfs;
    return baseVfs->xCurrentTimeInt64(baseVfs, now);
}

static void registerVfs(void) {
    // Before anything initializes SQLite, which is when it reads its global
    // settings. Debian's SQLite is built without lookaside memory, so a
    // statement allocates and frees often, and with statistics on each of
    // those takes a process-wide mutex and updates counters that Laurel never
    // reads: 14 % of SQLite's instructions in a purchase's transaction
    // (bench/sqlite_memstatus, docs/performance.md).
    memoryStatisticsResult = sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0);
    baseVfs = sqlite3_vfs_find(NULL);
    if (baseVfs == NULL) {
        registerResult = SQLITE_ERROR;
        return;
    }
    laurelVfs.iVersion = 2;
    laurelVfs.szOsFile = (int)((sizeof(LogFile) + 7) & ~(size_t)7) + baseVfs->szOsFile;
    laurelVfs.mxPathname = baseVfs->mxPathname;
    laurelVfs.zName = laurel_vfs_name;
    laurelVfs.xOpen = vfsOpen;
    laurelVfs.xDelete = vfsDelete;
    laurelVfs.xAccess = vfsAccess;
    laurelVfs.xFullPathname = vfsFullPathname;
    laurelVfs.xDlOpen = vfsDlOpen;
    laurelVfs.xDlError = vfsDlError;
    laurelVfs.xDlSym = vfsDlSym;
    laurelVfs.xDlClose = vfsDlClose;
    laurelVfs.xRandomness = vfsRandomness;
    laurelVfs.xSleep = vfsSleep;
    laurelVfs.xCurrentTime = vfsCurrentTime;
    laurelVfs.xGetLastError = vfsGetLastError;
    laurelVfs.xCurrentTimeInt64 = baseVfs->iVersion >= 2 && baseVfs->xCurrentTimeInt64 ? vfsCurrentTimeInt64 : NULL;
    if (laurelVfs.xCurrentTimeInt64 == NULL) laurelVfs.iVersion = 1;
    registerResult = sqlite3_vfs_register(&laurelVfs, 1);
}

int laurel_vfs_register(void) {
    pthread_once(&registerOnce, registerVfs);
    return registerResult;
}

int laurel_sqlite_memory_statistics_off(void) {
    pthread_once(&registerOnce, registerVfs);
    return memoryStatisticsResult;
}

int laurel_vfs_log_writes(sqlite3_file *file, sqlite3_int64 *requested, sqlite3_int64 *issued) {
    if (file == NULL || file->pMethods != &logMethods) return 0;
    LogFile *log = (LogFile *)file;
    *requested = log->requested;
    *issued = log->issued;
    return 1;
}
