"""The sharing workflow with openstacksdk; run by clients/run.py with the clients' own Python.

    python sdk_workflow.py CONFIG.json    # prints one JSON object per step

CONFIG holds `owner` and `consumer` (auth dicts for openstack.connect), `consumer_id`, `name`
and `file`. Each step prints {"step", "observed"}; run.py replaces ids by placeholders and
compares. Only the standard library and openstacksdk: this runs outside the project's venv.
"""

import json
import sys
from collections.abc import Callable
from typing import Any

import openstack
from openstack import exceptions


def main() -> None:
    with open(sys.argv[1]) as handle:
        config = json.load(handle)
    owner = openstack.connect(**config["owner"])
    consumer = openstack.connect(**config["consumer"])
    member_id = config["consumer_id"]
    name = config["name"]
    with open(config["file"], "rb") as handle:
        data = handle.read()
    image_id = ""

    def step(title: str, action: Callable[[], Any]) -> None:
        try:
            observed = action()
        except exceptions.HttpException as error:
            observed = {"error": type(error).__name__, "status": error.status_code}
        print(json.dumps({"step": title, "observed": observed}), flush=True)

    def create() -> dict[str, Any]:
        nonlocal image_id
        image = owner.image.create_image(
            name=name,
            filename=config["file"],
            disk_format="raw",
            container_format="bare",
            visibility="shared",
            wait=True,
        )
        image_id = image.id
        image = owner.image.get_image(image.id)
        return {
            "id": image.id,
            "status": image.status,
            "size": image.size,
            "checksum": image.checksum,
            "hash_algo": image.hash_algo,
            "visibility": image.visibility,
        }

    def members() -> list[list[str]]:
        return [[m.member_id, m.status] for m in owner.image.members(image_id)]

    def listed(**query: str) -> bool:
        return any(i.id == image_id for i in consumer.image.images(**query))

    def set_status(status: str) -> dict[str, Any]:
        member = consumer.image.update_member(member_id, image_id, status=status)
        return {"member": member.member_id, "status": member.status}

    step(
        "own project shown by the identity API",
        lambda: owner.identity.get_project(owner.current_project_id).id == owner.current_project_id,
    )
    step("create image with data", create)
    step("add member", lambda: _member(owner.image.add_member(image_id, member_id=member_id)))
    step("owner lists members", members)
    step(
        "consumer sees the pending offer",
        lambda: listed(visibility="shared", member_status="pending"),
    )
    step("consumer accepts", lambda: set_status("accepted"))
    step("consumer lists accepted images", lambda: listed(member_status="accepted"))
    step("consumer rejects", lambda: set_status("rejected"))
    step(
        "consumer lists rejected offers",
        lambda: listed(visibility="shared", member_status="rejected"),
    )
    step("owner sees the rejection", members)
    step(
        "consumer downloads the data",
        lambda: consumer.image.download_image(image_id).content == data,
    )
    step(
        "owner removes the member",
        lambda: owner.image.remove_member(member_id, image_id, ignore_missing=False),
    )
    step("owner lists no members", members)
    step("consumer no longer sees the image", lambda: consumer.image.get_image(image_id).id)
    step(
        "owner deletes the image", lambda: owner.image.delete_image(image_id, ignore_missing=False)
    )
    step("the image is gone", lambda: owner.image.get_image(image_id).id)


def _member(member: Any) -> dict[str, Any]:
    return {"member": member.member_id, "status": member.status}


if __name__ == "__main__":
    main()
