import hashlib
import io
import json
import os
import pickle  # noqa: F401 - only to build the hostile file the loader must refuse
import subprocess
import sys
import zipfile
from dataclasses import replace

import numpy as np
import pytest

from housing import store
from housing.cli import UserError
from housing.config import FORMAT_VERSION, METHODS
from repo import ROOT
from housing.model import PER_FEATURE


def rewrite(src, dst, change):
    """Copy a model or split file, passing its members (meta as a dict) through ``change``."""
    with np.load(src, allow_pickle=False) as f:
        meta = json.loads(f["meta"][()].decode())
        arrays = {k: f[k] for k in f.files if k != "meta"}
    change(meta, arrays)
    store.save_npz(dst, meta, arrays)
    return dst


def test_loading_gives_back_what_was_saved(built):
    model = store.load_model(built["float"], kind="float")
    assert model.kind == "float" and model.coef.shape == (8,) and model.coef.dtype == np.float64
    assert model.lineage.seed == 42 and len(model.lineage.data_sha256) == 64
    assert model.quantization is None and model.bits == 64 and model.method == "least squares"
    q = store.load_model(built["quantized"], kind="quantized")
    assert q.quantization.bits == 8 and q.quantization.method in METHODS
    assert model.sha256 == hashlib.sha256(built["float"].read_bytes()).hexdigest()
    assert q.version == hashlib.sha256(built["quantized"].read_bytes()).hexdigest()[:12]


def test_writing_is_byte_identical_on_a_rerun(tmp_path, built):
    a, b = tmp_path / "a.npz", tmp_path / "b.npz"
    for path in (a, b):
        rewrite(built["quantized"], path, lambda meta, arrays: None)
    assert a.read_bytes() == b.read_bytes() == built["quantized"].read_bytes()


def test_meta_is_written_in_one_key_order_whatever_order_it_came_in(tmp_path):
    params = {"params": np.zeros(3)}
    store.save_npz(tmp_path / "a.npz", {"b": 1, "a": 2}, params)
    store.save_npz(tmp_path / "b.npz", {"a": 2, "b": 1}, params)
    assert (tmp_path / "a.npz").read_bytes() == (tmp_path / "b.npz").read_bytes()


def test_quantized_payload_is_a_third_of_the_float_one(built):
    # (the files are about the same size: the quantized meta records its grid and the
    # integer kernel's input format, about as many bytes as the payload saves)
    assert store.load_model(built["quantized"]).payload_bytes == 24
    assert store.load_model(built["float"]).payload_bytes == 72


def _pickled(path):
    buf = io.BytesIO()
    np.save(buf, np.array([{"a": 1}], dtype=object), allow_pickle=True)
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr("meta.npy", buf.getvalue())
        zf.writestr("params.npy", _npy(np.zeros(9)))
    return path


def _npy(array):
    buf = io.BytesIO()
    np.save(buf, array)
    return buf.getvalue()


def _truncated(path, src):
    path.write_bytes(src.read_bytes()[:300])
    return path


def missing(path, src):
    return path


def folder(path, src):
    path.mkdir()
    return path


def written(content):
    """A case that writes ``content`` (text or bytes) where the model should be."""
    def make(path, src):
        path.write_bytes(content if isinstance(content, bytes) else content.encode())
        return path
    return make


def encrypted(path, src):
    """The good model with one bit flipped: its members' flags say they are encrypted."""
    data = bytearray(src.read_bytes())
    for signature, offset in ((b"PK\x03\x04", 6), (b"PK\x01\x02", 8)):
        at = -1
        while (at := data.find(signature, at + 1)) >= 0:
            data[at + offset] |= 1
    path.write_bytes(bytes(data))
    return path


def changed(change):
    """A case that rewrites the good model with ``change(meta, arrays)`` applied."""
    def make(path, src):
        return rewrite(src, path, change)
    return make


def set_first_param_nan(meta, arrays):
    arrays["params"][0] = np.nan


def zip_of(members):
    """A case that writes a zip of ``members`` (name -> bytes) where the model should be."""
    def make(path, src):
        with zipfile.ZipFile(path, "w") as zf:
            for name, data in members.items():
                zf.writestr(name, data)
        return path
    return make


CASES = {
    "empty archive": (zip_of({}), "expected a model with members meta, params; got no members"),
    "corrupt member": (zip_of({"meta.npy": b"\x93NUMPY garbage", "params.npy": _npy(np.zeros(9))}),
                       "member 'meta' is corrupt (EOF: reading array header, expected "
                       "1633841761 bytes got 2)"),
    "member larger than its shape": (
        zip_of({"meta.npy": _npy(np.array(b"{}")) + b" " * 100, "params.npy": _npy(np.zeros(9))}),
        "member 'meta' holds 230 bytes, more than its shape () of |S2 declares (130)"),
    "meta not one string": (zip_of({"meta.npy": _npy(np.array([b"{}", b"{}"])),
                                    "params.npy": _npy(np.zeros(9))}),
                            "member 'meta' should be a JSON byte string, got |S2 of shape (2,)"),
    "meta not JSON": (zip_of({"meta.npy": _npy(np.array(b"{")), "params.npy": _npy(np.zeros(9))}),
                      "member 'meta' is not valid JSON (Expecting property name enclosed in "
                      "double quotes: line 1 column 2 (char 1))"),
    "missing": (missing, "no such file; expected a model (run `make all` to build it)"),
    "folder": (folder, "is a folder; expected a model"),
    "text": (written("MedInc,HouseAge\n1,2\n"),
             "not an .npz file (pickle or unknown format); expected a model"),
    "pickle": (written(pickle.dumps({"coef": [1.0]})),
               "not an .npz file (pickle or unknown format); expected a model"),
    "pickled member": (lambda path, src: _pickled(path),
                       "member 'meta' holds pickled Python objects, which could run code; "
                       "refusing to load it"),
    "truncated": (_truncated, "truncated or corrupt (File is not a zip file); expected a model"),
    "npy": (written(_npy(np.zeros(9))), "a single .npy array, not an .npz archive; expected a "
                                        "model"),
    "newer": (changed(lambda m, a: m.update(version=FORMAT_VERSION + 1)),
              f"format version {FORMAT_VERSION + 1}, but this housing reads version "
              f"{FORMAT_VERSION}; a newer housing wrote it: upgrade housing, or rebuild it "
              f"with `make all`"),
    "older": (changed(lambda m, a: m.update(version=0)),
              f"format version 0, but this housing reads version {FORMAT_VERSION}; rebuild "
              f"it with `make all`"),
    "version not an integer": (changed(lambda m, a: m.update(version=float(FORMAT_VERSION))),
                               f"format version {float(FORMAT_VERSION)!r}, but this housing "
                               f"reads version {FORMAT_VERSION}; rebuild it with `make all`"),
    "min above max": (changed(lambda m, a: m["ranges"]["min"].__setitem__(2, 1e9)),
                      "'ranges' of feature 3: min 1000000000.0 is above max "),
    "not ours": (changed(lambda m, a: m.pop("format")),
                 "not a housing file (meta has no format 'housing'); expected a model"),
    "shape": (changed(lambda m, a: a.update(params=np.zeros(8))),
              "'params' should be float64 of shape (9,), got float64 of shape (8,)"),
    "dtype": (changed(lambda m, a: a.update(params=np.zeros(9, np.float32))),
              "'params' should be float64 of shape (9,), got float32 of shape (9,)"),
    "nan": (changed(set_first_param_nan), "parameters are not all finite"),
    "features": (changed(lambda m, a: m.update(features=["a", "a"])),
                 "'features' should be a list of distinct names, got ['a', 'a']"),
    "members": (changed(lambda m, a: a.update(extra=np.zeros(1))),
                "expected a model with members meta, params; got meta, params, extra"),
    "an integer of 401 digits in a range": (
        changed(lambda m, a: m["ranges"]["min"].__setitem__(0, 10 ** 400)),
        "'ranges' should hold min, max, q001, q999, mean, std, each 8 finite numbers, and "
        "deciles, 9 lists of 8; rebuild it with `make all`"),
    "meta nested 100,000 deep": (
        zip_of({"meta.npy": _npy(np.array(b"[" * 100_000)), "params.npy": _npy(np.zeros(9))}),
        "member 'meta' is not valid JSON (nested too deeply)"),
    "ranges": (changed(lambda m, a: m["ranges"].update(min=[0.0] * 7)),
               "'ranges' should hold min, max, q001, q999, mean, std, each 8 finite numbers, "
               "and deciles, 9 lists of 8; rebuild it with `make all`"),
}


def test_a_fifo_is_refused_not_waited_on(tmp_path):
    fifo = tmp_path / "model.npz"
    os.mkfifo(fifo)  # nothing writes it: a read would wait for ever
    # run from the project, as mutmut's copy of it needs: its pyproject.toml is there
    run = subprocess.run([sys.executable, "-m", "housing", "predict", "--model", str(fifo)],
                         cwd=ROOT, stdin=subprocess.DEVNULL, capture_output=True,
                         text=True, timeout=30)  # a bound on hanging, not a speed figure
    assert (run.returncode, run.stdout, run.stderr) == (
        2, "", f"housing predict: error: {fifo}: not a regular file; expected a model\n")


def test_a_flipped_encryption_bit_is_refused_as_corrupt(tmp_path, built):
    path = encrypted(tmp_path / "model.npz", built["float"])
    assert refusal(path).startswith(f"{path}: truncated or corrupt (File <ZipInfo "
                                    f"filename='meta.npy'")
    assert refusal(path).endswith("is encrypted, password required for extraction); expected "
                                  "a model")


@pytest.mark.parametrize("case", CASES)
def test_bad_model_files_are_refused_with_a_reason(tmp_path, built, case):
    make, message = CASES[case]
    path = make(tmp_path / "model.npz", built["float"])
    with pytest.raises(UserError) as e:
        store.load_model(path)
    if case == "min above max":  # the max is the training data's, whatever it is
        assert str(e.value).startswith(f"{path}: {message}")
        assert str(e.value).endswith("; rebuild it with `make all`")
    else:
        assert str(e.value) == f"{path}: {message}"


def refusal(path, **kind):
    """The message loading ``path`` raises."""
    with pytest.raises(UserError) as e:
        store.load_model(path, **kind)
    return str(e.value)


@pytest.fixture
def minmax_file(tmp_path, built):
    """A quantized file of a known layout: min-max at 8 bits, 8 features. Its params are
    a header of 3 + 8 bytes (bits, method, flags, one input shift a feature), then the
    scale and intercept (4 bytes each) and 9 codes of 8 bits (the zero point the ninth)."""
    from housing import quantize
    lineage, split = store.load_split(built["split"])
    model = store.load_model(built["float"])
    q = quantize.quantize("minmax", model.coef, model.intercept, split["X_train"],
                          split["y_train"], 8)
    store.save_quantized(tmp_path / "minmax.npz", q, lineage)
    return tmp_path / "minmax.npz"


def with_params(src, dst, change):
    """A copy of ``src`` whose params bytes are ``change(bytearray)``."""
    def update(meta, arrays):
        arrays["params"] = np.frombuffer(bytes(change(bytearray(arrays["params"]))), np.uint8)
    return rewrite(src, dst, update)


def set_byte(at, value):
    def change(params):
        params[at] = value
        return params
    return change


def test_a_known_layout_has_the_length_derived_by_hand(minmax_file):
    with np.load(minmax_file, allow_pickle=False) as f:
        params = f["params"]
    assert params.dtype == np.uint8 and params.shape == (3 + 8 + 4 + 4 + 9,)
    assert params[0] == 8 and params[1] == 0 and params[2] == 0  # 8 bits, minmax, no flags
    model = store.load_model(minmax_file)
    assert model.quantization.bits == 8 and model.quantization.method == "minmax"
    assert model.quantization.symmetric is False and model.quantization.auto is False
    assert model.payload_bytes == 17


@pytest.mark.parametrize("change, message", [
    (lambda p: p[:-1], "expected 17 payload bytes for 8 coefficients at 8 bits (minmax), got 16"),
    (lambda p: p + b"\0", "expected 17 payload bytes for 8 coefficients at 8 bits (minmax), got 18"),
    (lambda p: p[:5], "'params' holds 5 bytes; expected a header of 11 and the parameters"),
    (set_byte(0, 40), "'bits' should be from 2 to 16, got 40"),
    (set_byte(0, 1), "'bits' should be from 2 to 16, got 1"),
    (set_byte(1, 4), "unknown quantization method number 4; expected 0 to 3 (minmax, "
                     "bias-corrected, standardized, error-compensating)"),
    (set_byte(2, 4), "flags 0x04; expected only 0x01 (symmetric) and 0x02 (auto)"),
])
def test_bad_quantized_params_are_refused(tmp_path, minmax_file, change, message):
    path = with_params(minmax_file, tmp_path / "q.npz", change)
    assert refusal(path) == f"{path}: {message}"


def test_an_input_shift_out_of_range_is_refused(tmp_path, minmax_file):
    path = with_params(minmax_file, tmp_path / "q.npz", set_byte(3, 100))
    message = refusal(path)
    assert message.startswith(f"{path}: 'input_shifts' should be from -64 to 64, got [100, ")


def test_params_of_another_dtype_are_refused(tmp_path, minmax_file):
    path = rewrite(minmax_file, tmp_path / "q.npz",
                   lambda m, a: a.update(params=a["params"].astype(np.int16)))
    assert refusal(path) == f"{path}: 'params' should be uint8 bytes, got int16 of shape (28,)"


def test_the_quantized_file_is_smaller_than_the_float_file(built):
    quantized = built["quantized"].stat().st_size
    floating = built["float"].stat().st_size
    assert quantized < floating - 16, (quantized, floating)


def test_a_kind_missing_from_a_quantized_file_is_refused(tmp_path, built):
    path = rewrite(built["quantized"], tmp_path / "q.npz", lambda m, a: m.pop("kind"))
    assert refusal(path) == f"{path}: not a model (kind None); expected a model"


def test_a_huge_integer_in_meta_is_one_line(tmp_path, built):
    import io
    import zipfile
    with np.load(built["float"], allow_pickle=False) as f:
        text = f["meta"][()].decode()
    assert '"seed": 42' in text
    npy = io.BytesIO()
    np.lib.format.write_array(npy, np.array(text.replace('"seed": 42', '"seed": ' + "4" * 5000)
                                            .encode()))
    path = tmp_path / "m.npz"
    with zipfile.ZipFile(built["float"]) as src, zipfile.ZipFile(path, "w") as dst:
        dst.writestr("meta.npy", npy.getvalue())
        dst.writestr("params.npy", src.read("params.npy"))
    assert refusal(path).startswith(f"{path}: member 'meta' is not valid JSON (Exceeds the "
                                    f"limit (4300 digits) for integer string conversion")


def test_a_symlink_loop_is_one_line(tmp_path):
    loop = tmp_path / "loop.npz"
    loop.symlink_to(loop)
    message = refusal(loop)
    assert message.startswith(f"{loop}: ") and "\n" not in message


def test_a_member_declaring_a_huge_shape_is_refused_before_it_is_read(tmp_path, built):
    import io
    import zipfile
    npy = io.BytesIO()
    np.lib.format.write_array_header_1_0(npy, {"descr": "<f8", "fortran_order": False,
                                              "shape": (2 ** 35,)})
    with zipfile.ZipFile(built["float"]) as src, zipfile.ZipFile(tmp_path / "m.npz", "w") as dst:
        dst.writestr("meta.npy", src.read("meta.npy"))
        dst.writestr("params.npy", npy.getvalue() + b"\0" * 64)
    assert refusal(tmp_path / "m.npz") == (
        f"{tmp_path / 'm.npz'}: member 'params' declares shape (34359738368,) of float64, "
        f"{npy.tell() + 2 ** 38:,} bytes; expected at most 67,108,864")


def test_members_that_are_not_npy_are_refused(tmp_path, built):
    import zipfile
    with zipfile.ZipFile(built["float"]) as src, zipfile.ZipFile(tmp_path / "m.npz", "w") as dst:
        dst.writestr("meta.npy", src.read("meta.npy"))
        dst.writestr("params", src.read("params.npy"))
    assert refusal(tmp_path / "m.npz") == (
        f"{tmp_path / 'm.npz'}: member 'params' is not an .npy array; expected params.npy")


@pytest.mark.parametrize("bits", [2, 16])
def test_both_ends_of_the_bits_range_load(tmp_path, built, bits):
    from housing import quantize
    lineage, split = store.load_split(built["split"])
    model = store.load_model(built["float"])
    q = quantize.quantize("standardized", model.coef, model.intercept, split["X_train"],
                          split["y_train"], bits)
    store.save_quantized(tmp_path / "q.npz", q, lineage)
    assert store.load_model(tmp_path / "q.npz").bits == bits


def test_a_float_model_where_a_quantized_one_is_expected_and_the_reverse(built):
    assert refusal(built["float"], kind="quantized") == (
        f"{built['float']}: expected a quantized model, got a float model")
    assert refusal(built["quantized"], kind="float") == (
        f"{built['quantized']}: expected a float model, got a quantized model")
    with pytest.raises(UserError) as e:
        store.load_split(built["float"])
    assert str(e.value) == (f"{built['float']}: expected the train/test split with members "
                            f"meta, X_train, y_train, X_test, y_test; got meta, params")


@pytest.mark.parametrize("kind", ["float", "quantized"])
def test_a_model_cut_short_anywhere_is_refused(tmp_path, built, kind):
    whole = built[kind].read_bytes()
    path = tmp_path / "cut.npz"
    for size in range(0, len(whole), 7):
        path.write_bytes(whole[:size])
        assert refusal(path).startswith(f"{path}: ")


def set_nan(name):
    def change(meta, arrays):
        arrays[name] = arrays[name].copy()
        arrays[name][0] = np.nan
    return change


@pytest.mark.parametrize("change, message", [
    (set_nan("X_train"), "X_train or y_train holds non-finite values"),
    (set_nan("y_test"), "X_test or y_test holds non-finite values"),
    (lambda m, a: m.update(kind="float"), "expected the train/test split, got 'float'"),
    (lambda m, a: a.update(X_test=a["X_test"].astype(np.float32)),
     "'X_test' should be float64 of shape (800, 8), got float32 of shape (800, 8)"),
    (lambda m, a: a.update(y_train=a["y_train"][:-1]),
     "'y_train' should be float64 of shape (3200,), got float64 of shape (3199,)"),
    (lambda m, a: a.update(X_train=np.float64(1.0)),
     "'X_train' should be float64 of shape (0, 8), got float64 of shape ()"),
    (lambda m, a: m.update(features="MedInc"), "'features' should be a list of distinct names, "
                                               "got 'MedInc'"),
    (lambda m, a: m.update(features=["MedInc", ""]), "'features' should be a list of distinct "
                                                     "names, got ['MedInc', '']"),
    (lambda m, a: m.update(features=["MedInc", 7]), "'features' should be a list of distinct "
                                                    "names, got ['MedInc', 7]"),
])
def test_bad_splits_are_refused_with_a_reason(tmp_path, built, change, message):
    path = rewrite(built["split"], tmp_path / "split.npz", change)
    with pytest.raises(UserError) as e:
        store.load_split(path)
    assert str(e.value) == f"{path}: {message}"


DECILES = [[0.0] * 8] * 9


@pytest.mark.parametrize("ranges", [
    [0.0] * 8, {"min": [0.0] * 8},
    {k: [0.0] * 7 + [float("nan")] for k in PER_FEATURE} | {"deciles": DECILES},
    {k: [0.0] * 7 + ["0"] for k in PER_FEATURE} | {"deciles": DECILES},
    {k: [0.0] * 8 for k in PER_FEATURE},  # no deciles
    {k: [0.0] * 8 for k in PER_FEATURE} | {"deciles": DECILES[1:]},
    {k: [0.0] * 8 for k in PER_FEATURE} | {"deciles": DECILES[1:] + [[0.0] * 7]},
])
def test_bad_training_ranges_are_refused(tmp_path, built, ranges):
    path = rewrite(built["float"], tmp_path / "f.npz", lambda m, a: m.update(ranges=ranges))
    assert refusal(path) == (f"{path}: 'ranges' should hold min, max, q001, q999, mean, "
                             f"std, each 8 finite numbers, and deciles, 9 lists of 8; "
                             f"rebuild it with `make all`")


@pytest.mark.parametrize("change, message", [
    (lambda r: r["deciles"][4].__setitem__(2, r["deciles"][5][2] + 1),
     "the deciles should rise from min to max"),
    (lambda r: r["deciles"][0].__setitem__(2, r["min"][2] - 1),
     "the deciles should rise from min to max"),
    (lambda r: r["deciles"][8].__setitem__(2, r["max"][2] + 1),
     "the deciles should rise from min to max"),
    (lambda r: r["std"].__setitem__(2, -0.5), "std -0.5 is below 0"),
])
def test_a_profile_out_of_order_is_refused(tmp_path, built, change, message):
    path = rewrite(built["float"], tmp_path / "f.npz", lambda m, a: change(m["ranges"]))
    assert refusal(path) == f"{path}: 'ranges' of feature 3: {message}; rebuild it with `make all`"


@pytest.mark.parametrize("key, value, expected, shown", [
    ("seed", "42", "an integer from 0 to 2**32 - 1", "'42'"),
    ("seed", 2 ** 32, "an integer from 0 to 2**32 - 1", "4294967296"),
    ("seed", True, "an integer from 0 to 2**32 - 1", "True"),
    ("test_size", 1.0, "a share between 0 and 1", "1.0"),
    ("test_size", 0, "a share between 0 and 1", "0"),
    # upper-case digits, as no sha256sum prints them; a long value is cut short
    ("data_sha256", "F" * 64, "a sha256, 64 hexadecimal digits", "'" + "F" * 56 + "..."),
    ("data_sha256", None, "a sha256, 64 hexadecimal digits", "None"),
])
def test_each_field_of_the_lineage_is_checked(tmp_path, built, key, value, expected, shown):
    path = rewrite(built["float"], tmp_path / "f.npz", lambda m, a: m.update({key: value}))
    assert refusal(path) == (f"{path}: '{key}' should be {expected}, got {shown}; rebuild it "
                             f"with `make all`")


def test_the_lineage_message_names_both_values(tmp_path, built):
    model = store.load_model(built["float"])
    with pytest.raises(UserError) as e:
        store.check_lineage(model, store.Split(replace(model.lineage, seed=7), {}), "m.npz",
                            "s.npz")
    assert str(e.value) == ("m.npz was trained on another split than s.npz (seed: 42 vs 7); "
                            "rebuild with `make all`")


@pytest.mark.parametrize("kind", ["float", "quantized"])
def test_a_model_with_any_one_byte_damaged_loads_or_is_refused_in_one_line(tmp_path, built,
                                                                           kind):
    whole = built[kind].read_bytes()
    path = tmp_path / "damaged.npz"
    refused = 0
    for i in range(len(whole)):
        damaged = bytearray(whole)
        damaged[i] ^= 0xFF
        path.write_bytes(bytes(damaged))
        try:
            model = store.load_model(path)
        except UserError as e:
            assert str(e).startswith(f"{path}: ") and "\n" not in str(e)
            refused += 1
            continue
        # what loads despite the damage (a byte of the zip's own bookkeeping) is the model
        np.testing.assert_array_equal(model.coef, store.load_model(built[kind]).coef)
    assert refused > len(whole) * 3 // 4


def test_a_known_kind_that_is_not_a_model(tmp_path, built):
    path = rewrite(built["float"], tmp_path / "f.npz", lambda m, a: m.update(kind="split"))
    assert refusal(path) == f"{path}: not a model (kind 'split'); expected a model"


@pytest.mark.parametrize("auto", [False, True])
def test_a_quantized_file_keeps_auto_and_the_input_shifts_of_its_ranges(tmp_path, built, auto):
    from housing import integer, quantize
    lineage, split = store.load_split(built["split"])
    model = store.load_model(built["float"])
    q = quantize.quantize("standardized", model.coef, model.intercept, split["X_train"],
                          split["y_train"], 8)
    store.save_quantized(tmp_path / "q.npz", q, lineage, auto=auto)
    quantization = store.load_model(tmp_path / "q.npz").quantization
    ranges = lineage.ranges
    assert quantization.auto is auto
    assert list(quantization.input_shifts) == list(integer.input_shifts(ranges.min, ranges.max))
    assert len(set(quantization.input_shifts)) > 1  # the features' ranges differ, so do shifts


def test_a_header_may_hold_shifts_at_both_ends_and_no_more_than_itself():
    from housing import qparams
    shifts = [-qparams.MAX_SHIFT, qparams.MAX_SHIFT, 0]
    params = bytes([8, 0, 0]) + np.array(shifts, np.int8).tobytes()
    assert len(params) == 3 + 3
    assert qparams.read_header(params, 3, "m").input_shifts == tuple(shifts)
    with pytest.raises(UserError) as e:
        qparams.read_header(params[:-1], 3, "m")
    assert str(e.value) == "m: 'params' holds 5 bytes; expected a header of 6 and the parameters"


def test_a_feature_that_was_constant_in_training_loads(tmp_path, built):
    # a range of one value (min equal to max) is a range, not a damaged file
    def constant_first(meta, arrays):
        ranges = meta["ranges"]
        ranges["max"][0] = ranges["min"][0]
        ranges["std"][0] = 0.0
        for decile in ranges["deciles"]:
            decile[0] = ranges["min"][0]
    model = store.load_model(rewrite(built["float"], tmp_path / "m.npz", constant_first))
    assert model.ranges.min[0] == model.ranges.max[0]


def names(*lengths):
    """Distinct feature names of these lengths, each cut from a long text one letter further on."""
    text = "abcdefghijklmnopqrstuvwxyz" * 8
    return [text[i:i + n] for i, n in enumerate(lengths)]


@pytest.mark.parametrize("features, message", [
    ([f"f{i}" for i in range(1_001)], "'features' should name at most 1,000 features, got 1,001"),
    ([f"f{i}" for i in range(1_000)], "'ranges' should hold min, max, q001, q999, mean, std, "
                                      "each 1000 finite numbers, and deciles, 9 lists of 1000; "
                                      "rebuild it with `make all`"),
    # the list as ascii() shows it, whole up to 80 characters: 16 names 'a' take 80
    (["a"] * 16, "'features' should be a list of distinct names, got " + ascii(["a"] * 16)),
    (["a"] * 15 + ["aa"], "'features' should be a list of distinct names, got "
                          + ascii(["a"] * 15 + ["aa"])[:77] + "..."),
    (names(100, 101), "feature 2's name should be at most 100 printable characters, got "
                      + ascii(names(100, 101)[1])[:57] + "..."),
    # shown whole up to 60 characters: 56 letters, a newline (\n, 2) and the quotes (2)
    (["MedInc", "a" * 56 + "\n"], "feature 2's name should be at most 100 printable "
                                  "characters, got " + ascii("a" * 56 + "\n")),
])
def test_features_are_counted_and_named_at_their_limits(tmp_path, built, features, message):
    path = rewrite(built["split"], tmp_path / "split.npz",
                         lambda m, a: m.update(features=features))
    with pytest.raises(UserError) as e:
        store.load_split(path)
    assert str(e.value) == f"{path}: {message}"


def test_load_trained_holds_the_names_float_and_quantized_to_their_kind(built):
    with pytest.raises(UserError) as e:
        store.load_trained(built["split"], float=built["quantized"])
    assert str(e.value) == f"{built['quantized']}: expected a float model, got a quantized model"
    with pytest.raises(UserError) as e:
        store.load_trained(built["split"], quantized=built["float"])
    assert str(e.value) == f"{built['float']}: expected a quantized model, got a float model"
    either = store.load_trained(built["split"], model=built["quantized"])
    assert either.models["model"].kind == "quantized"


def test_a_file_is_read_up_to_its_limit_and_refused_past_it(tmp_path):
    path = tmp_path / "model.npz"
    path.write_bytes(b"x" * 10)
    assert store.read_bytes(path, "a model", 10) == b"x" * 10
    path.write_bytes(b"x" * 11)
    with pytest.raises(UserError) as e:
        store.read_bytes(path, "a model", 10)
    assert str(e.value) == f"{path}: holds more than 10 bytes; expected a model"


def test_a_range_written_as_an_integer_float64_holds_is_read(tmp_path, built):
    # JSON may write a whole number without a point: the largest float64 as an integer is one
    largest = int(1.7976931348623157e308)
    path = rewrite(built["float"], tmp_path / "m.npz",
                   lambda m, a: m["ranges"]["min"].__setitem__(0, -largest))
    assert store.load_model(path).ranges.min[0] == -1.7976931348623157e308
