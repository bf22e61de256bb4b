"""The pipeline's .npz files, written and read back, checked on the way in: the split and
the models. (metrics.json is ``results``', which the README's renderer reads without numpy.)

Every .npz file holds ``meta``, a JSON object stored as a byte string, and the numbers: a
model holds one member of them. Fewer members keep files small (each costs about 230 bytes of zip and .npy
headers, more than the 9 parameters themselves). Files are written byte-identically on a
re-run (fixed zip timestamps) and read with ``allow_pickle=False``, so loading one never
runs code.
"""
import hashlib
import io
import json
import math
import os
import re
import stat
import zipfile
import zlib
from typing import NamedTuple

import numpy as np

from . import integer, qparams
from .model import BINS, PER_FEATURE, Lineage, Model, Ranges
from .cli import UserError, atomic_write, display, how_to_build
from .config import FORMAT_VERSION

FORMAT = "housing"
SPLIT_ARRAYS = ("X_train", "y_train", "X_test", "y_test")
# What reading a damaged archive raises: zipfile's and zlib's own errors, the
# NotImplementedError of a header that names a compression or version it never used, and
# the RuntimeError of one whose flags say it is encrypted (one flipped bit).
DAMAGED = (OSError, EOFError, zipfile.BadZipFile, zlib.error, NotImplementedError,
           RuntimeError)
MAX_MEMBER = 64 << 20  # bytes of one member: far past any split or model this writes
SHA256 = re.compile(r"[0-9a-f]{64}")


class Loaded(NamedTuple):
    """What ``load_npz`` reads: the meta dict, the arrays by name, and the sha256 of the
    file's bytes."""
    meta: dict
    arrays: dict
    sha256: str


def save_npz(path, meta, arrays):
    """Write ``meta`` (a dict) and ``arrays`` (name -> ndarray) to ``path`` atomically."""
    members = {"meta": np.array(json.dumps(meta, sort_keys=True).encode())}
    members.update(arrays)
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        for name, array in members.items():
            npy = io.BytesIO()
            np.lib.format.write_array(npy, np.asarray(array), allow_pickle=False)
            # a fixed timestamp makes a re-run byte-identical
            info = zipfile.ZipInfo(f"{name}.npy", date_time=(1980, 1, 1, 0, 0, 0))
            # each .npy header is mostly padding, and meta is text: deflate shrinks both
            info.compress_type = zipfile.ZIP_DEFLATED
            zf.writestr(info, npy.getvalue())
    atomic_write(path, buf.getvalue())


def load_npz(path, what, names):
    """The Loaded members ``names`` (plus ``meta``) of an .npz.

    Every way a file can be wrong becomes a UserError naming the file and the problem.
    """
    where = display(path)
    data = read_bytes(path, what, (len(names) + 1) * MAX_MEMBER)
    try:
        npz = np.load(io.BytesIO(data), allow_pickle=False)
    except ValueError:
        # np.load takes anything that is neither zip nor .npy for a pickle
        raise UserError(f"{where}: not an .npz file (pickle or unknown format); "
                        f"expected {what}") from None
    except DAMAGED as e:
        raise UserError(f"{where}: truncated or corrupt ({e}); expected {what}") from None
    if not isinstance(npz, np.lib.npyio.NpzFile):
        raise UserError(f"{where}: a single .npy array, not an .npz archive; expected {what}")
    with npz:
        wanted = ("meta",) + tuple(names)
        if sorted(npz.files) != sorted(wanted):
            raise UserError(f"{where}: expected {what} with members {', '.join(wanted)}; "
                            f"got {', '.join(npz.files) or 'no members'}")
        arrays = {}
        for name in wanted:
            try:
                _check_size(npz.zip, name, where)
                arrays[name] = npz[name]
            except UserError:
                raise
            except ValueError as e:
                raise UserError(f"{where}: member '{name}' is corrupt ({e})") from None
            except DAMAGED as e:
                raise UserError(f"{where}: truncated or corrupt ({e}); expected {what}") from None
    meta = _meta(arrays.pop("meta"), where, what)
    return Loaded(meta, arrays, hashlib.sha256(data).hexdigest())


def read_bytes(path, what, limit):
    """The bytes of the regular file ``path``, at most ``limit`` of them."""
    where = display(path)
    try:
        special = not stat.S_ISREG(os.stat(path).st_mode) and not os.path.isdir(path)
    except OSError:
        special = False  # open below says what is wrong
    if special:  # a FIFO or a device: a read could block, or never end
        raise UserError(f"{where}: not a regular file; expected {what}")
    try:
        with open(path, "rb") as f:
            data = f.read(limit + 1)
    except FileNotFoundError:
        raise UserError(f"{where}: no such file; expected {what} (run {how_to_build()} to "
                        f"build it)") from None
    except IsADirectoryError:
        raise UserError(f"{where}: is a folder; expected {what}") from None
    except OSError as e:
        raise UserError(f"{where}: cannot read ({e.strerror}); expected {what}") from None
    if len(data) > limit:
        raise UserError(f"{where}: holds more than {limit:,} bytes; expected {what}")
    return data


def _check_size(zf, name, where):
    """Refuse a member larger than MAX_MEMBER, or than the shape its header declares,
    before it is read: a small file must not expand into a large allocation."""
    try:
        info = zf.getinfo(f"{name}.npy")
    except KeyError:
        raise UserError(f"{where}: member '{name}' is not an .npy array; expected "
                        f"{name}.npy") from None
    if info.file_size > MAX_MEMBER:
        raise UserError(f"{where}: member '{name}' holds {info.file_size:,} bytes; expected "
                        f"at most {MAX_MEMBER:,}")
    with zf.open(info) as f:
        major, _ = np.lib.format.read_magic(f)
        header = (np.lib.format.read_array_header_1_0 if major == 1
                  else np.lib.format.read_array_header_2_0)
        shape, _, dtype = header(f)
        if dtype.hasobject:
            raise UserError(f"{where}: member '{name}' holds pickled Python objects, which "
                            f"could run code; refusing to load it")
        declared = f.tell() + math.prod(shape) * dtype.itemsize
    if declared > MAX_MEMBER:
        raise UserError(f"{where}: member '{name}' declares shape {shape} of {dtype}, "
                        f"{declared:,} bytes; expected at most {MAX_MEMBER:,}")
    if info.file_size > declared:
        raise UserError(f"{where}: member '{name}' holds {info.file_size:,} bytes, more than "
                        f"its shape {shape} of {dtype} declares ({declared:,})")


def _meta(raw, where, what):
    if raw.dtype.kind != "S" or raw.shape != ():
        raise UserError(f"{where}: member 'meta' should be a JSON byte string, "
                        f"got {raw.dtype} of shape {raw.shape}")
    try:
        meta = json.loads(raw[()].decode())
    except ValueError as e:  # not UTF-8, not JSON, or an integer past Python's digit limit
        raise UserError(f"{where}: member 'meta' is not valid JSON ({str(e)[:200]})") from None
    except RecursionError:
        raise UserError(f"{where}: member 'meta' is not valid JSON (nested too deeply)") from None
    if not isinstance(meta, dict) or meta.get("format") != FORMAT:
        raise UserError(f"{where}: not a housing file (meta has no format '{FORMAT}'); "
                        f"expected {what}")
    version = meta.get("version")
    if type(version) is not int or version != FORMAT_VERSION:
        newer = type(version) is int and version > FORMAT_VERSION
        hint = (f"a newer housing wrote it: upgrade housing, or rebuild it with {how_to_build()}"
                if newer else f"rebuild it with {how_to_build()}")
        raise UserError(f"{where}: format version {version!r}, but this housing reads "
                        f"version {FORMAT_VERSION}; {hint}")
    return meta


def check_array(where, name, a, dtype, shape):
    if a.dtype != np.dtype(dtype) or a.shape != shape:
        raise UserError(f"{where}: '{name}' should be {np.dtype(dtype)} of shape {shape}, "
                        f"got {a.dtype} of shape {a.shape}")


# A model's feature names reach C, SQL, YAML, logs and every message: each is printable
# text (no control, format or line-separator character, such as a NUL, a newline or
# U+202E) of bounded length, and their count is bounded, so a message naming them stays a
# line. This model has 8.
MAX_FEATURES = 1000
MAX_NAME = 100


def check_features(where, meta):
    features = meta.get("features")
    if (not isinstance(features, list) or not features
            or not all(isinstance(f, str) and f for f in features)
            or len(set(features)) != len(features)):
        got = ascii(features)
        raise UserError(f"{where}: 'features' should be a list of distinct names, "
                        f"got {got if len(got) <= 80 else got[:77] + '...'}")
    if len(features) > MAX_FEATURES:
        raise UserError(f"{where}: 'features' should name at most {MAX_FEATURES:,} features, "
                        f"got {len(features):,}")
    for j, name in enumerate(features, 1):
        if len(name) > MAX_NAME or not name.isprintable():
            got = ascii(name)
            raise UserError(f"{where}: feature {j}'s name should be at most {MAX_NAME} "
                            f"printable characters, got {cut(got, 60)}")
    return len(features)


def cut(text, width):
    """``text`` cut to ``width`` characters, its end marked, for a message of one line."""
    return text if len(text) <= width else text[:width - 3] + "..."


def finite_number(x):
    """Whether the JSON value ``x`` is a number float64 holds (an integer of 400 digits
    is a number JSON allows, and float64 does not)."""
    if type(x) is int:
        return abs(x) <= 1.7976931348623157e308
    return type(x) is float and math.isfinite(x)


def _check_ranges(where, meta, n):
    ranges = meta.get("ranges")
    rebuild = f"rebuild it with {how_to_build()}"
    if (not isinstance(ranges, dict) or sorted(ranges) != sorted(PER_FEATURE + ("deciles",))
            or not all(numbers(ranges[key], n) for key in PER_FEATURE)
            or not isinstance(ranges["deciles"], list) or len(ranges["deciles"]) != BINS - 1
            or not all(numbers(row, n) for row in ranges["deciles"])):
        raise UserError(f"{where}: 'ranges' should hold {', '.join(PER_FEATURE)}, each {n} "
                        f"finite numbers, and deciles, {BINS - 1} lists of {n}; {rebuild}")
    profile = Ranges.of(ranges)
    columns = np.vstack([profile.min, profile.deciles, profile.max])
    for j in range(n):
        if profile.min[j] > profile.max[j]:
            raise UserError(f"{where}: 'ranges' of feature {j + 1}: min {ranges['min'][j]!r} "
                            f"is above max {ranges['max'][j]!r}; {rebuild}")
        if (np.diff(columns[:, j]) < 0).any():
            raise UserError(f"{where}: 'ranges' of feature {j + 1}: the deciles should rise "
                            f"from min to max; {rebuild}")
        if profile.std[j] < 0:
            raise UserError(f"{where}: 'ranges' of feature {j + 1}: std "
                            f"{ranges['std'][j]!r} is below 0; {rebuild}")
    return profile


def numbers(value, n):
    """Whether the JSON value ``value`` is a list of ``n`` finite numbers."""
    return (isinstance(value, list) and len(value) == n
            and all(finite_number(x) for x in value))


# The lineage's fields besides the features and ranges: how each is checked, and what a
# message says it should be.
LINEAGE_FIELDS = {
    "data_sha256": (lambda v: type(v) is str and SHA256.fullmatch(v) is not None,
                    "a sha256, 64 hexadecimal digits"),
    "seed": (lambda v: type(v) is int and 0 <= v < 2 ** 32, "an integer from 0 to 2**32 - 1"),
    "test_size": (lambda v: type(v) is float and 0 < v < 1, "a share between 0 and 1"),
}


def read_lineage(where, meta):
    """The ``model.Lineage`` a file's meta gives, every field checked."""
    n = check_features(where, meta)
    ranges = _check_ranges(where, meta, n)
    for key, (ok, expected) in LINEAGE_FIELDS.items():
        if not ok(meta.get(key)):
            raise UserError(f"{where}: '{key}' should be {expected}, got "
                            f"{cut(ascii(meta.get(key)), 60)}; rebuild it with {how_to_build()}")
    return Lineage(tuple(meta["features"]), meta["data_sha256"], meta["seed"],
                   meta["test_size"], ranges)


def check_lineage(model, split, model_path, split_path):
    """Refuse a model that was not trained on this split (data set, seed, share, features)."""
    difference = model.lineage.difference(split.lineage)
    if difference is not None:
        raise UserError(f"{display(model_path)} was trained on another split than "
                        f"{display(split_path)} ({difference.field}: {difference.mine!r} vs "
                        f"{difference.theirs!r}); rebuild with {how_to_build()}")


# --- the split ----------------------------------------------------------------------

class Split(NamedTuple):
    """The train/test split: what a model keeps of it, and its arrays (SPLIT_ARRAYS)."""
    lineage: Lineage
    arrays: dict


def save_split(path, lineage, target, arrays):
    meta = dict(lineage.stored(), target=target, format=FORMAT, version=FORMAT_VERSION,
                kind="split")
    save_npz(path, meta, {name: arrays[name] for name in SPLIT_ARRAYS})


def load_split(path):
    """Read and check the train/test split: a Split."""
    where = display(path)
    meta, arrays, _ = load_npz(path, "the train/test split", SPLIT_ARRAYS)
    if meta.get("kind") != "split":
        raise UserError(f"{where}: expected the train/test split, got {meta.get('kind')!r}")
    lineage = read_lineage(where, meta)
    n = len(lineage.features)
    for part in ("train", "test"):
        X = arrays[f"X_{part}"]
        y = arrays[f"y_{part}"]
        rows = X.shape[0] if X.ndim else 0
        check_array(where, f"X_{part}", X, "<f8", (rows, n))
        check_array(where, f"y_{part}", y, "<f8", (rows,))
        if not (np.isfinite(X).all() and np.isfinite(y).all()):
            raise UserError(f"{where}: X_{part} or y_{part} holds non-finite values")
    return Split(lineage, arrays)


# --- models -------------------------------------------------------------------------

def save_float(path, coef, intercept, lineage):
    """A float model: ``params`` is float64 of shape (n_features + 1,), intercept last."""
    meta = dict(lineage.stored(), format=FORMAT, version=FORMAT_VERSION, kind="float")
    save_npz(path, meta, {"params": np.append(coef, intercept).astype("<f8")})


def save_quantized(path, q, lineage, auto=False):
    """A quantized model: ``params`` is the uint8 bytes of ``qparams.to_bytes``, with
    the integer kernel's input shifts, chosen from the training ranges; ``auto``: the
    method was picked by auto."""
    shifts = integer.input_shifts(lineage.ranges.min, lineage.ranges.max)
    meta = dict(lineage.stored(), format=FORMAT, version=FORMAT_VERSION, kind="quantized")
    params = qparams.to_bytes(q, shifts, auto)
    save_npz(path, meta, {"params": np.frombuffer(params, np.uint8)})


def load_model(path, kind=None):
    """Read and check a model file; ``kind`` ("float" or "quantized") is what the caller
    expects, None for either. Returns a ``model.Model`` (quantized ones dequantized)."""
    what = f"a {kind} model" if kind else "a model"
    where = display(path)
    meta, arrays, sha256 = load_npz(path, what, ["params"])
    if meta.get("kind") not in ("float", "quantized"):
        raise UserError(f"{where}: not a model (kind {meta.get('kind')!r}); expected {what}")
    if kind and meta["kind"] != kind:
        raise UserError(f"{where}: expected {what}, got a {meta['kind']} model")
    lineage = read_lineage(where, meta)
    n = len(lineage.features)
    params = arrays["params"]
    if meta["kind"] == "float":
        check_array(where, "params", params, "<f8", (n + 1,))
        coef = params[:n].copy()
        intercept = float(params[n])
        quantization = None
        payload = params.nbytes
    else:
        if params.dtype != np.uint8 or params.ndim != 1:
            raise UserError(f"{where}: 'params' should be uint8 bytes, got {params.dtype} of "
                            f"shape {params.shape}")
        stored = qparams.from_bytes(params.tobytes(), n, where)
        quantization = stored.quantization
        coef, intercept = qparams.dequantize(stored.quantized)
        payload = stored.quantized.payload_bytes
    if not (np.isfinite(coef).all() and np.isfinite(intercept)):
        raise UserError(f"{where}: parameters are not all finite")
    kernel = None
    if quantization is not None:
        try:
            kernel = integer.kernel(stored.quantized, quantization.input_shifts)
        except ValueError as e:
            raise UserError(f"{where}: {e}") from None
    return Model(coef, intercept, lineage, quantization, sha256, payload, kernel)


class Trained(NamedTuple):
    """A split and models trained on it, by the names ``load_trained`` was given."""
    split: Split
    models: dict


def load_trained(split_path, **model_paths):
    """The Trained of the split at ``split_path`` and the models at ``model_paths``, each
    checked to have been trained on that split. A model named ``float`` or ``quantized``
    must be of that kind; any other name takes either (``model=path``)."""
    split = load_split(split_path)
    models = {}
    for name, path in model_paths.items():
        models[name] = load_model(path, kind=name if name in ("float", "quantized") else None)
        check_lineage(models[name], split, path, split_path)
    return Trained(split, models)
