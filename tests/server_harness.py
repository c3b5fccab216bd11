"""An API server over a fresh SQLite store, without HTTP, for tests of the server's own logic."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from pathlib import Path

from everynode.apiserver.app import ApiServer
from everynode.storage.sqlite import SqliteStore


@contextlib.asynccontextmanager
async def started_server(tmp_path: Path, **store_options) -> AsyncIterator[ApiServer]:
    store = SqliteStore(tmp_path / "db", **store_options)
    await store.start()
    server = ApiServer(store, "token")
    await server.bootstrap()
    try:
        yield server
    finally:
        await store.close()
