"""CategoryService on the wire: the default vocabulary, additions, removals, errors."""

from __future__ import annotations

import grpc
import pytest

from recallr.v1 import category_pb2
from recallr.v1 import category_service_pb2 as pb
from recallr_server.domain.categories import DEFAULT_CATEGORIES
from tests.api.wire import Stubs, fails
from tests.conftest import Tenant, new_tenant


def listed(api: Stubs, tenant: Tenant) -> list[category_pb2.Category]:
    response = api.categories.ListCategories(pb.ListCategoriesRequest(), metadata=tenant.metadata)
    return list(response.categories)


def create(api: Stubs, tenant: Tenant, name: str, description: str = "") -> category_pb2.Category:
    category = category_pb2.Category(name=name, description=description)
    return api.categories.CreateCategory(
        pb.CreateCategoryRequest(category=category), metadata=tenant.metadata
    ).category


def test_a_new_project_lists_the_default_categories_by_name(tenant: Tenant, api: Stubs) -> None:
    assert listed(api, tenant) == [
        category_pb2.Category(name=name, description=DEFAULT_CATEGORIES[name])
        for name in sorted(DEFAULT_CATEGORIES)
    ]


def test_a_created_category_is_listed_in_name_order(tenant: Tenant, api: Stubs) -> None:
    created = create(api, tenant, "music_taste", "Bands, genres and concerts.")
    assert created == category_pb2.Category(
        name="music_taste", description="Bands, genres and concerts."
    )
    names = [c.name for c in listed(api, tenant)]
    assert names == sorted([*DEFAULT_CATEGORIES, "music_taste"])
    assert created in listed(api, tenant)


def test_categories_belong_to_their_project(tenant: Tenant, api: Stubs) -> None:
    create(api, tenant, "only_here")
    api.categories.DeleteCategory(pb.DeleteCategoryRequest(name="travel"), metadata=tenant.metadata)
    other = new_tenant(tenant.server)
    assert {c.name for c in listed(api, other)} == set(DEFAULT_CATEGORIES)


def test_a_deleted_category_is_gone_and_can_be_added_again(tenant: Tenant, api: Stubs) -> None:
    api.categories.DeleteCategory(pb.DeleteCategoryRequest(name="travel"), metadata=tenant.metadata)
    assert "travel" not in {c.name for c in listed(api, tenant)}
    assert create(api, tenant, "travel", "Trips.").description == "Trips."
    assert category_pb2.Category(name="travel", description="Trips.") in listed(api, tenant)


@pytest.mark.parametrize("name", ["personal_info", "brand_new"])
def test_creating_an_existing_category_is_already_exists(
    tenant: Tenant, api: Stubs, name: str
) -> None:
    create(api, tenant, "brand_new")
    error = fails(
        api.categories.CreateCategory,
        pb.CreateCategoryRequest(category=category_pb2.Category(name=name, description="dup")),
        tenant.metadata,
    )
    assert (error.code, error.reason, error.metadata) == (
        grpc.StatusCode.ALREADY_EXISTS,
        "CATEGORY_ALREADY_EXISTS",
        {"category": name},
    )


@pytest.mark.parametrize(
    "name",
    ["", "Travel", "1st_place", "_hidden", "has-dash", "has space", "ünïcode", "a" * 65],
    ids=[
        "empty",
        "uppercase",
        "digit-first",
        "underscore-first",
        "dash",
        "space",
        "non-ascii",
        "too-long",
    ],
)
def test_invalid_category_names_are_refused(tenant: Tenant, api: Stubs, name: str) -> None:
    error = fails(
        api.categories.CreateCategory,
        pb.CreateCategoryRequest(category=category_pb2.Category(name=name)),
        tenant.metadata,
    )
    assert (error.code, error.reason, error.metadata, error.field_violations) == (
        grpc.StatusCode.INVALID_ARGUMENT,
        "VALIDATION_FAILED",
        {"field": "category.name"},
        ["category.name"],
    )
    assert {c.name for c in listed(api, tenant)} == set(DEFAULT_CATEGORIES)


def test_names_of_64_characters_are_accepted(tenant: Tenant, api: Stubs) -> None:
    name = "a" + "b_1" * 21
    assert len(name) == 64
    assert create(api, tenant, name).name == name


@pytest.mark.parametrize("description", ["d" * 1001, "nul\x00inside"], ids=["too-long", "nul"])
def test_invalid_category_descriptions_are_refused(
    tenant: Tenant, api: Stubs, description: str
) -> None:
    error = fails(
        api.categories.CreateCategory,
        pb.CreateCategoryRequest(
            category=category_pb2.Category(name="fine", description=description)
        ),
        tenant.metadata,
    )
    assert (error.reason, error.metadata) == (
        "VALIDATION_FAILED",
        {"field": "category.description"},
    )


@pytest.mark.parametrize(
    ("name", "reported"),
    [("never_made", "never_made"), ("Not A Name", "Not A Name"), ("x" * 100, "x" * 64)],
    ids=["unknown", "invalid-name", "too-long"],
)
def test_deleting_an_unknown_category_is_not_found(
    tenant: Tenant, api: Stubs, name: str, reported: str
) -> None:
    error = fails(
        api.categories.DeleteCategory, pb.DeleteCategoryRequest(name=name), tenant.metadata
    )
    assert (error.code, error.reason, error.metadata) == (
        grpc.StatusCode.NOT_FOUND,
        "CATEGORY_NOT_FOUND",
        {"category": reported},
    )


def test_deleting_a_category_twice_is_not_found(tenant: Tenant, api: Stubs) -> None:
    request = pb.DeleteCategoryRequest(name="hobbies")
    api.categories.DeleteCategory(request, metadata=tenant.metadata)
    error = fails(api.categories.DeleteCategory, request, tenant.metadata)
    assert (error.reason, error.metadata) == ("CATEGORY_NOT_FOUND", {"category": "hobbies"})
