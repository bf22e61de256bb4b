"""`housing export --c`: the C kernel compiled where floating point is a compile error,
bit for bit against the numpy integer path; the edge program against `predict --integer`."""
import fnmatch
import json
import re
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest

from housing import data, export, integer, store
from housing.config import FEATURES, ROOT

from helpers import run_predict

CC = shutil.which("gcc") or shutil.which("cc")
# -mgeneral-regs-only: any float or double in the kernel is a compile error
KERNEL_FLAGS = ["-std=c99", "-pedantic", "-Wall", "-Wextra", "-Werror", "-O2",
                "-mgeneral-regs-only", "-ffreestanding"]
DRIVER = r"""
#include <inttypes.h>
#include <stdio.h>
#include "housing_model.h"
int main(void)
{
    int32_t x[HOUSING_N_FEATURES];
    for (;;) {
        for (int j = 0; j < HOUSING_N_FEATURES; j++)
            if (scanf("%" SCNd32, &x[j]) != 1)
                return 0;
        printf("%" PRId64 "\n", housing_predict(x));
    }
}
"""


@pytest.fixture(scope="module")
def exported(tmp_path_factory, built):
    assert CC, "the export tests need a C compiler (apt-get install gcc)"
    d = tmp_path_factory.mktemp("c")
    assert export.main(["--c", str(d), "--model", str(built["quantized"])]) == 0
    subprocess.run([CC, *KERNEL_FLAGS, "-c", "housing_model.c", "-o", "kernel.o"], cwd=d,
                   check=True)
    (d / "driver.c").write_text(DRIVER)
    subprocess.run([CC, "-std=c99", "-Werror", "-Wall", "-o", "driver", "driver.c",
                    "kernel.o"], cwd=d, check=True)
    subprocess.run([CC, "-std=c99", "-D_POSIX_C_SOURCE=200809L", "-Wall", "-Wextra",
                    "-Werror", "-O2", "-I", str(d), "-o", "edge",
                    str(ROOT / "deploy" / "edge" / "edge.c"), "kernel.o"],
                   cwd=d, check=True)
    return d


def test_the_files_and_what_they_hold(exported, built):
    assert sorted(p.name for p in exported.glob("housing_model*")) == \
        ["housing_model.c", "housing_model.h", "housing_model_float.h"]
    k = store.load_model(built["quantized"]).kernel
    h = (exported / "housing_model.h").read_text()
    assert f"#define HOUSING_MULTIPLIER UINT64_C({k.multiplier})\n" in h
    assert f"#define HOUSING_CODES {{{', '.join(map(str, k.codes))}}}\n" in h
    kernel = (exported / "housing_model.c").read_text()
    assert not re.search(r"\b(float|double|malloc)\b|#include <", kernel)


def test_the_kernel_does_not_compile_with_a_double_in_it(exported, tmp_path):
    # the flags above do catch floating point: the check is not vacuous
    source = (exported / "housing_model.c").read_text().replace(
        "int64_t acc = HOUSING_INTERCEPT;",
        "int64_t acc = HOUSING_INTERCEPT + (int64_t)(x[0] * 0.5);")
    (tmp_path / "f.c").write_text(source)
    shutil.copy(exported / "housing_model.h", tmp_path)
    run = subprocess.run([CC, *KERNEL_FLAGS, "-c", "f.c"], cwd=tmp_path, capture_output=True,
                         text=True)
    assert run.returncode != 0 and "SSE" in run.stderr


def test_the_c_kernel_equals_the_numpy_kernel_bit_for_bit(exported, built):
    split = store.load_split(built["split"]).arrays
    k = store.load_model(built["quantized"]).kernel
    X, fits = integer.to_fixed(k, split["X_test"])
    assert fits.all()
    top = 2 ** 31 - 1  # and the extremes of every input, where overflow would show
    rng = np.random.default_rng(0)
    X = np.vstack([X, np.full((1, 8), top), np.full((1, 8), -top),
                   rng.choice([-top, top], (50, 8)), rng.integers(-top, top, (200, 8))])
    run = subprocess.run([exported / "driver"], input=" ".join(map(str, X.ravel().tolist())),
                         capture_output=True, text=True, check=True)
    assert run.stdout.split() == [str(v) for v in integer.predict(k, X).tolist()]


@pytest.mark.parametrize("kernel", [
    integer.Kernel((1, -3), (0, 0), (-1, -70), -5, 2 ** 31, 33),  # right shifts, rounding
    integer.Kernel((65535, -65535), (0, 0), (-2, 3), 2 ** 61, 2 ** 32 - 1, 63),  # extremes
])
def test_the_c_kernel_equals_the_numpy_kernel_on_hand_made_constants(exported, tmp_path,
                                                                     kernel, built):
    (tmp_path / "housing_model.h").write_text(
        export.header(kernel, ["a", "b"], built["quantized"], "0123456789ab"))
    shutil.copy(exported / "housing_model.c", tmp_path)
    (tmp_path / "driver.c").write_text(DRIVER)
    subprocess.run([CC, *KERNEL_FLAGS, "-c", "housing_model.c"], cwd=tmp_path, check=True)
    subprocess.run([CC, "-std=c99", "-o", "driver", "driver.c", "housing_model.o"],
                   cwd=tmp_path, check=True)
    top = 2 ** 31 - 1
    X = np.array([[a, b] for a in (-top, -5, -3, -1, 0, 1, 2, 3, 5, top)
                  for b in (-top, -1, 0, 1, top)])
    run = subprocess.run([tmp_path / "driver"], input=" ".join(map(str, X.ravel().tolist())),
                         capture_output=True, text=True, check=True)
    assert run.stdout.split() == [str(v) for v in integer.predict(kernel, X).tolist()]


def edge(exported, text):
    run = subprocess.run([exported / "edge"], input=text.encode(), capture_output=True)
    return run.returncode, run.stdout.decode(), run.stderr.decode()


def test_the_edge_program_prints_what_predict_integer_prints(exported, built, capsys,
                                                             monkeypatch):
    split = store.load_split(built["split"]).arrays
    text = data.sample_csv(split["X_test"], split["y_test"], len(split["y_test"]))
    rc, out, err = run_predict(capsys, monkeypatch, built["quantized"], text.encode(),
                               "--integer")
    assert rc == 0 and len(out.split()) == len(split["y_test"])
    assert edge(exported, text) == (0, out, "")


H = "MedInc,HouseAge,AveRooms,AveBedrms,Population,AveOccup,Latitude,Longitude"


@pytest.mark.parametrize("text", [
    f"{H}\n1,2,3,4,5,6,7\n", f"{H}\n1,2,3,4,5,6,7,x\n", f"{H}\n1,2,3,4,5,6,7,\n",
    f"{H}\n1,2,3,4,5,6,7,-NaN\n", f"{H}\n1,2,3,4,5,6,7,1e999\n", f"{H}\n1,2,3,4,5,6,7,0x10\n",
    f"{H}\n1,2,3,4,5,6,7,1_0\n", "MedInc,Latitude\n", f"{H},MedInc\n1,2,3,4,5,6,7,8,9\n", "\n",
    f"{H}\n1,2,3,4,5,6,7,8\n1,2,3,4,1e12,6,7,8\n",
    f" MedInc ,x,{H[7:]}\r\n\n1,\"a,\"\"b\",2,3,4,5,6, 7 ,8\n",
])
def test_the_edge_program_has_the_clis_rules_and_messages(exported, built, text, capsys,
                                                          monkeypatch):
    rc, out, err = run_predict(capsys, monkeypatch, built["quantized"], text.encode(),
                               "--integer")
    err = "".join(line for line in err.splitlines(True) if "error" in line)
    assert rc in (0, 2)
    assert edge(exported, text) == (rc, out, err.replace("housing predict", "housing-edge"))


def released(exported):
    """The files of ``exported`` that the workflow uploads, and so the release's
    housing-c.tar.gz holds: its upload paths under artifacts/c/, globs matched as
    upload-artifact matches them."""
    workflow = (ROOT / ".github" / "workflows" / "ci.yml").read_text()
    patterns = re.findall(r"^ +artifacts/c/(\S+)$", workflow, re.M)
    assert patterns, "the workflow uploads nothing of artifacts/c/"
    return sorted(f for f in Path(exported).iterdir()
                  if any(fnmatch.fnmatchcase(f.name, p) for p in patterns))


def test_the_c_example_of_the_docs_compiles_from_the_released_files_and_prints_predict_integers_value(
        exported, built, tmp_path, capsys, monkeypatch):
    page = (ROOT / "docs" / "kernel.md").read_text()
    example = page.split("```c\n")[1].split("```")[0]
    command = re.search(r"/\* example\.c: (cc .+) \*/", example).group(1)
    (tmp_path / "example.c").write_text(example)
    shipped = tmp_path / "artifacts" / "c"
    shipped.mkdir(parents=True)
    for source in released(exported):
        shutil.copyfile(source, shipped / source.name)
    subprocess.run(command.replace("cc ", f"{CC} -Wall -Werror ", 1), shell=True, cwd=tmp_path,
                   check=True)
    printed = subprocess.run([tmp_path / "example"], capture_output=True, text=True,
                             check=True).stdout
    row = "8.3252,41.0,6.98,1.02,322.0,2.55,37.88,-122.23"
    text = f"{','.join(FEATURES)}\n{row}\n"
    rc, out, _ = run_predict(capsys, monkeypatch, built["quantized"], text.encode(), "--integer")
    assert rc == 0 and printed == f"{float(out):f}\n"


# A feature name written to make the exported C run a command when a program that
# includes the header starts, and one of what a C string must escape: a quote, a
# backslash, a trigraph, non-ASCII text.
INJECTION = 'x"};__attribute__((constructor))static void f(void){system("touch pwned");}char*g[]={"'
ESCAPED = 'Größe "m²" \\ ??= */'
NAMES_DRIVER = r"""
#include <stdio.h>
#include "housing_model.h"
int main(void)
{
    const char *names[] = HOUSING_FEATURE_NAMES;
    for (int j = 0; j < HOUSING_N_FEATURES; j++)
        printf("%s\n", names[j]);
    return 0;
}
"""


def renamed(src, dst, names):
    """A copy of the model ``src`` whose first features are called ``names``."""
    with np.load(src, allow_pickle=False) as f:
        meta = json.loads(f["meta"][()].decode())
        arrays = {k: f[k] for k in f.files if k != "meta"}
    meta["features"][:len(names)] = names
    store.save_npz(dst, meta, arrays)
    return dst


def test_feature_names_reach_the_c_as_strings_and_never_as_code(built, tmp_path):
    names = [INJECTION, ESCAPED]
    model = renamed(built["quantized"], tmp_path / 'odd */ name.npz', names)
    c = tmp_path / "c"
    assert export.main(["--c", str(c), "--model", str(model)]) == 0
    subprocess.run([CC, *KERNEL_FLAGS, "-c", "housing_model.c", "-o", "kernel.o"], cwd=c,
                   check=True)
    (c / "names.c").write_text(NAMES_DRIVER)
    subprocess.run([CC, "-std=c99", "-Wall", "-Werror", "-o", "names", "names.c"], cwd=c,
                   check=True)
    subprocess.run([CC, "-std=c99", "-D_POSIX_C_SOURCE=200809L", "-Wall", "-Wextra",
                    "-Werror", "-O2", "-I", str(c), "-o", "edge",
                    str(ROOT / "deploy" / "edge" / "edge.c"), "kernel.o"], cwd=c, check=True)
    printed = subprocess.run([c / "names"], cwd=c, capture_output=True, check=True).stdout
    edge_run = subprocess.run([c / "edge"], cwd=c, input=b"", capture_output=True)
    assert printed.decode().splitlines() == names + list(FEATURES[len(names):])
    assert edge_run.returncode == 2 and not (c / "pwned").exists()


@pytest.mark.parametrize("name, shown", [
    ("Med\nInc", r"'Med\nInc'"), ("Med\0Inc", r"'Med\x00Inc'"),
    ("\u202eMedInc", r"'\u202eMedInc'"), ("x" * 101, "'" + "x" * 56 + "..."),
])
def test_a_feature_name_that_is_not_printable_text_is_refused_on_loading(built, tmp_path,
                                                                          capsys, name, shown):
    model = renamed(built["quantized"], tmp_path / "m.npz", [name])
    assert export.main(["--c", str(tmp_path / "c"), "--model", str(model)]) == 2
    assert capsys.readouterr().err == (
        f"housing export: error: {model}: feature 1's name should be at most 100 printable "
        f"characters, got {shown}\n")
    assert not (tmp_path / "c").exists()
