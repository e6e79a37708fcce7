"""Server reflection, driven by the real grpcurl as an operator would use it."""

from __future__ import annotations

import json
import subprocess

from recallr_server.app import SERVICES
from tests.mesh.processes import ServeProcess, tool


def run_grpcurl(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(tool("grpcurl")), "-plaintext", "-max-time=10", *args],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )


def grpcurl(*args: str) -> str:
    result = run_grpcurl(*args)
    assert result.returncode == 0, result.stderr
    return result.stdout


def test_grpcurl_lists_every_service(served: ServeProcess) -> None:
    listed = set(grpcurl(served.target, "list").split())
    assert listed == {
        *(s.full_name for s in SERVICES),
        "grpc.health.v1.Health",
        "grpc.reflection.v1alpha.ServerReflection",
    }


def test_grpcurl_describes_the_user_service(served: ServeProcess) -> None:
    described = grpcurl(served.target, "describe", "recallr.v1.UserService")
    assert "recallr.v1.UserService is a service:" in described
    methods = {line.strip() for line in described.splitlines() if "rpc " in line}
    assert (
        "rpc CreateUser ( .recallr.v1.CreateUserRequest )"
        " returns ( .recallr.v1.CreateUserResponse ) {"
    ) in methods
    # Reflection hands each method's declared idempotency level to any client or tool.
    assert (
        "rpc GetUser ( .recallr.v1.GetUserRequest ) returns ( .recallr.v1.GetUserResponse ) {\n"
        "    option idempotency_level = NO_SIDE_EFFECTS;\n"
    ) in described


def test_grpcurl_creates_a_user_from_json(served: ServeProcess) -> None:
    output = grpcurl(
        "-H",
        f"authorization: Bearer {served.api_key}",
        "-H",
        f"x-recallr-project-id: {served.project_id}",
        "-d",
        json.dumps({"user": {"user_id": "grpcurl-user", "metadata": {"team": "compilers"}}}),
        served.target,
        "recallr.v1.UserService/CreateUser",
    )
    user = json.loads(output)["user"]
    assert user["user_id"] == "grpcurl-user"
    assert user["metadata"] == {"team": "compilers"}
    assert user["create_time"].endswith("Z")


def test_grpcurl_without_the_api_key_is_unauthenticated(served: ServeProcess) -> None:
    result = run_grpcurl(
        "-d",
        json.dumps({"user": {"user_id": "nobody"}}),
        served.target,
        "recallr.v1.UserService/CreateUser",
    )
    assert result.returncode != 0
    assert "Code: Unauthenticated" in result.stderr
    assert "AUTHENTICATION_REQUIRED" in result.stderr
