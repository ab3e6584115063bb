"""Core statements compiled once, to run on a DBAPI cursor (SQLite's hot writes).

``services.chat_hot`` (a chat post) and ``services.rooms.entry_hot`` (a room entry's write)
run their statements on a pooled driver connection instead of through SQLAlchemy's session,
because what SQLAlchemy does around each statement cost more CPU than SQLite's own work, and
a writer holds the one write lock while it runs. The SQL still comes from Core statements (one
definition of each); SQLAlchemy's own bind processors convert the values (an upgrade that
moves them fails the tests that compare these paths with the regular ones).
"""

from __future__ import annotations

_NONE = object()  # a parameter without a literal value


class Statement:
    """A Core statement compiled once for a dialect: its SQL, the order of its parameters,
    the values of its literal ones (``LIMIT 1``, ``seq + 1``) and their bind processors."""

    def __init__(self, stmt, dialect, keys: list[str] | None = None) -> None:
        compiled = stmt.compile(dialect=dialect, column_keys=keys)
        self.sql, self.names = compiled.string, list(compiled.positiontup)
        self.literals = {k: v for k, v in compiled.params.items() if v is not None}
        self.processors = {k: p for k, p in compiled._bind_processors.items() if k in self.names}
        # Per parameter, in order: (name, its processor or None, its literal or _NONE). A post
        # runs with cold caches; one flat loop touches less than merging and probing dicts.
        self._plan = tuple((n, self.processors.get(n), self.literals.get(n, _NONE)) for n in self.names)

    def args(self, params: dict) -> tuple:
        """The positional parameters for ``params`` (by name; they override literals),
        converted for the driver."""
        out = []
        for name, processor, literal in self._plan:
            value = params[name] if literal is _NONE else params.get(name, literal)
            out.append(value if processor is None else processor(value))
        return tuple(out)
