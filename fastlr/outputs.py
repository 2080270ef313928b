"""Writing output files so that nothing is lost: atomic replacement and checks made up front.

Every file fastlr writes (a model, predictions, a picture, a benchmark record)
goes through :func:`atomic_write`: the content is written to a temporary file
in the destination's directory, flushed and ``fsync``-ed, and only then
renamed over the destination (``os.replace``, atomic on POSIX and Windows). A
write that fails midway (a value that cannot be serialized, a full disk,
Ctrl-C) leaves the old file as it was and no temporary file behind.

The command line also calls :func:`check_output_paths` before it starts a
long fit: an output that cannot be written, or that would overwrite one of
the command's inputs, is an error before any work is done.
"""

import contextlib
import os
import tempfile


class OutputPathError(ValueError):
    """An output path that cannot be written, or that would overwrite an input."""


def _new_file_mode():
    """The mode ``open(path, "w")`` would give a new file: 0o666 without the umask bits."""
    umask = os.umask(0)
    os.umask(umask)
    return 0o666 & ~umask


@contextlib.contextmanager
def atomic_write(path, mode="w", encoding="utf-8"):
    """Open a temporary file beside ``path``; on a clean exit, make it ``path``.

    Parameters
    ----------
    path : str or path-like
    mode : {"w", "wb"}
    encoding : str
        For text mode.

    Yields
    ------
    file object
        Write the whole content to it. On an exception inside the block the
        temporary file is removed and ``path`` is untouched.
    """
    if mode not in ("w", "wb"):
        raise ValueError(f"atomic_write writes whole files: mode 'w' or 'wb', got {mode!r}")
    path = os.fspath(path)
    directory, name = os.path.split(os.path.abspath(path))
    descriptor, temporary = tempfile.mkstemp(prefix=f".{name}.", suffix=".tmp", dir=directory)
    try:
        # A replaced file keeps its permissions; a new one gets what open() would give it.
        os.chmod(temporary, os.stat(path).st_mode & 0o7777 if os.path.exists(path) else _new_file_mode())
        with open(descriptor, mode, **({} if "b" in mode else {"encoding": encoding, "newline": ""})) as file:
            yield file
            file.flush()
            os.fsync(file.fileno())
        os.replace(temporary, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(temporary)
        raise
    _fsync_directory(directory)


def _fsync_directory(directory):
    """Make the rename itself durable (POSIX; directories cannot be opened on Windows)."""
    try:
        descriptor = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(descriptor)
    except OSError:
        pass
    finally:
        os.close(descriptor)


def _same_file(a, b):
    if os.path.exists(a) and os.path.exists(b):
        return os.path.samefile(a, b)
    return os.path.realpath(a) == os.path.realpath(b)


def check_output_paths(outputs, inputs=()):
    """Raise :class:`OutputPathError` unless every output can be written without harm.

    Parameters
    ----------
    outputs : mapping of str to path or None
        What each output is (``"--output"``) to its path; None entries are skipped.
    inputs : mapping of str to path
        The files the command reads: no output may be one of them, and no two
        outputs may be the same file.
    """
    outputs = {what: os.fspath(path) for what, path in dict(outputs).items() if path is not None}
    inputs = {what: os.fspath(path) for what, path in dict(inputs).items()}
    for what, path in outputs.items():
        for source, input_path in inputs.items():
            if _same_file(path, input_path):
                raise OutputPathError(f"{what} {path} is the {source}: fastlr will not write over its input")
        directory = os.path.dirname(os.path.abspath(path))
        if os.path.isdir(path):
            raise OutputPathError(f"{what} {path} is a directory, not a file")
        if not os.path.isdir(directory):
            raise OutputPathError(f"{what} {path}: the directory {directory} does not exist")
        if not os.access(directory, os.W_OK | os.X_OK):
            raise OutputPathError(f"{what} {path}: the directory {directory} is not writable")
    names = list(outputs.items())
    for position, (what, path) in enumerate(names):
        for other, other_path in names[position + 1 :]:
            if _same_file(path, other_path):
                raise OutputPathError(f"{what} and {other} are the same file {path}")


def write_json(path, document, indent=1):
    """Write ``document`` as JSON to ``path`` (its folder created, the file replaced
    atomically, as every record of the benchmarks is); returns the path."""
    import json
    import pathlib

    path = pathlib.Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_write(path) as file:
        file.write(json.dumps(document, indent=indent) + "\n")
    return path
