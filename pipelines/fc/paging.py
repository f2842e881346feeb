"""One loop for every nextToken-paged FC list call (C4: empty pages, repeated tokens, page caps)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TypeVar

from pipelines.fc.errors import PagingError
from pipelines.fc.models import Page

__all__ = ["MAX_PAGES", "collect_pages"]

T = TypeVar("T")
MAX_PAGES = 10_000


async def collect_pages(fetch: Callable[[str | None], Awaitable[Page[T]]], *, max_pages: int = MAX_PAGES) -> list[T]:
    """Follow ``nextToken`` until it is absent or empty, through empty pages that carry a token."""
    items: list[T] = []
    seen: set[str] = set()
    token: str | None = None
    for _ in range(max_pages):
        page = await fetch(token)
        items.extend(page.items)
        if not page.next_token:
            return items
        if page.next_token in seen:
            raise PagingError("RepeatedPageToken", f"the API returned page token {page.next_token!r} twice")
        seen.add(page.next_token)
        token = page.next_token
    raise PagingError("PageCapExceeded", f"listing did not end within {max_pages} pages")
