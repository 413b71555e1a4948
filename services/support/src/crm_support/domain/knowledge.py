"""Knowledge-base articles: each publication is a new version with its title, body and tags."""

from __future__ import annotations

from crm_shared.contracts.support import ArticlePublished
from crm_support.domain.errors import InvalidValue


def publish(
    article_id: str, title: str, body: str, tags: list[str], current: ArticlePublished | None
) -> ArticlePublished | None:
    """The next version; None when it would not change anything."""
    if not title.strip():
        raise InvalidValue("title", "must not be empty")
    if not body.strip():
        raise InvalidValue("body", "must not be empty")
    tidy = sorted({t.strip().lower() for t in tags if t.strip()})
    if current and (current.title, current.body, current.tags) == (title.strip(), body, tidy):
        return None
    return ArticlePublished(
        article_id=article_id,
        version=(current.version if current else 0) + 1,
        title=title.strip(),
        body=body,
        tags=tidy,
    )
