"""The public surface of a `recallrai` package, described as plain JSON-able data.

Both the official RecallrAI SDK and Recallr's client import as `recallrai`, so one
process can hold only one of them. `describe()` describes whichever this process
imports; run as `python -m tests.client.sdk_surface DIR`, this module first puts DIR
at the front of `sys.path`, so the package found there is described, and prints JSON.
The description holds names, signatures, fields and hierarchies, never behaviour.
"""

from __future__ import annotations

import ast
import dataclasses
import enum
import importlib
import inspect
import json
import pkgutil
import sys
import textwrap
import types
import typing
from pathlib import Path
from typing import Any

# The classes the SDK's users hold: the clients and what their methods return.
ENTITY_CLASSES = (
    "RecallrAI",
    "User",
    "Session",
    "MergeConflict",
    "AsyncRecallrAI",
    "AsyncUser",
    "AsyncSession",
    "AsyncMergeConflict",
)
# Dunder methods that are part of a class's surface (the context-manager protocols).
PROTOCOL_METHODS = frozenset({"__init__", "__enter__", "__exit__", "__aenter__", "__aexit__"})
# Generic containers whose type arguments are part of a type's meaning; other generics
# (a page of users, say) are named without them.
_CONTAINER_MODULES = frozenset({"builtins", "collections.abc"})


def type_name(annotation: Any) -> str:
    """A spelling of a type that both packages share: `list[str] or None`, `Iterator[X]`."""
    if annotation is None or annotation is type(None):
        return "None"
    if isinstance(annotation, str):
        return annotation
    if isinstance(annotation, typing.ForwardRef):
        return annotation.__forward_arg__
    if annotation is Any:
        return "Any"
    origin, args = typing.get_origin(annotation), typing.get_args(annotation)
    if origin is typing.Union or origin is types.UnionType:
        names = sorted(type_name(arg) for arg in args if arg is not type(None))
        return " or ".join(names + (["None"] if type(None) in args else []))
    if origin is not None:
        name = getattr(origin, "__name__", str(origin))
        if args and getattr(origin, "__module__", "") in _CONTAINER_MODULES:
            return f"{name}[{', '.join(type_name(arg) for arg in args)}]"
        return name
    return str(getattr(annotation, "__name__", annotation))


def default_text(value: Any) -> str:
    """A parameter's or field's default, so that 30 and 30.0 read alike."""
    if value is inspect.Parameter.empty or value is dataclasses.MISSING:
        return "required"
    if isinstance(value, enum.Enum):
        return f"{type(value).__name__}.{value.name}"
    if isinstance(value, float) and value.is_integer():
        return repr(int(value))
    return repr(value)


def _hints(function: Any) -> dict[str, Any]:
    try:
        return typing.get_type_hints(function)
    except (NameError, TypeError):
        # A name imported only for type checkers: the annotation's text still says it.
        return dict(getattr(function, "__annotations__", {}))


def _method_kind(function: Any) -> str:
    if inspect.isasyncgenfunction(function):
        return "async generator"
    if inspect.iscoroutinefunction(function):
        return "coroutine"
    if inspect.isgeneratorfunction(function):
        return "generator"
    return "function"


def describe_callable(function: Any) -> dict[str, Any]:
    signature = inspect.signature(function)
    params = [
        [name, param.kind.name, default_text(param.default)]
        for name, param in signature.parameters.items()
        if name != "self"
    ]
    hints = _hints(function)
    returns = type_name(hints["return"]) if "return" in hints else None
    return {"kind": _method_kind(function), "params": params, "returns": returns}


def _own_classes(cls: type) -> list[type]:
    package = cls.__module__.split(".")[0]
    return [klass for klass in cls.__mro__ if klass.__module__.split(".")[0] == package]


def instance_attributes(cls: type) -> list[str]:
    """Public attributes: properties, and names `__init__` assigns on `self`."""
    names: set[str] = set()
    for klass in _own_classes(cls):
        for name, member in vars(klass).items():
            if isinstance(member, property) and not name.startswith("_"):
                names.add(name)
        init = vars(klass).get("__init__")
        if init is None:
            continue
        tree = ast.parse(textwrap.dedent(inspect.getsource(init)))
        for node in ast.walk(tree):
            if (
                isinstance(node, ast.Attribute)
                and isinstance(node.ctx, ast.Store)
                and isinstance(node.value, ast.Name)
                and node.value.id == "self"
                and not node.attr.startswith("_")
            ):
                names.add(node.attr)
    return sorted(names)


def describe_entity(cls: type) -> dict[str, Any]:
    methods = {}
    for klass in _own_classes(cls):
        for name, member in vars(klass).items():
            public = not name.startswith("_") or name in PROTOCOL_METHODS
            if public and inspect.isfunction(member) and name not in methods:
                methods[name] = describe_callable(member)
    return {
        "module": cls.__module__,
        "methods": methods,
        "attributes": instance_attributes(cls),
    }


def _model_fields(cls: type) -> dict[str, dict[str, str]] | None:
    pydantic_fields = getattr(cls, "model_fields", None)
    if isinstance(pydantic_fields, dict):
        return {
            name: {
                "type": type_name(field.annotation),
                "default": (
                    "required"
                    if field.is_required()
                    else default_text(field.default)
                    if field.default_factory is None
                    else f"{field.default_factory.__name__}()"
                ),
            }
            for name, field in pydantic_fields.items()
        }
    if dataclasses.is_dataclass(cls):
        hints = typing.get_type_hints(cls)
        return {
            field.name: {
                "type": type_name(hints[field.name]),
                "default": (
                    default_text(field.default)
                    if field.default_factory is dataclasses.MISSING
                    else f"{getattr(field.default_factory, '__name__', 'factory')}()"
                ),
            }
            for field in dataclasses.fields(cls)
        }
    return None


def describe_model(value: Any) -> dict[str, Any]:
    if not isinstance(value, type):
        return {"name": type(value).__name__, "module": type(value).__module__, "kind": "value"}
    described: dict[str, Any] = {"name": value.__name__, "module": value.__module__}
    if issubclass(value, enum.Enum):
        described["kind"] = "enum"
        described["members"] = {member.name: member.value for member in value}
        return described
    fields = _model_fields(value)
    described["kind"] = (
        "other" if fields is None else "pydantic" if hasattr(value, "model_fields") else "dataclass"
    )
    described["fields"] = fields or {}
    return described


def _modules(package: types.ModuleType) -> list[types.ModuleType]:
    modules = [package]
    for info in pkgutil.iter_modules(getattr(package, "__path__", [])):
        modules.append(importlib.import_module(f"{package.__name__}.{info.name}"))
    return modules


def describe_exception(cls: type[BaseException]) -> dict[str, Any]:
    return {
        "module": cls.__module__,
        "bases": [base.__name__ for base in cls.__bases__],
        "params": describe_callable(cls.__init__)["params"],
        "attributes": instance_attributes(cls),
    }


def describe() -> dict[str, Any]:
    """The surface of the `recallrai` package this process imports."""
    package = importlib.import_module("recallrai")
    models = importlib.import_module("recallrai.models")
    exceptions = importlib.import_module("recallrai.exceptions")
    exception_classes = {
        name: value
        for module in _modules(exceptions)
        for name, value in vars(module).items()
        if isinstance(value, type)
        and issubclass(value, BaseException)
        and value.__module__.startswith("recallrai.")
    }
    return {
        "file": package.__file__,
        "version": getattr(package, "__version__", None),
        "exports": sorted(package.__all__),
        "classes": {
            name: describe_entity(getattr(package, name))
            for name in ENTITY_CLASSES
            if hasattr(package, name)
        },
        "models": {name: describe_model(getattr(models, name)) for name in models.__all__},
        "exception_exports": sorted(exceptions.__all__),
        "exceptions": {name: describe_exception(cls) for name, cls in exception_classes.items()},
    }


def main() -> None:
    directory = Path(sys.argv[1]).resolve()
    sys.path.insert(0, str(directory))
    surface = describe()
    if not Path(surface["file"]).resolve().is_relative_to(directory):
        raise SystemExit(f"recallrai was imported from {surface['file']}, not {directory}")
    json.dump(surface, sys.stdout, indent=1, sort_keys=True)


if __name__ == "__main__":
    main()
