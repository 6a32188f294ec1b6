"""Files written whole or not at all: ``with atomic_write(path) as f: ...`` writes a temporary file in the
same directory and renames it over ``path`` only when the block ends without an exception, so a reader (or a
crash) never sees half a file.

>>> import os, tempfile
>>> path = os.path.join(tempfile.mkdtemp(), "a.txt")
>>> with atomic_write(path, "w") as f:
...     _ = f.write("whole")
>>> open(path).read()
'whole'
"""
import contextlib
import os
import tempfile

# The process's umask, read once (os.umask can only be read by setting it): temporary files are created 0600,
# and the renamed file gets the permissions an ordinary open() would have given it.
_UMASK = os.umask(0o022)
os.umask(_UMASK)


@contextlib.contextmanager
def atomic_write(path, mode="wb", encoding=None, newline=None):
    """Yields a file object open on a temporary file beside ``path``; on success it becomes ``path``."""
    directory = os.path.dirname(os.path.abspath(path))
    os.makedirs(directory, exist_ok=True)
    fd, partial = tempfile.mkstemp(dir=directory, prefix=os.path.basename(path) + ".", suffix=".part")
    try:
        with os.fdopen(fd, mode, encoding=encoding, newline=newline) as f:
            yield f
            f.flush()
            os.fsync(f.fileno())  # the data is on disk before the rename makes it the file
        os.chmod(partial, 0o666 & ~_UMASK)
        os.replace(partial, path)
    except BaseException:
        os.unlink(partial)
        raise
