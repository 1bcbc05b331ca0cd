"""docs/dashboards/alerts.yaml: promtool's checks and unit tests, then every rule in the real
Prometheus of each mode, read from the YAML (not copied)."""

from __future__ import annotations

import re
import subprocess
from typing import Any

import pytest
import yaml

from tests.prometheus.stack import MODES, RULE_TESTS, RULES, Stack, finite, tool, why_empty

pytestmark = pytest.mark.prometheus

GROUPS: list[dict[str, Any]] = yaml.safe_load(RULES.read_text(encoding="utf-8"))["groups"]
RULE_LIST: list[dict[str, Any]] = [rule for group in GROUPS for rule in group["rules"]]
RECORDS = {rule["record"]: str(rule["expr"]) for rule in RULE_LIST if "record" in rule}
ALERTS = {rule["alert"]: str(rule["expr"]) for rule in RULE_LIST if "alert" in rule}
CASES = [(name, mode) for name in [*RECORDS, *ALERTS] for mode in MODES]

#: An alert compares a recorded signal with a threshold; ``>= 0`` in its place keeps every
#: series the signal has, which is what the traffic (far below any threshold) can show.
_THRESHOLD = re.compile(r">=?\s*[0-9.]+(?:e[-+]?[0-9]+)?\s*$")
DEFAULT_NAMES = ("gen_ai_client_operation_", "gen_ai_client_token_usage")
LATEST_NAMES = ("gen_ai_client_inference_", "gen_ai_client_embeddings_")


def name_of(rule: dict[str, Any]) -> str:
    return str(rule.get("alert") or rule["record"])


def without_threshold(expr: str) -> str:
    assert _THRESHOLD.search(expr), f"an alert of another shape than <signal> > <number>: {expr}"
    return _THRESHOLD.sub(">= 0", expr)


def reads(expr: str) -> str:
    """The expression with the recorded series it reads replaced by their expressions."""
    for record, body in sorted(RECORDS.items(), key=lambda item: -len(item[0])):
        expr = expr.replace(record, f"({body})")
    return expr


def test_promtool_check_rules() -> None:
    result = subprocess.run(
        [str(tool("promtool")), "check", "rules", str(RULES)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"SUCCESS: {len(RULE_LIST)} rules found" in result.stdout


def test_promtool_unit_tests() -> None:
    result = subprocess.run(
        [str(tool("promtool")), "test", "rules", str(RULE_TESTS)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "SUCCESS" in result.stdout


def test_every_alert_has_unit_tests_for_each_name_set() -> None:
    """A firing and a quiet case per alert; an alert on the GenAI duration metrics fires in
    one case on the default names and in another on the latest names."""
    tests = yaml.safe_load(RULE_TESTS.read_text(encoding="utf-8"))["tests"]
    fires: dict[str, set[str]] = {name: set() for name in ALERTS}
    quiet: set[str] = set()
    for case in tests:
        series = " ".join(s["series"] for s in case["input_series"])
        names = {
            "default" if series_name.startswith(DEFAULT_NAMES) else "latest"
            for series_name in re.findall(r"(gen_ai_client_\w+)\{", series)
            if series_name.startswith(DEFAULT_NAMES + LATEST_NAMES)
        } or {"both"}
        for check in case["alert_rule_test"]:
            if check.get("exp_alerts"):
                fires[check["alertname"]].update(names)
            else:
                quiet.add(check["alertname"])
    for name, expr in ALERTS.items():
        assert fires[name], f"{name} never fires in {RULE_TESTS.name}"
        if "gen_ai_client_" in reads(expr):
            assert fires[name] >= {"default", "latest"}, (name, fires[name])
    assert quiet == set(ALERTS)


@pytest.mark.parametrize("mode", MODES)
def test_prometheus_loaded_every_rule_and_each_evaluates(stack: Stack, mode: str) -> None:
    groups = stack.prometheus(mode).api("rules")["groups"]
    loaded = {rule["name"]: rule for group in groups for rule in group["rules"]}
    assert set(loaded) == {name_of(rule) for rule in RULE_LIST}
    for name, rule in loaded.items():
        assert rule["health"] == "ok", (name, rule.get("lastError"))


@pytest.mark.parametrize(("name", "mode"), CASES, ids=[f"{n} {m}" for n, m in CASES])
def test_rule_expression_returns_series(stack: Stack, name: str, mode: str) -> None:
    prometheus = stack.prometheus(mode)
    expr = RECORDS.get(name) or without_threshold(ALERTS[name])
    result = prometheus.query(expr)
    assert result, f"{name}: {expr}: no series\n{why_empty(prometheus, reads(expr))}"
    assert finite(result), (name, result)


@pytest.mark.parametrize("mode", MODES)
def test_recorded_series_are_in_prometheus(stack: Stack, mode: str) -> None:
    """Prometheus itself evaluated every recording rule on the scraped data."""
    prometheus = stack.prometheus(mode)
    for record, expr in RECORDS.items():
        assert prometheus.query(record), f"{record} not recorded\n{why_empty(prometheus, expr)}"


@pytest.mark.parametrize("mode", MODES)
def test_the_error_alert_is_raised_by_the_real_traffic(stack: Stack, mode: str) -> None:
    """The model that always fails trips the error ratio alert (pending: it needs 10 minutes
    to fire); the traffic is far below every other threshold."""
    alerts = stack.prometheus(mode).api("alerts")["alerts"]
    active = {
        (a["labels"]["alertname"], a["labels"].get("gen_ai_request_model"), a["state"])
        for a in alerts
    }
    assert active == {("LiteLLMHighErrorRatio", "error-500", "pending")}, alerts
