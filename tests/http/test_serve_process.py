"""`recallr-server serve` with RECALLR_HTTP_LISTEN, as a real process: one JSON log line
and one metric sample per request, never content, keys or ids; SIGTERM drains the HTTP
API with gRPC, letting a stream in flight finish."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.mesh.processes import ServeProcess


@pytest.fixture
def server(tmp_path: Path) -> Iterator[ServeProcess]:
    process = ServeProcess(
        tmp_path,
        {
            "RECALLR_API_KEY": f"rai_{uuid.uuid4().hex}",
            "RECALLR_HTTP_LISTEN": "127.0.0.1:0",
            "RECALLR_METRICS_LISTEN": "127.0.0.1:0",
        },
    )
    yield process
    process.close()


def port(server: ServeProcess, prefix: str) -> int:
    return int(server.wait_for_log(prefix).rsplit(" ", 1)[1])


def client(server: ServeProcess) -> httpx.Client:
    headers = {"X-Recallr-Api-Key": server.api_key, "X-Recallr-Project-Id": server.project_id}
    base_url = f"http://127.0.0.1:{port(server, 'http api on port ')}"
    return httpx.Client(base_url=base_url, headers=headers, timeout=60)


def test_each_request_is_logged_and_counted_without_what_callers_sent(
    server: ServeProcess,
) -> None:
    user_id = f"patient-{uuid.uuid4().hex}"
    secret = f"My locker code is {uuid.uuid4().hex}"
    wrong_key = f"rai_{uuid.uuid4().hex}"
    with client(server) as http:
        assert (
            http.post(
                "/api/v1/users", json={"custom_user_id": user_id, "metadata": {"note": secret}}
            ).status_code
            == 201
        )
        session = http.post(f"/api/v1/users/{user_id}/sessions", json={}).json()["session_id"]
        path = f"/api/v1/users/{user_id}/sessions/{session}"
        assert (
            http.post(f"{path}/add-message", json={"message": secret, "role": "user"}).status_code
            == 200
        )
        assert (
            http.get(
                "/api/v1/users", params={"metadata_filter": json.dumps({"note": secret})}
            ).json()["total"]
            == 1
        )
        assert http.get("/api/v1/users/nobody").status_code == 404
        assert (
            http.get("/api/v1/users", headers={"X-Recallr-Api-Key": wrong_key}).status_code == 401
        )
    # A request's line is logged once its response has gone out: the last may still come.
    server.wait_for_log("http GET /api/v1/users 401 INVALID_API_KEY", timeout=10)
    records = [
        r for r in server.log_records() if "rpc_method" in r and r["message"].startswith("http ")
    ]
    outcomes = {(r["rpc_method"], r["outcome"]) for r in records}
    assert ("POST /api/v1/users", "201") in outcomes
    assert ("POST /api/v1/users/{user_id}/sessions/{session_id}/add-message", "200") in outcomes
    assert ("GET /api/v1/users/{user_id}", "USER_NOT_FOUND") in outcomes
    assert ("GET /api/v1/users", "INVALID_API_KEY") in outcomes
    assert all(r["request_id"] for r in records)
    log = server.log_text()
    for forbidden in (user_id, secret, session, wrong_key, server.api_key):
        assert forbidden not in log
    metrics = httpx.get(f"http://127.0.0.1:{port(server, 'metrics on port ')}/metrics").text
    created = 'reason="",route="POST /api/v1/users",status="201"'
    not_found = 'reason="USER_NOT_FOUND",route="GET /api/v1/users/{user_id}",status="404"'
    for labels in (created, not_found):
        assert f"recallr_http_requests_total{{{labels}}} 1.0" in metrics


def test_sigterm_lets_a_stream_in_flight_finish_and_stops_both_apis(
    server: ServeProcess,
) -> None:
    with client(server) as http:
        http.post("/api/v1/users", json={"custom_user_id": "ada"})
        session = http.post("/api/v1/users/ada/sessions", json={}).json()["session_id"]
        path = f"/api/v1/users/ada/sessions/{session}"
        http.post(f"{path}/add-message", json={"message": "I keep bees.", "role": "user"})
        with http.stream("GET", f"{path}/context", params={"stream": "true"}) as stream:
            lines = stream.iter_lines()
            first = next(line for line in lines if line.startswith("data: "))
            assert json.loads(first.removeprefix("data: "))["is_final"] is False
            server.terminate()
            events = [json.loads(line[6:]) for line in lines if line.startswith("data: ")]
        assert events[-1]["is_final"] is True and events[-1]["error_message"] is None
        assert server.wait(timeout=30) == 0
        with pytest.raises(httpx.ConnectError):
            http.get("/api/v1/users")
    assert "stopped" in [r["message"] for r in server.log_records()]
