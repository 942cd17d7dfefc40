"""``/healthz`` proves the database answers."""

from portal import create_app


def test_healthz_answers_after_a_database_round_trip(client) -> None:
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.get_json() == {"status": "ok"}


def test_healthz_says_unavailable_when_the_database_does_not_answer() -> None:
    app = create_app({"DATABASE_URL": "postgresql://nobody@127.0.0.1:1/nothing", "TESTING": True})
    response = app.test_client().get("/healthz")
    assert response.status_code == 503
    assert response.get_json() == {"status": "unavailable"}
