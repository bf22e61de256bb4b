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


def command(prog):
    """Wrap ``main(argv) -> int`` so a UserError prints one line on stderr and returns 2."""
    def wrap(fn):
        @functools.wraps(fn)
        def main(argv=None) -> int:
            try:
                return fn(argv)
            except UserError as e:
                print(f"{prog}: error: {e}", file=sys.stderr)
                return 2
            except BrokenPipeError:
                # the reader of stdout left: say so, and point stdout at /dev/null so the
                # interpreter's final flush does not fail again with a traceback
                os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
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
    goes beside it instead (a rename cannot cross filesystems)."""
    path = Path(path).absolute()
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
    try:
        return importlib.import_module(module)
    except ModuleNotFoundError:
        raise UserError(f"{prog} needs scikit-learn, which the train extra installs: pip "
                        f"install 'housing[train]'") from None


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
