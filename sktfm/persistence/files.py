"""Folders written atomically and read confined, bounded and verified.

Writing: :func:`replacing_folder` hands out a temporary sibling of the target,
and once everything is written there it fsyncs every file, writes
``manifest.json`` last (each file's size and SHA-256) and swaps the folder into
place, so that at every instant the target is the complete old folder or the
complete new one. A crash leaves at most a ``.<name>.sktfm-*`` sibling behind.

Reading: :class:`SavedFolder` opens only regular files inside the folder (no
symlink, no ``..``, no absolute path), refuses JSON files over
:data:`MAX_JSON_BYTES`, and checks every file it reads against the manifest,
so a folder that a crash, an older writer or anyone else left incomplete or
altered is refused with a ValueError that names the file.
"""

import contextlib
import ctypes
import errno
import hashlib
import json
import os
import pathlib
import shutil
import stat
import uuid

__all__ = [
    "MANIFEST_FILE",
    "MAX_JSON_BYTES",
    "SavedFolder",
    "replacing_folder",
    "write_manifest",
]

MANIFEST_FILE = "manifest.json"
#: Largest JSON file a load reads (config, fitted attributes, tokenizers).
MAX_JSON_BYTES = 256 * 2**20
_MAX_MANIFEST_BYTES = 16 * 2**20
_MANIFEST_FORMAT = 1
# Files that mark a folder as one sktfm wrote (and may therefore replace).
_MARKERS = (MANIFEST_FILE, "config.json", "pipeline.json", "onnx_config.json")
_CHUNK = 2**20


# ------------------------------------------------------------------ writing
@contextlib.contextmanager
def replacing_folder(path):
    """Write a folder atomically: yield a temporary sibling, then swap it in.

    The body writes its files into the yielded folder; on a clean exit the
    files are fsynced, the manifest written last and the folder moved to
    ``path``, replacing what was there (an empty folder or one that sktfm
    wrote; any other existing path is refused before anything is written).
    On an exception the temporary folder is removed and ``path`` untouched.
    """
    target = pathlib.Path(os.path.realpath(path))  # a symlinked folder: where it points
    _check_replaceable(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = _sibling(target, "new")
    try:
        yield staging
        write_manifest(staging)
        _swap_into_place(staging, target)
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def write_manifest(folder):
    """Fsync every file under ``folder``, then write and fsync its manifest."""
    folder = pathlib.Path(folder)
    files = {}
    for file in sorted(folder.rglob("*")):
        relative = file.relative_to(folder).as_posix()
        if file.is_symlink():
            raise ValueError(f"{file} is a symlink; sktfm folders hold regular files only.")
        if file.is_dir() or relative == MANIFEST_FILE:
            continue
        with open(file, "rb") as handle:
            digest = hashlib.sha256()
            while chunk := handle.read(_CHUNK):
                digest.update(chunk)
            os.fsync(handle.fileno())
        files[relative] = {"size": file.stat().st_size, "sha256": digest.hexdigest()}
    manifest = {"format": _MANIFEST_FORMAT, "files": files}
    with open(folder / MANIFEST_FILE, "w", encoding="utf-8") as handle:
        json.dump(manifest, handle, indent=1)
        handle.flush()
        os.fsync(handle.fileno())
    for directory in [folder, *(p for p in folder.rglob("*") if p.is_dir())]:
        _fsync_directory(directory)


def _check_replaceable(target):
    """Refuse to replace anything but nothing, an empty folder or an sktfm folder."""
    if not os.path.lexists(target):
        return
    if not target.is_dir():
        raise ValueError(f"{target} exists and is not a folder; sktfm saves into a folder.")
    entries = os.listdir(target)
    if entries and not any(name in entries for name in _MARKERS):
        raise ValueError(
            f"{target} holds files that sktfm did not write ({sorted(entries)[:5]}); saving "
            "replaces the whole folder, so choose a new or an empty folder."
        )


def _swap_into_place(staging, target):
    try:
        os.rename(staging, target)  # target absent or an empty folder: atomic
    except OSError as error:
        if error.errno not in (errno.ENOTEMPTY, errno.EEXIST):
            raise
    else:
        _fsync_directory(target.parent)
        return
    if _exchange(staging, target):  # Linux: one atomic step
        _fsync_directory(target.parent)
        shutil.rmtree(staging, ignore_errors=True)  # now the old folder
        return
    # Elsewhere: two renames. A crash between them leaves no folder at
    # ``target`` and the old one beside it, which SavedFolder points to.
    old = _sibling(target, "old")
    os.rename(target, old / "folder")
    os.rename(staging, target)
    _fsync_directory(target.parent)
    shutil.rmtree(old, ignore_errors=True)


def _sibling(target, kind):
    """A new empty folder ``.NAME.sktfm-KIND-XXXX`` beside ``target``.

    Made with ``os.mkdir`` rather than ``tempfile.mkdtemp``, so that the
    saved folder gets the usual permissions (the umask's), not 0700.
    """
    for _ in range(100):
        folder = target.parent / f".{target.name}.sktfm-{kind}-{uuid.uuid4().hex[:12]}"
        try:
            os.mkdir(folder)
        except FileExistsError:
            continue
        return folder
    raise FileExistsError(f"Cannot make a temporary folder beside {target}.")


def _exchange(first, second):
    """Swap two paths atomically with renameat2(RENAME_EXCHANGE); False if unsupported."""
    try:
        renameat2 = ctypes.CDLL(None, use_errno=True).renameat2
    except (AttributeError, OSError):
        return False
    at_fdcwd, rename_exchange = -100, 2
    result = renameat2(at_fdcwd, os.fsencode(first), at_fdcwd, os.fsencode(second), rename_exchange)
    if result == 0:
        return True
    code = ctypes.get_errno()
    if code in (errno.EINVAL, errno.ENOSYS, errno.EOPNOTSUPP):
        return False
    raise OSError(code, os.strerror(code), str(second))


def _fsync_directory(directory):
    try:
        descriptor = os.open(directory, os.O_RDONLY)
    except OSError:  # not possible on every platform (Windows)
        return
    try:
        os.fsync(descriptor)
    except OSError:
        pass
    finally:
        os.close(descriptor)


# ------------------------------------------------------------------ reading
class SavedFolder:
    """Read files of a saved folder: confined to it, bounded, checked against its manifest.

    Parameters
    ----------
    path : str or path-like
        The folder. It may itself be reached through a symlink; nothing
        inside it may be one.

    Attributes
    ----------
    manifest : dict or None
        The manifest's entries, or None for a folder without one (whether
        that is allowed is the caller's to decide: see
        :func:`~sktfm.persistence.open_folder`).
    """

    def __init__(self, path):
        self.root = pathlib.Path(path)
        self._prefix = ()
        if not self.root.is_dir():
            raise ValueError(_missing_folder_message(self.root))
        self.manifest = self._read_manifest()

    def subfolder(self, relative):
        """The folder ``relative`` inside this one, read under the same manifest."""
        parts = self._parts(relative)
        self._walk(parts, final_is_dir=True)
        sub = object.__new__(SavedFolder)
        sub.root, sub._prefix, sub.manifest = self.root, (*self._prefix, *parts), self.manifest
        return sub

    @property
    def path(self):
        """Where this folder is (for messages)."""
        return self.root.joinpath(*self._prefix)

    def has(self, relative):
        """Whether the folder holds ``relative`` (listed in the manifest, where one is)."""
        key = "/".join((*self._prefix, *self._parts(relative)))
        if self.manifest is not None:
            return key in self.manifest
        return os.path.lexists(self.root / key)

    def read_bytes(self, relative, *, limit=None):
        """The bytes of the regular file ``relative``, verified against the manifest."""
        parts = (*self._prefix, *self._parts(relative))
        key = "/".join(parts)
        file = self.root.joinpath(*parts)
        entry = None
        if self.manifest is not None:
            entry = self.manifest.get(key)
            if entry is None:
                raise ValueError(
                    f"{file} is not listed in {self.root / MANIFEST_FILE}: the folder is "
                    "incomplete or was altered after sktfm wrote it."
                )
        self._walk(parts[len(self._prefix) :], final_is_dir=False)
        data = _read_regular(file, limit=limit)
        if entry is not None and (
            len(data) != entry["size"] or hashlib.sha256(data).hexdigest() != entry["sha256"]
        ):
            raise ValueError(
                f"{file} does not match {self.root / MANIFEST_FILE} (size or SHA-256): the "
                "folder was left half-written (an interrupted save) or altered; save the "
                "model again."
            )
        return data

    def read_json(self, relative):
        """The JSON file ``relative`` (at most :data:`MAX_JSON_BYTES`), parsed."""
        data = self.read_bytes(relative, limit=MAX_JSON_BYTES)
        return _parse_json(data, self.path / relative)

    # ---------------------------------------------------------------- checks
    def _parts(self, relative):
        """``relative`` as path parts, refusing anything that could leave the folder."""
        if not isinstance(relative, (str, os.PathLike)):
            raise ValueError(f"A file name in {self.path} is {relative!r}, not a path.")
        text = os.fspath(relative)
        pure = pathlib.PurePosixPath(text)
        if (
            not text
            or "\\" in text
            or "\x00" in text
            or pure.is_absolute()
            or pathlib.PureWindowsPath(text).drive
            or any(part in ("..", ".") for part in pure.parts)
        ):
            raise ValueError(
                f"{text!r} in {self.path} is not a plain relative path inside the folder; "
                "sktfm reads no file outside a saved folder."
            )
        return pure.parts

    def _walk(self, parts, *, final_is_dir):
        """Check that no component below this folder is a symlink or of the wrong kind."""
        current = self.root.joinpath(*self._prefix)
        for i, part in enumerate(parts):
            current = current / part
            try:
                mode = os.lstat(current).st_mode
            except FileNotFoundError:
                raise ValueError(f"{current} is missing: the folder is incomplete.") from None
            last = i == len(parts) - 1
            if stat.S_ISLNK(mode):
                raise ValueError(
                    f"{current} is a symlink; sktfm reads only regular files inside the folder."
                )
            wanted_dir = final_is_dir or not last
            if wanted_dir and not stat.S_ISDIR(mode):
                raise ValueError(f"{current} is not a folder.")
            if not wanted_dir and not stat.S_ISREG(mode):
                raise ValueError(f"{current} is not a regular file.")

    def _read_manifest(self):
        file = self.root / MANIFEST_FILE
        if not os.path.lexists(file):
            return None
        self._walk((MANIFEST_FILE,), final_is_dir=False)
        manifest = _parse_json(_read_regular(file, limit=_MAX_MANIFEST_BYTES), file)
        files = manifest.get("files") if isinstance(manifest, dict) else None
        if (
            not isinstance(files, dict)
            or manifest.get("format") != _MANIFEST_FORMAT
            or not all(_valid_entry(entry) for entry in files.values())
        ):
            raise ValueError(f"{file} is not an sktfm manifest.")
        for key, entry in files.items():
            parts = self._parts(key)
            self._walk(parts, final_is_dir=False)
            size = os.lstat(self.root.joinpath(*parts)).st_size
            if size != entry["size"]:
                raise ValueError(
                    f"{self.root / key} has {size} bytes where {file} lists "
                    f"{entry['size']}: the folder was left half-written or altered."
                )
        return files


def _valid_entry(entry):
    return (
        isinstance(entry, dict)
        and type(entry.get("size")) is int
        and entry["size"] >= 0
        and isinstance(entry.get("sha256"), str)
        and len(entry["sha256"]) == 64
    )


def _read_regular(file, *, limit):
    """Read a regular file (never a symlink, FIFO or device) of at most ``limit`` bytes."""
    flags = os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0)
    try:
        descriptor = os.open(file, flags)
    except FileNotFoundError:
        raise ValueError(f"{file} is missing: the folder is incomplete.") from None
    except OSError as error:
        raise ValueError(f"{file} cannot be opened as a regular file: {error.strerror}.") from None
    with open(descriptor, "rb") as handle:
        info = os.fstat(handle.fileno())
        if not stat.S_ISREG(info.st_mode):
            raise ValueError(f"{file} is not a regular file.")
        if limit is not None and info.st_size > limit:
            raise ValueError(f"{file} has {info.st_size} bytes, over the {limit}-byte limit.")
        data = handle.read(info.st_size + 1)
    if len(data) != info.st_size:
        raise ValueError(f"{file} changed size while it was read.")
    return data


def _parse_json(data, file):
    try:
        return json.loads(data.decode("utf-8"))
    except UnicodeDecodeError as error:
        raise ValueError(f"{file} is not UTF-8 text: {error}") from None
    except json.JSONDecodeError as error:
        raise ValueError(f"{file} is not valid JSON: {error}") from None
    except RecursionError:
        raise ValueError(f"{file} nests too deeply to be an sktfm file.") from None


def _missing_folder_message(folder):
    message = f"{folder} is not a folder: nothing was saved there."
    parent = folder.parent if folder.parent.is_dir() else None
    left = sorted(parent.glob(f".{folder.name}.sktfm-old-*")) if parent else []
    if left:
        message += (
            f" A save into it was interrupted; the previous model is in {left[-1] / 'folder'}."
        )
    return message
