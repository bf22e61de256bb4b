"""make mutation's check of its survivors against tests/mutation-survivors.txt.

mutmut numbers its mutants in the order it meets them, so a number moves whenever code
moves. A survivor is named here by what survives a move: its function, and the text of
the lines it changes (from ``mutmut show``), indentation left out. The file holds one
block a survivor, blocks apart by a blank line:

    housing.data.fetch
    - bunch = datasets.fetch_california_housing(data_home=home, n_retries=1, delay=1.0)
    + bunch = datasets.fetch_california_housing(data_home=home, n_retries=1, )
    why: the pause between a download's two attempts: only how long a failure takes

Usage: survivors.py --mutmut BIN --dir MUTATION_DIR --explained FILE < names
prints each survivor not explained (the first 20, as blocks to fill in), and the count;
--blocks prints every survivor's block with an empty why, to start the file from.
"""
import argparse
import re
import subprocess
import sys
from typing import NamedTuple

SHOWN = 20


class Key(NamedTuple):
    """What names a mutant across moves: its function and the lines it takes out and puts in."""
    function: str
    removed: tuple
    added: tuple

    def block(self, why=""):
        return "\n".join([self.function, *(f"- {line}" for line in self.removed),
                          *(f"+ {line}" for line in self.added), f"why: {why}"])


def function_of(name):
    """``housing.predict.xǁOutputǁclose__mutmut_1`` -> ``housing.predict.Output.close``."""
    module, _, mangled = name.rpartition(".")
    mangled = re.sub(r"__mutmut_\d+$", "", mangled)
    return f"{module}.{mangled[2:].replace('ǁ', '.')}"  # [2:]: mutmut's "x_" or "xǁ"


def key_of(name, diff):
    """The Key of mutant ``name`` from its ``mutmut show`` diff."""
    removed = []
    added = []
    for line in diff.splitlines():
        if line.startswith(("---", "+++")):
            continue
        if line.startswith("-"):
            removed.append(line[1:].strip())
        elif line.startswith("+"):
            added.append(line[1:].strip())
    return Key(function_of(name), tuple(removed), tuple(added))


def read_explained(path):
    """{Key: why} of the survivors file; a block that does not parse is an error."""
    explained = {}
    with open(path, encoding="utf-8") as f:
        text = "\n".join(line for line in f.read().splitlines() if not line.startswith("#"))
    for block in text.strip().split("\n\n"):
        lines = block.strip().splitlines()
        function, *changes, why = lines
        if not why.startswith("why: ") or not why[5:].strip():
            sys.exit(f"{path}: the block of {function} ends without a 'why: ' line")
        if any(not change.startswith(("- ", "+ ")) and change not in "-+" for change in changes):
            sys.exit(f"{path}: the block of {function} has a line that is not '- ' or '+ '")
        key = Key(function, tuple(c[2:] for c in changes if c.startswith("-")),
                  tuple(c[2:] for c in changes if c.startswith("+")))
        explained[key] = why[5:]
    return explained


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--mutmut", required=True, help="the mutmut command")
    parser.add_argument("--dir", required=True, help="where make mutation ran mutmut")
    parser.add_argument("--explained", required=True, help="tests/mutation-survivors.txt")
    parser.add_argument("--blocks", action="store_true", help="print every survivor's block")
    args = parser.parse_args(argv)
    keys = []
    for name in sys.stdin.read().split():
        shown = subprocess.run([args.mutmut, "show", name], cwd=args.dir, capture_output=True,
                               text=True, check=True)
        keys.append(key_of(name, shown.stdout))
    if args.blocks:
        print("\n\n".join(key.block() for key in keys))
        return 0
    explained = read_explained(args.explained)
    missing = [key for key in keys if key not in explained]
    for key in missing[:SHOWN]:
        print(f"mutation: not explained in {args.explained}:\n{key.block()}")
    gone = len(set(explained) - set(keys))
    print(f"mutation: {len(missing)} survivors not explained in {args.explained}; "
          f"{gone} explained there no longer survive")
    return 0


if __name__ == "__main__":
    sys.exit(main())
