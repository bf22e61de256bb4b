"""Columns matched by name: where each feature, and the ``--id`` column, sit in the input."""
import difflib
from dataclasses import dataclass

from ..cli import UserError

# the suggestion search looks at this many names, cut to this many characters, at most:
# difflib's cost grows with both, and a hostile header may hold a million names
MAX_SUGGESTED_FROM = 64
MAX_NAME = 64


@dataclass(frozen=True)
class Columns:
    """Where a model's features and the id sit among the input's columns.

    names : the input's column names, in input order
    index : for each feature, its position among ``names``
    id_index : the position of the ``--id`` column, or None
    """
    names: tuple
    index: tuple
    id_index: int = None

    @property
    def ignored(self):
        """Descriptions of the columns that are neither features nor the id."""
        used = set(self.index) | {self.id_index}
        return [describe(name, i) for i, name in enumerate(self.names) if i not in used]


def describe(name, i):
    if name:
        return repr(name)
    return "the unnamed first column (pandas' index)" if i == 0 else f"unnamed column {i + 1}"


def match_columns(names, features, where, id_column=None, what="column"):
    """Columns for input ``names`` and model ``features``; UserError naming what is
    missing (and the near-miss it probably was) or repeated; ``what`` the inputs are."""
    names = tuple(names)
    for feature in features:
        if names.count(feature) > 1:
            first = names.index(feature)
            again = names.index(feature, first + 1)
            raise UserError(f"{where}: {what} '{feature}' appears twice "
                            f"({what}s {first + 1} and {again + 1})")
    missing = [f for f in features if f not in names]
    if missing:
        others = [n for n in names if n not in features][:MAX_SUGGESTED_FROM]
        hints = [f"{near!r} looks like {f}" for f in missing for near in near_misses(f, others)]
        raise UserError(f"{where}: missing {what}{'s' * (len(missing) > 1)} "
                        f"{', '.join(missing)}" + (f" ({'; '.join(hints)})" if hints else "")
                        + f"; expected {', '.join(features)}")
    id_index = None
    if id_column is not None:
        if id_column not in names:
            shown = [describe(n, i) for i, n in enumerate(names[:MAX_SUGGESTED_FROM])]
            more = ", ..." if len(names) > MAX_SUGGESTED_FROM else ""
            raise UserError(f"{where}: no column '{id_column}' for --id; the columns are "
                            f"{', '.join(shown)}{more}")
        id_index = names.index(id_column)
    return Columns(names, tuple(names.index(f) for f in features), id_index)


def near_misses(feature, names):
    """The names that look like a misspelt ``feature``: the same but for case, spaces
    or underscores, its start ('Lat'), or close by difflib's ratio."""
    def key(s):
        return str(s)[:MAX_NAME].lower().replace("_", "").replace(" ", "")
    same = [n for n in names if key(n) == key(feature)]
    short = [n for n in names if len(key(n)) >= 3 and key(feature).startswith(key(n))]
    close = difflib.get_close_matches(feature, [str(n)[:MAX_NAME] for n in names], 1, 0.8)
    return same or short or close
