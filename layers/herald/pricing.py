"""What publishing costs on the networks' APIs. Prices live here, and only here, dated."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal


@dataclass(frozen=True)
class XApiPrices:
    """X API pay-per-use prices, per post created, in US dollars."""

    as_of: str
    post: Decimal
    post_with_url: Decimal
    source: str


X_API = XApiPrices(
    as_of="2026",
    post=Decimal("0.015"),
    post_with_url=Decimal("0.20"),
    source="X API pay-per-use pricing as X published it in 2026",
)


@dataclass(frozen=True)
class Cost:
    posts: int
    posts_with_url: int
    total: Decimal

    def describe(self) -> str:
        plain = self.posts - self.posts_with_url
        return (
            f"X API cost: ${self.total:.2f} for {self.posts} posts"
            f" ({plain} × ${X_API.post}"
            f" + {self.posts_with_url} with a link × ${X_API.post_with_url};"
            f" prices as of {X_API.as_of})"
        )


def x_cost(has_url: list[bool]) -> Cost:
    with_url = sum(1 for flag in has_url if flag)
    total = X_API.post * (len(has_url) - with_url) + X_API.post_with_url * with_url
    return Cost(len(has_url), with_url, total)
