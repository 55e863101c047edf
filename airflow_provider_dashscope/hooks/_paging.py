"""Walking a listed resource page after page (no I/O of its own: it calls the fetch it is given)."""

from __future__ import annotations

from collections.abc import Callable, Hashable, Iterator, Sequence
from typing import TypeVar

T = TypeVar("T")


def iter_pages(
    fetch: Callable[[int], tuple[Sequence[T], int | None]], page_size: int, key: Callable[[T], Hashable]
) -> Iterator[T]:
    """Every item of every page, each once (by ``key``) even if items shift pages while paging.

    ``fetch(page_no)`` returns the page's items and the total the API reported (``None`` if it did not). Paging
    stops at an empty page, when the total is reached, or (without a total) at a short page.
    """
    seen: set[Hashable] = set()
    fetched = 0
    page_no = 1
    while True:
        items, total = fetch(page_no)
        for item in items:
            if key(item) not in seen:
                seen.add(key(item))
                yield item
        fetched += len(items)
        if not items or (total is not None and fetched >= total) or (total is None and len(items) < page_size):
            return
        page_no += 1
