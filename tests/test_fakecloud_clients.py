"""The stock-client test's own judging (clients/run.py): a step fails on an unexpected
observation, and two targets differ on anything a step shows, error texts included."""

import importlib.util
import sys
from pathlib import Path

import pytest

PATH = Path(__file__).resolve().parent.parent / "clients" / "run.py"


@pytest.fixture(scope="module")
def run_module():
    spec = importlib.util.spec_from_file_location("clients_run", PATH)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules["clients_run"] = module
    spec.loader.exec_module(module)
    return module


def observations(module, **changes):
    """The openstack CLI's expected observations, with some steps changed."""
    found = []
    for step, expected in module.EXPECTED["openstack"].items():
        observed, detail = changes.get(step, (expected, ""))
        found.append(module.Observation(step, observed, detail))
    return found


def test_the_expected_workflow_passes_on_both_targets(run_module):
    results = {"built-in": observations(run_module), "glance": observations(run_module)}
    assert run_module.check("openstack", results) == (15, 0, {"built-in": 0, "glance": 0})


def test_an_unexpected_observation_fails_its_target(run_module):
    changed = observations(run_module, **{"consumer accepts": (1, "HTTP 403")})
    results = {"built-in": changed, "glance": observations(run_module)}
    steps, differences, failures = run_module.check("openstack", results)
    assert failures == {"built-in": 1, "glance": 0}
    assert differences == 1


def test_a_different_error_text_is_a_difference_between_targets(run_module):
    step = "owner deletes the image"
    results = {
        "built-in": observations(run_module, **{step: (0, "a warning")}),
        "glance": observations(run_module, **{step: (0, "another warning")}),
    }
    assert run_module.check("openstack", results)[1:] == (1, {"built-in": 0, "glance": 0})


def test_a_missing_step_fails(run_module):
    results = {"built-in": observations(run_module)[:-1]}
    assert run_module.check("openstack", results)[2] == {"built-in": 1}


def test_glance_tables_are_read_with_their_continuation_lines(run_module):
    table = (
        "+----------+-------+\n| Property | Value |\n+----------+-------+\n"
        "| id       | 42    |\n| os_hash  | abc   |\n|          | def   |\n+----------+-------+\n"
    )
    assert run_module._property_table(table) == {"id": "42", "os_hash": "abcdef"}
