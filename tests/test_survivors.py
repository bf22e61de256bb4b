"""make mutation's survivors, keyed by their function and the lines they change."""
import importlib
import operator

import pytest

from tools import survivors

from repo import ROOT

SHOWN = """# housing.data.x_fetch__mutmut_30: survived
--- housing/data.py
+++ housing/data.py
@@ -11,7 +11,7 @@
     try:
         with warnings.catch_warnings():
-            bunch = datasets.fetch_california_housing(data_home=home, n_retries=1, delay=1.0)
+            bunch = datasets.fetch_california_housing(data_home=home, n_retries=1, )
     except OSError as e:  # urllib's URLError, a timeout, a socket error
"""


@pytest.mark.parametrize("name, function", [
    ("housing.data.x_fetch__mutmut_30", "housing.data.fetch"),
    ("housing.data.x__parser__mutmut_44", "housing.data._parser"),
    ("housing.predict.xǁOutputǁ__init____mutmut_2", "housing.predict.Output.__init__"),
    ("housing.store.xǁRangesǁbins__mutmut_113", "housing.store.Ranges.bins"),
])
def test_a_mutant_is_named_by_its_function_as_python_names_it(name, function):
    assert survivors.function_of(name) == function


def test_a_mutant_is_keyed_by_the_lines_it_changes_without_their_indentation():
    assert survivors.key_of("housing.data.x_fetch__mutmut_30", SHOWN) == survivors.Key(
        "housing.data.fetch",
        ("bunch = datasets.fetch_california_housing(data_home=home, n_retries=1, delay=1.0)",),
        ("bunch = datasets.fetch_california_housing(data_home=home, n_retries=1, )",))


def test_a_block_reads_back_as_its_key(tmp_path):
    key = survivors.key_of("housing.data.x_fetch__mutmut_30", SHOWN)
    path = tmp_path / "survivors.txt"
    path.write_text(f"# a comment\n{key.block('a reason')}\n\n{key.block('again')}\n")
    assert survivors.read_explained(path) == {key: "again"}
    path.write_text(key.block())
    with pytest.raises(SystemExit) as e:
        survivors.read_explained(path)
    assert str(e.value) == f"{path}: the block of housing.data.fetch ends without a 'why: ' line"


def test_every_explained_survivor_names_a_function_that_exists():
    explained = survivors.read_explained(ROOT / "tests" / "mutation-survivors.txt")
    assert explained
    for key in explained:
        module, _, name = key.function.rpartition(".")
        while module:  # the longest importable prefix, then attributes
            try:
                found = operator.attrgetter(name)(importlib.import_module(module))
                break
            except ModuleNotFoundError:
                module, _, outer = module.rpartition(".")
                name = f"{outer}.{name}"
        assert module and callable(found), key.function
