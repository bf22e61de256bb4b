import socket
from pathlib import Path

import numpy as np
import pytest
from sklearn.model_selection import train_test_split

from housing import data, store
from housing.cli import UserError
from housing.config import FEATURES, N_ROWS


@pytest.mark.parametrize("n, test_size, seed", [(20640, 0.2, 42), (20640, 0.2, 7),
                                                (101, 0.33, 0), (10, 0.5, 3)])
def test_split_draws_exactly_what_train_test_split_draws(n, test_size, seed):
    idx = np.arange(n)
    ref_train, ref_test = train_test_split(idx, test_size=test_size, random_state=seed)
    train, test = data.split_indices(n, test_size, seed)
    np.testing.assert_array_equal(train, ref_train)
    np.testing.assert_array_equal(test, ref_test)


def _good():
    X = np.random.default_rng(0).normal(size=(N_ROWS, len(FEATURES)))
    return X, X[:, 0].copy(), FEATURES


def test_check_accepts_the_expected_shape():
    data.check(*_good())


@pytest.mark.parametrize("damage, message", [
    (lambda X, y, n: (X[:-1], y[:-1], n),
     "expected 20640 rows of 8 features; got X of shape (20639, 8) and y of shape (20639,)"),
    (lambda X, y, n: (X, y, n[:-1] + ("Lon",)),
     "expected features MedInc, HouseAge, AveRooms, AveBedrms, Population, AveOccup, Latitude, "
     "Longitude; got MedInc, HouseAge, AveRooms, AveBedrms, Population, AveOccup, Latitude, Lon"),
    (lambda X, y, n: (np.where(np.arange(len(X))[:, None] == 17, np.nan, X), y, n),
     "expected finite values; row 17, column 'MedInc' is nan"),
    (lambda X, y, n: (X, y[:-1], n),
     "expected 20640 rows of 8 features; got X of shape (20640, 8) and y of shape (20639,)"),
    (lambda X, y, n: (X, np.where(np.arange(len(y)) == 5, np.inf, y), n),
     "expected finite targets; row 5 is not"),
])
def test_check_names_what_is_wrong(damage, message):
    with pytest.raises(UserError) as e:
        data.check(*damage(*_good()))
    assert str(e.value) == message


def test_fingerprint_changes_with_one_value():
    X, y, _ = _good()
    before = data.fingerprint(X, y)
    X[5, 3] += 1e-12
    assert data.fingerprint(X, y) != before and len(before) == 64


@pytest.mark.parametrize("content", [b"", b"\x00garbage" * 100,
                                     b"\x78\x9c" + bytes(range(256)) * 4])
def test_a_damaged_cache_says_how_to_fix_it(tmp_path, monkeypatch, capsys, content):
    (tmp_path / "cal_housing_py3.pkz").write_bytes(content)
    monkeypatch.setenv("SCIKIT_LEARN_DATA", str(tmp_path))
    out = tmp_path / "split.npz"
    assert data.main(["--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "Traceback" not in err
    assert "is damaged" in err
    assert "delete cal_housing_py3.pkz there to download it again, or point " \
           "SCIKIT_LEARN_DATA at a good copy" in err
    assert not out.exists()


@pytest.mark.parametrize("args, message", [
    (["--test-size", "1.5"], "--test-size must be between 0 and 1 (exclusive), got 1.5"),
    (["--seed", "-1"], "--seed must be between 0 and 2**32 - 1, got -1"),
    (["--seed", "x"], "argument --seed: invalid int value: 'x'"),
    (["--sample-rows", "-1"], "argument --sample-rows: expected a whole number, got '-1'"),
    (["--sample-rows", "2.5"], "argument --sample-rows: expected a whole number, got '2.5'"),
])
def test_bad_arguments_get_one_line(capsys, args, message):
    assert data.main(args) == 2
    err = capsys.readouterr().err
    assert err == f"housing data: error: {message}" + (" (see --help)" if "argument" in message
                                                       else "") + "\n"


def test_sample_rows_carry_their_true_values(tmp_path, built):
    out = tmp_path / "sample.csv"
    assert data.main(["--sample-from", str(built["split"]), "--sample", str(out)]) == 0
    lines = out.read_text().splitlines()
    assert lines[0] == ",".join(FEATURES) + ",MedHouseVal"
    assert len(lines) == 1 + 5 and all(len(line.split(",")) == 9 for line in lines)


def test_a_network_that_never_answers_fails_the_download_after_two_attempts(
        tmp_path, monkeypatch, capsys):
    from sklearn.datasets import _base, _california_housing
    with socket.socket() as listener:  # accepts connections (the kernel does) and says nothing
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        url = f"http://127.0.0.1:{listener.getsockname()[1]}/cal_housing.tgz"
        monkeypatch.setattr(_california_housing, "ARCHIVE", _base.RemoteFileMetadata(
            filename="cal_housing.tgz", url=url, checksum="0" * 64))
        monkeypatch.setattr(data, "ATTEMPT_TIMEOUT", 0.5)
        home = tmp_path / "nowhere" / "scikit_learn_data"
        monkeypatch.setenv("SCIKIT_LEARN_DATA", str(home))
        previous = socket.getdefaulttimeout()
        socket.setdefaulttimeout(7.0)  # whatever the caller had is put back
        try:
            assert data.main(["--out", str(tmp_path / "split.npz")]) == 2
            assert socket.getdefaulttimeout() == 7.0
        finally:
            socket.setdefaulttimeout(previous)
        listener.setblocking(False)
        attempts = 0
        while True:  # each attempt left one connection waiting to be accepted
            try:
                listener.accept()[0].close()
            except BlockingIOError:
                break
            attempts += 1
    assert attempts == 2  # each bounded by ATTEMPT_TIMEOUT: no third, no endless wait
    out, err = capsys.readouterr()
    assert err == (f"housing data: downloading California Housing into {home} "
                   f"(once; set SCIKIT_LEARN_DATA to use a copy you have)\n"
                   f"housing data: error: California Housing is not in scikit-learn's cache "
                   f"({home}) and could not be downloaded (timed out); set SCIKIT_LEARN_DATA "
                   f"to a folder holding cal_housing_py3.pkz\n")
    assert not home.exists() and not (tmp_path / "split.npz").exists()


def test_a_failed_download_leaves_a_folder_that_was_there(tmp_path, monkeypatch):
    monkeypatch.setenv("SCIKIT_LEARN_DATA", str(tmp_path / "mine"))
    (tmp_path / "mine").mkdir()  # the user's, empty: kept
    from sklearn.datasets import _base, _california_housing
    monkeypatch.setattr(_california_housing, "ARCHIVE", _base.RemoteFileMetadata(
        filename="cal_housing.tgz", url="http://127.0.0.1:9/none", checksum="0" * 64))
    with pytest.raises(UserError):
        data.fetch()
    assert (tmp_path / "mine").is_dir()


def test_the_data_folder_is_scikit_learn_s(monkeypatch, tmp_path):
    from sklearn.datasets import get_data_home
    monkeypatch.delenv("SCIKIT_LEARN_DATA", raising=False)
    monkeypatch.setenv("HOME", str(tmp_path))
    assert data.data_home() == tmp_path / "scikit_learn_data" == Path(get_data_home())
    monkeypatch.setenv("SCIKIT_LEARN_DATA", str(tmp_path / "elsewhere"))
    assert data.data_home() == tmp_path / "elsewhere"


def test_the_fingerprint_is_of_the_values_not_their_type():
    X, y, _ = _good()
    small = X[:100].astype(np.float32)
    assert (data.fingerprint(small, y[:100])
            == data.fingerprint(small.astype(np.float64), y[:100].astype(">f8")))


def test_make_split_is_train_test_split_with_the_model_s_lineage():
    X, y, _ = _good()
    lineage, arrays = data.make_split(X[:500], y[:500], 7, 0.3)
    ref = train_test_split(X[:500], y[:500], test_size=0.3, random_state=7)
    for name, expected in zip(("X_train", "X_test", "y_train", "y_test"), ref):
        np.testing.assert_array_equal(arrays[name], expected)
    assert lineage.seed == 7 and lineage.test_size == 0.3
    assert lineage.features == FEATURES
    assert lineage.data_sha256 == data.fingerprint(X[:500], y[:500])
    assert lineage.ranges.min.tolist() == ref[0].min(axis=0).tolist()


@pytest.mark.parametrize("rows", [0, 2])
def test_sample_rows_is_how_many_test_rows_the_sample_holds_0_for_all(tmp_path, built, rows):
    out = tmp_path / "sample.csv"
    assert data.main(["--sample-from", str(built["split"]), "--sample", str(out),
                      "--sample-rows", str(rows)]) == 0
    split = store.load_split(built["split"]).arrays
    assert len(out.read_text().splitlines()) == 1 + (rows or len(split["y_test"]))
