"""The Makefile as the pipeline, run for real in a copy of the repo on synthetic data."""
import json
import os
import shutil
import signal
import sys
import subprocess
import time

import numpy as np
import pytest

from housing import store
from repo import PARAMETERS, copy_repo, plain_env
from housing.config import PARAMS, ROOT
from housing.quantize import METHODS

from helpers import synthetic, write_split

STAGES = ["housing data", "housing train", "housing quantize", "housing report"]
FIGURE = ".github/r2_vs_bits.svg"


def make(cwd, *args, check=True):
    run = subprocess.run(["make", *args], cwd=cwd, env=plain_env(), capture_output=True,
                         text=True)
    if check and run.returncode:
        raise AssertionError(run.stdout + run.stderr)
    return run


def ran(run):
    """The stages a make run executed, in order."""
    return [s for line in run.stdout.splitlines() for s in STAGES if f"-m {s}" in line]


@pytest.fixture
def sandbox(tmp_path):
    """The repo's pipeline in a temporary folder, with a synthetic split already built
    (the data stage needs the real data set) and the parameters at their defaults."""
    return built_split(copy_repo(tmp_path))


def built_split(root):
    """Parameters at their defaults, then a synthetic split newer than them: what the
    data stage would have left."""
    params = root / "artifacts" / "params"
    params.mkdir(parents=True)
    for name, value in [("SEED", PARAMS.seed), ("TEST_SIZE", PARAMS.test_size),
                        ("BITS", PARAMS.bits), ("METHOD", PARAMS.method),
                        ("IMAGE", "housing:latest"), ("BASE_IMAGE", "")]:
        (params / name).write_text(f"{value}\n")
    time.sleep(0.01)
    write_split(root / "artifacts" / "data" / "split.npz", *synthetic())
    return root


def test_make_n_all_shows_the_stage_chain():
    run = make(ROOT, "-n", "-B", "all")
    assert ran(run) == STAGES
    assert f"--seed {PARAMS.seed} --test-size {PARAMS.test_size}" in run.stdout
    assert f"--bits {PARAMS.bits} --method {PARAMS.method}" in run.stdout


def test_makefile_defaults_are_the_config_defaults():
    run = make(ROOT, "help")
    assert (f"SEED={PARAMS.seed} TEST_SIZE={PARAMS.test_size} BITS={PARAMS.bits} "
            f"METHOD={PARAMS.method}") in run.stdout


def test_the_docs_parameter_table_shows_the_config_defaults():
    rows = {line.split("|")[1].strip(" `"): line.split("|")[2].strip()
            for line in (ROOT / "docs" / "pipeline.md").read_text().splitlines()
            if line.startswith("| `") and line.count("|") == 4}
    assert {k: rows[k] for k in ("SEED", "TEST_SIZE", "BITS", "METHOD")} == {
        "SEED": str(PARAMS.seed), "TEST_SIZE": str(PARAMS.test_size),
        "BITS": str(PARAMS.bits), "METHOD": PARAMS.method}
    methods = next(line for line in (ROOT / "docs" / "pipeline.md").read_text().splitlines()
                   if line.startswith("| `METHOD` |")).split("|")[3].strip()
    assert methods == ", ".join(f"`{name}`" for name in METHODS) + ", or `auto`"


def test_help_lists_each_target_on_one_line():
    lines = make(ROOT, "help").stdout.splitlines()
    assert not [line for line in lines if "$(" in line]  # variables shown by their values
    assert "  report        write the README's tables and .github/r2_vs_bits.svg from " \
           "artifacts/metrics.json" in lines
    for target in ("all", "test", "report", "report-check", "clean", "bench", "docker",
                   "docker-run", "lint"):
        assert sum(line.split()[0] == target for line in lines if line.startswith("  ")) == 1


def test_a_second_run_does_nothing_and_a_parameter_reruns_what_reads_it(sandbox):
    assert ran(make(sandbox, "all")) == STAGES[1:]
    artifacts = sorted((sandbox / "artifacts").rglob("*"))
    before = [path.stat().st_mtime_ns for path in artifacts]
    second = make(sandbox, "all")
    assert (second.stdout, second.stderr) == ("", "")  # nothing ran, nothing was said
    assert [path.stat().st_mtime_ns for path in artifacts] == before  # nor written
    assert ran(make(sandbox, "all", "BITS=4")) == ["housing quantize", "housing report"]
    assert ran(make(sandbox, "all", "BITS=4")) == []
    mx = json.loads((sandbox / "artifacts" / "metrics.json").read_text())
    assert mx["quantized"]["bits"] == 4
    assert ran(make(sandbox, "all", "BITS=4", "METHOD=minmax")) == STAGES[2:]


@pytest.mark.parametrize("module, stages", [
    ("housing/integer.py", STAGES),  # store imports it, and every stage imports store
    ("housing/qparams.py", STAGES),
    ("housing/report.py", ["housing report"]),
])
def test_a_changed_module_reruns_the_stages_that_import_it(sandbox, module, stages):
    make(sandbox, "all")
    time.sleep(0.01)
    (sandbox / module).touch()
    assert ran(make(sandbox, "all")) == stages


def test_a_failed_stage_overwrites_nothing(sandbox):
    make(sandbox, "all")
    model = sandbox / "artifacts" / "models" / "quantized.npz"
    before = model.read_bytes()
    run = make(sandbox, "all", "METHOD=kmeans", check=False)
    assert run.returncode != 0
    assert "housing quantize: error: --method must be auto or one of" in run.stderr
    assert "Traceback" not in run.stderr
    assert model.read_bytes() == before


def test_only_make_report_writes_the_readme_and_its_check_can_fail(sandbox):
    committed = [(sandbox / name).read_bytes() for name in ("README.md", FIGURE)]
    run = make(sandbox, "all", "BITS=4")
    assert [(sandbox / name).read_bytes() for name in ("README.md", FIGURE)] == committed
    assert "README" not in run.stdout
    # the committed tables are the real data set's; these synthetic metrics differ
    check = make(sandbox, "report-check", "BITS=4", check=False)
    assert check.returncode == 2  # make's status when a recipe fails
    assert check.stderr.startswith("render: README.md, line ")
    report = make(sandbox, "report", "BITS=4")
    assert report.stdout.splitlines()[-1] == (f"render: artifacts/metrics.json -> README.md "
                                              f"and {FIGURE}")
    readme = (sandbox / "README.md").read_bytes()
    make(sandbox, "report", "BITS=4")
    assert (sandbox / "README.md").read_bytes() == readme
    assert make(sandbox, "report-check", "BITS=4").returncode == 0


def test_parallel_make_gives_the_same_metrics(sandbox, tmp_path_factory):
    other = tmp_path_factory.mktemp("serial")
    shutil.copytree(sandbox, other, symlinks=True, dirs_exist_ok=True)
    make(sandbox, "-j4", "all")
    make(other, "all")
    metrics = [json.loads((d / "artifacts" / "metrics.json").read_text()) for d in (sandbox, other)]
    assert metrics[0] == metrics[1]


def complete(path):
    """Every file under artifacts/ is absent or complete and loadable."""
    for f in path.rglob("*"):
        if f.is_dir():
            continue
        if f.suffix == ".npz":
            store.load_split(f) if f.parent.name == "data" else store.load_model(f)
        elif f.suffix == ".json":
            json.loads(f.read_text())
        elif f.parent.name == "params":
            assert f.read_text().endswith("\n")
        else:
            raise AssertionError(f"unexpected file {f}")


@pytest.mark.parametrize("delay", [0.05, 0.15, 0.3, 0.45, 0.6])
def test_sigkill_at_any_moment_leaves_artifacts_absent_or_complete(sandbox, delay):
    proc = subprocess.Popen(["make", "all", "BITS=3"], cwd=sandbox, env=plain_env(),
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            start_new_session=True)
    time.sleep(delay)
    os.killpg(proc.pid, signal.SIGKILL)  # make and the stage it is running
    proc.wait()
    if delay == 0.05:  # three stages take far longer: this kill landed mid-run
        assert not (sandbox / "artifacts" / "metrics.json").exists()
    complete(sandbox / "artifacts")
    make(sandbox, "all", "BITS=3")
    complete(sandbox / "artifacts")
    after = json.loads((sandbox / "artifacts" / "metrics.json").read_text())
    make(sandbox, "clean")
    built_split(sandbox)
    make(sandbox, "all", "BITS=3")
    fresh = json.loads((sandbox / "artifacts" / "metrics.json").read_text())
    assert after == fresh
    assert not list((sandbox / "artifacts").rglob(".*"))  # no temporaries in artifacts/
    np.testing.assert_equal(after["quantized"]["bits"], 3)


def test_an_image_bakes_a_registered_version_s_run_when_asked(sandbox):
    run = " ".join(make(sandbox, "-n", "docker", "MODEL=models:/housing-quantized@champion",
                        "BASE_IMAGE=").stdout.replace("\\\n", " ").split())
    assert (".venv-track/bin/python -m housing fetch models:/housing-quantized@champion "
            "--out artifacts/registered") in run
    assert "docker build --build-arg ARTIFACTS=artifacts/registered " in run
    plain = " ".join(make(sandbox, "-n", "docker", "MODEL=", "BASE_IMAGE=").stdout.split())
    assert "housing fetch" not in plain and "ARTIFACTS=" not in plain


def test_a_base_image_given_once_is_used_by_later_docker_targets(sandbox):
    (sandbox / "artifacts" / "params" / "BASE_IMAGE").write_text("mirror.example/python:3.11\n")
    run = " ".join(make(sandbox, "-n", "docker-run").stdout.replace("\\\n", " ").split())
    assert "docker build --build-arg BASE_IMAGE=mirror.example/python:3.11 " in run
    reset = make(sandbox, "-n", "docker-run", "BASE_IMAGE=").stdout.replace("\\\n", " ")
    build = next(line for line in reset.splitlines() if line.startswith("docker build"))
    assert "--build-arg" not in build  # the Dockerfile's default
    # and the image says what it is: the OCI labels
    for label in ("title=housing", "version=", "revision=", "source=", "created="):
        assert f"--label org.opencontainers.image.{label}" in build


def test_parameters_the_caller_exported_do_not_reach_a_tests_make(sandbox, monkeypatch):
    # a user who exports BITS, METHOD or BASE_IMAGE once must not change what the tests'
    # own make runs do: each runs at the defaults it states
    assert {"BITS", "METHOD", "BASE_IMAGE", "SEED"} <= PARAMETERS
    monkeypatch.setenv("BITS", "4")
    monkeypatch.setenv("METHOD", "minmax")
    monkeypatch.setenv("BASE_IMAGE", "elsewhere/python:3.11-slim")
    make(sandbox, "all")
    mx = json.loads((sandbox / "artifacts" / "metrics.json").read_text())
    assert (mx["quantized"]["bits"], mx["quantized"]["auto"]) == (PARAMS.bits, True)
    assert (sandbox / "artifacts" / "params" / "BASE_IMAGE").read_text() == "\n"


def test_docker_serve_replaces_only_the_container_it_started(sandbox):
    run = " ".join(make(sandbox, "-n", "docker-serve", "PORT=9123", "IMAGE=img:1").stdout.split())
    assert "docker ps -aq --filter label=housing.serve=img:1@9123" in run
    assert ("docker run -d --rm --name housing-serve-9123 --label housing.serve=img:1@9123 "
            "--read-only --tmpfs /run/metrics -e HOUSING_METRICS_DIR=/run/metrics") in run
    assert "127.0.0.1:9123 is in use; choose another PORT=" in run


def stage(root, env, *argv):
    run = subprocess.run([sys.executable, "-m", "housing", *argv], cwd=root, env=env,
                         capture_output=True, text=True)
    assert run.returncode == 0, run.stderr


def test_every_cpu_type_gives_the_same_quantized_file(tmp_path):
    """The real data set, trained and quantized under OpenBLAS's kernels for this CPU and
    for another (Sandybridge), each in a process of its own, as OpenBLAS reads
    OPENBLAS_CORETYPE when it loads: the float coefficients may differ in their last bits
    (LAPACK's least squares is backward stable, so normwise, by about 1e-14 here), the
    quantized file is the same bytes."""
    env = {k: v for k, v in plain_env().items() if k != "OPENBLAS_CORETYPE"}
    stage(tmp_path, env, "data", "--out", "split.npz")
    for name, coretype in [("here", None), ("sandybridge", "Sandybridge")]:
        cpu = dict(env, OPENBLAS_CORETYPE=coretype) if coretype else env
        stage(tmp_path, cpu, "train", "--data", "split.npz", "--out", f"{name}-float.npz")
        stage(tmp_path, cpu, "quantize", "--model", f"{name}-float.npz", "--data",
              "split.npz", "--out", f"{name}-quantized.npz")
    assert ((tmp_path / "here-quantized.npz").read_bytes()
            == (tmp_path / "sandybridge-quantized.npz").read_bytes())
    here = store.load_model(tmp_path / "here-float.npz")
    there = store.load_model(tmp_path / "sandybridge-float.npz")
    w_here = np.append(here.coef, here.intercept)
    w_there = np.append(there.coef, there.intercept)
    assert np.linalg.norm(w_there - w_here) <= 1e-12 * np.linalg.norm(w_here)
