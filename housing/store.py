"""The pipeline's .npz files, written and read back, checked on the way in; the models' files.

Every file holds two members: ``meta``, a JSON object stored as a byte string, and the
numbers. Fewer members keep files small (each costs about 230 bytes of zip and .npy
headers, more than the 9 parameters themselves). Files are written byte-identically on a
re-run (fixed zip timestamps) and read with ``allow_pickle=False``, so loading one never
runs code.
"""
import io
import json
import math
import os
import stat
import zipfile
import zlib

import numpy as np

from . import integer, modelfile
from .model import Model
from .cli import UserError, atomic_write, display, how_to_build
from .config import FORMAT_VERSION

FORMAT = "housing"
# What a model records of the split it was fit on, and must match to be evaluated on one:
# the ranges are the training rows' (data.training_ranges), which predict warns outside of.
LINEAGE = ("features", "data_sha256", "seed", "test_size", "ranges")
RANGES = ("min", "max", "q001", "q999")
# What reading a damaged archive raises: zipfile's and zlib's own errors, the
# NotImplementedError of a header that names a compression or version it never used, and
# the RuntimeError of one whose flags say it is encrypted (one flipped bit).
DAMAGED = (OSError, EOFError, zipfile.BadZipFile, zlib.error, NotImplementedError,
           RuntimeError)
MAX_MEMBER = 64 << 20  # bytes of one member: far past any split or model this writes


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
    """Read members ``names`` (plus ``meta``) of an .npz; returns (meta dict, arrays dict).

    Every way a file can be wrong becomes a UserError naming the file and the problem.
    """
    where = display(path)
    try:
        special = not stat.S_ISREG(os.stat(path).st_mode) and not os.path.isdir(path)
    except OSError:
        special = False  # np.load below says what is wrong
    if special:  # a FIFO or a device: a read could block, or never end
        raise UserError(f"{where}: not a regular file; expected {what}")
    try:
        npz = np.load(path, allow_pickle=False)
    except FileNotFoundError:
        raise UserError(f"{where}: no such file; expected {what} (run {how_to_build()} to "
                        f"build it)")
    except IsADirectoryError:
        raise UserError(f"{where}: is a folder; expected {what}") from None
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
    return meta, arrays


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
                            f"printable characters, got {got if len(got) <= 60 else got[:57] + '...'}")
    return len(features)


def finite_number(x):
    """Whether the JSON value ``x`` is a number float64 holds (an integer of 400 digits
    is a number JSON allows, and float64 does not)."""
    if type(x) is int:
        return abs(x) <= 1.7976931348623157e308
    return type(x) is float and math.isfinite(x)


def _check_ranges(where, meta, n):
    ranges = meta.get("ranges")
    if (not isinstance(ranges, dict) or sorted(ranges) != sorted(RANGES)
            or not all(isinstance(v, list) and len(v) == n for v in ranges.values())
            or not all(finite_number(x) for v in ranges.values() for x in v)):
        raise UserError(f"{where}: 'ranges' should hold {', '.join(RANGES)}, each {n} finite "
                        f"numbers; rebuild it with {how_to_build()}")
    for j, (low, high) in enumerate(zip(ranges["min"], ranges["max"])):
        if low > high:
            raise UserError(f"{where}: 'ranges' of feature {j + 1}: min {low!r} is above max "
                            f"{high!r}; rebuild it with {how_to_build()}")


# --- models -------------------------------------------------------------------------

def save_float(path, coef, intercept, meta):
    """A float model: ``params`` is float64 of shape (n_features + 1,), intercept last."""
    meta = dict(meta, format=FORMAT, version=FORMAT_VERSION, kind="float")
    save_npz(path, meta, {"params": np.append(coef, intercept).astype("<f8")})


def save_quantized(path, q, meta, auto=False):
    """A quantized model: ``params`` is the uint8 bytes of ``modelfile.to_bytes``, with
    the integer kernel's input shifts, chosen from the training ranges; ``auto``: the
    method was picked by auto."""
    shifts = integer.input_shifts(meta["ranges"]["min"], meta["ranges"]["max"])
    meta = dict(meta, format=FORMAT, version=FORMAT_VERSION, kind="quantized")
    params = modelfile.to_bytes(q, shifts, auto)
    save_npz(path, meta, {"params": np.frombuffer(params, np.uint8)})


def load_model(path, kind=None):
    """Read and check a model file; ``kind`` ("float" or "quantized") is what the caller
    expects, None for either. Returns a ``model.Model`` (quantized ones dequantized)."""
    what = f"a {kind} model" if kind else "a model"
    where = display(path)
    meta, arrays = load_npz(path, what, ["params"])
    if meta.get("kind") not in ("float", "quantized"):
        raise UserError(f"{where}: not a model (kind {meta.get('kind')!r}); expected {what}")
    if kind and meta["kind"] != kind:
        raise UserError(f"{where}: expected {what}, got a {meta['kind']} model")
    n = check_features(where, meta)
    _check_ranges(where, meta, n)
    params = arrays["params"]
    if meta["kind"] == "float":
        check_array(where, "params", params, "<f8", (n + 1,))
        coef = params[:n].copy()
        intercept = float(params[n])
    else:
        if params.dtype != np.uint8 or params.ndim != 1:
            raise UserError(f"{where}: 'params' should be uint8 bytes, got {params.dtype} of "
                            f"shape {params.shape}")
        header, q = modelfile.from_bytes(params.tobytes(), n, where)
        meta = dict(meta, bits=header.bits, method=header.method, symmetric=header.symmetric,
                    auto=header.auto, input_shifts=list(header.input_shifts))
        coef, intercept = modelfile.dequantize(q)
    if not (np.isfinite(coef).all() and np.isfinite(intercept)):
        raise UserError(f"{where}: parameters are not all finite")
    kernel = None
    if meta["kind"] == "quantized":
        try:
            kernel = integer.kernel(q, header.input_shifts)
        except ValueError as e:
            raise UserError(f"{where}: {e}") from None
    ranges = meta["ranges"]
    payload = params.nbytes if meta["kind"] == "float" else q.payload_bytes
    return Model(coef, intercept, meta, payload, np.array(ranges["min"]),
                 np.array(ranges["max"]), kernel)


def lineage(meta):
    """What a model keeps of the split's (or its parent model's) ``meta``: LINEAGE."""
    return {k: meta[k] for k in LINEAGE}


def check_lineage(model, split_meta, model_path, split_path):
    """Refuse a model that was not trained on this split (data set, seed, share, features)."""
    for key in LINEAGE:
        if model.meta.get(key) != split_meta.get(key):
            raise UserError(f"{display(model_path)} was trained on another split than "
                            f"{display(split_path)} ({key}: {model.meta.get(key)!r} vs "
                            f"{split_meta.get(key)!r}); rebuild with {how_to_build()}")
