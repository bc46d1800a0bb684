"""Putting an output in place: checked before any work, written to a hidden temporary beside it, published
exclusively, with the process umask, and removed when the run is interrupted.

Why each rule:

* **Checked first** (:func:`check_output_path`): a bad output name must fail before minutes of fitting.
* **Exclusive publish** (:func:`publish`): the final name is created with ``os.link`` (a file) or ``os.mkdir``
  (a folder), both of which fail when the name exists, so of two runs racing to one output exactly one
  succeeds; the other refuses with the usual "already exists" error. ``force`` replaces instead.
* **umask**: ``tempfile`` creates 0600 files and 0700 folders; results are chmod-ed to what ``open()`` would
  have given (0666 / 0777 less the umask), as any other tool would.
* **Signals** (:func:`interruptible`): SIGTERM and SIGHUP raise like SIGINT does, so the ``finally`` clauses
  that remove the temporaries run; the process then exits with 128 + the signal number.
"""

from __future__ import annotations

import contextlib
import errno
import os
import re
import shutil
import signal
import tempfile
import threading
from pathlib import Path
from typing import Callable, Iterator

from inertial_diffusion.io.dataset import DATA_SUFFIXES, DataFileError

__all__ = ["check_output_path", "atomic_write", "publish", "interruptible", "temporary_beside", "umask",
           "Interrupted", "foreign_entries", "SAMPLE_FILE"]


class Interrupted(SystemExit):
    """Raised by SIGTERM/SIGHUP inside :func:`interruptible`: unwinds (running cleanups), exit 128 + signal.

    A ``SystemExit``, so that an uncaught one ends the process with the conventional code (143 for
    SIGTERM, 129 for SIGHUP) and no traceback.
    """


def umask() -> int:
    """The process umask, read without changing it for longer than two system calls.

    Returns
    -------
    int
        The umask, e.g. ``0o022``.

    Examples
    --------
    >>> 0 <= umask() <= 0o777
    True
    """
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def _apply_umask(path: Path) -> None:
    mode = 0o777 if path.is_dir() else 0o666
    os.chmod(path, mode & ~umask())
    if path.is_dir():
        for child in path.iterdir():
            os.chmod(child, (0o777 if child.is_dir() else 0o666) & ~umask())


@contextlib.contextmanager
def interruptible() -> Iterator[None]:
    """Context manager within which SIGTERM and SIGHUP raise :class:`Interrupted`.

    SIGINT already raises ``KeyboardInterrupt``; the other two would end the process at once and leave the
    hidden temporaries behind. Raising instead runs the ``finally`` clauses that remove them. The previous
    handlers are restored on exit. Off the main thread (where Python cannot set handlers) it does nothing.

    Yields
    ------
    None
        Control to the block.
    """
    if threading.current_thread() is not threading.main_thread():
        yield  # signal handlers can only be set from the main thread
        return

    def _raise(signum: int, frame: object) -> None:
        raise Interrupted(128 + signum)

    signums = [s for s in (getattr(signal, "SIGTERM", None), getattr(signal, "SIGHUP", None)) if s is not None]
    previous = {s: signal.signal(s, _raise) for s in signums}
    try:
        yield
    finally:
        for s, handler in previous.items():
            signal.signal(s, handler)


def check_output_path(path: str | os.PathLike, force: bool = False, *, folder: bool | None = None) -> Path:
    """Check an output before any work: its type, its folder, that it does not exist (or ``force``), and that
    the folder is writable.

    A bad output name must fail before minutes of fitting, not after.

    Parameters
    ----------
    path : str or path-like
        The output path.
    force : bool, default False
        Allow replacing an existing output of the same kind (a file by a file, a folder by a folder).
    folder : bool, optional
        ``True`` for a folder output (images), ``False`` for a data file (its suffix must be one of
        ``DATA_SUFFIXES``), ``None`` for a file of any kind (no suffix check).

    Returns
    -------
    Path
        ``path`` as a ``Path``.

    Raises
    ------
    DataFileError
        An unknown suffix (``folder=False``), an existing output without ``force``, a file where a folder is
        expected or the reverse, or a missing or read-only parent folder.

    Examples
    --------
    >>> import tempfile
    >>> from pathlib import Path
    >>> tmp = tempfile.TemporaryDirectory()
    >>> check_output_path(Path(tmp.name) / "samples.csv", folder=False).name
    'samples.csv'
    >>> check_output_path(Path(tmp.name) / "samples.txt", folder=False)
    Traceback (most recent call last):
    ...
    inertial_diffusion.io.dataset.DataFileError: ...samples.txt: unknown output type '.txt'; expected one of ...
    >>> tmp.cleanup()
    """
    path = Path(path)
    if len(os.fsencode(path.name)) > 200:  # the hidden temporary beside it adds ~12 bytes to a 255-byte limit
        raise DataFileError(f"{path.name[:40]}...: the output name is {len(os.fsencode(path.name))} bytes long; "
                            "at most 200 are supported")
    resolved = path.resolve() if path.exists() or path.parent.exists() else path
    if resolved.parts[:2] in (("/", "proc"), ("/", "sys")) or (resolved.parts[:2] == ("/", "dev")):
        raise DataFileError(f"{path}: is on a system file system ({'/'.join(resolved.parts[:2])[1:]}); "
                            "write the output to a regular file")
    suffix = path.suffix.lower()
    if folder is False and suffix not in DATA_SUFFIXES:
        raise DataFileError(f"{path}: unknown output type {suffix or '(no extension)'!r}; expected one of "
                            f"{', '.join(DATA_SUFFIXES)}")
    if folder and (path.name in ("", ".", "..") or _holds_cwd(path)):
        raise DataFileError(f"{path}: is the current folder or one above it; give a new folder name for the images")
    if path.exists() or path.is_symlink():
        if not force:
            raise DataFileError(f"{path}: already exists; use --force to overwrite it")
        if path.is_dir() and folder is False:
            raise DataFileError(f"{path}: is a folder; give a file name for this output")
        if not path.is_dir() and folder is True:
            raise DataFileError(f"{path}: is a file; give a folder name for image output")
        if folder:
            foreign = foreign_entries(path)
            if foreign:
                shown = ", ".join(repr(f) for f in foreign[:3]) + (" ..." if len(foreign) > 3 else "")
                raise DataFileError(f"{path}: holds {len(foreign)} entr{'y' if len(foreign) == 1 else 'ies'} this "
                                    f"program did not write ({shown}); --force replaces only a folder of samples "
                                    "(sample_*.png): give a new folder name")
    parent = path.parent if str(path.parent) else Path(".")
    if not parent.is_dir():
        raise DataFileError(f"{path}: the folder {parent} does not exist")
    if not os.access(parent, os.W_OK | os.X_OK):
        raise DataFileError(f"{path}: the folder {parent} is not writable")
    return path


#: What an image output folder holds when this program wrote it: ``--force`` replaces only such a folder.
SAMPLE_FILE = re.compile(r"sample_\d+\.png")


def foreign_entries(folder: Path) -> list[str]:
    """Names in ``folder`` that an image output of this program does not hold (anything but ``sample_*.png`` files).

    Parameters
    ----------
    folder : Path
        An existing folder.

    Returns
    -------
    list of str
        Sorted names (sub-folders end with ``/``); empty when ``--force`` may replace the folder.

    Examples
    --------
    >>> import tempfile
    >>> from pathlib import Path
    >>> tmp = Path(tempfile.mkdtemp())
    >>> _ = (tmp / "sample_0.png").write_bytes(b""); _ = (tmp / "thesis.tex").write_text("years of work")
    >>> foreign_entries(tmp)
    ['thesis.tex']
    """
    names = []
    for entry in folder.iterdir():
        if entry.is_dir() or entry.is_symlink() or not SAMPLE_FILE.fullmatch(entry.name):
            names.append(entry.name + ("/" if entry.is_dir() else ""))
    return sorted(names)


def _holds_cwd(path: Path) -> bool:
    try:
        here, target = Path.cwd().resolve(), path.resolve()
    except OSError:
        return False
    return here == target or target in here.parents


def temporary_beside(path: Path, folder: bool = False) -> Path:
    """Create a hidden temporary file (or folder) in the output's own folder, so that publishing is a rename.

    The name starts with ``.<output name>.``, so that it is hidden and says what it will become; the file
    keeps the output's suffix (writers that dispatch on it see the right one).

    Parameters
    ----------
    path : Path
        The final output.
    folder : bool, default False
        Create a folder (image outputs) instead of a file.

    Returns
    -------
    Path
        The new, empty temporary (mode 0600, or 0700 for a folder, until :func:`publish`).

    Raises
    ------
    DataFileError
        The output's folder is not writable.
    """
    parent = path.parent if str(path.parent) else Path(".")
    try:
        if folder:
            return Path(tempfile.mkdtemp(prefix=f".{path.name}.", dir=parent))
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=path.suffix, dir=parent)
        os.close(fd)
        return Path(tmp)
    except OSError as exc:
        raise DataFileError(f"{path}: cannot write in {parent} ({exc.strerror or exc})") from None


def _remove(path: Path) -> None:
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path, ignore_errors=True)
    else:
        with contextlib.suppress(FileNotFoundError):
            path.unlink()


def publish(tmp: Path, path: Path, force: bool = False) -> None:
    """Move the finished temporary ``tmp`` to ``path``: exclusively unless ``force``.

    A file is published with ``os.link`` and a folder with ``os.mkdir``, both of which fail when the name
    exists, so of two runs racing to one output exactly one succeeds (a file system without hard links
    gets an exclusive ``O_EXCL`` copy). The result gets the permissions ``open()`` would have given under
    the umask.

    Parameters
    ----------
    tmp : Path
        The finished temporary (:func:`temporary_beside`); removed in every case.
    path : Path
        The final output.
    force : bool, default False
        Replace an existing output of the same kind instead of refusing.

    Raises
    ------
    DataFileError
        ``path`` exists (also when another run created it meanwhile) without ``force``, is of the other
        kind (file or folder), or cannot be written.

    Examples
    --------
    >>> import tempfile
    >>> from pathlib import Path
    >>> tmp = tempfile.TemporaryDirectory()
    >>> out = Path(tmp.name) / "result.txt"
    >>> draft = temporary_beside(out)
    >>> _ = draft.write_text("done")
    >>> publish(draft, out)
    >>> out.read_text(), draft.exists()
    ('done', False)
    >>> tmp.cleanup()
    """
    try:
        _apply_umask(tmp)
        if tmp.is_dir():
            _publish_folder(tmp, path, force)
        elif force:
            if path.is_dir() and not path.is_symlink():
                raise DataFileError(f"{path}: is a folder; give a file name for this output")
            os.replace(tmp, path)
        else:
            try:
                os.link(tmp, path)  # atomic, and fails if the name exists
            except FileExistsError:
                raise DataFileError(f"{path}: already exists (written by another run meanwhile?); "
                                    "use --force to overwrite it") from None
            except OSError as exc:
                if exc.errno not in (errno.EPERM, errno.EOPNOTSUPP, errno.EXDEV, errno.EMLINK):
                    raise
                _exclusive_copy(tmp, path)  # a file system without hard links
    except OSError as exc:
        raise DataFileError(f"{path}: cannot write ({exc.strerror or exc})") from None
    finally:
        _remove(tmp)


def _exclusive_copy(tmp: Path, path: Path) -> None:
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
    except FileExistsError:
        raise DataFileError(f"{path}: already exists (written by another run meanwhile?); "
                            "use --force to overwrite it") from None
    with os.fdopen(fd, "wb") as dst, open(tmp, "rb") as src:
        shutil.copyfileobj(src, dst)


def _publish_folder(tmp: Path, path: Path, force: bool) -> None:
    if force and (path.exists() or path.is_symlink()):
        if not path.is_dir() or path.is_symlink():
            raise DataFileError(f"{path}: is a file; give a folder name for image output")
        foreign = foreign_entries(path)  # checked again: the folder may have gained files during the run
        if foreign:
            raise DataFileError(f"{path}: holds entries this program did not write ({foreign[0]!r}); nothing was "
                                "replaced: give a new folder name")
        old = Path(tempfile.mkdtemp(prefix=f".{path.name}.old.", dir=path.parent))
        os.replace(path, old / "x")
        os.replace(tmp, path)
        shutil.rmtree(old, ignore_errors=True)
        return
    try:
        os.mkdir(path)  # the exclusive claim: of two racing runs only one creates the name
    except FileExistsError:
        raise DataFileError(f"{path}: already exists (written by another run meanwhile?); "
                            "use --force to overwrite it") from None
    os.chmod(path, 0o777 & ~umask())
    os.replace(tmp, path)  # replaces the empty folder we just claimed


def atomic_write(path: str | os.PathLike, write: Callable[[Path], object], *, force: bool = True) -> Path:
    """Call ``write(tmp)`` on a temporary file beside ``path``, then publish it.

    A reader never sees a half-written file, and an error or a signal leaves nothing behind.

    Parameters
    ----------
    path : str or path-like
        The final file.
    write : callable
        ``write(tmp)`` writes the content to the ``Path`` ``tmp`` (which has ``path``'s suffix); its return value is
        ignored.
    force : bool, default True
        ``True`` (for files inside a folder the caller owns) replaces an existing file; ``False`` refuses
        one, also when it appears while ``write`` runs.

    Returns
    -------
    Path
        ``path`` as a ``Path``.

    Raises
    ------
    DataFileError
        ``write`` raised an ``OSError``, or publishing failed (see :func:`publish`).

    Examples
    --------
    >>> import tempfile
    >>> from pathlib import Path
    >>> tmp = tempfile.TemporaryDirectory()
    >>> path = atomic_write(Path(tmp.name) / "note.txt", lambda p: p.write_text("hello"))
    >>> path.read_text(), [p.name for p in Path(tmp.name).iterdir()]  # no temporary left
    ('hello', ['note.txt'])
    >>> tmp.cleanup()
    """
    path = Path(path)
    with interruptible():
        tmp = temporary_beside(path)
        try:
            write(tmp)
        except OSError as exc:
            _remove(tmp)
            raise DataFileError(f"{path}: cannot write ({exc.strerror or exc})") from None
        except BaseException:
            _remove(tmp)
            raise
        publish(tmp, path, force=force)
    return path
