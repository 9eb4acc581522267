"""A store that fails or is too slow becomes `StoreUnavailable` (503, retry), never an unexplained 500."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from readapi.errors import StoreUnavailable


@asynccontextmanager
async def guarded(store: str, timeout_s: float) -> AsyncIterator[None]:
    try:
        async with asyncio.timeout(timeout_s):
            yield
    except TimeoutError:
        raise StoreUnavailable(store, f"no answer within {timeout_s:g} s") from None
    except (asyncio.CancelledError, StoreUnavailable):
        raise
    except Exception as error:  # every client library has its own error tree; all mean "cannot answer now"
        raise StoreUnavailable(store, f"{type(error).__name__}: {error}"[:300]) from error
