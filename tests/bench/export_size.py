"""Flash bytes on a Cortex-M0 (no FPU): the exported integer kernel against m2cgen's float
C for the same LinearRegression. Figures only, printed; run by `make export-size` in an
environment with m2cgen and scikit-learn (never requirements.txt's).

For each, the kernel alone (its object file) and a minimal program that calls it, over an
empty program built the same way; and the soft-float routines the program links.
"""
import argparse
import subprocess
import sys
import tempfile
from pathlib import Path

import m2cgen
from sklearn.linear_model import LinearRegression

from housing import store

CC, SIZE, NM = "arm-none-eabi-gcc", "arm-none-eabi-size", "arm-none-eabi-nm"
FLAGS = ["-mcpu=cortex-m0", "-mthumb", "-Os", "-std=c99", "-ffunction-sections",
         "-fdata-sections"]
# bare metal: our own entry point, no C library, libgcc for what the core lacks
LINK = ["-nostdlib", "-nostartfiles", "-Wl,--gc-sections", "-Wl,-e,_start"]
EMPTY = "volatile int sink;\nvoid _start(void) { for (;;) sink = 0; }\n"
CALL = """#include <stdint.h>
{decl}
volatile {t} in[8];
volatile {r} out;
void _start(void)
{{
    {t} x[8];
    for (;;) {{
        for (int j = 0; j < 8; j++)
            x[j] = in[j];
        out = {call}(x);
    }}
}}
"""


def run(*args, cwd):
    return subprocess.run(args, cwd=cwd, check=True, capture_output=True, text=True).stdout


def flash(path, cwd):
    """text + data bytes of an object or program: what it takes in flash."""
    text, data, *_ = run(SIZE, "--format=berkeley", path, cwd=cwd).splitlines()[1].split()
    return int(text) + int(data)


def measure(d, kernel_source, include, main_source):
    """(kernel bytes, program bytes over the empty program, soft-float symbols linked)."""
    run(CC, *FLAGS, *include, "-c", kernel_source, "-o", "kernel.o", cwd=d)
    (d / "main.c").write_text(main_source)
    run(CC, *FLAGS, *include, *LINK, "main.c", "kernel.o", "-lgcc", "-o", "program.elf", cwd=d)
    symbols = run(NM, "program.elf", cwd=d).split()
    soft = sorted({s for s in symbols if s.startswith(("__aeabi_d", "__aeabi_f"))})
    return flash("kernel.o", d), flash("program.elf", d), soft


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--export", required=True, help="the folder `housing export --c` wrote")
    p.add_argument("--model", required=True, help="the float model m2cgen exports")
    args = p.parse_args()
    float_model = store.load_model(args.model, kind="float")
    sk = LinearRegression()
    sk.coef_, sk.intercept_ = float_model.coef, float_model.intercept
    sk.n_features_in_ = len(sk.coef_)
    export = Path(args.export).resolve()
    with tempfile.TemporaryDirectory() as tmp:
        d = Path(tmp)
        (d / "empty.c").write_text(EMPTY)
        run(CC, *FLAGS, *LINK, "empty.c", "-lgcc", "-o", "empty.elf", cwd=d)
        empty = flash("empty.elf", d)
        ours = measure(d, str(export / "housing_model.c"), ["-I", str(export)], CALL.format(
            decl='#include "housing_model.h"', t="int32_t", r="int64_t",
            call="housing_predict"))
        (d / "m2cgen.c").write_text(m2cgen.export_to_c(sk))
        theirs = measure(d, "m2cgen.c", [], CALL.format(
            decl="double score(double *input);", t="double", r="double", call="score"))
        version = run(CC, "-dumpversion", cwd=d).strip()
    print(f"export-size: Cortex-M0, {CC} {version} {' '.join(FLAGS[:3])}; flash bytes "
          f"(an empty program: {empty})")
    print(f"  {'':28}{'kernel alone':>14}{'program - empty':>17}  soft-float routines linked")
    for name, (kernel, program, soft) in (("housing integer kernel", ours),
                                          (f"m2cgen {m2cgen.__version__} float C", theirs)):
        print(f"  {name:28}{kernel:>14,}{program - empty:>17,}  {', '.join(soft) or 'none'}")
    ratio = (theirs[1] - empty) / max(ours[1] - empty, 1)
    print(f"  m2cgen's linked increase is {ratio:.1f}x ours (goal: at least 10x)")
    if ours[2]:
        print("export-size: the integer kernel links soft-float routines", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
