"""``sendguard consent verify``, ``checkpoint`` and ``maintain`` as real processes."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

from fastapi.testclient import TestClient
from sqlalchemy import update
from sqlmodel import Session, col, select

from compliance.app import create_app
from compliance.core.models import utcnow
from compliance.core.settings import Settings
from consent.models import ConsentRecord, Contact, ContactStatus
from tests.api.conftest import deliver, link_in, make_tenant, signup
from tests.support.cli import run_cli


def _two_confirmed(settings: Settings) -> str:
    app = create_app(settings, run_worker=False, configure_logs=False)
    with TestClient(app) as client:
        tenant = make_tenant(app)
        for address in ("a@example.org", "b@example.org"):
            client.post("/v1/subscribe", json=signup(tenant.form_id, address))
            client.post(link_in(deliver(client)[0], "/c/"))
            deliver(client)
    return tenant.sender_id


def test_verify_and_checkpoint(settings: Settings, tmp_path: Path) -> None:
    sender_id = _two_confirmed(settings)
    checkpoint = tmp_path / "checkpoint.json"

    made = run_cli(
        settings, "consent", "checkpoint", "--sender", sender_id, "--out", str(checkpoint)
    )
    assert made.returncode == 0, made.stderr
    statement = json.loads(checkpoint.read_text())
    assert statement["record_count"] == 4

    intact = run_cli(
        settings, "consent", "verify", "--sender", sender_id, "--checkpoint", str(checkpoint)
    )
    assert intact.returncode == 0, intact.stderr
    assert "chain intact: 4 records" in intact.stdout
    assert f"checkpoint {checkpoint}: ok" in intact.stdout

    from compliance.core.db import make_engine

    engine = make_engine(settings.resolved_database_url)
    with Session(engine) as session:
        first = session.exec(select(ConsentRecord.id).order_by(col(ConsentRecord.id))).first()
        session.exec(  # type: ignore[call-overload]
            update(ConsentRecord).where(col(ConsentRecord.id) == first).values(language="de")
        )
        session.commit()
    engine.dispose()

    broken = run_cli(
        settings, "consent", "verify", "--sender", sender_id, "--checkpoint", str(checkpoint)
    )
    assert broken.returncode == 1
    assert f"chain broken: first broken record {first}" in broken.stdout


def test_verify_usage_errors(settings: Settings, tmp_path: Path) -> None:
    missing_sender = run_cli(settings, "consent", "verify", "--sender", "no-such-sender")
    assert missing_sender.returncode == 2
    assert "not found" in missing_sender.stderr

    sender_id = _two_confirmed(settings)
    junk = tmp_path / "junk.json"
    junk.write_text("not json")
    unreadable = run_cli(
        settings, "consent", "verify", "--sender", sender_id, "--checkpoint", str(junk)
    )
    assert unreadable.returncode == 3
    assert "is not JSON" in unreadable.stderr


def test_maintain_purges_expired_signups(settings: Settings) -> None:
    app = create_app(settings, run_worker=False, configure_logs=False)
    with TestClient(app) as client:
        tenant = make_tenant(app)
        client.post("/v1/subscribe", json=signup(tenant.form_id, "late@example.org"))
        deliver(client)
        with Session(app.state.engine) as session:
            contact = session.exec(select(Contact)).one()
            contact.confirmation_sent_at = utcnow() - timedelta(days=8)
            session.add(contact)
            session.commit()

    result = run_cli(settings, "consent", "maintain")

    assert result.returncode == 0, result.stderr
    assert "expired sign-ups purged: 1" in result.stdout
    from compliance.core.db import make_engine

    engine = make_engine(settings.resolved_database_url)
    with Session(engine) as session:
        assert session.exec(select(Contact)).one().status == ContactStatus.EXPIRED
    engine.dispose()
