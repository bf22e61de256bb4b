"""What the benchmarks and the tests share: a copy of the repo to run make in (for the
benchmark's `make all` and the pipeline tests), a clean environment, a free port."""
import os
import shutil
import socket

from housing.config import ROOT

BASELINE = ROOT / "tests" / "baseline"  # the usual scikit-learn scripts, compared against


def free_port():
    """A TCP port on 127.0.0.1 that nothing listens on now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def plain_env():
    """This environment without what a parent make exports, so a make run here starts
    afresh (no inherited flags, job server or MAKELEVEL)."""
    return {k: v for k, v in os.environ.items() if not k.startswith(("MAKE", "MFLAGS"))}


def copy_repo(dest):
    """What the pipeline needs of the repo, copied with mtimes kept (so make sees nothing
    newer than it is) and the venv linked rather than rebuilt."""
    for name in ("housing", ".github"):
        shutil.copytree(ROOT / name, dest / name, copy_function=shutil.copy2,
                        ignore=shutil.ignore_patterns("__pycache__"))
    for name in ("Makefile", "README.md", "requirements.txt", "Dockerfile", ".dockerignore"):
        shutil.copy2(ROOT / name, dest / name)
    (dest / ".venv").symlink_to(ROOT / ".venv")
    return dest
