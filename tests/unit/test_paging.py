"""The one paging loop (C4): empty pages with tokens, exact multiples, repeated tokens, caps."""

import asyncio

import pytest

from pipelines.fc.errors import PagingError
from pipelines.fc.models import Page
from pipelines.fc.paging import collect_pages


def _pages(pages: list[tuple[list[int], str | None]]):
    calls: list[str | None] = []

    async def fetch(token: str | None) -> Page[int]:
        calls.append(token)
        items, nxt = pages[len(calls) - 1]
        return Page(items, nxt)

    return fetch, calls


def test_follows_empty_page_that_carries_a_token() -> None:
    fetch, calls = _pages([([1, 2], "a"), ([], "b"), ([3], None)])
    assert asyncio.run(collect_pages(fetch)) == [1, 2, 3]
    assert calls == [None, "a", "b"]


def test_empty_string_token_ends_listing() -> None:
    fetch, calls = _pages([([1], "")])
    assert asyncio.run(collect_pages(fetch)) == [1]
    assert calls == [None]


def test_repeated_token_fails_loudly() -> None:
    fetch, _ = _pages([([1], "a"), ([2], "b"), ([3], "a")])
    with pytest.raises(PagingError) as err:
        asyncio.run(collect_pages(fetch))
    assert err.value.code == "RepeatedPageToken"


def test_page_cap() -> None:
    async def endless(token: str | None) -> Page[int]:
        return Page([1], f"t{int((token or 't0')[1:]) + 1}")

    with pytest.raises(PagingError) as err:
        asyncio.run(collect_pages(endless, max_pages=5))
    assert err.value.code == "PageCapExceeded"
