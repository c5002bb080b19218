"""The cloud module's image property PATCH, over HTTP against the built-in cloud: what image
lines write on each version (docs/glance.md §3.5)."""

import pytest

from sharing.cloud import ImagesClient, NotFound

from .test_cloud_images import ACME, FAST, account


@pytest.fixture
def acme(session) -> ImagesClient:
    return ImagesClient(account("acme"), "IAD", session=session, policy=FAST)


@pytest.fixture
def globex(session) -> ImagesClient:
    return ImagesClient(account("globex"), "IAD", session=session, policy=FAST)


@pytest.fixture
def image_id(state) -> str:
    return state.create_image(owner=ACME, name="web-base", provided_until="2027-01-01")["id"]


def test_properties_are_set_and_removed_in_one_patch(state, acme, image_id):
    result = acme.update_image_properties(
        image_id, {"image_line": "web", "image_line_version": "3", "provided_until": None}
    )
    assert result.http_status == 200 and result.request_id
    assert result.image.properties["image_line"] == "web"
    assert "provided_until" not in result.image.properties
    assert state.image(image_id).extra == {"image_line": "web", "image_line_version": "3"}
    assert state.calls("image_patch") == 1


def test_an_image_that_already_says_so_is_not_patched(state, acme, image_id):
    acme.update_image_properties(image_id, {"image_line": "web", "absent": None})
    acme.update_image_properties(image_id, {"image_line": "web", "absent": None})
    assert state.calls("image_patch") == 1


def test_a_changed_property_is_replaced(state, acme, image_id):
    acme.update_image_properties(image_id, {"image_line_state": "active"})
    acme.update_image_properties(image_id, {"image_line_state": "deprecated"})
    assert state.image(image_id).extra["image_line_state"] == "deprecated"


@pytest.mark.parametrize("kind", ["timeout", "reset"])
def test_a_patch_whose_answer_was_lost_is_checked_by_reading_the_image(state, acme, image_id, kind):
    state.add_fault(kind, route="image_patch", after=True, times=1)
    result = acme.update_image_properties(image_id, {"image_line": "web", "provided_until": None})
    assert state.image(image_id).extra == {"image_line": "web"}
    assert result.image.properties == {"image_line": "web"}


def test_an_image_of_another_account_cannot_be_labelled(state, globex, image_id):
    with pytest.raises(NotFound):
        globex.update_image_properties(image_id, {"image_line": "web"})
    assert "image_line" not in state.image(image_id).extra


def test_an_image_just_read_is_not_read_again(state, acme, image_id):
    image = acme.get_image(image_id)
    reads = state.calls("image_get")
    acme.update_image_properties(image_id, {"image_line": "web"}, current=image)
    assert state.calls("image_get") == reads and state.calls("image_patch") == 1
