"""The Prefect server spectraflow runs (``spectraflow server``, the stage server, the tests' servers): Prefect's own
API, UI and services, with one change on SQLite — every write transaction begins ``IMMEDIATE``.

Why: Prefect's server begins most of its SQLite transactions ``DEFERRED`` (``IMMEDIATE`` only where it locks rows
for orchestration). Such a transaction starts as a reader and becomes a writer at its first write; in WAL mode,
when another connection has committed in between, that upgrade fails at once with ``SQLITE_BUSY_SNAPSHOT`` — the
busy timeout does not apply — the API answers 503, and Prefect's client retries after about 2 s, then 4, 8, 16
and 32 s. A pipeline run writes concurrently all the time (task runs' events, flow runs created for stages and
moved between states, logs), and met it often: measured on 2 cores with ``prefect server start``, 9 of 20 flow
run creations from two concurrent tasks took 1.7–2.5 s instead of 0.03–0.1 s, and one call waited 57 s; the 10-scene
overhead per scene in ``benchmarks/collection.py`` was 9.0 s on Prefect's server, 5.4 s on this one. Begun
``IMMEDIATE``, a write transaction takes SQLite's write lock first, and writers queue on it (Prefect's busy timeout,
60 s) instead of failing: the same 20 creations took 0.09–0.34 s. Reads outside a transaction are unchanged. On
Postgres nothing changes (``PREFECT_API_DATABASE_CONNECTION_URL``).
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncGenerator
from typing import Any

__all__ = ["api_app", "serve"]


def _serial_write_config(connection_url: str) -> Any:
    """Prefect's SQLite configuration, its write transactions begun ``IMMEDIATE`` (see the module)."""
    from prefect.server.database.configurations import SQLITE_BEGIN_MODE, AioSqliteConfiguration

    class SerialWriteSqlite(AioSqliteConfiguration):
        @contextlib.asynccontextmanager
        async def begin_transaction(self, session: Any, with_for_update: bool = False) -> AsyncGenerator[Any, None]:
            token = SQLITE_BEGIN_MODE.set("IMMEDIATE")
            try:
                async with session.begin() as transaction:
                    yield transaction
            finally:
                SQLITE_BEGIN_MODE.reset(token)

    return SerialWriteSqlite(connection_url=connection_url)


def api_app(webserver_only: bool = False) -> Any:
    """Prefect's server application (API, UI when enabled, and its services unless ``webserver_only``), on
    SQLite with write transactions begun ``IMMEDIATE``."""
    from prefect.server.api.server import create_app
    from prefect.server.database.dependencies import set_database_config
    from prefect.settings import PREFECT_API_DATABASE_CONNECTION_URL

    url = PREFECT_API_DATABASE_CONNECTION_URL.value()
    if url.startswith("sqlite"):
        set_database_config(_serial_write_config(url))
    return create_app(final=True, webserver_only=webserver_only)


def serve(host: str, port: int, log_level: str = "warning") -> None:
    """Run the server on ``host:port`` until interrupted."""
    import uvicorn

    uvicorn.run(api_app(), host=host, port=port, log_level=log_level)
