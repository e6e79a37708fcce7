"""The contract declares every RPC's idempotency level, and the client's retries follow it."""

from __future__ import annotations

import importlib
import json
import pkgutil

from google.protobuf.descriptor import MethodDescriptor
from google.protobuf.descriptor_pb2 import MethodOptions

import recallr.v1
from recallrai._channel import SERVICE_CONFIG

REPEATABLE = {MethodOptions.NO_SIDE_EFFECTS, MethodOptions.IDEMPOTENT}


def every_rpc() -> list[MethodDescriptor]:
    """Every method of every service in the generated package, found without the client."""
    modules = [
        importlib.import_module(f"recallr.v1.{module.name}")
        for module in pkgutil.iter_modules(recallr.v1.__path__)
        if module.name.endswith("_service_pb2")
    ]
    return [
        method
        for module in modules
        for service in module.DESCRIPTOR.services_by_name.values()
        for method in service.methods
    ]


def test_every_rpc_declares_its_idempotency_level() -> None:
    rpcs = every_rpc()
    assert len({rpc.containing_service.name for rpc in rpcs}) == 6
    undeclared = [
        rpc.full_name for rpc in rpcs if not rpc.GetOptions().HasField("idempotency_level")
    ]
    assert undeclared == []


def test_an_rpc_with_a_request_id_is_declared_idempotent() -> None:
    keyed = {
        rpc.name: rpc.GetOptions().idempotency_level
        for rpc in every_rpc()
        if "request_id" in rpc.input_type.fields_by_name
    }
    assert keyed == {
        "CreateSession": MethodOptions.IDEMPOTENT,
        "AddMessage": MethodOptions.IDEMPOTENT,
        "ImportSession": MethodOptions.IDEMPOTENT,
        "AddMessages": MethodOptions.IDEMPOTENT,
        "ImportUser": MethodOptions.IDEMPOTENT,
    }


def test_the_client_retries_exactly_the_rpcs_declared_safe_to_repeat() -> None:
    (method_config,) = json.loads(SERVICE_CONFIG)["methodConfig"]
    retried = {(name["service"], name["method"]) for name in method_config["name"]}
    repeatable = {
        (rpc.containing_service.full_name, rpc.name)
        for rpc in every_rpc()
        if rpc.GetOptions().idempotency_level in REPEATABLE
    }
    assert retried == repeatable
    assert ("recallr.v1.UserService", "CreateUser") not in retried
    assert method_config["retryPolicy"]["retryableStatusCodes"] == ["UNAVAILABLE"]
