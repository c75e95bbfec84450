"""PoliteClient: pacing, one request at a time, User-Agent, Retry-After and backoff (docs/reliability.md H1, H2)."""

from __future__ import annotations

import ssl
import threading
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from http.server import HTTPServer, SimpleHTTPRequestHandler

import httpx
import pytest
import trustme
from pydantic import ValidationError

from paperwire.config import Settings
from paperwire.errors import ConfigError, UpstreamHTTPError
from paperwire.sources.http import PoliteClient, parse_retry_after, reset_pacing

URL = "https://export.arxiv-replay.test/api/query"


class FakeTime:
    """A monotonic clock that only moves when something sleeps on it."""

    def __init__(self) -> None:
        self.now = 1000.0
        self.sleeps: list[float] = []

    def clock(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


@pytest.fixture(autouse=True)
def _fresh_pacing() -> Iterator[None]:
    reset_pacing()
    yield
    reset_pacing()


def make_settings(**overrides: object) -> Settings:
    values: dict[str, object] = {
        "request_interval": 3.0,
        "http_max_retries": 3,
        "http_backoff_cap": 60.0,
        "contact_email": "tests@example.org",
        # recorded arXiv answers served without arXiv's 3 s pacing: hosts that are not arXiv's own
        "oai_endpoint": "https://oaipmh.arxiv-replay.test/oai",
        "api_endpoint": URL,
    }
    values.update(overrides)
    return Settings.model_validate(values)


def make_client(
    settings: Settings, handler: Callable[[httpx.Request], httpx.Response], fake: FakeTime
) -> PoliteClient:
    return PoliteClient(settings, transport=httpx.MockTransport(handler), clock=fake.clock, sleep=fake.sleep)


def test_second_request_waits_the_interval() -> None:
    fake = FakeTime()
    sent_at: list[float] = []

    def handler(request: httpx.Request) -> httpx.Response:
        sent_at.append(fake.now)
        return httpx.Response(200, text="ok")

    with make_client(make_settings(), handler, fake) as client:
        client.get(URL)
        client.get(URL)
    assert fake.sleeps == [3.0]
    assert sent_at[1] - sent_at[0] >= 3.0


def test_pacing_is_shared_by_all_clients_of_the_process() -> None:
    fake = FakeTime()
    settings = make_settings()

    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200)

    with make_client(settings, handler, fake) as first, make_client(settings, handler, fake) as second:
        first.get(URL)
        second.get(URL)
    assert fake.sleeps == [3.0]


def test_no_wait_once_the_interval_has_passed() -> None:
    fake = FakeTime()

    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200)

    with make_client(make_settings(), handler, fake) as client:
        client.get(URL)
        fake.now += 10
        client.get(URL)
    assert fake.sleeps == []


def test_user_agent_names_the_service_and_a_contact() -> None:
    fake = FakeTime()
    seen: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request.headers["User-Agent"])
        return httpx.Response(200)

    settings = make_settings()
    with make_client(settings, handler, fake) as client:
        client.get(URL, {"id_list": "1605.08386", "skip": None})
    assert seen == [settings.user_agent]
    assert seen[0].startswith("paperwire/")
    assert "mailto:tests@example.org" in seen[0]


def test_params_none_are_dropped_and_others_sent() -> None:
    fake = FakeTime()
    urls: list[httpx.URL] = []

    def handler(request: httpx.Request) -> httpx.Response:
        urls.append(request.url)
        return httpx.Response(200)

    with make_client(make_settings(), handler, fake) as client:
        client.get(URL, {"id_list": "1605.08386", "start": 0, "skip": None})
    assert dict(urls[0].params) == {"id_list": "1605.08386", "start": "0"}


def test_plain_http_is_refused_before_sending() -> None:
    fake = FakeTime()
    calls: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        calls.append(request)
        return httpx.Response(200)

    with make_client(make_settings(), handler, fake) as client, pytest.raises(ConfigError, match="https"):
        client.get("http://export.arxiv-replay.test/api/query")
    assert calls == []


def test_503_with_retry_after_seconds_is_honoured() -> None:
    fake = FakeTime()
    answers = [httpx.Response(503, headers={"Retry-After": "1"}), httpx.Response(200, text="fine")]

    def handler(request: httpx.Request) -> httpx.Response:
        return answers.pop(0)

    with make_client(make_settings(request_interval=0.0), handler, fake) as client:
        response = client.get(URL)
    assert response.text == "fine"
    assert fake.sleeps == [1.0]
    assert answers == []


def test_429_with_retry_after_http_date_is_honoured() -> None:
    fake = FakeTime()
    when = format_datetime(datetime.now(UTC) + timedelta(seconds=30), usegmt=True)
    answers = [httpx.Response(429, headers={"Retry-After": when}), httpx.Response(200)]

    def handler(request: httpx.Request) -> httpx.Response:
        return answers.pop(0)

    with make_client(make_settings(request_interval=0.0), handler, fake) as client:
        client.get(URL)
    assert len(fake.sleeps) == 1
    assert 25.0 <= fake.sleeps[0] <= 30.0


def test_retry_after_longer_than_the_cap_fails_at_once() -> None:
    fake = FakeTime()
    calls: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        calls.append(request)
        return httpx.Response(503, headers={"Retry-After": "3600"})

    with (
        make_client(make_settings(http_backoff_cap=300.0), handler, fake) as client,
        pytest.raises(UpstreamHTTPError, match="3600") as info,
    ):
        client.get(URL)
    assert info.value.status == 503
    assert len(calls) == 1
    assert fake.sleeps == []


def test_5xx_backs_off_exponentially_with_a_cap_then_fails() -> None:
    fake = FakeTime()
    calls: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        calls.append(request)
        return httpx.Response(500)

    settings = make_settings(request_interval=0.0, http_max_retries=3, http_backoff_cap=5.0)
    with make_client(settings, handler, fake) as client, pytest.raises(UpstreamHTTPError) as info:
        client.get(URL)
    assert info.value.status == 500
    assert len(calls) == 4  # the first try and 3 retries
    assert fake.sleeps == [2.0, 4.0, 5.0]


def test_503_without_retry_after_backs_off() -> None:
    fake = FakeTime()
    answers = [httpx.Response(503), httpx.Response(503), httpx.Response(200)]

    def handler(request: httpx.Request) -> httpx.Response:
        return answers.pop(0)

    with make_client(make_settings(request_interval=0.0), handler, fake) as client:
        client.get(URL)
    assert fake.sleeps == [2.0, 4.0]


@pytest.mark.parametrize("status", [400, 403, 404])
def test_other_4xx_are_not_retried(status: int) -> None:
    fake = FakeTime()
    calls: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        calls.append(request)
        return httpx.Response(status)

    with make_client(make_settings(), handler, fake) as client, pytest.raises(UpstreamHTTPError) as info:
        client.get(URL)
    assert info.value.status == status
    assert len(calls) == 1
    assert fake.sleeps == []


def test_connection_error_is_retried() -> None:
    fake = FakeTime()
    calls: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        calls.append(request)
        if len(calls) == 1:
            raise httpx.ConnectError("connection reset", request=request)
        return httpx.Response(200, text="back")

    with make_client(make_settings(request_interval=0.0), handler, fake) as client:
        assert client.get(URL).text == "back"
    assert len(calls) == 2
    assert fake.sleeps == [2.0]


def test_timeouts_exhaust_the_retries_then_fail_loudly() -> None:
    fake = FakeTime()
    calls: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        calls.append(request)
        raise httpx.ReadTimeout("too slow", request=request)

    settings = make_settings(request_interval=0.0, http_max_retries=2)
    with (
        make_client(settings, handler, fake) as client,
        pytest.raises(UpstreamHTTPError, match="ReadTimeout") as info,
    ):
        client.get(URL)
    assert info.value.status is None
    assert len(calls) == 3


def test_one_request_at_a_time_across_threads() -> None:
    in_flight = 0
    most = 0
    guard = threading.Lock()

    def handler(request: httpx.Request) -> httpx.Response:
        nonlocal in_flight, most
        with guard:
            in_flight += 1
            most = max(most, in_flight)
        time.sleep(0.02)
        with guard:
            in_flight -= 1
        return httpx.Response(200)

    settings = make_settings(request_interval=0.0)
    clients = [PoliteClient(settings, transport=httpx.MockTransport(handler)) for _ in range(3)]
    threads = [threading.Thread(target=lambda c=c: [c.get(URL) for _ in range(3)]) for c in clients]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    for client in clients:
        client.close()
    assert most == 1


def test_parse_retry_after_forms() -> None:
    now = datetime(2026, 1, 1, 12, 0, 0, tzinfo=UTC)
    assert parse_retry_after("120") == 120.0
    assert parse_retry_after("Thu, 01 Jan 2026 12:00:10 GMT", now=now) == 10.0
    assert parse_retry_after("Thu, 01 Jan 2026 11:00:00 GMT", now=now) == 0.0  # already past
    assert parse_retry_after("soon") is None
    assert parse_retry_after(None) is None


def test_an_untrusted_certificate_fails_at_once_without_retries() -> None:
    """A real TLS server on 127.0.0.1 whose certificate no trusted CA signed: one attempt, a clear error."""
    ca = trustme.CA()  # a CA the client does not trust
    cert = ca.issue_cert("127.0.0.1", "localhost")
    server = HTTPServer(("127.0.0.1", 0), SimpleHTTPRequestHandler)
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    cert.configure_cert(ctx)
    server.socket = ctx.wrap_socket(server.socket, server_side=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    fake = FakeTime()
    try:
        settings = make_settings(http_max_retries=5, http_timeout=10.0)
        with (
            PoliteClient(settings, clock=fake.clock, sleep=fake.sleep) as client,
            pytest.raises(UpstreamHTTPError, match="TLS certificate is not trusted") as info,
        ):
            client.get(f"https://127.0.0.1:{server.server_port}/oai")
    finally:
        server.shutdown()
        server.server_close()
    assert "not retried" in str(info.value)
    assert fake.sleeps == []  # no backoff: retrying cannot change the certificate


def test_less_than_three_seconds_is_refused_for_arxiv_hosts() -> None:
    with pytest.raises(ValidationError, match="below the 3 s"):
        Settings(request_interval=0)
    with pytest.raises(ValidationError, match=r"export\.arxiv\.org"):
        Settings(request_interval=1, oai_endpoint="https://mirror.example.org/oai")
    # a mirror or a local replay of recorded answers may be asked faster
    fast = Settings(
        request_interval=0,
        oai_endpoint="https://mirror.example.org/oai",
        api_endpoint="https://127.0.0.1:8443/api",
    )
    assert fast.request_interval == 0


def test_the_placeholder_contact_is_known() -> None:
    assert Settings().contact_is_placeholder
    assert not Settings(contact_email="me@lab.example.org").contact_is_placeholder
