"""UWS 1.1 jobs persisted in the store's database (shared by every worker and host).

Three tables, created on first use: ``uws_jobs`` (one row per job: phase, times,
parameters as JSON, error, the runner executing it and its heartbeat), ``uws_results``
(each result's MIME type) and ``uws_result_parts`` (the result documents as blobs of at
most 1 MiB, written as the result is produced and read as it is sent, so any worker can
serve them and none holds a whole result in memory). Everything goes through DB-API
connections from a factory, with the placeholder style of the backend (``?`` for sqlite3,
``%s`` for psycopg), so SQLite and PostgreSQL behave alike.

Phase changes are compare-and-set updates (``... WHERE phase = <expected>``): two workers
can never both start, or both finish, the same job. A job whose runner stopped sending
heartbeats (a killed worker, a restarted service) is put back in the queue by
:meth:`JobStore.requeue_orphans`, so a restart loses no job (issue 5).
"""

from __future__ import annotations

import datetime as dt
import json
import secrets
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import closing
from dataclasses import dataclass, field
from typing import Any

from vo_service.store.healpix import placeholder

__all__ = [
    "ACTIVE_PHASES", "FINAL_PHASES", "PHASES", "Job", "JobStore", "Result", "utc_now",
]

PHASES = ("PENDING", "QUEUED", "EXECUTING", "COMPLETED", "ERROR", "ABORTED", "UNKNOWN",
          "HELD", "SUSPENDED", "ARCHIVED")
#: phases in which a blocking WAIT blocks (UWS 1.1 sec. 2.2.1.2)
ACTIVE_PHASES = ("PENDING", "QUEUED", "EXECUTING")
FINAL_PHASES = ("COMPLETED", "ERROR", "ABORTED", "ARCHIVED")

_DDL = {
    "sqlite": (
        "CREATE TABLE IF NOT EXISTS uws_jobs (job_id TEXT PRIMARY KEY, job_type TEXT NOT NULL,"
        " run_id TEXT, owner_id TEXT, phase TEXT NOT NULL, creation_time TEXT NOT NULL,"
        " start_time TEXT, end_time TEXT, execution_duration INTEGER NOT NULL,"
        " destruction TEXT NOT NULL, parameters TEXT NOT NULL, error_type TEXT,"
        " error_message TEXT, runner TEXT, heartbeat REAL)",
        "CREATE INDEX IF NOT EXISTS uws_jobs_phase ON uws_jobs (phase)",
        "CREATE INDEX IF NOT EXISTS uws_jobs_owner ON uws_jobs (owner_id)",
        "CREATE TABLE IF NOT EXISTS uws_results (job_id TEXT NOT NULL, result_id TEXT NOT"
        " NULL, mime TEXT NOT NULL, content BLOB NOT NULL, PRIMARY KEY (job_id, result_id))",
        "CREATE TABLE IF NOT EXISTS uws_result_parts (job_id TEXT NOT NULL, result_id TEXT"
        " NOT NULL, part INTEGER NOT NULL, content BLOB NOT NULL,"
        " PRIMARY KEY (job_id, result_id, part))",
    ),
    "postgresql": (
        "CREATE TABLE IF NOT EXISTS uws_jobs (job_id TEXT PRIMARY KEY, job_type TEXT NOT NULL,"
        " run_id TEXT, owner_id TEXT, phase TEXT NOT NULL, creation_time TEXT NOT NULL,"
        " start_time TEXT, end_time TEXT, execution_duration INTEGER NOT NULL,"
        " destruction TEXT NOT NULL, parameters TEXT NOT NULL, error_type TEXT,"
        " error_message TEXT, runner TEXT, heartbeat DOUBLE PRECISION)",
        "CREATE INDEX IF NOT EXISTS uws_jobs_phase ON uws_jobs (phase)",
        "CREATE INDEX IF NOT EXISTS uws_jobs_owner ON uws_jobs (owner_id)",
        "CREATE TABLE IF NOT EXISTS uws_results (job_id TEXT NOT NULL, result_id TEXT NOT"
        " NULL, mime TEXT NOT NULL, content BYTEA NOT NULL, PRIMARY KEY (job_id, result_id))",
        "CREATE TABLE IF NOT EXISTS uws_result_parts (job_id TEXT NOT NULL, result_id TEXT"
        " NOT NULL, part INTEGER NOT NULL, content BYTEA NOT NULL,"
        " PRIMARY KEY (job_id, result_id, part))",
    ),
}
#: the size of the parts a result is stored in
PART_BYTES = 1 << 20
_COLUMNS = ("job_id", "job_type", "run_id", "owner_id", "phase", "creation_time",
            "start_time", "end_time", "execution_duration", "destruction", "parameters",
            "error_type", "error_message", "runner", "heartbeat")


def utc_now() -> dt.datetime:
    return dt.datetime.now(dt.UTC).replace(microsecond=0)


def _iso(value: dt.datetime | None) -> str | None:
    """UWS times: ISO 8601 with T and Z, UTC (UWS 1.1 sec. 2.2.1), a four-digit year (so
    the stored texts sort as times)."""
    if value is None:
        return None
    value = value.astimezone(dt.UTC)
    return f"{value.year:04d}-{value:%m-%dT%H:%M:%S}Z"


def _parse_iso(text: str | None) -> dt.datetime | None:
    """A stored time; None for a text that is not one (a row written before times were
    checked at input must not break every document that lists it)."""
    if text is None:
        return None
    try:
        return dt.datetime.fromisoformat(text.replace("Z", "+00:00")).astimezone(dt.UTC)
    except (ValueError, OverflowError):
        return None


@dataclass(frozen=True)
class Result:
    """A result of a job (``id`` 'result' for TAP, TAP 1.1 sec. 2.2)."""

    result_id: str
    mime: str
    size: int


@dataclass(frozen=True)
class Job:
    """One UWS job (UWS 1.1 sec. 2.1)."""

    job_id: str
    job_type: str
    phase: str
    creation_time: dt.datetime
    execution_duration: int
    destruction: dt.datetime
    parameters: tuple[tuple[str, str], ...] = ()
    run_id: str | None = None
    owner_id: str | None = None
    start_time: dt.datetime | None = None
    end_time: dt.datetime | None = None
    error_type: str | None = None
    error_message: str | None = None
    results: tuple[Result, ...] = field(default=())

    def parameter(self, name: str, default: str | None = None) -> str | None:
        """The last value of a parameter (names case-insensitive, DALI sec. 3.1)."""
        values = [v for n, v in self.parameters if n.upper() == name.upper()]
        return values[-1] if values else default


class JobStore:
    """UWS jobs in a database reached through ``connect()`` (a DB-API 2 connection).

    Parameters
    ----------
    connect : callable
        Returns a new connection (closed by the store after each operation).
    dialect : {'sqlite', 'postgresql'}
    """

    def __init__(self, connect: Callable[[], Any], dialect: str) -> None:
        if dialect not in _DDL:
            raise ValueError(f"unknown dialect {dialect!r}")
        self._connect = connect
        self.dialect = dialect
        self._mark = placeholder(dialect)
        with closing(self._connect()) as conn:
            cur = conn.cursor()
            for statement in _DDL[dialect]:
                cur.execute(statement)
            conn.commit()

    # ------------------------------------------------------------------ helpers
    def _sql(self, text: str) -> str:
        return text.replace("?", self._mark)

    def _execute(self, text: str, args: Sequence[Any] = ()) -> int:
        with closing(self._connect()) as conn:
            cur = conn.cursor()
            cur.execute(self._sql(text), tuple(args))
            count = cur.rowcount
            conn.commit()
            return count

    def _query(self, text: str, args: Sequence[Any] = ()) -> list[tuple]:
        with closing(self._connect()) as conn:
            cur = conn.cursor()
            cur.execute(self._sql(text), tuple(args))
            rows = cur.fetchall()
            conn.commit()
            return rows

    def _job(self, row: tuple) -> Job:
        data = dict(zip(_COLUMNS, row, strict=True))
        results = tuple(Result(rid, mime, int(size)) for rid, mime, size in self._query(
            "SELECT r.result_id, r.mime, length(r.content) + COALESCE((SELECT "
            "sum(length(p.content)) FROM uws_result_parts AS p WHERE p.job_id = r.job_id "
            "AND p.result_id = r.result_id), 0) FROM uws_results AS r WHERE r.job_id = ? "
            "ORDER BY r.result_id", (data["job_id"],)))
        # a bad stored destruction time counts as now: the job goes at the next clean-up
        destruction = _parse_iso(data["destruction"]) or utc_now()
        return Job(
            job_id=data["job_id"], job_type=data["job_type"], phase=data["phase"],
            creation_time=_parse_iso(data["creation_time"]) or destruction,
            execution_duration=int(data["execution_duration"]),
            destruction=destruction,
            parameters=tuple(tuple(p) for p in json.loads(data["parameters"])),
            run_id=data["run_id"], owner_id=data["owner_id"],
            start_time=_parse_iso(data["start_time"]), end_time=_parse_iso(data["end_time"]),
            error_type=data["error_type"], error_message=data["error_message"],
            results=results)

    # ------------------------------------------------------------------ API
    def create(self, job_type: str, parameters: Iterable[tuple[str, str]], *,
               execution_duration: int, retention_s: int, run_id: str | None = None,
               owner_id: str | None = None) -> Job:
        """A new PENDING job (UWS 1.1 sec. 2.2.3.1)."""
        now = utc_now()
        # 128 random bits: a job's URL is a capability (web.tap_async)
        job = Job(secrets.token_urlsafe(16), job_type, "PENDING", now, execution_duration,
                  now + dt.timedelta(seconds=retention_s), tuple(parameters), run_id,
                  owner_id)
        self._execute(
            f"INSERT INTO uws_jobs ({', '.join(_COLUMNS)}) VALUES "
            f"({', '.join('?' * len(_COLUMNS))})",
            (job.job_id, job.job_type, job.run_id, job.owner_id, job.phase,
             _iso(job.creation_time), None, None, job.execution_duration,
             _iso(job.destruction), json.dumps([list(p) for p in job.parameters]), None,
             None, None, None))
        return job

    def get(self, job_id: str) -> Job | None:
        rows = self._query(f"SELECT {', '.join(_COLUMNS)} FROM uws_jobs WHERE job_id = ?",
                           (job_id,))
        return self._job(rows[0]) if rows else None

    def list(self, phases: Sequence[str] = (), after: dt.datetime | None = None,
             last: int | None = None, job_type: str | None = None,
             owner_id: str | None = None) -> list[Job]:
        """Jobs (of ``owner_id`` if given), newest first when ``last`` is given (UWS 1.1
        sec. 2.2.2.1); ARCHIVED jobs only when asked for by phase."""
        where, args = [], []
        if owner_id is not None:
            where.append("owner_id = ?")
            args.append(owner_id)
        if phases:
            where.append(f"phase IN ({', '.join('?' * len(phases))})")
            args += list(phases)
        else:
            where.append("phase <> 'ARCHIVED'")
        if after is not None:
            where.append("creation_time > ?")
            args.append(_iso(after))
        if job_type is not None:
            where.append("job_type = ?")
            args.append(job_type)
        order = "DESC" if last is not None else "ASC"
        sql = (f"SELECT {', '.join(_COLUMNS)} FROM uws_jobs WHERE {' AND '.join(where)} "
               f"ORDER BY creation_time {order}, job_id {order}")
        if last is not None:
            sql += f" LIMIT {int(last)}"
        return [self._job(row) for row in self._query(sql, args)]

    def set_parameters(self, job_id: str, parameters: Iterable[tuple[str, str]]) -> bool:
        """Replace or add parameters of a PENDING job (names case-insensitive)."""
        job = self.get(job_id)
        if job is None or job.phase != "PENDING":
            return False
        new = list(parameters)
        names = {n.upper() for n, _ in new}
        merged = [p for p in job.parameters if p[0].upper() not in names] + new
        return self._execute(
            "UPDATE uws_jobs SET parameters = ? WHERE job_id = ? AND phase = 'PENDING'",
            (json.dumps([list(p) for p in merged]), job_id)) == 1

    def set_times(self, job_id: str, *, execution_duration: int | None = None,
                  destruction: dt.datetime | None = None) -> None:
        if execution_duration is not None:
            self._execute("UPDATE uws_jobs SET execution_duration = ? WHERE job_id = ?",
                          (execution_duration, job_id))
        if destruction is not None:
            self._execute("UPDATE uws_jobs SET destruction = ? WHERE job_id = ?",
                          (_iso(destruction), job_id))

    def transition(self, job_id: str, expected: Sequence[str], new: str, **extra: Any) -> bool:
        """Compare-and-set the phase; ``extra`` columns (start_time, end_time, error_type,
        error_message, runner, heartbeat) change with it. True if it happened."""
        sets, args = ["phase = ?"], [new]
        for name, value in extra.items():
            if name not in _COLUMNS:
                raise ValueError(f"unknown job column {name!r}")
            sets.append(f"{name} = ?")
            args.append(_iso(value) if isinstance(value, dt.datetime) else value)
        sql = (f"UPDATE uws_jobs SET {', '.join(sets)} WHERE job_id = ? AND phase IN "
               f"({', '.join('?' * len(expected))})")
        return self._execute(sql, [*args, job_id, *expected]) == 1

    def heartbeat(self, job_id: str, runner: str, now: float) -> None:
        self._execute("UPDATE uws_jobs SET heartbeat = ? WHERE job_id = ? AND runner = ?",
                      (now, job_id, runner))

    def requeue_orphans(self, now: float, stale_after_s: float) -> list[str]:
        """EXECUTING jobs whose runner fell silent go back to QUEUED; their ids."""
        rows = self._query("SELECT job_id FROM uws_jobs WHERE phase = 'EXECUTING' AND "
                           "(heartbeat IS NULL OR heartbeat < ?)", (now - stale_after_s,))
        return [job_id for (job_id,) in rows
                if self.transition(job_id, ["EXECUTING"], "QUEUED", runner=None,
                                   heartbeat=None, start_time=None)]

    def phase_counts(self) -> dict[str, int]:
        """How many jobs are in each phase (the queue length is ``QUEUED``)."""
        return {phase: int(n) for phase, n in self._query(
            "SELECT phase, COUNT(*) FROM uws_jobs GROUP BY phase")}

    def queued(self) -> list[str]:
        return [r[0] for r in self._query(
            "SELECT job_id FROM uws_jobs WHERE phase = 'QUEUED' ORDER BY creation_time")]

    def put_result(self, job_id: str, result_id: str, mime: str,
                   content: bytes | Iterable[bytes]) -> None:
        """Store a result: bytes, or pieces as they are produced (kept in parts of at
        most ``PART_BYTES``, so a result of any size is stored in bounded memory)."""
        self.delete_results(job_id, result_id)
        self._execute("INSERT INTO uws_results (job_id, result_id, mime, content) "
                      "VALUES (?, ?, ?, ?)", (job_id, result_id, mime, b""))
        pieces = [content] if isinstance(content, bytes | bytearray) else content
        buffer, part = bytearray(), 0
        for piece in pieces:
            buffer += piece
            while len(buffer) >= PART_BYTES:
                self._put_part(job_id, result_id, part, bytes(buffer[:PART_BYTES]))
                del buffer[:PART_BYTES]
                part += 1
        if buffer or part == 0:
            self._put_part(job_id, result_id, part, bytes(buffer))

    def _put_part(self, job_id: str, result_id: str, part: int, data: bytes) -> None:
        self._execute("INSERT INTO uws_result_parts (job_id, result_id, part, content) "
                      "VALUES (?, ?, ?, ?)", (job_id, result_id, part, data))

    def result(self, job_id: str, result_id: str) -> tuple[str, bytes] | None:
        """(mime, content) of a result held in memory (see :meth:`result_pieces`)."""
        found = self.result_pieces(job_id, result_id)
        return None if found is None else (found[0], b"".join(found[1]))

    def result_pieces(self, job_id: str, result_id: str
                      ) -> tuple[str, Iterator[bytes]] | None:
        """(mime, the content part by part, read as it is consumed) of a result."""
        rows = self._query("SELECT mime, content FROM uws_results WHERE job_id = ? AND "
                           "result_id = ?", (job_id, result_id))
        if not rows:
            return None
        count = self._query("SELECT count(*) FROM uws_result_parts WHERE job_id = ? AND "
                            "result_id = ?", (job_id, result_id))[0][0]

        def pieces() -> Iterator[bytes]:
            if rows[0][1]:  # a result stored whole, before results were kept in parts
                yield bytes(rows[0][1])
            for part in range(int(count)):
                found = self._query("SELECT content FROM uws_result_parts WHERE job_id = ? "
                                    "AND result_id = ? AND part = ?",
                                    (job_id, result_id, part))
                if found:
                    yield bytes(found[0][0])

        return rows[0][0], pieces()

    def delete_results(self, job_id: str, result_id: str | None = None) -> None:
        where, args = "job_id = ?", [job_id]
        if result_id is not None:
            where, args = where + " AND result_id = ?", [*args, result_id]
        self._execute(f"DELETE FROM uws_result_parts WHERE {where}", args)
        self._execute(f"DELETE FROM uws_results WHERE {where}", args)

    def delete(self, job_id: str) -> bool:
        self.delete_results(job_id)
        return self._execute("DELETE FROM uws_jobs WHERE job_id = ?", (job_id,)) == 1

    def destroy_expired(self, now: dt.datetime | None = None) -> int:
        """Delete jobs past their destruction time (UWS 1.1 sec. 2.1.5)."""
        now = now or utc_now()
        # every time _iso writes has 20 characters; any other text is unreadable: expired
        expired = self._query("SELECT job_id FROM uws_jobs WHERE destruction < ? OR "
                              "length(destruction) <> 20", (_iso(now),))
        return sum(self.delete(job_id) for (job_id,) in expired)

