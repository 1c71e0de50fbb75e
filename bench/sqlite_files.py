"""What the bench's SQLite scripts share about a database's files."""
import os

# A write-ahead log frame: its 24-byte header and a 4 KiB page.
FRAME_BYTES = 24 + 4096


def remove_database(path):
    """Removes a database and its log and shared memory, if they are there."""
    for suffix in ("", "-wal", "-shm"):
        if os.path.exists(path + suffix):
            os.remove(path + suffix)
