"""One scenario, two clients: adapters that drive the sync or the async client alike.

A scenario is written once as a coroutine and calls client methods through
`Api.call`; the sync adapter calls them directly (they block the test's event
loop, which is harmless because the server runs on a loop of its own), the
async adapter awaits them on the test's event loop.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable
from typing import Any

from recallrai import AsyncRecallrAI, RecallrAI
from tests.conftest import Tenant


class Api(ABC):
    """A client of `tenant` in one flavour, plus any further clients a scenario opens."""

    def __init__(self, tenant: Tenant) -> None:
        self.tenant = tenant
        self._opened: list[Any] = []
        self.client = self.connect()

    def connect(
        self,
        *,
        api_key: str | None = None,
        project_id: str | None = None,
        target: str | None = None,
        timeout: float = 30.0,
    ) -> Any:
        """A client of this flavour, by default for the tenant; closed by `close()`."""
        client = self._new_client(
            api_key=self.tenant.api_key if api_key is None else api_key,
            project_id=self.tenant.project_id if project_id is None else project_id,
            target=target or self.tenant.target,
            timeout=timeout,
        )
        self._opened.append(client)
        return client

    @abstractmethod
    def _new_client(self, *, api_key: str, project_id: str, target: str, timeout: float) -> Any:
        """A new client of this flavour."""

    @abstractmethod
    async def call(self, method: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Any:
        """The result of a client method."""

    @abstractmethod
    async def next(self, stream: Any) -> Any:
        """The next item of a stream a client method returned."""

    @abstractmethod
    async def close_stream(self, stream: Any) -> None:
        """Stops reading a stream early, which cancels its call."""

    @abstractmethod
    async def _close(self, client: Any) -> None:
        """Releases one client's connection."""

    async def close(self) -> None:
        for client in self._opened:
            await self._close(client)


class SyncApi(Api):
    def _new_client(self, *, api_key: str, project_id: str, target: str, timeout: float) -> Any:
        return RecallrAI(api_key=api_key, project_id=project_id, target=target, timeout=timeout)

    async def call(self, method: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Any:
        return method(*args, **kwargs)

    async def next(self, stream: Any) -> Any:
        return next(stream)

    async def close_stream(self, stream: Any) -> None:
        stream.close()

    async def _close(self, client: Any) -> None:
        client.close()


class AsyncApi(Api):
    def _new_client(self, *, api_key: str, project_id: str, target: str, timeout: float) -> Any:
        return AsyncRecallrAI(
            api_key=api_key, project_id=project_id, target=target, timeout=timeout
        )

    async def call(self, method: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Any:
        return await method(*args, **kwargs)

    async def next(self, stream: Any) -> Any:
        return await anext(stream)

    async def close_stream(self, stream: Any) -> None:
        await stream.aclose()

    async def _close(self, client: Any) -> None:
        await client.close()


FLAVOURS: dict[str, type[Api]] = {"sync": SyncApi, "async": AsyncApi}
