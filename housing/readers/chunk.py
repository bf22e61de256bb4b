"""What every reader yields: Chunks of consecutive rows, the rows it could not read kept
in their place as BadRows."""
from dataclasses import dataclass, field
from typing import Callable, NamedTuple

import numpy as np

from ..cli import UserError


class BadRow(NamedTuple):
    """A row that could not be read or predicted: its number, why, and its ``--id``."""
    no: int
    message: str
    id: object = None


@dataclass
class Chunk:
    """Consecutive rows of input, numbered as the user counts them (line or record).

    X : ndarray of shape (n_good, n_features), float64, in the model's feature order
    nos : list of int, the number of each row of X
    where : function of a row's number, naming it in messages ("<stdin>, line 7")
    ids : list, the ``--id`` value of each row of X, or None without ``--id``
    bad : list of BadRow, the rows that could not be read, in order
    """
    X: np.ndarray
    nos: list
    where: Callable
    ids: list = None
    bad: list = field(default_factory=list)

    def refused(self, refusals):
        """BadRows of the rows of X a model refused (``model.Refused``), each worded with
        where it came from."""
        bad = []
        for refusal in refusals:
            no = self.nos[refusal.row]
            where = self.where(no)
            if refusal.feature is not None:
                where += f", column '{refusal.feature}'"
            key = self.ids[refusal.row] if self.ids is not None else None
            bad.append(BadRow(no, f"{where}: {refusal.reason}", key))
        return bad


class Table(NamedTuple):
    """What a reader gives: the input's Columns, and an iterator of Chunks of its rows."""
    columns: object
    chunks: object


def one_at_a_time(rows, columns, nos, where, read_row, id_of):
    """A Chunk of ``rows`` read one at a time by ``read_row(row, no) -> (values, id)``,
    which raises UserError for a bad one; ``nos[i]`` is row i's number, and ``id_of(row)``
    the id of a bad row (None where it has none)."""
    good = []
    good_nos = []
    ids = []
    bad = []
    for row, no in zip(rows, nos):
        try:
            values, key = read_row(row, no)
        except UserError as e:
            bad.append(BadRow(no, str(e), bad_row_id(row, columns, id_of)))
            continue
        good.append(values)
        good_nos.append(no)
        ids.append(key)
    X = np.array(good, dtype=np.float64).reshape(len(good), len(columns.index))
    return Chunk(X, good_nos, where, ids if columns.id_index is not None else None, bad)


def bad_row_id(row, columns, id_of):
    if columns.id_index is None:
        return None
    try:
        return id_of(row)
    except (IndexError, KeyError, TypeError, AttributeError, UserError):
        return None


def merge(chunks):
    """One Chunk of the Chunks a reader yields, for a table small enough to hold whole.
    It ends with the first Chunk holding a bad row: the rest is left unread."""
    read = []
    for chunk in chunks:
        read.append(chunk)
        if chunk.bad:
            break
    ids = None if read[0].ids is None else [i for c in read for i in c.ids]
    return Chunk(np.vstack([c.X for c in read]), [n for c in read for n in c.nos],
                 read[0].where, ids, [b for c in read for b in c.bad])


def all_rows(chunks):
    """X of every row of ``chunks``; the first bad row's message as a UserError."""
    merged = merge(chunks)
    if merged.bad:
        raise UserError(merged.bad[0].message)
    return merged.X
