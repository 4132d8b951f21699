"""The service's state: one row per run, its tags, in SQLite (default) or PostgreSQL.

Only the server process writes here (workers write files in their run folder, which the run
manager reads). Rows are handed out as frozen :class:`RunInfo` snapshots, never as live ORM
objects. Listing is newest first, paged by an opaque token (the last row's sequence number), so
runs submitted while a client pages do not shift its pages. The JSON columns hold only what
the service checked before writing (the request's fields parsed within the document limits, a
run's outputs within ``Limits.max_output_bytes``), so they are read back with ``json.loads``.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, fields
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    Boolean,
    DateTime,
    ForeignKey,
    Integer,
    String,
    Text,
    create_engine,
    delete,
    event,
    func,
    select,
)
from sqlalchemy.engine import Engine
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column, sessionmaker

import ossrflow

__all__ = ["ACTIVE", "FINAL", "RunInfo", "RunStore", "utcnow"]

ACTIVE = ("QUEUED", "INITIALIZING", "RUNNING", "CANCELING")
FINAL = ("COMPLETE", "EXECUTOR_ERROR", "SYSTEM_ERROR", "CANCELED")


def utcnow() -> datetime:
    """Now, in UTC, to the second (what the database keeps)."""
    return datetime.now(UTC).replace(microsecond=0)


class _Base(DeclarativeBase):
    pass


class _Run(_Base):
    __tablename__ = "ossrflow_runs"

    seq: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    run_id: Mapped[str] = mapped_column(String(64), unique=True, index=True)
    owner: Mapped[str] = mapped_column(String(512), index=True)
    state: Mapped[str] = mapped_column(String(32), index=True)
    request: Mapped[str] = mapped_column(Text)  # the RunRequest echo, JSON
    spec: Mapped[str] = mapped_column(Text)  # what the worker runs, JSON
    profile: Mapped[str] = mapped_column(String(128))
    submitted: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    started: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    ended: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    exit_code: Mapped[int | None] = mapped_column(Integer, nullable=True)
    outputs: Mapped[str | None] = mapped_column(Text, nullable=True)
    error: Mapped[str | None] = mapped_column(Text, nullable=True)
    done: Mapped[int] = mapped_column(Integer, default=0)
    total: Mapped[int] = mapped_column(Integer, default=0)
    worker_pid: Mapped[int | None] = mapped_column(Integer, nullable=True)
    worker_start: Mapped[str | None] = mapped_column(String(32), nullable=True)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    cancel_requested: Mapped[bool] = mapped_column(Boolean, default=False)


class _Tag(_Base):
    __tablename__ = "ossrflow_run_tags"

    run_seq: Mapped[int] = mapped_column(
        ForeignKey("ossrflow_runs.seq", ondelete="CASCADE"), primary_key=True
    )
    key: Mapped[str] = mapped_column(String(256), primary_key=True)
    value: Mapped[str] = mapped_column(Text)


@dataclass(frozen=True)
class RunInfo:
    """A snapshot of one run's row (times in UTC) and its tags."""

    seq: int
    run_id: str
    owner: str
    state: str
    request: dict[str, Any]
    spec: dict[str, Any]
    profile: str
    submitted: datetime
    started: datetime | None
    ended: datetime | None
    exit_code: int | None
    outputs: dict[str, Any] | None
    error: str | None
    done: int
    total: int
    worker_pid: int | None
    worker_start: str | None
    attempts: int
    cancel_requested: bool
    tags: dict[str, str]

    @property
    def active(self) -> bool:
        return self.state in ACTIVE


def _aware(moment: datetime | None) -> datetime | None:
    if moment is None or moment.tzinfo is not None:
        return moment
    return moment.replace(tzinfo=UTC)  # SQLite gives naive datetimes back


def _info(row: _Run, tags: Mapping[str, str]) -> RunInfo:
    return RunInfo(
        seq=row.seq,
        run_id=row.run_id,
        owner=row.owner,
        state=row.state,
        request=json.loads(row.request),
        spec=json.loads(row.spec),
        profile=row.profile,
        submitted=_aware(row.submitted) or utcnow(),
        started=_aware(row.started),
        ended=_aware(row.ended),
        exit_code=row.exit_code,
        outputs=json.loads(row.outputs) if row.outputs is not None else None,
        error=row.error,
        done=row.done,
        total=row.total,
        worker_pid=row.worker_pid,
        worker_start=row.worker_start,
        attempts=row.attempts,
        cancel_requested=row.cancel_requested,
        tags=dict(tags),
    )


_COLUMNS = {f.name for f in fields(RunInfo)} - {"seq", "run_id", "tags"}


class RunStore:
    """Runs in a database given by SQLAlchemy URL (``sqlite:///…``, ``postgresql+psycopg://…``)."""

    def __init__(self, url: str) -> None:
        self.url = url
        try:
            self.engine = _engine(url)
            _Base.metadata.create_all(self.engine)
        except SQLAlchemyError as exc:
            raise ossrflow.ServiceError(
                f"cannot open the database: {str(exc).splitlines()[0]}",
                source=_safe_url(url),
                hint="check --db (and that the database server runs)",
            ) from None
        self._sessions = sessionmaker(self.engine, expire_on_commit=False)

    def close(self) -> None:
        self.engine.dispose()

    @contextmanager
    def _session(self) -> Iterator[Session]:
        with self._sessions.begin() as session:
            yield session

    def add(self, run_id: str, owner: str, *, request: Mapping[str, Any], spec: Mapping[str, Any],
            profile: str, tags: Mapping[str, str]) -> None:  # fmt: skip
        with self._session() as session:
            row = _Run(
                run_id=run_id,
                owner=owner,
                state="QUEUED",
                request=json.dumps(request, sort_keys=True),
                spec=json.dumps(spec, sort_keys=True),
                profile=profile,
                submitted=utcnow(),
                done=0,
                total=0,
                attempts=0,
                cancel_requested=False,
            )
            session.add(row)
            session.flush()
            for key, value in tags.items():
                session.add(_Tag(run_seq=row.seq, key=key, value=value))

    def _tags(self, session: Session, seqs: Sequence[int]) -> dict[int, dict[str, str]]:
        found: dict[int, dict[str, str]] = {seq: {} for seq in seqs}
        if seqs:
            for tag in session.scalars(select(_Tag).where(_Tag.run_seq.in_(seqs))):
                found[tag.run_seq][tag.key] = tag.value
        return found

    def get(self, run_id: str, owner: str | None = None) -> RunInfo | None:
        """The run, or None (also when ``owner`` is given and is not the run's owner)."""
        with self._session() as session:
            query = select(_Run).where(_Run.run_id == run_id)
            if owner is not None:
                query = query.where(_Run.owner == owner)
            row = session.scalars(query).first()
            return None if row is None else _info(row, self._tags(session, [row.seq])[row.seq])

    def page(
        self,
        owner: str,
        *,
        size: int,
        after: int | None = None,
        states: Sequence[str] = (),
        tags: Mapping[str, str | None] | None = None,
    ) -> tuple[list[RunInfo], int | None]:
        """Newest first: ``size`` runs of ``owner`` older than sequence ``after``; the next token."""
        with self._session() as session:
            query = select(_Run).where(_Run.owner == owner)
            if after is not None:
                query = query.where(_Run.seq < after)
            if states:
                query = query.where(_Run.state.in_(list(states)))
            for key, value in (tags or {}).items():
                match = select(_Tag.run_seq).where(_Tag.key == key)
                if value is not None:
                    match = match.where(_Tag.value == value)
                query = query.where(_Run.seq.in_(match))
            rows = list(session.scalars(query.order_by(_Run.seq.desc()).limit(size + 1)))
            more = len(rows) > size
            rows = rows[:size]
            tagged = self._tags(session, [row.seq for row in rows])
            runs = [_info(row, tagged[row.seq]) for row in rows]
            return runs, (rows[-1].seq if more and rows else None)

    def active(self) -> list[RunInfo]:
        """Every run not yet finished, oldest first."""
        with self._session() as session:
            query = select(_Run).where(_Run.state.in_(ACTIVE)).order_by(_Run.seq)
            rows = list(session.scalars(query))
            tagged = self._tags(session, [row.seq for row in rows])
            return [_info(row, tagged[row.seq]) for row in rows]

    def update(self, run_id: str, **values: Any) -> None:
        """Set columns of one run (names as in :class:`RunInfo`)."""
        unknown = set(values) - _COLUMNS
        if unknown:
            raise ValueError(f"unknown run fields {sorted(unknown)}")
        with self._session() as session:
            row = session.scalars(select(_Run).where(_Run.run_id == run_id)).one()
            for name, value in values.items():
                if name in ("outputs", "request", "spec") and value is not None:
                    value = json.dumps(value, sort_keys=True)
                setattr(row, name, value)

    def counts(self) -> dict[str, int]:
        """Runs per state (for ``system_state_counts``)."""
        with self._session() as session:
            query = select(_Run.state, func.count()).group_by(_Run.state)
            return {state: int(count) for state, count in session.execute(query)}

    def delete(self, run_id: str) -> None:
        """Remove the run's row and its tags (in one transaction)."""
        with self._session() as session:
            seq = session.scalars(select(_Run.seq).where(_Run.run_id == run_id)).first()
            if seq is not None:
                session.execute(delete(_Tag).where(_Tag.run_seq == seq))
                session.execute(delete(_Run).where(_Run.seq == seq))


def _safe_url(url: str) -> str:
    """The URL without its password."""
    from sqlalchemy.engine import make_url

    try:
        return make_url(url).render_as_string(hide_password=True)
    except (ValueError, SQLAlchemyError):
        return "the database URL"


def _engine(url: str) -> Engine:
    if url.startswith("sqlite"):
        engine = create_engine(
            url, connect_args={"check_same_thread": False, "timeout": 30}, pool_pre_ping=True
        )

        @event.listens_for(engine, "connect")
        def _pragmas(connection: Any, record: Any) -> None:
            cursor = connection.cursor()
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.execute("PRAGMA busy_timeout=30000")
            cursor.close()

        return engine
    return create_engine(url, pool_pre_ping=True, pool_size=10, max_overflow=20)
