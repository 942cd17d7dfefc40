"""Two tabs saving the same draft with the structured editor at once, on real PostgreSQL: the
row lock lets one save; the other finds the draft changed and is refused, nothing lost."""

from __future__ import annotations

import threading

import pytest

from portal.definitions import editor, versions
from portal.definitions.models import DefinitionVersion
from portal.extensions import db

pytestmark = pytest.mark.postgresql


def test_two_saves_from_the_same_page_one_wins(app, definitions) -> None:
    with app.app_context():
        draft = versions.create_draft("form", "mic.tenshutsu", actor=None)
        db.session.commit()
        draft_id, seen, base = draft.id, draft.digest, dict(draft.content)

    barrier = threading.Barrier(2)
    outcomes: dict[str, str] = {}

    def save(title: str) -> None:
        with app.app_context():
            found = db.session.get(DefinitionVersion, draft_id)
            barrier.wait(timeout=10)
            try:
                editor.save(
                    found, {**base, "title": {"ja": "転出届", "en": title}}, seen=seen, actor=None
                )
                db.session.commit()
                outcomes[title] = "saved"
            except editor.StaleDraft:
                db.session.rollback()
                outcomes[title] = "stale"

    threads = [threading.Thread(target=save, args=(t,)) for t in ("first tab", "second tab")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)

    assert sorted(outcomes.values()) == ["saved", "stale"]
    winner = next(title for title, outcome in outcomes.items() if outcome == "saved")
    with app.app_context():
        assert db.session.get(DefinitionVersion, draft_id).content["title"]["en"] == winner
