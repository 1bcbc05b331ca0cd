"""The dashboard and the alert rules as files: generated and documented, well-formed for
Grafana and Prometheus. Whether their queries find data is the Prometheus tier's job
(tests/prometheus/, ``make test-prometheus``)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[1]
DASHBOARD = ROOT / "docs" / "dashboards" / "litellm-otel.json"
RULES = ROOT / "docs" / "dashboards" / "alerts.yaml"
DATASOURCE = {"type": "prometheus", "uid": "${datasource}"}


def load_dashboard() -> dict[str, Any]:
    return json.loads(DASHBOARD.read_text(encoding="utf-8"))


def test_dashboard_and_docs_tables_are_generated_from_the_panel_definitions() -> None:
    result = subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "dashboards.py"), "--check"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_every_panel_queries_the_chosen_data_source() -> None:
    dashboard = load_dashboard()
    variables = {v["name"]: v for v in dashboard["templating"]["list"]}
    assert variables["datasource"]["type"] == "datasource"
    assert variables["datasource"]["query"] == "prometheus"
    assert variables["filters"]["type"] == "adhoc"
    panels = [p for p in dashboard["panels"] if p["type"] != "row"]
    for panel in panels:
        assert panel["datasource"] == DATASOURCE, panel["title"]
        refs = [t["refId"] for t in panel["targets"]]
        assert len(refs) == len(set(refs)), panel["title"]
        for target in panel["targets"]:
            assert target["datasource"] == DATASOURCE, panel["title"]
            assert target["expr"].strip(), panel["title"]
            # A stat panel shows one number: an instant query.
            assert target["instant"] is (panel["type"] == "stat"), panel["title"]


def test_panels_tile_the_grid_without_overlapping() -> None:
    dashboard = load_dashboard()
    ids = [p["id"] for p in dashboard["panels"]]
    assert len(ids) == len(set(ids))
    cells: dict[tuple[int, int], str] = {}
    for panel in dashboard["panels"]:
        grid = panel["gridPos"]
        assert grid["x"] + grid["w"] <= 24, panel["title"]
        for x in range(grid["x"], grid["x"] + grid["w"]):
            for y in range(grid["y"], grid["y"] + grid["h"]):
                assert (x, y) not in cells, (panel["title"], cells.get((x, y)))
                cells[(x, y)] = panel["title"]


def test_the_dashboard_covers_what_issue_18_asks_for() -> None:
    text = json.dumps(load_dashboard())
    for wanted in (
        "error_type",  # errors
        "histogram_quantile(0.5,",  # p50
        "histogram_quantile(0.95,",  # p95
        "time_to_first_chunk",
        'gen_ai_token_type=\\"input\\"',  # tokens in, default names
        "gen_ai_client_inference_usage_output_tokens_total",  # tokens out, latest names
        "cache_read_input_tokens_total",
        "litellm_client_cost_usd_total",
        "gen_ai_provider_name",
        "litellm_proxy_team_id",
        "litellm_proxy_key_alias",
    ):
        assert wanted in text, wanted


def test_every_alert_says_what_and_how_bad() -> None:
    groups = yaml.safe_load(RULES.read_text(encoding="utf-8"))["groups"]
    alerts = [rule for group in groups for rule in group["rules"] if "alert" in rule]
    assert {a["alert"] for a in alerts} == {
        "LiteLLMHighErrorRatio",
        "LiteLLMSlowCalls",
        "LiteLLMSlowFirstChunk",
        "LiteLLMCostBurn",
        "LiteLLMTeamCostBurn",
    }
    for alert in alerts:
        assert alert["labels"]["severity"] in {"warning", "critical"}, alert["alert"]
        assert alert["annotations"]["summary"], alert["alert"]
        assert alert["annotations"]["description"], alert["alert"]
        assert alert["for"], alert["alert"]
