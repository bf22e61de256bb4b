"""The README's "Without make", as a new user runs it: the package installed into a fresh
venv from a clone's folder and from a git URL, each with the train extra in the form pip
takes there, then the section's commands in an empty folder. pip resolves at
requirements.txt's pins (PIP_CONSTRAINT), so the test does not change with PyPI's day."""
import shutil
import subprocess
import sys

from housing.config import ROOT

from repo import plain_env


def without_make():
    """The lines of the README's "Without make" shell block."""
    section = (ROOT / "README.md").read_text().split("## Without make\n")[1].split("\n## ")[0]
    return section.split("```sh\n")[1].split("```")[0].splitlines()


def tracked_copy(dest):
    """The working tree's tracked files at ``dest``: what a clone holds."""
    names = subprocess.run(["git", "ls-files", "-z"], cwd=ROOT, capture_output=True,
                           check=True).stdout.decode().split("\0")
    for name in filter(None, names):
        if (ROOT / name).is_file():
            (dest / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(ROOT / name, dest / name)
    return dest


def sh(command, cwd, env):
    run = subprocess.run(["bash", "-c", command], cwd=cwd, env=env, capture_output=True,
                         text=True, timeout=600)
    assert run.returncode == 0, f"`{command}` exited {run.returncode}:\n{run.stderr[-3000:]}"
    return run.stdout


def test_the_readme_without_make_runs_in_an_empty_folder(tmp_path):
    install, *commands = without_make()
    assert install.startswith("pip install './housing[train]'") and "git+URL" in install
    clone = tracked_copy(tmp_path / "housing")
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", venv], check=True)
    env = dict(plain_env(), PATH=f"{venv / 'bin'}:{plain_env()['PATH']}",
               PIP_CONSTRAINT=str(ROOT / "requirements.txt"), PIP_DISABLE_PIP_VERSION_CHECK="1")
    env.pop("PYTHONPATH", None)
    # the git URL form: a repository of the same files, committed
    git = ["git", "-c", "user.name=t", "-c", "user.email=t@t", "-C", str(clone)]
    for step in (["init", "-q"], ["add", "-A"], ["commit", "-qm", "clone"]):
        subprocess.run(git + step, check=True, capture_output=True)
    # (pip 23's PEP 508 parser wants a host in a file URL: localhost)
    sh(f"pip install -q 'housing[train] @ git+file://localhost{clone}'", tmp_path, env)
    assert "scikit-learn==" in sh("pip list --format=freeze", tmp_path, env)  # the extra
    sh("pip uninstall -q -y housing scikit-learn", tmp_path, env)
    # the clone's folder, exactly as the README writes it
    sh(install, tmp_path, env)
    empty = tmp_path / "empty"
    empty.mkdir()
    printed = [sh(command, empty, env) for command in commands]
    assert sorted(p.name for p in (empty / "artifacts" / "models").iterdir()) == [
        "float.npz", "quantized.npz"]
    assert printed[-2].rstrip().endswith("-> ok")
    assert len(printed[-1].split()) == 1 and 4.0 < float(printed[-1]) < 4.3
