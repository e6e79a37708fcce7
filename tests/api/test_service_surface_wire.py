"""What the server exposes: every method of the contract, health and reflection."""

from __future__ import annotations

from typing import Any

import grpc
import pytest
from google.protobuf import descriptor_pb2
from google.protobuf.descriptor import MethodDescriptor
from grpc_health.v1 import health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection_pb2, reflection_pb2_grpc

from tests.api.contract import methods, raw_call, services
from tests.api.wire import decode
from tests.conftest import Tenant

RECALLR_SERVICES = {
    "recallr.v1.UserService",
    "recallr.v1.SessionService",
    "recallr.v1.MemoryService",
    "recallr.v1.MergeConflictService",
    "recallr.v1.ContextService",
    "recallr.v1.CategoryService",
}


def test_the_generated_contract_has_the_six_services() -> None:
    assert {service.full_name for service in services()} == RECALLR_SERVICES


@pytest.mark.parametrize("method", methods(), ids=lambda m: m.full_name)
def test_every_method_of_the_contract_is_registered(
    tenant: Tenant, channel: grpc.Channel, method: MethodDescriptor
) -> None:
    """An empty request reaches the method: it answers, or fails with our ErrorInfo.

    gRPC's own UNIMPLEMENTED for an unknown method carries no status details,
    so `decode` would fail on it.
    """
    try:
        raw_call(channel, method, b"", tenant.metadata)
    except grpc.RpcError as failure:
        error = decode(failure)
        assert error.domain == "recallr.v1"
        if error.code == grpc.StatusCode.UNIMPLEMENTED:
            assert (error.reason, error.metadata) == (
                "NOT_IMPLEMENTED",
                {"method": method.full_name},
            )


@pytest.mark.parametrize("service", ["", *sorted(RECALLR_SERVICES)])
def test_health_reports_serving(tenant: Tenant, channel: grpc.Channel, service: str) -> None:
    health = health_pb2_grpc.HealthStub(channel)
    response = health.Check(health_pb2.HealthCheckRequest(service=service), timeout=5)
    assert response.status == health_pb2.HealthCheckResponse.SERVING


def test_health_of_an_unknown_service_is_not_found(tenant: Tenant, channel: grpc.Channel) -> None:
    health = health_pb2_grpc.HealthStub(channel)
    with pytest.raises(grpc.RpcError) as raised:
        health.Check(health_pb2.HealthCheckRequest(service="recallr.v1.NoSuchService"), timeout=5)
    assert raised.value.code() == grpc.StatusCode.NOT_FOUND


def reflect(channel: grpc.Channel, request: reflection_pb2.ServerReflectionRequest) -> Any:
    reflection = reflection_pb2_grpc.ServerReflectionStub(channel)
    [response] = list(reflection.ServerReflectionInfo(iter([request]), timeout=5))
    return response


def test_reflection_lists_every_service(tenant: Tenant, channel: grpc.Channel) -> None:
    response = reflect(channel, reflection_pb2.ServerReflectionRequest(list_services=""))
    listed = {service.name for service in response.list_services_response.service}
    assert listed == RECALLR_SERVICES | {
        "grpc.health.v1.Health",
        "grpc.reflection.v1alpha.ServerReflection",
    }


@pytest.mark.parametrize("service", sorted(RECALLR_SERVICES))
def test_reflection_describes_each_service(
    tenant: Tenant, channel: grpc.Channel, service: str
) -> None:
    response = reflect(
        channel, reflection_pb2.ServerReflectionRequest(file_containing_symbol=service)
    )
    files = [
        descriptor_pb2.FileDescriptorProto.FromString(raw)
        for raw in response.file_descriptor_response.file_descriptor_proto
    ]
    described = {f"{f.package}.{s.name}" for f in files for s in f.service}
    assert service in described
