"""Writes server/recallr_server/api/services.py from the generated service descriptors.

One typing.Protocol per service of protos/recallr/v1, with every RPC as a method that
takes the request (for a client stream, an async iterator of requests) and the `Call` and
returns the response (for a server stream, an async iterator of responses), and one
function per service that registers a servicer by that protocol. A servicer that lacks
an RPC, misspells one or gets its types wrong is then a mypy error where app.py registers
it, not a surprise at run time.

Run by scripts/generate after the Python API is generated; scripts/check fails when the
committed file differs from what this writes.
"""

from __future__ import annotations

import importlib
import re
import sys
from pathlib import Path

from google.protobuf.descriptor import Descriptor, MethodDescriptor, ServiceDescriptor

ROOT = Path(__file__).resolve().parents[1]
PROTOS = ROOT / "protos" / "recallr" / "v1"
TARGET = ROOT / "server" / "recallr_server" / "api" / "services.py"

HEADER = '''"""The services of the contract as typed protocols, and their registration.

Generated from protos/recallr/v1 by scripts/generate (scripts/servicer_protocols.py); do
not edit. A servicer registered for a service must have every RPC of it, spelled as in
the contract and typed with its request and response: mypy rejects one that does not.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Protocol

from google.protobuf.descriptor import ServiceDescriptor

'''


def _module(descriptor: Descriptor) -> str:
    """The generated module's name of a message's file: recallr/v1/x.proto -> x_pb2."""
    assert descriptor.containing_type is None, "RPCs take and return top-level messages"
    return Path(descriptor.file.name).stem + "_pb2"


def _type(descriptor: Descriptor) -> str:
    return f"{_module(descriptor)}.{descriptor.name}"


def _snake(name: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "_", name).lower()


def _method(method: MethodDescriptor) -> str:
    response = _type(method.output_type)
    if method.server_streaming:
        prefix, returns = "def", f"AsyncIterator[{response}]"
    else:
        prefix, returns = "async def", response
    if method.client_streaming:
        takes = f"requests: AsyncIterator[{_type(method.input_type)}]"
    else:
        takes = f"request: {_type(method.input_type)}"
    signature = f"self, {takes}, call: Call"
    return f"    {prefix} {method.name}(\n        {signature}\n    ) -> {returns}: ...\n"


def _registrations(methods: list[MethodDescriptor]) -> str:
    return "".join(f'            "{m.name}": servicer.{m.name},\n' for m in methods)


def _service(service: ServiceDescriptor, module: str) -> str:
    assert not any(m.client_streaming and m.server_streaming for m in service.methods), (
        "teach the handlers bidirectional streams first"
    )
    methods = "\n".join(_method(m) for m in service.methods)
    unary = _registrations(
        [m for m in service.methods if not (m.server_streaming or m.client_streaming)]
    )
    streaming = _registrations([m for m in service.methods if m.server_streaming])
    client_streaming = _registrations([m for m in service.methods if m.client_streaming])
    # Only services that have client streams name them, so the others read as before.
    uploads = ""
    if client_streaming:
        uploads = f"        client_streaming={{\n{client_streaming}        }},\n"
    return (
        f"class {service.name}(Protocol):\n{methods}\n\n"
        f"def {_snake(service.name)}(servicer: {service.name}) -> ServiceMethods:\n"
        f"    return ServiceMethods(\n"
        f'        {module}.DESCRIPTOR.services_by_name["{service.name}"],\n'
        f"        unary={{\n{unary}        }},\n"
        f"        streaming={{\n{streaming}        }},\n"
        f"{uploads}"
        f"    )\n"
    )


def render() -> str:
    sys.path.insert(0, str(ROOT / "gen" / "python"))
    modules = sorted(path.stem + "_pb2" for path in PROTOS.glob("*_service.proto"))
    services: list[tuple[ServiceDescriptor, str]] = []
    for name in modules:
        module = importlib.import_module(f"recallr.v1.{name}")
        services += [(s, name) for s in module.DESCRIPTOR.services_by_name.values()]
    imported = set(modules) | {
        _module(t) for s, _ in services for m in s.methods for t in (m.input_type, m.output_type)
    }
    imports = "from recallr.v1 import (\n" + "".join(f"    {n},\n" for n in sorted(imported))
    imports += ")\nfrom recallr_server.api.handlers import Call, ServiceMethods\n"
    bodies = "\n\n".join(_service(s, module) for s, module in services)
    listed = "".join(
        f'    {module}.DESCRIPTOR.services_by_name["{s.name}"],\n' for s, module in services
    )
    return (
        f"{HEADER}{imports}\n\n{bodies}\n\nSERVICES: tuple[ServiceDescriptor, ...] = (\n{listed})\n"
    )


if __name__ == "__main__":
    TARGET.write_text(render())
