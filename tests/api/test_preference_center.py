"""The preference center, scoped one-click unsubscribes, self-service and their events."""

from __future__ import annotations

import csv
import io
import json
from datetime import UTC, datetime, timedelta
from typing import Any

from fastapi.testclient import TestClient
from sqlmodel import Session, select

from consent.models import Contact, PreferenceEvent, Subscription
from dsr.models import DataSubjectRequest
from suppression.models import ListMembership, SuppressionEntry
from tests.api.conftest import Tenant, csrf_field, deliver, link_in, signup

ADDRESS = "margot@example.org"


def _engine(client: TestClient) -> Any:
    return client.app.state.engine  # type: ignore[attr-defined]


def _subscribe_and_confirm(client: TestClient, tenant: Tenant, address: str = ADDRESS) -> str:
    """Return the preference path of the welcome email."""
    client.post("/v1/subscribe", json=signup(tenant.form_id, address))
    client.post(link_in(deliver(client)[0], "/c/"))
    return link_in(deliver(client)[0], "/p/")


def _contact(client: TestClient) -> Contact:
    with Session(_engine(client)) as session:
        return session.exec(select(Contact)).one()


def _post_form(client: TestClient, page: str, action: str, **fields: str) -> Any:
    shown = client.get(page)
    return client.post(
        f"{page}/{action}", data={"csrf": csrf_field(shown.text), **fields}, follow_redirects=True
    )


def _headers(client: TestClient, tenant: Tenant, scope: str) -> dict[str, str]:
    contact_id = _contact(client).id
    response = client.post(
        f"/v1/contacts/{contact_id}/unsubscribe-headers",
        json={"scope": scope},
        headers=tenant.auth("sender"),
    )
    assert response.status_code == 200, response.text
    headers: dict[str, str] = response.json()["headers"]
    return headers


def _one_click(client: TestClient, header: str) -> int:
    path = header.split("<https://sendguard.test", 1)[1].split(">", 1)[0]
    response = client.post(
        path,
        content=b"List-Unsubscribe=One-Click",
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    return response.status_code


def _screen(client: TestClient, tenant: Tenant, **options: Any) -> dict[str, Any]:
    response = client.post(
        "/v1/screen",
        json={"recipients": [ADDRESS], "require_consent": True, **options},
        headers=tenant.auth("sender"),
    )
    assert response.status_code == 200, response.text
    result: dict[str, Any] = response.json()
    return result


def test_list_link_unsubscribes_only_that_list(client: TestClient, tenant: Tenant) -> None:
    _subscribe_and_confirm(client, tenant)
    auth = tenant.auth("sender")
    news = client.post("/v1/lists", json={"name": "News"}, headers=auth).json()["id"]
    offers = client.post("/v1/lists", json={"name": "Offers"}, headers=auth).json()["id"]
    for list_id in (news, offers):
        client.post(f"/v1/lists/{list_id}/members", json={"add": [ADDRESS]}, headers=auth)

    headers = _headers(client, tenant, f"list:{news}")
    assert headers["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert _one_click(client, headers["List-Unsubscribe"]) == 200

    # Regression seen elsewhere: a link removing the contact from another list.
    assert _screen(client, tenant, list_ids=[news])["removed"][0]["reason"] == "unsubscribe"
    assert _screen(client, tenant, list_ids=[offers])["kept"] == [ADDRESS]
    assert _screen(client, tenant)["kept"] == [ADDRESS]
    assert _contact(client).status == "confirmed"


def test_old_link_does_not_end_a_later_subscription(client: TestClient, tenant: Tenant) -> None:
    _subscribe_and_confirm(client, tenant)
    old = _headers(client, tenant, "all")["List-Unsubscribe"]
    assert _one_click(client, old) == 200
    assert _contact(client).status == "unsubscribed"

    # The person subscribes again through a new double opt-in.
    with Session(_engine(client)) as session:
        contact = session.exec(select(Contact)).one()
        contact.confirmation_sent_at = None
        session.add(contact)
        session.commit()
    _subscribe_and_confirm(client, tenant)
    assert _contact(client).status == "confirmed"

    # A scanner replays the old link: 200 for the mailbox provider, no effect.
    assert _one_click(client, old) == 200
    assert _contact(client).status == "confirmed"
    assert _screen(client, tenant)["kept"] == [ADDRESS]
    page = client.get(old.split("<https://sendguard.test", 1)[1].split(">", 1)[0])
    assert "This link is from an older email" in page.text


def test_unsubscribe_page_shows_masked_address_and_changes_nothing(
    client: TestClient, tenant: Tenant
) -> None:
    _subscribe_and_confirm(client, tenant)
    header = _headers(client, tenant, "all")["List-Unsubscribe"]
    path = header.split("<https://sendguard.test", 1)[1].split(">", 1)[0]

    page = client.get(path)

    assert page.status_code == 200
    assert "m***@example.org" in page.text or "m*****@example.org" in page.text
    assert ADDRESS not in page.text
    assert _contact(client).status == "confirmed"
    # The page's own button needs its CSRF field.
    assert client.post(path, data={"csrf": "0" * 64}).status_code == 403
    done = client.post(path, data={"csrf": csrf_field(page.text), "reason": "too_frequent"})
    assert done.status_code == 200
    assert _contact(client).status == "unsubscribed"


def test_scanner_burst_reversed_by_admin(client: TestClient, tenant: Tenant) -> None:
    _subscribe_and_confirm(client, tenant)
    header = _headers(client, tenant, "all")["List-Unsubscribe"]
    assert _one_click(client, header) == 200
    since = (datetime.now(UTC) - timedelta(hours=1)).isoformat()

    listed = client.get(
        "/v1/preference-events",
        params={"since": since, "kind": "unsubscribe"},
        headers=tenant.auth("sender"),
    ).json()
    [event] = listed["events"]
    assert event["method"] == "one_click"
    assert len(event["client_hash"]) == 64
    assert listed["by_client"] == {event["client_hash"]: 1}

    body = {"event_ids": [event["id"]], "justification": "Link scanner burst from one client."}
    assert (
        client.post(
            "/v1/preference-events/reverse", json=body, headers=tenant.auth("sender")
        ).status_code
        == 403
    )
    reversed_ = client.post(
        "/v1/preference-events/reverse", json=body, headers=tenant.auth("admin")
    )
    assert reversed_.json() == {"reversed_event_ids": [event["id"]], "skipped_event_ids": []}
    assert _contact(client).status == "confirmed"
    screened = _screen(client, tenant)
    assert screened["kept"] == [ADDRESS], screened
    with Session(_engine(client)) as session:
        entry = session.exec(select(SuppressionEntry)).one()
    assert entry.lift_justification == body["justification"]
    again = client.post("/v1/preference-events/reverse", json=body, headers=tenant.auth("admin"))
    assert again.json()["skipped_event_ids"] == [event["id"]]


def _two_lists(client: TestClient, tenant: Tenant) -> tuple[str, str]:
    auth = tenant.auth("sender")
    news = client.post("/v1/lists", json={"name": "News"}, headers=auth).json()["id"]
    offers = client.post("/v1/lists", json={"name": "Offers"}, headers=auth).json()["id"]
    for list_id in (news, offers):
        added = client.post(f"/v1/lists/{list_id}/members", json={"add": [ADDRESS]}, headers=auth)
        assert added.status_code == 200, added.text
    return news, offers


def _reverse(client: TestClient, tenant: Tenant, scope: str) -> None:
    since = (datetime.now(UTC) - timedelta(hours=1)).isoformat()
    listed = client.get(
        "/v1/preference-events",
        params={"since": since, "kind": "unsubscribe"},
        headers=tenant.auth("sender"),
    ).json()
    [event_id] = [event["id"] for event in listed["events"] if event["scope"] == scope]
    body = {"event_ids": [event_id], "justification": "Link scanner burst from one client."}
    reversed_ = client.post(
        "/v1/preference-events/reverse", json=body, headers=tenant.auth("admin")
    )
    assert reversed_.json()["reversed_event_ids"] == [event_id]


def _membership_statuses(client: TestClient) -> dict[str, str]:
    with Session(_engine(client)) as session:
        rows = session.exec(select(ListMembership)).all()
        return {row.list_id: row.status for row in rows}


def test_reversed_global_unsubscribe_restores_lists(client: TestClient, tenant: Tenant) -> None:
    _subscribe_and_confirm(client, tenant)
    news, offers = _two_lists(client, tenant)
    # The person leaves Offers through its own link, then everything.
    assert _one_click(client, _headers(client, tenant, f"list:{offers}")["List-Unsubscribe"]) == 200
    assert _one_click(client, _headers(client, tenant, "all")["List-Unsubscribe"]) == 200

    _reverse(client, tenant, "all")

    assert _membership_statuses(client) == {news: "subscribed", offers: "unsubscribed"}
    assert _contact(client).status == "confirmed"
    assert _screen(client, tenant, list_ids=[news])["kept"] == [ADDRESS]
    assert _screen(client, tenant, list_ids=[offers])["kept"] == []


def test_reversed_list_unsubscribe_restores_that_list(client: TestClient, tenant: Tenant) -> None:
    _subscribe_and_confirm(client, tenant)
    news, offers = _two_lists(client, tenant)
    assert _one_click(client, _headers(client, tenant, f"list:{offers}")["List-Unsubscribe"]) == 200

    _reverse(client, tenant, f"list:{offers}")

    assert _membership_statuses(client) == {news: "subscribed", offers: "subscribed"}
    assert _screen(client, tenant, list_ids=[offers])["kept"] == [ADDRESS]


def test_list_reversal_keeps_global_unsubscribe(client: TestClient, tenant: Tenant) -> None:
    # Reversing a list link's unsubscribe once restored every topic and the
    # contact's status, undoing a later global unsubscribe too.
    _subscribe_and_confirm(client, tenant)
    _news, offers = _two_lists(client, tenant)
    assert _one_click(client, _headers(client, tenant, f"list:{offers}")["List-Unsubscribe"]) == 200
    assert _one_click(client, _headers(client, tenant, "all")["List-Unsubscribe"]) == 200

    _reverse(client, tenant, f"list:{offers}")

    assert _contact(client).status == "unsubscribed"
    assert _screen(client, tenant)["kept"] == []


def _unsubscribe_ids(client: TestClient, tenant: Tenant, scope: str) -> list[str]:
    """Return the ids of the unsubscribe events of ``scope``, oldest first."""
    since = (datetime.now(UTC) - timedelta(hours=1)).isoformat()
    listed = client.get(
        "/v1/preference-events",
        params={"since": since, "kind": "unsubscribe"},
        headers=tenant.auth("sender"),
    ).json()
    events = sorted(listed["events"], key=lambda event: (event["created_at"], event["id"]))
    return [event["id"] for event in events if event["scope"] == scope]


def _reverse_ids(client: TestClient, tenant: Tenant, event_ids: list[str]) -> Any:
    body = {"event_ids": event_ids, "justification": "Link scanner burst from one client."}
    response = client.post("/v1/preference-events/reverse", json=body, headers=tenant.auth("admin"))
    assert response.status_code == 200, response.text
    return response.json()


def test_person_click_survives_scanner_reversal(client: TestClient, tenant: Tenant) -> None:
    # A scanner followed the list link, then the person clicked it too. The
    # person's click reused the scanner's entry, so reversing the scanner's
    # event once lifted both.
    _subscribe_and_confirm(client, tenant)
    news, offers = _two_lists(client, tenant)
    link = _headers(client, tenant, f"list:{offers}")["List-Unsubscribe"]
    assert _one_click(client, link) == 200
    assert _one_click(client, link) == 200
    scanner, person = _unsubscribe_ids(client, tenant, f"list:{offers}")

    outcome = _reverse_ids(client, tenant, [scanner])

    assert outcome["reversed_event_ids"] == [scanner]
    assert _membership_statuses(client) == {news: "subscribed", offers: "unsubscribed"}
    assert _screen(client, tenant, list_ids=[offers])["kept"] == []
    # Reversing the person's event too, after review, restores the list.
    _reverse_ids(client, tenant, [person])
    assert _membership_statuses(client)[offers] == "subscribed"
    assert _screen(client, tenant, list_ids=[offers])["kept"] == [ADDRESS]


def test_repeated_event_id_reversed_once(client: TestClient, tenant: Tenant) -> None:
    _subscribe_and_confirm(client, tenant)
    assert _one_click(client, _headers(client, tenant, "all")["List-Unsubscribe"]) == 200
    [event_id] = _unsubscribe_ids(client, tenant, "all")

    outcome = _reverse_ids(client, tenant, [event_id, event_id])

    assert outcome == {"reversed_event_ids": [event_id], "skipped_event_ids": []}


def test_global_reversal_keeps_topics_turned_off(client: TestClient, tenant: Tenant) -> None:
    created = client.post(
        "/v1/topics",
        json={
            "key": "offres",
            "name_en": "Offers",
            "name_fr": "Offres",
            "wording_en": "I agree to receive offers.",
            "wording_fr": "J'accepte de recevoir des offres.",
        },
        headers=tenant.auth("sender"),
    )
    assert created.status_code == 201, created.text
    client.post(
        "/v1/subscribe", json=signup(tenant.form_id, ADDRESS, topics=["newsletter", "offres"])
    )
    client.post(link_in(deliver(client)[0], "/c/"))
    page = link_in(deliver(client)[0], "/p/")
    # The person turns offers off, then everything is unsubscribed by a scanner.
    assert "Your topics are saved." in _post_form(client, page, "topics", topics="newsletter").text
    assert _one_click(client, _headers(client, tenant, "all")["List-Unsubscribe"]) == 200

    _reverse_ids(client, tenant, _unsubscribe_ids(client, tenant, "all"))

    with Session(_engine(client)) as session:
        rows = session.exec(select(Subscription)).all()
        statuses = {row.topic: row.status for row in rows}
    assert statuses == {"newsletter": "confirmed", "offres": "unsubscribed"}
    assert _contact(client).status == "confirmed"


def test_last_topic_reversal_restores_lists(client: TestClient, tenant: Tenant) -> None:
    # The last topic's link also unsubscribes globally, lists included.
    _subscribe_and_confirm(client, tenant)
    news, offers = _two_lists(client, tenant)
    link = _headers(client, tenant, "topic:newsletter")["List-Unsubscribe"]
    assert _one_click(client, link) == 200
    assert _contact(client).status == "unsubscribed"

    _reverse_ids(client, tenant, _unsubscribe_ids(client, tenant, "topic:newsletter"))

    assert _contact(client).status == "confirmed"
    assert _membership_statuses(client) == {news: "subscribed", offers: "subscribed"}


def test_topics_frequency_pause_and_name(client: TestClient, tenant: Tenant) -> None:
    auth = tenant.auth("sender")
    for key in ("agenda", "offres"):
        client.post(
            "/v1/topics",
            json={
                "key": key,
                "name_en": key.title(),
                "name_fr": key.title(),
                "wording_en": f"I agree to receive {key}.",
                "wording_fr": f"J'accepte de recevoir {key}.",
            },
            headers=auth,
        )
    client.post("/v1/subscribe", json=signup(tenant.form_id, ADDRESS, topics=["agenda"]))
    client.post(link_in(deliver(client)[0], "/c/"))
    page = link_in(deliver(client)[0], "/p/")

    saved = client.get(page)
    assert 'value="agenda" checked' in saved.text
    done = _post_form(client, page, "topics", topics="offres")
    assert "Your topics are saved." in done.text
    contact_id = _contact(client).id
    history = client.get(f"/v1/contacts/{contact_id}/consent", headers=tenant.auth("dpo")).json()
    actions = [(record["action"], record["topics"]) for record in history["records"]]
    assert ("withdrawn", ["agenda"]) in actions
    assert ("confirmed", ["offres"]) in actions

    assert (
        "Your frequency is saved."
        in _post_form(client, page, "frequency", frequency="monthly").text
    )
    assert (
        "Choose one of the options" in _post_form(client, page, "frequency", frequency="daily").text
    )

    until = (datetime.now(UTC) + timedelta(days=20)).date().isoformat()
    assert "Your emails are paused." in _post_form(client, page, "pause", until=until).text
    removed = _screen(client, tenant)["removed"]
    assert removed == [{"position": 0, "reason": "no_basis", "detail": "paused"}]
    too_far = (datetime.now(UTC) + timedelta(days=500)).date().isoformat()
    assert "choose a date" in _post_form(client, page, "pause", until=too_far).text
    assert "Your emails are back on." in _post_form(client, page, "resume").text
    assert _screen(client, tenant)["kept"] == [ADDRESS]

    shown = _post_form(client, page, "name", name="<script>alert(1)</script> Margot")
    assert "<script>alert(1)</script>" not in shown.text
    assert "&lt;script&gt;alert(1)&lt;/script&gt; Margot" in shown.text
    with Session(_engine(client)) as session:
        stored = session.exec(select(Contact)).one().name_ciphertext
    assert stored is not None and b"Margot" not in stored


def test_new_address_is_used_only_after_its_confirmation(
    client: TestClient, tenant: Tenant
) -> None:
    page = _subscribe_and_confirm(client, tenant)

    sent = _post_form(client, page, "address", email="margot.new@example.org")
    assert "We sent a confirmation link to the new address" in sent.text
    [message] = deliver(client)
    assert message["To"] == "margot.new@example.org"
    assert _screen(client, tenant)["kept"] == [ADDRESS]

    confirm = link_in(message, "/a/")
    shown = client.get(confirm)
    done = client.post(confirm, data={"csrf": csrf_field(shown.text)})
    assert "Your address is updated" in done.text
    moved = client.post(
        "/v1/screen",
        json={"recipients": [ADDRESS, "margot.new@example.org"], "require_consent": True},
        headers=tenant.auth("sender"),
    ).json()
    assert moved["kept"] == ["margot.new@example.org"]
    assert client.post(confirm, data={"csrf": csrf_field(shown.text)}).status_code == 410


def test_download_through_emailed_link(client: TestClient, tenant: Tenant) -> None:
    page = _subscribe_and_confirm(client, tenant)
    _post_form(client, page, "name", name='=HYPERLINK("http://evil")')

    requested = _post_form(client, page, "download")
    assert "We sent a link to download your data" in requested.text
    [message] = deliver(client)
    assert message["To"] == ADDRESS
    unlock = link_in(message, "/s/")
    shown = client.get(unlock)
    assert "Download my data" in shown.text

    as_json = client.post(unlock, data={"csrf": csrf_field(shown.text), "format": "json"})
    assert as_json.headers["content-disposition"] == 'attachment; filename="my-data.json"'
    export = as_json.json()
    assert export["format"] == "sendguard.access-export"
    assert export["contact"]["email"] == ADDRESS
    assert [record["action"] for record in export["consent_history"]] == ["given", "confirmed"]
    assert export["consent_history"][0]["user_agent"] == "testclient"

    as_csv = client.post(unlock, data={"csrf": csrf_field(shown.text), "format": "csv"})
    rows = list(csv.reader(io.StringIO(as_csv.text)))
    assert rows[0] == ["section", "row", "field", "value"]
    name = next(row for row in rows if row[0] == "contact" and row[2] == "name")
    assert name[3].startswith("'=")
    # A second request within five minutes sends no second email.
    _post_form(client, page, "download")
    assert deliver(client) == []


def test_erasure_from_the_page_creates_a_dsr(client: TestClient, tenant: Tenant) -> None:
    page = _subscribe_and_confirm(client, tenant)

    _post_form(client, page, "erase")
    unlock = link_in(deliver(client)[0], "/s/")
    shown = client.get(unlock)
    assert "Erasure is final" in shown.text
    assert _contact(client).status == "confirmed"
    done = client.post(unlock, data={"csrf": csrf_field(shown.text)})

    assert "Your data is erased" in done.text
    assert _contact(client).status == "erased"
    with Session(_engine(client)) as session:
        request = session.exec(select(DataSubjectRequest)).one()
        assert request.type == "erasure"
        assert request.verification_method == "email_link"
        assert session.exec(select(PreferenceEvent)).all() == []
    assert _screen(client, tenant)["removed"][0]["reason"] == "erased"
    assert client.get(page).status_code == 410


def test_magic_link_answers_the_same_for_unknown_addresses(
    client: TestClient, tenant: Tenant
) -> None:
    _subscribe_and_confirm(client, tenant)
    form = f"/m/{tenant.form_id}"

    answers = []
    for address in (ADDRESS, "nobody@example.org"):
        shown = client.get(form)
        posted = client.post(form, data={"csrf": csrf_field(shown.text), "email": address})
        answers.append((posted.status_code, posted.text))

    assert answers[0] == answers[1]
    [message] = deliver(client)
    assert message["To"] == ADDRESS
    assert client.get(link_in(message, "/p/")).status_code == 200


def test_revoked_links_stop_working(client: TestClient, tenant: Tenant) -> None:
    page = _subscribe_and_confirm(client, tenant)
    contact_id = _contact(client).id

    revoked = client.post(f"/v1/contacts/{contact_id}/links/revoke", headers=tenant.auth("dpo"))

    assert revoked.status_code == 200
    gone = client.get(page + "?lang=en")
    assert gone.status_code == 410
    assert "This link has been revoked" in gone.text


def test_leave_reasons_are_reported_in_aggregate(client: TestClient, tenant: Tenant) -> None:
    page = _subscribe_and_confirm(client, tenant)
    _post_form(client, page, "unsubscribe", reason="too_frequent")

    report = client.get("/v1/leave-reasons", headers=tenant.auth("sender")).json()

    assert report["counts"] == {
        "too_frequent": 1,
        "not_relevant": 0,
        "never_subscribed": 0,
        "other": 0,
    }
    assert "contact" not in json.dumps(report)


def test_address_change_emails_are_limited(client: TestClient, tenant: Tenant) -> None:
    page = _subscribe_and_confirm(client, tenant)

    for number in range(5):
        shown = _post_form(client, page, "address", email=f"stranger{number}@example.org")
        assert "We sent a confirmation link to the new address" in shown.text

    # A forwarded link cannot be used to mail strangers without limit.
    assert len(deliver(client)) == 3


def test_stale_tab_cannot_resubscribe(client: TestClient, tenant: Tenant) -> None:
    page = _subscribe_and_confirm(client, tenant)
    stale = client.get(page)
    _post_form(client, page, "unsubscribe")

    # The other tab, opened before the unsubscribe, ticks a topic.
    client.post(f"{page}/topics", data={"csrf": csrf_field(stale.text), "topics": "newsletter"})

    assert _contact(client).status == "unsubscribed"
    contact_id = _contact(client).id
    history = client.get(f"/v1/contacts/{contact_id}/consent", headers=tenant.auth("dpo")).json()
    assert history["basis_now"]["valid"] is False
    assert [record["action"] for record in history["records"]][-1] == "withdrawn"


def test_headers_need_a_scope_the_contact_has(client: TestClient, tenant: Tenant) -> None:
    _subscribe_and_confirm(client, tenant)
    contact_id = _contact(client).id

    for scope in ("topic:nope", "list:00000000-0000-0000-0000-000000000000"):
        response = client.post(
            f"/v1/contacts/{contact_id}/unsubscribe-headers",
            json={"scope": scope},
            headers=tenant.auth("sender"),
        )
        assert response.status_code == 422, scope
        assert response.json()["field"] == "scope"


def test_name_with_control_characters_is_refused(client: TestClient, tenant: Tenant) -> None:
    page = _subscribe_and_confirm(client, tenant)

    assert (
        "Name: use at most 200 characters" in _post_form(client, page, "name", name="a\x00b").text
    )
    assert (
        "Name: use at most 200 characters" in _post_form(client, page, "name", name="x" * 201).text
    )
    with Session(_engine(client)) as session:
        assert session.exec(select(Contact)).one().name_ciphertext is None
