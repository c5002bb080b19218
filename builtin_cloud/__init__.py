"""The built-in Glance-v2-compatible cloud, with identity, for the demo and the tests.

state = CloudState()                      # or CloudState("var/cloud.sqlite3") to share
seed_demo_cloud(state)
app = FakeCloudApp(state, "http://cloud.test")
session = make_session(app)               # requests reach the app in-process
session.post("http://cloud.test/identity/v2.0/tokens", json=...)
"""

import requests

from .adapter import FakeCloudAdapter
from .app import FakeCloudApp
from .faults import FakeReset, FakeTimeout
from .seed import seed_demo_cloud
from .server import running_server
from .state import CloudState

__all__ = [
    "CloudState",
    "FakeCloudAdapter",
    "FakeCloudApp",
    "FakeReset",
    "FakeTimeout",
    "make_session",
    "running_server",
    "seed_demo_cloud",
]


def make_session(app: FakeCloudApp) -> requests.Session:
    """A `requests.Session` whose requests under `app.base_url` go to the app in-process."""
    session = requests.Session()
    session.mount(f"{app.base_url}/", FakeCloudAdapter(app))
    return session
