"""Helpers shared by the API tests: tokens for the cast, and calls with them."""

import json

from django.test import Client

from sharing import services
from sharing.models import Team


def token_for(user, team: Team, name: str = "pipeline") -> str:
    return services.api_token_create(user=user, team=team, name=name)[1]


class ApiClient:
    """Django's test client with a bearer token and JSON bodies."""

    def __init__(self, secret: str | None) -> None:
        self.client = Client()
        self.headers = {"Authorization": f"Bearer {secret}"} if secret else {}

    def call(self, method: str, path: str, body: object = None, **headers: str):
        data = json.dumps(body) if body is not None else None
        send = getattr(self.client, method.lower())
        kwargs = {"content_type": "application/json"} if data is not None else {}
        return send(path, data, headers={**self.headers, **headers}, **kwargs)

    def get(self, path: str, **headers: str):
        return self.call("GET", path, **headers)

    def post(self, path: str, body: object = None, **headers: str):
        return self.call("POST", path, body if body is not None else {}, **headers)

    def delete(self, path: str, **headers: str):
        return self.call("DELETE", path, **headers)
