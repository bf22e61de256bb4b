"""The README and docs/, run: every `$ command` they show with its output is run in a copy of the repo
after the real pipeline (`make all`, which needs the data set's cache: scikit-learn's
own, or $SCIKIT_LEARN_DATA), the `curl` ones against a real server, and the output
compared: text line for line, JSON as parsed values. One placeholder: `localhost:8080`,
the README's address, becomes the port the test's server listens on. And every make
target and housing flag the README names exists."""
import json
import math
import re
import shutil
import subprocess
import sys

import pytest

from repo import copy_repo, plain_env, serving, terminal
from housing.__main__ import STAGES
from housing.config import ROOT

ADDRESS = "localhost:8080"  # the README's; the test's server has its own port


def examples_of(text):
    """[(command, expected output lines, line number)] of the `$ ` lines in fenced blocks."""
    found, fenced, current = [], False, None
    for no, line in enumerate(text.splitlines(), 1):
        if line.startswith("```"):
            fenced, current = not fenced, None
        elif fenced and line.startswith("$ "):
            current = (line[2:], [], no)
            found.append(current)
        elif fenced and current is not None:
            current[1].append(line)
    return found


def code(text):
    """Every piece of code in markdown ``text``: fenced lines and inline spans."""
    pieces, fenced = [], False
    for line in text.splitlines():
        if line.startswith("```"):
            fenced = not fenced
        elif fenced:
            pieces.append(line)
        else:
            pieces += re.findall(r"`([^`]+)`", line)
    return pieces


PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
TEXTS = {page.relative_to(ROOT): page.read_text() for page in PAGES}
README = "\n".join(TEXTS.values())  # every page, for what is checked across them all
EXAMPLES = [(page, *example) for page, text in TEXTS.items() for example in examples_of(text)]


def test_the_examples_are_found():
    commands = [command for _, command, _, _ in EXAMPLES]
    assert len(commands) >= 11 and sum("curl" in c for c in commands) >= 4
    assert len(PAGES) >= 10


@pytest.fixture(scope="module")
def pipeline(tmp_path_factory):
    root = copy_repo(tmp_path_factory.mktemp("readme"))
    shutil.copytree(ROOT / "tests" / "examples", root / "tests" / "examples")
    run = subprocess.run(["make", "all"], cwd=root, env=plain_env(), capture_output=True,
                         text=True)
    assert run.returncode == 0, run.stdout[-2000:] + run.stderr[-2000:]
    return root


@pytest.fixture(scope="module")
def server(pipeline):
    with serving(pipeline, pipeline / "serve.log", "--workers", "1") as port:
        yield port


# A command that reads the float model: its digits past the 12th vary by machine, as its
# coefficients come from LAPACK, whose kernels OpenBLAS picks by CPU. Between CPU types
# here the predictions moved by at most a relative 1e-14 (tests/test_pipeline.py trains
# under two); 1e-12 leaves room, and is still far below the fourth decimal any page rounds to.
FLOAT_MODEL = re.compile(r"\bfloat(\.npz\b|/)")
FLOAT_DIGITS = 1e-12
NUMBER = re.compile(r"-?\d+\.\d+(?:e[-+]?\d+)?")


def same(expected, got, rtol):
    """``got`` is the line ``expected``: JSON as parsed values, text as text, and with
    ``rtol`` each decimal number within that relative tolerance of the one shown."""
    if expected.startswith(("{", "[")):
        try:
            return json.loads(expected) == json.loads(got)
        except json.JSONDecodeError:
            return False
    if not rtol:
        return expected == got
    shown, printed = NUMBER.findall(expected), NUMBER.findall(got)
    return (NUMBER.split(expected) == NUMBER.split(got) and len(shown) == len(printed)
            and all(math.isclose(float(a), float(b), rel_tol=rtol, abs_tol=0)
                    for a, b in zip(shown, printed)))


def test_same_compares_float_digits_within_the_tolerance_alone():
    assert same("4.153132655190326", "4.153132655190362", FLOAT_DIGITS)
    assert not same("4.153132655190326", "4.153132655190362", 0)
    assert not same("4.153132655190326", "4.153132655199326", FLOAT_DIGITS)
    assert not same("a,4.153132655190326", "b,4.153132655190326", FLOAT_DIGITS)


@pytest.mark.parametrize("page, command, expected, no", EXAMPLES,
                         ids=[f"{page.stem}-line{no}" for page, _, _, no in EXAMPLES])
def test_each_example_prints_what_the_page_shows(pipeline, server, page, command, expected, no):
    """As a terminal shows it: stdout and stderr together, in the order they were written."""
    assert shutil.which("curl") or "curl" not in command, "the curl examples need curl"
    if "make track" in command and not (ROOT / ".venv-track" / ".requirements").exists():
        pytest.skip("MLflow is not installed: make track-env")
    _, shown = terminal(command.replace(ADDRESS, f"127.0.0.1:{server}"), pipeline, plain_env())
    got = shown.splitlines()
    rtol = FLOAT_DIGITS if FLOAT_MODEL.search(command) else 0
    assert len(got) == len(expected) and all(same(e, g, rtol) for e, g in zip(expected, got)), (
        f"{page}, line {no}: `{command}` printed\n" + "\n".join(got))


def targets():
    """The targets of the Makefile and the files it includes."""
    makefile = (ROOT / "Makefile").read_text()
    included = [name for line in re.findall(r"^include (.+)$", makefile, re.M)
                for name in line.split()]
    text = makefile + "".join((ROOT / name).read_text() for name in included)
    return set(re.findall(r"^([a-z][a-z-]*):", text, re.M))


def test_every_make_target_the_readme_names_exists():
    named = {m for piece in code(README) for m in re.findall(r"(?:^|[;&|(] *)make ([a-z][a-z-]*)",
                                                             piece)}
    assert len(named) >= 15
    assert sorted(named - targets()) == []


def help_flags(stage):
    run = subprocess.run([sys.executable, "-m", "housing", stage, "--help"], cwd=ROOT,
                         capture_output=True, text=True, check=True)
    return set(re.findall(r"--[a-z][a-z0-9-]*", run.stdout))


def test_every_flag_the_readme_gives_a_stage_is_one_it_accepts():
    flags = {stage: help_flags(stage) for stage in STAGES}
    used = []
    for piece in code(README):
        for stage, rest in re.findall(r"housing (\w+)((?: +[^ |<>;]+)*)", piece):
            if stage in STAGES:
                used += [(stage, flag) for flag in re.findall(r"(?<![\w-])--[a-z][a-z0-9-]*", rest)]
    assert len(used) >= 10
    assert [(s, f) for s, f in used if f not in flags[s]] == []
    # and a flag named alone in the text belongs to some stage
    alone = {f for piece in code(README) if piece.startswith("--")
             for f in re.findall(r"^--[a-z][a-z0-9-]*", piece)}
    assert sorted(f for f in alone if not any(f in s for s in flags.values())) == []


def slug(heading):
    """The anchor GitHub gives a heading."""
    text = re.sub(r"[^\w\- ]", "", heading.strip().lower())
    return text.replace(" ", "-")


def test_every_relative_link_resolves():
    checked = 0
    for page, text in TEXTS.items():
        for target in re.findall(r"\]\(([^)\s]+)\)", text):
            if target.startswith(("http://", "https://", "mailto:")):
                continue
            path, _, anchor = target.partition("#")
            file = (ROOT / page).parent / path if path else ROOT / page
            assert file.exists(), f"{page}: a link to {target}, which does not exist"
            if anchor:
                headings = re.findall(r"^#+ (.+)$", file.read_text(), re.M)
                assert anchor in {slug(h) for h in headings}, (
                    f"{page}: a link to {target}, a heading {file.name} does not have")
            checked += 1
    assert checked >= 20


CLIENT_ENVS = {"tritonclient": ".venv-clients", "kserve": ".venv-clients",
               "mlflow": ".venv-codecs"}
SNIPPETS = [(page, block) for page, text in TEXTS.items()
            for block in re.findall(r"```python\n(.*?)```", text, re.S)]


@pytest.mark.parametrize("page, snippet", SNIPPETS,
                         ids=[f"{page.stem}-{i}" for i, (page, _) in enumerate(SNIPPETS)])
def test_each_python_snippet_runs_as_shown_and_prints_its_comment(server, page, snippet):
    """Complete as shown: run whole, against a real server, in the environment of the
    client it imports; what it prints is the comment on its print line."""
    client = next(name for name in CLIENT_ENVS if re.search(rf"^(from|import) {name}\b",
                                                             snippet, re.M))
    python = ROOT / CLIENT_ENVS[client] / "bin" / "python"
    if not python.exists():
        pytest.skip(f"{client} is not installed: make clients")
    shown = re.findall(r"^\s*print\(.*\)\s+# (.+)$", snippet, re.M)
    run = subprocess.run([python, "-c", snippet.replace("127.0.0.1:8080",
                                                        f"127.0.0.1:{server}")],
                         capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stderr[-2000:]
    assert shown and run.stdout.splitlines() == shown
