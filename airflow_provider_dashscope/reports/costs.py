"""Costs in a report: the user's price per 1,000 training tokens per base model, checked, applied to tokens.

The provider keeps no price table: prices change and differ per region and contract, so a report has a cost
column only when its caller gives prices.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any


def check_prices(prices: Any) -> dict[str, float] | None:
    """The prices as floats, or an error naming the base model whose price is not a number >= 0."""
    if prices is None:
        return None
    if not isinstance(prices, Mapping):
        raise TypeError(f"prices_per_1k_tokens must be a dict of base model -> price, got {type(prices).__name__}")
    checked = {}
    for model, price in prices.items():
        if isinstance(price, bool) or not isinstance(price, (int, float)) or not math.isfinite(price) or price < 0:
            raise ValueError(f"prices_per_1k_tokens[{model!r}] must be a number >= 0 (price per 1,000 tokens)")
        checked[str(model)] = float(price)
    return checked


def cost_of(prices: Mapping[str, float] | None, base_model: str, tokens: int) -> float | None:
    """``tokens`` at the price of ``base_model``; None without a price for it."""
    if prices is None or base_model not in prices:
        return None
    return tokens / 1000 * prices[base_model]
