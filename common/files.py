"""Atomic file writes and clear errors for the files a user hands us.

Every file a run writes goes to a temporary file in the same directory, is
flushed to disk (fsync) and renamed over its final name: a kill at any moment
leaves the old file or the new one, never a torn one.
"""
import json
import os
import shutil
import tempfile

from common.data import DataError


def _fsync_directory(directory):
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:  # some file systems do not open directories; the rename is still atomic
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def _new_file_mode():
    """The mode open() gives a new file: 0666 less the umask (read by setting it and setting it back)."""
    umask = os.umask(0o022)
    os.umask(umask)
    return 0o666 & ~umask


def write_atomically(path, write, suffix=""):
    """Call write(binary file) on a temporary file beside `path`, fsync it, rename it into place.

    `suffix` ends the temporary name (Keras picks the weights format by the extension).
    """
    def save(tmp):
        with open(tmp, "wb") as f:
            write(f)

    save_atomically(path, save, suffix)


def save_atomically(path, save, suffix=""):
    """Call save(temporary path) beside `path` (for writers that take a path: Keras weights,
    shutil.copyfile), fsync the file, rename it into place."""
    directory = os.path.dirname(os.path.abspath(path))
    os.makedirs(directory, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=directory, prefix=".tmp-" + os.path.basename(path) + "-", suffix=suffix)
    os.close(fd)
    try:
        os.chmod(tmp, _new_file_mode())  # mkstemp makes it 0600; a submission or model directory is shared
        save(tmp)
        with open(tmp, "rb+") as f:
            os.fsync(f.fileno())
        os.replace(tmp, path)
        _fsync_directory(directory)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def link_atomically(source, path):
    """Put `source`'s content at `path`, atomically: a hard link where the file system makes one (no second copy
    on disk; safe because every writer here replaces a file by renaming, never rewrites it), else a copy."""
    def link(tmp):
        os.unlink(tmp)
        try:
            os.link(source, tmp)
        except OSError:  # a file system without hard links
            shutil.copyfile(source, tmp)

    save_atomically(path, link)


def write_text(path, text):
    write_atomically(path, lambda f: f.write(text.encode("utf-8")))


def write_json(path, obj, indent=2):
    write_text(path, json.dumps(obj, ensure_ascii=False, indent=indent) + "\n")


def json_lines(rows):
    """UTF-8 bytes of one JSON object per line (non-ASCII characters kept as they are)."""
    return "".join(json.dumps(row, ensure_ascii=False) + "\n" for row in rows).encode("utf-8")


def write_json_lines(path, rows):
    content = json_lines(rows)
    write_atomically(path, lambda f: f.write(content))


def read_json(path, what="file"):
    """A JSON document; DataError naming the file if it cannot be read."""
    try:
        with open(path, encoding="utf-8") as f:
            return json.load(f)
    except UnicodeDecodeError:
        raise DataError(f"{path}: not UTF-8 text; {what} files are UTF-8") from None
    except json.JSONDecodeError as e:
        raise DataError(f"{path}:{e.lineno}: not valid JSON ({e.msg})") from None


def same_file(a, b):
    """True if the two paths name the same file (existing or not)."""
    if os.path.exists(a) and os.path.exists(b):
        return os.path.samefile(a, b)
    return os.path.realpath(a) == os.path.realpath(b)
