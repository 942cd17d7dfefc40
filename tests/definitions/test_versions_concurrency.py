"""Two admins publishing the same draft at once, on real PostgreSQL: exactly one wins."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest
from sqlalchemy import func, select

from portal.accounts.models import Account
from portal.audit.models import AuditEntry
from portal.definitions import services, versions
from portal.definitions.models import DefinitionVersion, VersionState
from portal.definitions.sources import read_sources
from portal.extensions import db
from portal.i18n import force_locale
from tests.definitions import minimal
from tests.factories import AccountFactory

pytestmark = pytest.mark.postgresql


def test_two_admins_publishing_at_once_one_wins(app, tmp_path: Path) -> None:
    minimal.write(tmp_path, minimal.definitions())
    with app.app_context():
        services.load(read_sources(tmp_path / "forms", tmp_path / "workflows"))
        admins = [AccountFactory().id, AccountFactory().id]
        draft_id = versions.create_draft("form", "mic.tenshutsu", actor=None).id
        db.session.commit()

    barrier = threading.Barrier(2)
    outcomes: list[str] = []

    def publish(account_id: int) -> None:
        with app.app_context():
            draft = db.session.get(DefinitionVersion, draft_id)
            actor = db.session.get(Account, account_id)
            barrier.wait(timeout=10)
            try:
                versions.publish(draft, actor=actor)
                db.session.commit()
                outcomes.append("published")
            except versions.VersionRefused as refused:
                db.session.rollback()
                with force_locale("en"):
                    outcomes.append(str(refused.message))

    threads = [threading.Thread(target=publish, args=(a,)) for a in admins]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)

    assert sorted(outcomes) == [
        "form mic.tenshutsu v2 was published or discarded meanwhile",
        "published",
    ]
    with app.app_context():
        draft = db.session.get(DefinitionVersion, draft_id)
        assert draft.state == VersionState.PUBLISHED and draft.published_by_id in admins
        published = select(func.count()).where(AuditEntry.action == "definition.publish")
        assert db.session.scalar(published) == 1
