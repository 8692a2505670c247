"""Compact read-only rows for generated data: a shared field layout plus one values tuple.

A dict per row costs about 800 bytes for 40 keys before any value; a `Record` costs a tuple of
pointers plus a small object, because the field names and their positions live once in a
`Shape` shared by every row generated the same way. At a million rows that is hundreds of
megabytes. Serializing stays C-speed: a shape gives an `itemgetter` for a `$select` list.

Records are never changed in place: a write stores a new plain dict (the store's rows are
either), and every reader uses only the mapping interface (`get`, `[]`, `in`, `keys`, `items`).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from operator import itemgetter
from typing import Any


class Shape:
    """Field names of a family of rows and where each value sits in their values tuple."""

    __slots__ = ("names", "index", "none", "size", "_getters", "_joins", "_extended")

    def __init__(self, names: tuple[str, ...], index: dict[str, int], none: int, size: int) -> None:
        self.names = names
        self.index = index
        self.none = none  # position of a None value (for fields the rows lack)
        self.size = size  # length of the values tuple of rows of this shape
        self._getters: dict[tuple[str, ...], Callable[[tuple], tuple]] = {}
        self._joins: dict[Shape, Shape] = {}
        self._extended: dict[tuple[str, str], Shape] = {}

    def getter(self, fields: tuple[str, ...]) -> Callable[[tuple], tuple]:
        """A C-level function taking a values tuple to the values of `fields` (None if absent)."""
        g = self._getters.get(fields)
        if g is None:
            idx = [self.index.get(f, self.none) for f in fields]
            if not idx:
                g = _empty
            elif len(idx) == 1:
                single = itemgetter(idx[0])
                g = lambda values: (single(values),)  # noqa: E731 - one-field $select
            else:
                g = itemgetter(*idx)
            self._getters[fields] = g
        return g

    def join(self, other: Shape) -> Shape:
        """This shape's fields, then `other`'s missing ones: the layout of
        `self_values + other_values` (a line followed by its header)."""
        joined = self._joins.get(other)
        if joined is None:
            index = dict(self.index)
            names = list(self.names)
            for name in other.names:
                if name not in index:
                    index[name] = other.index[name] + self.size
                    names.append(name)
            joined = Shape(tuple(names), index, self.none, self.size + other.size)
            self._joins[other] = joined
        return joined

    def extended(self, name: str, source: str) -> Shape:
        """This shape plus field `name` holding a copy of `source` (stored as one more value)."""
        key = (name, source)
        shape = self._extended.get(key)
        if shape is None:
            index = dict(self.index)
            names = self.names if name in index else (*self.names, name)
            index[name] = self.size
            shape = Shape(names, index, self.none, self.size + 1)
            self._extended[key] = shape
        return shape


def _empty(values: tuple) -> tuple:
    return ()


_SHAPES: dict[tuple[str, ...], Shape] = {}


def shape_of(names: tuple[str, ...]) -> Shape:
    """The shared shape of rows with exactly these field names in this order."""
    s = _SHAPES.get(names)
    if s is None:
        s = Shape(names, {n: i for i, n in enumerate(names)}, len(names), len(names) + 1)
        _SHAPES[names] = s
    return s


class Record(Mapping[str, Any]):
    """One generated row: read-only mapping over a shared Shape and a values tuple."""

    __slots__ = ("cells", "shape")

    def __init__(self, shape: Shape, cells: tuple) -> None:
        self.shape = shape
        self.cells = cells  # not `values`: that is Mapping.values()

    @classmethod
    def of(cls, row: Mapping[str, Any]) -> Record:
        return cls(shape_of(tuple(row)), (*row.values(), None))

    def get(self, name: str, default: Any = None) -> Any:
        i = self.shape.index.get(name)
        return default if i is None else self.cells[i]

    def __getitem__(self, name: str) -> Any:
        return self.cells[self.shape.index[name]]

    def __contains__(self, name: object) -> bool:
        return name in self.shape.index

    def __iter__(self) -> Iterator[str]:
        return iter(self.shape.names)

    def __len__(self) -> int:
        return len(self.shape.names)

    def pick(self, names: tuple[str, ...]) -> tuple:
        """The values of fields `names` (None for those it lacks), read at once: much cheaper
        than a `[]` per field for code that reads many fields of many rows."""
        return self.shape.getter(names)(self.cells)

    def copy(self) -> dict[str, Any]:
        """A plain dict of the row (what a write starts from)."""
        index, values = self.shape.index, self.cells
        return {n: values[index[n]] for n in self.shape.names}

    def replaced(self, name: str, value: Any) -> Record:
        """The same row with field `name` (which it has) set to `value`."""
        i = self.shape.index[name]
        values = self.cells
        if i == len(values) - 2:  # the last field (generated rows end with Timestamp)
            return Record(self.shape, values[:-2] + (value, None))
        return Record(self.shape, values[:i] + (value,) + values[i + 1 :])

    def joined(self, other: Record) -> Record:
        """This row with `other`'s fields added where this one lacks them (line + header)."""
        return Record(self.shape.join(other.shape), self.cells + other.cells)

    def with_copy(self, name: str, source: str) -> Record:
        """This row plus field `name` = the value of `source` (e.g. ID = OrderID)."""
        return Record(self.shape.extended(name, source), (*self.cells, self[source]))

    def __repr__(self) -> str:
        return f"Record({self.copy()!r})"
