"""TLS and mutual TLS, turned on by certificate settings; plaintext stays the default."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import grpc
import pytest

from recallr.v1 import user_pb2
from recallr.v1 import user_service_pb2 as users_pb
from recallr_server.config import Settings
from recallr_server.transport import server_credentials
from recallrai import AsyncRecallrAI, RecallrAI
from tests.api.wire import stubs
from tests.conftest import ServerThread, Tenant, new_tenant
from tests.mesh.pki import Pki, issue


def _start(tmp_path: Path, pki: Pki, *, mutual: bool) -> ServerThread:
    settings = replace(
        Settings(),
        database_url=f"sqlite:///{tmp_path / 'recallr.db'}",
        listen="127.0.0.1:0",
        shutdown_grace_seconds=1,
        tls_cert_file=str(pki.server_cert),
        tls_key_file=str(pki.server_key),
        tls_client_ca_file=str(pki.ca_cert) if mutual else None,
    )
    return ServerThread(settings)


@pytest.fixture(scope="module")
def tls_tenant(tmp_path_factory: pytest.TempPathFactory, pki: Pki) -> Iterator[Tenant]:
    server = _start(tmp_path_factory.mktemp("tls"), pki, mutual=False)
    yield new_tenant(server)
    server.stop()


@pytest.fixture(scope="module")
def mtls_tenant(tmp_path_factory: pytest.TempPathFactory, pki: Pki) -> Iterator[Tenant]:
    server = _start(tmp_path_factory.mktemp("mtls"), pki, mutual=True)
    yield new_tenant(server)
    server.stop()


def create_user(channel: grpc.Channel, tenant: Tenant, user_id: str) -> user_pb2.User:
    request = users_pb.CreateUserRequest(user=user_pb2.User(user_id=user_id))
    return stubs(channel).users.CreateUser(request, metadata=tenant.metadata, timeout=5).user


def failure(channel: grpc.Channel, tenant: Tenant) -> grpc.StatusCode:
    with pytest.raises(grpc.RpcError) as raised:
        create_user(channel, tenant, "never")
    code: grpc.StatusCode = raised.value.code()
    return code


def credentials(pki: Pki, *, client_certificate: bool) -> grpc.ChannelCredentials:
    return grpc.ssl_channel_credentials(
        root_certificates=pki.ca_cert.read_bytes(),
        private_key=pki.client_key.read_bytes() if client_certificate else None,
        certificate_chain=pki.client_cert.read_bytes() if client_certificate else None,
    )


def test_a_client_trusting_the_ca_calls_over_tls(tls_tenant: Tenant, pki: Pki) -> None:
    creds = credentials(pki, client_certificate=False)
    with grpc.secure_channel(tls_tenant.target, creds) as channel:
        assert create_user(channel, tls_tenant, "ada").user_id == "ada"


def test_the_certificate_also_names_localhost(tls_tenant: Tenant, pki: Pki) -> None:
    target = tls_tenant.target.replace("127.0.0.1", "localhost")
    with grpc.secure_channel(target, credentials(pki, client_certificate=False)) as channel:
        assert create_user(channel, tls_tenant, "grace").user_id == "grace"


def test_a_plaintext_client_cannot_call_a_tls_server(tls_tenant: Tenant) -> None:
    with grpc.insecure_channel(tls_tenant.target) as channel:
        assert failure(channel, tls_tenant) == grpc.StatusCode.UNAVAILABLE


def test_a_client_not_trusting_the_ca_is_refused(tls_tenant: Tenant, tmp_path: Path) -> None:
    stranger = issue(tmp_path)
    with grpc.secure_channel(
        tls_tenant.target, grpc.ssl_channel_credentials(stranger.ca_cert.read_bytes())
    ) as channel:
        assert failure(channel, tls_tenant) == grpc.StatusCode.UNAVAILABLE


def test_mutual_tls_refuses_a_client_without_a_certificate(mtls_tenant: Tenant, pki: Pki) -> None:
    creds = credentials(pki, client_certificate=False)
    with grpc.secure_channel(mtls_tenant.target, creds) as channel:
        assert failure(channel, mtls_tenant) == grpc.StatusCode.UNAVAILABLE


def test_mutual_tls_serves_a_client_with_a_certificate(mtls_tenant: Tenant, pki: Pki) -> None:
    creds = credentials(pki, client_certificate=True)
    with grpc.secure_channel(mtls_tenant.target, creds) as channel:
        assert create_user(channel, mtls_tenant, "ada").user_id == "ada"


def test_a_key_without_a_certificate_is_a_configuration_error(pki: Pki) -> None:
    settings = replace(Settings(), listen="127.0.0.1:0", tls_key_file=str(pki.server_key))
    with pytest.raises(ValueError, match="RECALLR_TLS_CERT_FILE"):
        server_credentials(settings)


def test_the_python_client_calls_over_mutual_tls(mtls_tenant: Tenant, pki: Pki) -> None:
    creds = credentials(pki, client_certificate=True)
    with RecallrAI(
        mtls_tenant.api_key, mtls_tenant.project_id, mtls_tenant.target, channel_credentials=creds
    ) as client:
        assert client.create_user("lin").user_id == "lin"


async def test_the_async_python_client_calls_over_mutual_tls(mtls_tenant: Tenant, pki: Pki) -> None:
    creds = credentials(pki, client_certificate=True)
    async with AsyncRecallrAI(
        mtls_tenant.api_key, mtls_tenant.project_id, mtls_tenant.target, channel_credentials=creds
    ) as client:
        assert (await client.create_user("mei")).user_id == "mei"
