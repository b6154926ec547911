"""Every run, kept: a history database (SQLite by default, any SQLAlchemy URL by choice) and the trend per machine.

Where: `--db URL` or a path, else $HASHBENCH_DB, else history.sqlite in the user's data directory (platformdirs).
Each run is one transaction: its row (with the whole result as JSON, so a run loads back exactly as stored) and
one row per measurement (so trends are plain queries). Run ids are random UUIDs (or content hashes for files
without one), so concurrent writers never collide, and storing the same run again replaces it.

Concurrency: SQLite allows one writer at a time. Transactions start with BEGIN IMMEDIATE (take the write lock
at once rather than upgrading a read lock mid-way, which is what turns contention into "database is locked"),
in WAL mode, with a busy timeout, so a second writer waits its turn instead of failing. Commands that only read
open the file read-only (SQLite's mode=ro) with plain deferred BEGINs, so a history on a read-only mount (a
backup, a container's view of the site's database) can be read; see `_readonly_uri` for WAL there. PostgreSQL needs none
of that; only its table creation and the writers of one run id are serialised, with advisory locks, because two
concurrent CREATE TABLEs of the same name can collide on its catalog and two inserts of one run on its key.

SQLAlchemy (and platformdirs, psycopg for PostgreSQL) come with the `results` extra and are imported only here,
lazily, so the base install still runs `hashbench run` and says why the history was not stored."""

from __future__ import annotations

import importlib
import importlib.util
import json
import os
import re
import sqlite3
import time
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from functools import lru_cache
from pathlib import Path

from ..errors import HashbenchError, InputError
from .schema import Check, Measurement, RunResult, failed_backends, higher_is_better, verification_summary

ENV_DB = "HASHBENCH_DB"
DB_LAYOUT = 1  # the table layout below; bump with a migration when it changes
LOCK_RETRIES = 8
# SQLite waits this long for another writer's lock; a transaction retries lock errors only within it in all, so a
# database held locked (a viewer left open on it) fails the store after about a minute, not LOCK_RETRIES minutes.
SQLITE_BUSY_MS = 60_000
PG_CONNECT_TIMEOUT_S = 15
_PG_LOCK_KEY = 0x68617368  # "hash": serialises CREATE TABLE between concurrent first writers
_LIBPQ_SCHEMES = ("postgresql", "postgresql+psycopg", "postgresql+psycopg2")  # the drivers that take connect_timeout
_SECRET_PARAMS = ("password", "sslpassword")  # URL query parameters display_url masks
_USERINFO = re.compile(r"^(?P<user>[^:/]*):[^@]*@")  # SQLAlchemy's URL grammar: user, then :password up to @


class HistoryUnavailable(HashbenchError):
    """The history cannot be used here: a package is missing."""


class HistoryError(HashbenchError):
    """The database refused or failed."""


@dataclass(frozen=True)
class RunSummary:
    run_id: str
    started: str
    source: str
    fingerprint: str
    machine: str
    git_commit: str | None
    git_dirty: bool | None
    complete: bool
    measurements: int
    verified: str = "not checked"  # "yes", "not checked" or "FAILED: cython (avx2)", as the HTML report's runs
    shared: int = 0  # measurements taken while other work, a hypervisor or a CPU quota took CPU time in the window

    def to_json(self) -> dict:
        return dict(self.__dict__)


@dataclass(frozen=True)
class Point:
    run_id: str
    started: str
    git_commit: str | None
    value: float
    min: float
    max: float
    n: int
    joules_per_unit: float | None
    verify_failed: bool = False  # its backend scanned real block headers to wrong nonces in that run
    shared: bool = False  # other work, a hypervisor or a CPU quota took CPU time in its window (cpuload.CpuLoad)

    def to_json(self) -> dict:
        return dict(self.__dict__)


@dataclass
class Series:
    """One benchmark on one machine over time."""

    fingerprint: str
    machine: str
    name: str
    unit: str
    points: list[Point] = field(default_factory=list)

    @property
    def verified_points(self) -> list[Point]:
        """The points a trend is read from: a run whose backend gave wrong nonces timed a kernel that is wrong."""
        return [p for p in self.points if not p.verify_failed]

    @property
    def change(self) -> float | None:
        """Last against first, as a fraction, + for better as in `compare`: a rate 10 % higher and a time 10 % shorter
        are both +10 %. Points whose backend failed verification are not among them."""
        points = self.verified_points
        if len(points) < 2 or not points[0].value:
            return None
        ratio = points[-1].value / points[0].value
        return ratio - 1 if higher_is_better(self.unit) else 1 - ratio

    def to_json(self) -> dict:
        return {"fingerprint": self.fingerprint, "machine": self.machine, "name": self.name, "unit": self.unit,
                "change": self.change, "points": [p.to_json() for p in self.points]}


def _require(module: str, why: str):
    try:
        return importlib.import_module(module)
    except ImportError as exc:
        raise HistoryUnavailable(f"{why} needs {module} ({exc}); install it with "
                                 "pip install 'hashbench[results]'") from None


def default_path() -> Path:
    platformdirs = _require("platformdirs", "the default history location")
    return Path(platformdirs.user_data_dir("hashbench", appauthor=False)) / "history.sqlite"


def resolve_url(db: str | None = None) -> str:
    """A URL from --db, $HASHBENCH_DB or the default; a bare path means an SQLite file."""
    value = db or os.environ.get(ENV_DB) or str(default_path())
    if "://" not in value:
        path = Path(value).expanduser().resolve()
        return f"sqlite:///{path}"
    if value.startswith("postgres://"):  # the short scheme many hosts hand out; SQLAlchemy knows only the long one
        value = "postgresql://" + value.split("://", 1)[1]
    # SQLAlchemy's plain postgresql:// means psycopg2; use psycopg 3 (the extra's driver) when that is what is
    # installed.
    if (value.startswith("postgresql://") and importlib.util.find_spec("psycopg2") is None
            and importlib.util.find_spec("psycopg") is not None):
        value = "postgresql+psycopg://" + value.split("://", 1)[1]
    return value


def display_url(url: str) -> str:
    """The URL with any password masked, for messages: user:password@ and libpq's ?password= (and sslpassword=).
    user:password@ is read as SQLAlchemy reads it, right after the scheme (a user without : or /, a password up to
    the @), so an SQLite path such as /data/a:b@c/h.sqlite is shown as it is, not as a user and a password."""
    head, sep, rest = url.partition("://")
    rest, mark, query = rest.partition("?")
    if sep:
        rest = _USERINFO.sub(r"\g<user>:***@", rest, count=1)
    query = "&".join(f"{part.split('=', 1)[0]}=***" if part.split("=", 1)[0].lower() in _SECRET_PARAMS else part
                     for part in query.split("&")) if query else query
    return head + sep + rest + mark + query


@lru_cache(maxsize=1)
def _tables():
    sa = _require("sqlalchemy", "the history database")
    md = sa.MetaData()
    runs = sa.Table(
        "hb_runs", md,
        sa.Column("run_id", sa.String(64), primary_key=True),
        sa.Column("fingerprint", sa.String(32), nullable=False, index=True),
        sa.Column("machine", sa.String(300), nullable=False),
        sa.Column("started", sa.String(64), nullable=False),
        sa.Column("started_utc", sa.String(32), nullable=False, index=True),  # normalised: sorts as time does
        sa.Column("stored_ns", sa.BigInteger, nullable=False),  # ties between runs started in the same second
        sa.Column("source", sa.String(40), nullable=False),
        sa.Column("git_commit", sa.String(64)),
        sa.Column("git_dirty", sa.Boolean),
        sa.Column("complete", sa.Boolean, nullable=False),
        sa.Column("schema_version", sa.Integer, nullable=False),
        sa.Column("document", sa.Text, nullable=False),
    )
    measurements = sa.Table(
        "hb_measurements", md,
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("run_id", sa.String(64), sa.ForeignKey("hb_runs.run_id", ondelete="CASCADE"), nullable=False,
                  index=True),
        sa.Column("name", sa.String(300), nullable=False, index=True),
        sa.Column("kind", sa.String(20), nullable=False),
        sa.Column("backend", sa.String(60)),
        sa.Column("unit", sa.String(20), nullable=False),
        sa.Column("value", sa.Float, nullable=False),
        sa.Column("min", sa.Float, nullable=False),
        sa.Column("max", sa.Float, nullable=False),
        sa.Column("stddev", sa.Float, nullable=False),
        sa.Column("n", sa.Integer, nullable=False),
        sa.Column("provenance", sa.String(12), nullable=False),
        sa.Column("energy_j", sa.Float),
        sa.Column("energy_source", sa.String(80), nullable=False),
        sa.Column("joules_per_unit", sa.Float),
    )
    meta = sa.Table("hb_meta", md, sa.Column("key", sa.String(40), primary_key=True),
                    sa.Column("value", sa.String(200), nullable=False))
    return sa, md, runs, measurements, meta


def utc_key(started: str) -> str:
    """A start time as text that sorts in time order, whatever offset it was written with."""
    try:
        moment = datetime.fromisoformat(started)
    except ValueError:
        return started[:32]
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _reason(exc: BaseException) -> str:
    """The driver's own message on one line (SQLAlchemy appends a "Background on this error" link, psycopg a hint)."""
    cause = getattr(exc, "orig", None) or exc
    lines = [line.strip() for line in str(cause).splitlines() if line.strip()]
    return " ".join(line for line in lines if not line.startswith("(Background on this error")) or type(cause).__name__


def _unreadable_url(url: str, exc: Exception) -> InputError:
    """A --db that names no database SQLAlchemy can open is bad input. Its URL parser raises a bare ValueError for a
    port that is no number (postgresql://u@db:54x2/hb), which would otherwise end in a traceback."""
    why = f"cannot read it as a database URL ({exc})" if isinstance(exc, ValueError) else _reason(exc)
    return InputError(f"cannot use history database {display_url(url)}: {why}")


class History:
    def __init__(self, url: str, *, make_folder: bool = False, connect: bool = True, readonly: bool = False,
                 sqlite_file: Path | None = None) -> None:
        """`make_folder`: create the SQLite file's folder (the default location); a folder someone named that does
        not exist is a typo to report, not one to create. `connect`: open the database and its tables now.
        `sqlite_file`: the file a bare path named, opened as named: parsed back out of `url`, a ? or % in it would
        be read as URL syntax and name another file.
        `readonly`: only read; nothing is created or written (no file, folder or table), and a database that does
        not exist yet reads as an empty history."""
        self.url = url
        self.readonly = readonly
        sa, self._md, self._runs, self._meas, self._meta = _tables()
        self._sa = sa
        # pool_pre_ping: a server restarted since the connection was pooled is reconnected to, not written to dead
        kwargs: dict = {"pool_pre_ping": True}
        engine_url: object = url
        if sqlite_file is not None:
            engine_url = sa.engine.URL.create("sqlite", database=str(sqlite_file))
        if url.startswith("sqlite"):
            try:
                path = str(sqlite_file) if sqlite_file is not None else sa.engine.make_url(url).database
            except (sa.exc.ArgumentError, ValueError) as exc:
                raise _unreadable_url(url, exc) from None
            if path and path != ":memory:":
                folder = Path(path).parent
                if Path(path).is_dir():  # SQLite's own answer is "disk I/O error"
                    raise InputError(f"history database {display_url(url)}: {path!r} is a folder, not a database "
                                     "file")
                if readonly:
                    if not Path(path).exists() and (make_folder or folder.is_dir()):
                        self._empty()  # nothing stored yet: nothing to read, and nothing to create
                        return
                    if not folder.is_dir():
                        raise InputError(f"history database {display_url(url)}: folder {str(folder)!r} does not "
                                         "exist")
                    uri = _readonly_uri(Path(path), url)
                    engine_url = "sqlite://"
                    kwargs["creator"] = lambda: sqlite3.connect(uri, uri=True, timeout=SQLITE_BUSY_MS / 1000,
                                                                check_same_thread=False)
                elif make_folder:
                    try:
                        folder.mkdir(parents=True, exist_ok=True)
                    except OSError as exc:  # a read-only home, a file in the way: no history can ever live there
                        raise InputError(f"history database {display_url(url)}: cannot create its folder "
                                         f"{str(folder)!r} ({exc.strerror or exc}): give --db PATH or "
                                         f"${ENV_DB}, or run with --no-history") from None
                elif not folder.is_dir():
                    raise InputError(f"history database {display_url(url)}: folder {str(folder)!r} does not exist")
            if "creator" not in kwargs:
                kwargs["connect_args"] = {"timeout": SQLITE_BUSY_MS / 1000}
        elif url.split("://", 1)[0] in _LIBPQ_SCHEMES and "connect_timeout" not in url:
            # A server that drops packets would hold the end of a run until the system's TCP timeout (minutes).
            kwargs["connect_args"] = {"connect_timeout": PG_CONNECT_TIMEOUT_S}
        try:
            self.engine = sa.create_engine(engine_url, **kwargs)
        except ImportError as exc:  # the database's driver; the postgres extra brings PostgreSQL's
            hint = ("; install its driver with pip install 'hashbench[postgres]'"
                    if sa.engine.make_url(url).get_backend_name() == "postgresql" else "")
            raise HistoryUnavailable(f"cannot use history database {display_url(url)}: {exc}{hint}") from None
        except (sa.exc.ArgumentError, sa.exc.NoSuchModuleError, ValueError) as exc:
            raise _unreadable_url(url, exc) from None
        if self.engine.dialect.name == "sqlite":
            self._sqlite_locking()
        if connect:
            self._check_schema() if readonly else self._ensure_schema()

    def _empty(self) -> None:
        """An empty history in memory, with the tables, for a read of a database that is not there: every query
        then answers as for a history that holds no runs, through the same code."""
        sa = self._sa
        self.engine = sa.create_engine("sqlite://", poolclass=sa.pool.StaticPool,
                                       connect_args={"check_same_thread": False})
        self._md.create_all(self.engine)

    def _sqlite_locking(self) -> None:
        event = self._sa.event

        @event.listens_for(self.engine, "connect")
        def _connect(dbapi_conn, _record) -> None:
            dbapi_conn.isolation_level = None  # let the "begin" hook below issue BEGIN itself
            cur = dbapi_conn.cursor()
            cur.execute(f"PRAGMA busy_timeout = {SQLITE_BUSY_MS}")
            if not self.readonly:  # setting the journal mode writes the file; a WAL file stays WAL for its readers
                cur.execute("PRAGMA journal_mode = WAL")
            cur.execute("PRAGMA foreign_keys = ON")
            cur.close()

        # A reader takes no lock up front: in WAL it reads a snapshot beside any writer, and on a read-only file it
        # could not take the write lock BEGIN IMMEDIATE asks for.
        begin = "BEGIN" if self.readonly else "BEGIN IMMEDIATE"

        @event.listens_for(self.engine, "begin")
        def _begin(conn) -> None:
            conn.exec_driver_sql(begin)

    def _transaction(self, work):
        """Runs work(conn) in one transaction, retrying the few lock errors a busy SQLite can still raise and a
        connection the server dropped mid-way (a restart): the transaction rolled back, so running it again is
        safe."""
        sa = self._sa
        deadline = time.monotonic() + SQLITE_BUSY_MS / 1000
        for attempt in range(LOCK_RETRIES):
            try:
                with self.engine.begin() as conn:
                    return work(conn)
            except sa.exc.OperationalError as exc:
                text = str(exc).lower()
                locked = ("locked" in text or "busy" in text) and time.monotonic() < deadline
                if (locked or exc.connection_invalidated) and attempt + 1 < LOCK_RETRIES:
                    time.sleep(0.05 * 2**attempt)
                    continue
                raise HistoryError(f"history database {display_url(self.url)}: {_reason(exc)}") from None
            except sa.exc.SQLAlchemyError as exc:
                raise HistoryError(f"history database {display_url(self.url)}: {_reason(exc)}") from None
        raise AssertionError("unreachable")

    def _ensure_schema(self) -> None:
        def create(conn) -> None:
            if conn.dialect.name == "postgresql":
                conn.exec_driver_sql(f"SELECT pg_advisory_xact_lock({_PG_LOCK_KEY})")
            self._md.create_all(conn)
            row = conn.execute(self._sa.select(self._meta.c.value).where(self._meta.c.key == "layout")).first()
            if row is None:
                conn.execute(self._meta.insert().values(key="layout", value=str(DB_LAYOUT)))
            elif self._layout(row[0]) > DB_LAYOUT:
                raise HistoryError(f"history database {display_url(self.url)} has layout {row[0]}, newer than "
                                   f"this hashbench reads ({DB_LAYOUT}): upgrade hashbench")

        self._transaction(create)

    def _check_schema(self) -> None:
        """For a reader: the layout it can read, or no hashbench tables at all (an empty history); nothing created."""
        def layout(conn) -> str | None:
            if not self._sa.inspect(conn).has_table(self._meta.name):
                return None
            row = conn.execute(self._sa.select(self._meta.c.value).where(self._meta.c.key == "layout")).first()
            return row[0] if row else None

        found = self._transaction(layout)
        if found is None:
            self.engine.dispose()
            self._empty()
        elif self._layout(found) > DB_LAYOUT:
            raise HistoryError(f"history database {display_url(self.url)} has layout {found}, newer than this "
                               f"hashbench reads ({DB_LAYOUT}): upgrade hashbench")

    def _layout(self, value: object) -> int:
        try:
            return int(value)
        except (TypeError, ValueError):
            raise HistoryError(f"history database {display_url(self.url)}: its layout is {value!r}, not a number: not "
                               "a hashbench history, or a damaged one") from None

    def _document(self, run_id: str, text: object) -> dict:
        """A stored run's JSON document, or one line naming the run whose document is damaged."""
        try:
            data = json.loads(text)
        except (TypeError, ValueError):
            data = None
        if not isinstance(data, dict):
            raise HistoryError(f"history database {display_url(self.url)}: run {run_id}'s stored document is not a "
                               "JSON object (damaged)")
        return data

    # --- writing ---------------------------------------------------------------------------------------------------

    def store(self, run: RunResult) -> None:
        if self.readonly:
            raise AssertionError("History opened read-only cannot store")  # a caller's bug, not the user's
        doc = json.dumps(run.to_json(), separators=(",", ":"))
        host = run.host
        row = {"run_id": run.run_id, "fingerprint": run.fingerprint, "machine": host.label[:300],
               "started": run.started, "started_utc": utc_key(run.started), "stored_ns": time.time_ns(),
               "source": run.source, "git_commit": host.git_commit, "git_dirty": host.git_dirty,
               "complete": run.complete, "schema_version": run.schema_version, "document": doc}
        rows = []
        for m in run.measurements:
            s = m.summary
            rows.append({"run_id": run.run_id, "name": m.name[:300], "kind": m.kind,
                         "backend": _backend_of(m.params), "unit": m.unit, "value": m.value, "min": s.min,
                         "max": s.max, "stddev": s.stddev, "n": len(m.samples), "provenance": m.provenance,
                         "energy_j": m.energy.joules if m.energy else None, "energy_source": m.energy_source[:80],
                         "joules_per_unit": m.joules_per_unit})

        def write(conn) -> None:
            if conn.dialect.name == "postgresql":
                # Two writers of the same run (a run storing itself, a `history --add` of its file) would both find
                # nothing to replace and both insert: one waits for the other, then replaces what it stored.
                conn.execute(self._sa.text("SELECT pg_advisory_xact_lock(:key, hashtext(:run_id))"),
                             {"key": _PG_LOCK_KEY, "run_id": run.run_id})
            conn.execute(self._meas.delete().where(self._meas.c.run_id == run.run_id))
            conn.execute(self._runs.delete().where(self._runs.c.run_id == run.run_id))
            conn.execute(self._runs.insert(), [row])
            if rows:
                conn.execute(self._meas.insert(), rows)

        self._transaction(write)

    # --- reading ---------------------------------------------------------------------------------------------------

    def runs(self, fingerprint: str | None = None, source: str | None = None,
             limit: int | None = None) -> list[RunSummary]:
        sa, r, m = self._sa, self._runs, self._meas
        count = sa.select(sa.func.count()).where(m.c.run_id == r.c.run_id).scalar_subquery()
        q = sa.select(r.c.run_id, r.c.started, r.c.source, r.c.fingerprint, r.c.machine, r.c.git_commit,
                      r.c.git_dirty, r.c.complete, count, r.c.document).order_by(r.c.started_utc.desc(),
                                                                                 r.c.stored_ns.desc())
        if fingerprint:
            q = q.where(r.c.fingerprint == fingerprint)
        if source:
            q = q.where(r.c.source == source)
        if limit:
            q = q.limit(limit)
        rows = self._transaction(lambda conn: conn.execute(q).all())
        summaries = []
        for row in rows:
            data = self._document(row[0], row[9])
            summaries.append(RunSummary(*row[:7], bool(row[7]), int(row[8]), verification_summary(_checks(data)),
                                        len(_shared_names(data))))
        return summaries

    def load(self, run_id: str) -> RunResult:
        """A stored run by its id or a unique prefix of it."""
        r = self._runs
        q = self._sa.select(r.c.run_id, r.c.document).where(r.c.run_id.startswith(run_id, autoescape=True)).limit(2)
        rows = self._transaction(lambda conn: conn.execute(q).all())
        if not rows:
            raise InputError(f"no run {run_id!r} in the history ({display_url(self.url)})")
        if len(rows) > 1:
            raise InputError(f"run id prefix {run_id!r} is ambiguous: give more characters")
        return RunResult.from_json(self._document(rows[0][0], rows[0][1]))

    def resolve(self, ref: str) -> RunResult:
        """"latest"; "latest~N", the Nth run before it on the same machine from the same source (a CI job's
        previous run, not some other kind of run stored in between); or a run id (prefix)."""
        if ref == "latest" or ref.startswith("latest~"):
            back = 0
            if ref != "latest":
                try:
                    back = int(ref.split("~", 1)[1])
                except ValueError:
                    back = -1
                if back < 0:
                    raise InputError(f"cannot read history reference {ref!r} (latest, latest~N or a run id)")
            newest = self.runs(limit=1)
            if not newest:
                raise InputError(f"the history ({display_url(self.url)}) holds no runs yet")
            chain = self.runs(fingerprint=newest[0].fingerprint, source=newest[0].source, limit=back + 1)
            if len(chain) <= back:
                raise InputError(f"{ref}: the history holds only {len(chain)} run(s) like the latest one")
            return self.load(chain[back].run_id)
        return self.load(ref)

    def backends(self, fingerprint: str | None = None) -> list[str]:
        """The hashing backends the stored measurements name, sorted (for `history --backend` to list)."""
        r, m = self._runs, self._meas
        q = self._sa.select(m.c.backend).distinct().join(r, m.c.run_id == r.c.run_id).where(m.c.backend.is_not(None))
        if fingerprint:
            q = q.where(r.c.fingerprint == fingerprint)
        return sorted(b for (b,) in self._transaction(lambda conn: conn.execute(q).all()) if b)

    def trend(self, backend: str | None = None, fingerprint: str | None = None,
              name: str | None = None) -> list[Series]:
        sa, r, m = self._sa, self._runs, self._meas
        q = (sa.select(r.c.fingerprint, r.c.machine, m.c.name, m.c.unit, m.c.backend, r.c.run_id, r.c.started,
                       r.c.git_commit, m.c.value, m.c.min, m.c.max, m.c.n, m.c.joules_per_unit)
             .join(m, m.c.run_id == r.c.run_id)
             .order_by(r.c.fingerprint, m.c.name, r.c.started_utc, r.c.stored_ns))
        if backend:
            q = q.where(m.c.backend == backend)
        if fingerprint:
            q = q.where(r.c.fingerprint == fingerprint)
        if name:
            q = q.where(m.c.name == name)
        rows = self._transaction(lambda conn: conn.execute(q).all())
        facts = self._run_facts({row[5] for row in rows})
        series: dict[tuple[str, str, str], Series] = {}
        for fp, machine, mname, unit, backend, *point in rows:
            key = (fp, mname, unit)
            if key not in series:
                series[key] = Series(fp, machine, mname, unit)
            failed, shared = facts[point[0]]
            series[key].points.append(Point(*point, verify_failed=backend in failed, shared=mname in shared))
        return list(series.values())

    def _run_facts(self, run_ids: set[str]) -> dict[str, tuple[set[str], set[str]]]:
        """Per run, from the stored document (the tables hold no column for them: the document is the run as
        written): the backends that failed verification in it, and the names of its measurements whose window's
        CPUs were shared (as stored in hb_measurements.name)."""
        r = self._runs
        q = self._sa.select(r.c.run_id, r.c.document).where(r.c.run_id.in_(run_ids))
        rows = self._transaction(lambda conn: conn.execute(q).all()) if run_ids else []
        facts = {}
        for run_id, doc in rows:
            data = self._document(run_id, doc)
            facts[run_id] = (failed_backends(_checks(data)), _shared_names(data))
        return facts

    def close(self) -> None:
        self.engine.dispose()


def _readonly_uri(path: Path, url: str) -> str:
    """The SQLite URI a reader opens `path` with. mode=ro reads a WAL database whole, the log included, where its
    -shm index exists or can be made (https://sqlite.org/wal.html, "Read-Only Databases"). In a folder nobody can
    write (a read-only mount) and with no -shm there, SQLite cannot open it so; then, if there is no log either,
    the main file holds every committed run and immutable=1 reads it without the index. A log left there without
    its index (a copy taken while a writer had it open) cannot be read: immutable would skip the runs in it."""
    uri = path.as_uri()  # percent-encodes what a URI must (?, #, %)
    try:
        probe = sqlite3.connect(f"{uri}?mode=ro", uri=True)
        try:
            probe.execute("PRAGMA schema_version").fetchone()  # the open is lazy: this is where it fails
        finally:
            probe.close()
        return f"{uri}?mode=ro"
    except sqlite3.Error:
        if os.access(path.parent, os.W_OK):  # not the read-only folder case: let the real reason surface on reading
            return f"{uri}?mode=ro"
    wal = path.with_name(path.name + "-wal")
    if wal.exists() and wal.stat().st_size > 0:
        raise HistoryError(f"history database {display_url(url)}: its write-ahead log {wal.name} holds runs but "
                           f"its index {path.name}-shm is missing, and the folder is read-only: copy the "
                           "database and its -wal file to a writable folder and read it there")
    return f"{uri}?immutable=1"


def _checks(document: dict) -> list[Check]:
    return [Check.from_json(c) for c in document.get("checks") or () if isinstance(c, dict)]


def _shared_names(document: dict) -> set[str]:
    """The names (as hb_measurements.name holds them) of a stored run's measurements whose window's CPUs were
    shared."""
    return {m.name[:300] for m in map(Measurement.from_json, document.get("measurements") or ()) if m.cpus_shared}


def _backend_of(params: dict) -> str | None:
    value = params.get("backend") or params.get("probe")
    return str(value)[:60] if value else None


def open_history(db: str | None = None, *, connect: bool = True, readonly: bool = False) -> History:
    """`readonly` for commands that only read: they work on a read-only mount and create nothing."""
    url = resolve_url(db)
    bare = db or os.environ.get(ENV_DB) or ""
    return History(url, make_folder=not (db or os.environ.get(ENV_DB)), connect=connect, readonly=readonly,
                   sqlite_file=Path(url.removeprefix("sqlite:///")) if "://" not in bare else None)


def check_location(db: str | None = None) -> None:
    """An InputError now for a location that can never work (a kind of database SQLAlchemy does not know, a folder
    that does not exist), so a long `hashbench run` fails before it measures rather than after. A missing package
    or a server that does not answer is left to the store, which notes it beside the kept result file."""
    try:
        open_history(db, connect=False).close()
    except (HistoryError, HistoryUnavailable):
        pass


def store_run(run: RunResult, db: str | None = None) -> str:
    """Stores `run`; returns where, for the message the caller prints, and whether this machine's earlier runs form
    a series of their own (recorded before hashbench read the CPU's family/model/stepping)."""
    history = open_history(db)
    try:
        history.store(run)
        older = older_series(history, run)
    finally:
        history.close()
    where = display_url(history.url)
    if not older:
        return where
    return (f"{where}; the {len(older)} earlier run(s) of this CPU model recorded without its family/model/stepping "
            f"(fingerprint {older[0].fingerprint}) stay a series of their own, as nothing says they ran on this CPU: "
            f"`hashbench compare @{older[0].run_id[:8]} @latest --force` sets them side by side")


def older_series(history: History, run: RunResult) -> list[RunSummary]:
    """When `run` is the first of its machine's series: the runs, newest first, whose host differs from its only in
    not knowing the CPU's identity numbers (an older hashbench's records of what may be the same machine)."""
    if not run.host.cpu_id or len(history.runs(fingerprint=run.fingerprint, limit=2)) > 1:
        return []
    return history.runs(fingerprint=replace(run.host, cpu_id="").fingerprint)
