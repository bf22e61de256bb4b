import io
import json
import pickle  # noqa: F401 - only to build the hostile file the loader must refuse
import zipfile

import numpy as np
import pytest

from housing import store
from housing.cli import UserError


def rewrite(src, dst, change):
    """Copy a model file, passing its members (meta as a dict) through ``change``."""
    with np.load(src, allow_pickle=False) as f:
        meta = json.loads(f["meta"][()].decode())
        arrays = {k: f[k] for k in f.files if k != "meta"}
    change(meta, arrays)
    store.save_npz(dst, meta, arrays)
    return dst


def test_loading_gives_back_what_was_saved(built):
    model = store.load_model(built["float"], kind="float")
    assert model.kind == "float" and model.coef.shape == (8,) and model.coef.dtype == np.float64
    assert model.meta["seed"] == 42 and len(model.meta["data_sha256"]) == 64
    q = store.load_model(built["quantized"], kind="quantized")
    assert q.meta["bits"] == 8 and q.meta["method"] in store.quantize.METHODS


def test_writing_is_byte_identical_on_a_rerun(tmp_path, built):
    a, b = tmp_path / "a.npz", tmp_path / "b.npz"
    for path in (a, b):
        rewrite(built["quantized"], path, lambda meta, arrays: None)
    assert a.read_bytes() == b.read_bytes() == built["quantized"].read_bytes()


def test_quantized_file_is_smaller_than_float_file(built):
    assert built["quantized"].stat().st_size < built["float"].stat().st_size
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


CASES = {
    "missing": (lambda p, src: p, r"no such file; expected a model \(run `make all`"),
    "folder": (lambda p, src: (p.mkdir(), p)[1], r"is a folder; expected a model"),
    "text": (lambda p, src: (p.write_text("MedInc,HouseAge\n1,2\n"), p)[1],
             r"not an .npz file \(pickle or unknown format\); expected a model"),
    "pickle": (lambda p, src: (p.write_bytes(pickle.dumps({"coef": [1.0]})), p)[1],
               r"not an .npz file \(pickle or unknown format\)"),
    "pickled member": (lambda p, src: _pickled(p),
                       r"member 'meta' holds pickled Python objects, which could run code; "
                       r"refusing to load it"),
    "truncated": (_truncated, r"truncated or corrupt \(File is not a zip file\); expected a model"),
    "npy": (lambda p, src: (p.write_bytes(_npy(np.zeros(9))), p)[1],
            r"a single .npy array, not an .npz archive"),
    "newer": (lambda p, src: rewrite(src, p, lambda m, a: m.update(version=3)),
              r"format version 3, but this housing reads version 2; a newer housing "
              r"wrote it: upgrade housing, or rebuild it with `make all`"),
    "older": (lambda p, src: rewrite(src, p, lambda m, a: m.update(version=0)),
              r"format version 0, but this housing reads version 2; rebuild it"),
    "not ours": (lambda p, src: rewrite(src, p, lambda m, a: m.pop("format")),
                 r"not a housing file \(meta has no format 'housing'\)"),
    "shape": (lambda p, src: rewrite(src, p, lambda m, a: a.update(params=np.zeros(8))),
              r"'params' should be float64 of shape \(9,\), got float64 of shape \(8,\)"),
    "dtype": (lambda p, src: rewrite(src, p, lambda m, a: a.update(
        params=np.zeros(9, np.float32))),
              r"'params' should be float64 of shape \(9,\), got float32 of shape \(9,\)"),
    "nan": (lambda p, src: rewrite(src, p, lambda m, a: a["params"].__setitem__(0, np.nan)),
            r"parameters are not all finite"),
    "features": (lambda p, src: rewrite(src, p, lambda m, a: m.update(features=["a", "a"])),
                 r"'features' should be a list of distinct names, got \['a', 'a'\]"),
    "members": (lambda p, src: rewrite(src, p, lambda m, a: a.update(extra=np.zeros(1))),
                r"expected a model with members meta, params; got meta, params, extra"),
}


@pytest.mark.parametrize("case", CASES)
def test_bad_model_files_are_refused_with_a_reason(tmp_path, built, case):
    make, message = CASES[case]
    path = make(tmp_path / "model.npz", built["float"])
    with pytest.raises(UserError, match=message):
        store.load_model(path)


@pytest.mark.parametrize("payload, message", [
    (np.zeros(23, np.uint8), r"'params' should be uint8 of shape \(24,\), got uint8 of shape \(23,\)"),
    (np.zeros(24, np.int16), r"'params' should be uint8 of shape \(24,\), got int16"),
])
def test_bad_quantized_payloads_are_refused(tmp_path, built, payload, message):
    path = rewrite(built["quantized"], tmp_path / "q.npz",
                   lambda m, a: a.update(params=payload))
    with pytest.raises(UserError, match=message):
        store.load_model(path)


@pytest.mark.parametrize("change, message", [
    (lambda m: m.update(bits=40), r"bits must be between 2 and 16, got 40"),
    (lambda m: m.update(bits="8"), r"'bits' should be an integer, got '8'"),
    (lambda m: m.update(method="kmeans"), r"unknown quantization method 'kmeans'"),
])
def test_bad_quantized_meta_is_refused(tmp_path, built, change, message):
    path = rewrite(built["quantized"], tmp_path / "q.npz", lambda m, a: change(m))
    with pytest.raises(UserError, match=message):
        store.load_model(path)


def test_a_float_model_where_a_quantized_one_is_expected_and_the_reverse(built):
    with pytest.raises(UserError, match=r"expected a quantized model, got a float model"):
        store.load_model(built["float"], kind="quantized")
    with pytest.raises(UserError, match=r"expected a float model, got a quantized model"):
        store.load_model(built["quantized"], kind="float")
    with pytest.raises(UserError, match=r"expected the train/test split with members meta, "
                                        r"X_train, y_train, X_test, y_test; got meta, params"):
        store.load_split(built["float"])


@pytest.mark.parametrize("kind", ["float", "quantized"])
def test_a_model_cut_short_anywhere_is_refused(tmp_path, built, kind):
    whole = built[kind].read_bytes()
    path = tmp_path / "cut.npz"
    for size in range(0, len(whole), 7):
        path.write_bytes(whole[:size])
        with pytest.raises(UserError, match=r"cut.npz: "):
            store.load_model(path)
