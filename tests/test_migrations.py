"""The migrations build exactly the schema the models describe."""

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from portal.extensions import db


def test_models_and_migrations_agree(app) -> None:
    with app.app_context(), db.engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        assert compare_metadata(context, db.metadata) == []


def test_migrations_go_down_and_up_again(tmp_path) -> None:
    from flask_migrate import downgrade, upgrade
    from sqlalchemy import inspect

    from portal import create_app

    app = create_app({"DATABASE_URL": f"sqlite:///{tmp_path / 'm.sqlite3'}", "TESTING": True})
    with app.app_context():
        upgrade()
        assert "cases" in inspect(db.engine).get_table_names()
        downgrade(revision="base")
        assert inspect(db.engine).get_table_names() == ["alembic_version"]
        upgrade()
        assert "cases" in inspect(db.engine).get_table_names()
        db.engine.dispose()
