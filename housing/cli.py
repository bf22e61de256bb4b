"""What every stage's command line shares: one-line errors, exit status 2, atomic writes."""
import argparse
import errno
import functools
import importlib
import os
import sys
import tempfile
from pathlib import Path

from .config import ROOT, SCRATCH


class UserError(ValueError):
    """A mistake in what the user gave us: reported as one line, exit status 2."""


class Parser(argparse.ArgumentParser):
    """argparse, but a bad argument is a UserError (one line) rather than usage + exit."""

    def error(self, message):
        raise UserError(f"{message} (see --help)")

    def print_help(self, file=None):
        if file is not None:
            return super().print_help(file)
        write_out(self.format_help(), "the help")


def bounded(convert, ok, what):
    """An argparse type: ``convert(text)`` where ``ok`` holds of it, else an error saying
    ``what`` was expected."""
    def parse(text):
        try:
            value = convert(text)
        except ValueError:
            value = None
        if value is None or not ok(value):
            raise argparse.ArgumentTypeError(f"expected {what}, got {text!r}")
        return value
    return parse


count = bounded(int, lambda n: n >= 1, "a whole number of at least 1")


def drop_stdout():
    """What is still buffered for stdout can never be written: point stdout at /dev/null,
    so that the interpreter's last flush at exit does not fail a second time."""
    try:
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
    except (AttributeError, OSError, ValueError):
        pass  # a stream with no file behind it (a test's capture) has nothing to drop


def stdout_closed(what):
    """The error for a command started with its standard output closed."""
    return UserError(f"standard output is closed; expected somewhere to write {what}")


def stdout_failed(error, what):
    """The error for a write to stdout that failed (a closed pipe, a full disk, a
    file-size limit): ``what`` is incomplete. Drops what stdout still buffers."""
    drop_stdout()
    return UserError(f"<stdout>: cannot write {what} ({error.strerror}); the output is "
                     f"incomplete")


def flush_stdout(what):
    """Flush what was printed (``what``): a stdout that cannot take it is a UserError."""
    try:
        if sys.stdout is not None:
            sys.stdout.flush()
    except BrokenPipeError:
        raise
    except OSError as e:
        raise stdout_failed(e, what) from None


def write_out(text, what):
    """Write ``text``, the command's product (``what``: a query, a model card...), to
    stdout and flush it: never output lost with exit status 0."""
    if sys.stdout is None:
        raise stdout_closed(what)
    try:
        sys.stdout.write(text)
    except BrokenPipeError:
        raise
    except OSError as e:
        raise stdout_failed(e, what) from None
    flush_stdout(what)


def command(prog):
    """Wrap ``main(argv) -> int`` so a UserError prints one line on stderr and returns 2.
    (Commands write to stdout through ``write_out``, which makes a failed write one.)"""
    def wrap(fn):
        @functools.wraps(fn)
        def main(argv=None) -> int:
            try:
                return fn(argv)
            except UserError as e:
                print(f"{prog}: error: {e}", file=sys.stderr)
                return 2
            except BrokenPipeError:
                # the reader of stdout left: say so; stdout goes to /dev/null so the
                # interpreter's final flush does not fail again with a traceback
                drop_stdout()
                print(f"{prog}: error: <stdout>: closed before everything was written",
                      file=sys.stderr)
                return 2
            except KeyboardInterrupt:
                print(f"{prog}: interrupted", file=sys.stderr)
                return 130
        return main
    return wrap


def atomic_write(path, data: bytes):
    """Write ``data`` to ``path`` so that a reader, or a kill at any moment, sees the old
    file or the new one, never half of one: write a temporary in SCRATCH, fsync, then
    rename it over the target. Where the target is on another filesystem, the temporary
    goes beside it instead (a rename cannot cross filesystems). A target that is not a
    file (/dev/stdout, /dev/null, a FIFO) is written as it is: a rename would replace the
    device itself. A path that cannot be written is a UserError naming it."""
    try:
        write_replacing(Path(path).absolute(), data)
    except FileExistsError:  # what making the folders says of a file on the way
        raise UserError(f"{display(path)}: cannot write (a part of the path is a file, not "
                        f"a folder)") from None
    except OSError as e:
        raise UserError(f"{display(path)}: cannot write ({e.strerror or e})") from None


def write_replacing(path, data):
    """atomic_write's steps, its errors left to it."""
    if path.exists() and not path.is_file():
        with open(path, "wb") as f:
            f.write(data)
        return
    if path.is_symlink():
        path = path.resolve()  # the file it names is replaced, not the link
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        prefix = "." + str(path.relative_to(SCRATCH.parent)).replace(os.sep, "__") + "."
        scratch = [SCRATCH, path.parent]
    except ValueError:  # outside the repo
        prefix = f".{path.name}."
        scratch = [path.parent]
    for folder in scratch:
        folder.mkdir(exist_ok=True)
        for stale in folder.glob(f"{prefix}*.tmp"):  # left by a killed run
            stale.unlink(missing_ok=True)
        fd, tmp = tempfile.mkstemp(dir=folder, prefix=prefix, suffix=".tmp")
        try:
            with os.fdopen(fd, "wb") as f:
                f.write(data)
                f.flush()
                os.fsync(f.fileno())
            os.chmod(tmp, 0o644)
            os.replace(tmp, path)
            return
        except BaseException as e:
            Path(tmp).unlink(missing_ok=True)
            if getattr(e, "errno", None) != errno.EXDEV or folder == path.parent:
                raise


def scikit_learn(module, prog):
    """scikit-learn's ``module``, imported; one line naming the extra when it is missing."""
    return requires(module, prog, "scikit-learn", "train")


def requires(module, prog, package, extra):
    """``module`` of an optional ``package``, imported; when it is missing, one line naming
    the extra that installs it."""
    try:
        return importlib.import_module(module)
    except ModuleNotFoundError:
        raise UserError(f"{prog} needs {package}, which the {extra} extra installs: pip "
                        f"install 'housing[{extra}]'") from None


def how_to_build():
    """How to build the artifacts where the command runs: make in a checkout, else the
    stages one by one."""
    if (ROOT / "Makefile").exists():
        return "`make all`"
    return "`housing data && housing train && housing quantize && housing report`"


def display(path):
    """A path as the user would type it: relative to the working directory when inside it."""
    try:
        return str(Path(path).resolve().relative_to(Path.cwd()))
    except (ValueError, RuntimeError, OSError):  # outside it, or a symlink loop
        return str(path)
