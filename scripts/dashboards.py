"""Writes the Grafana dashboard and the query tables of docs/dashboards.md from one definition.

The panels are declared once below; the dashboard JSON (``docs/dashboards/litellm-otel.json``)
and the tables of ``docs/dashboards.md`` (between the ``<!-- generated: ... -->`` markers, the
alert table read from ``docs/dashboards/alerts.yaml``) are written from them, so the page can't
show a query the dashboard doesn't run. ``--check`` writes nothing and fails when either file
is stale (``tests/test_dashboards.py`` runs it).

Usage: ``python scripts/dashboards.py [--check]``
"""

from __future__ import annotations

import argparse
import html
import json
import re
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[1]
DASHBOARD = ROOT / "docs" / "dashboards" / "litellm-otel.json"
ALERTS = ROOT / "docs" / "dashboards" / "alerts.yaml"
PAGE = ROOT / "docs" / "dashboards.md"

# Every call is timed on exactly one of these: the default mode puts all of them on
# `operation`, the latest mode splits them into `inference` (chat, text completion, Responses),
# `embeddings` and `operation` (the rest). Summing over the three counts each call once in
# either mode, and in a fleet where some services opted in and others not.
CALLS = '{__name__=~"gen_ai_client_(operation|inference|embeddings)_duration_seconds_count"%s}'
DURATION_BUCKETS = (
    '{__name__=~"gen_ai_client_(operation|inference|embeddings)_duration_seconds_bucket"}'
)
FIRST_CHUNK_BUCKETS = (
    '{__name__=~"gen_ai_client_(operation|inference)_time_to_first_chunk_seconds_bucket"}'
)
CHUNK_BUCKETS = (
    '{__name__=~"gen_ai_client_(operation|inference)_time_per_output_chunk_seconds_bucket"}'
)
# Input tokens in the latest mode: the inference counter and the embeddings histogram's sum
# (the default mode's one histogram holds both).
LATEST_INPUT = (
    '{__name__=~"gen_ai_client_inference_usage_input_tokens_total'
    '|gen_ai_client_embeddings_operation_input_tokens_sum"%s}'
)
# Input and output are separate queries: rate() drops the metric name, and the input and
# output counters of one call have the same labels.
LATEST_OUTPUT = "gen_ai_client_inference_usage_output_tokens_total"
DEFAULT_TOKENS = 'gen_ai_client_token_usage_sum{gen_ai_token_type="%s"%s}'
CACHE_READ = "gen_ai_client_inference_usage_cache_read_input_tokens_total"
LATEST_INPUT_COUNTER = "gen_ai_client_inference_usage_input_tokens_total"
COST = "litellm_client_cost_usd_total"
R = "[$__rate_interval]"

MODEL = "gen_ai_request_model"
PROVIDER_MODEL = "gen_ai_provider_name, gen_ai_request_model"
TEAM = "litellm_proxy_team_id, litellm_proxy_team_alias"
KEY = "litellm_proxy_key_alias"
HAS_TEAM = ', litellm_proxy_team_id!=""'
HAS_KEY = ', litellm_proxy_key_alias!=""'


def calls(matchers: str = "") -> str:
    return CALLS % matchers


def calls_rate(by: str | None, matchers: str = "") -> str:
    grouping = f" by ({by}) " if by else ""
    return f"sum{grouping}(rate({calls(matchers)}{R}))"


def error_ratio(by: str | None, matchers: str = "") -> str:
    """Failed calls over all calls; 0 (not no data) where nothing failed."""
    errors = calls_rate(by, f'{matchers}, error_type!=""')
    total = calls_rate(by, matchers)
    return f"({errors} or {total} * 0) / ({total} > 0)"


def quantile(q: float, buckets: str, by: str | None) -> str:
    labels = f"le, {by}" if by else "le"
    return f"histogram_quantile({q}, sum by ({labels}) (rate({buckets}{R})))"


def cost_per_hour(by: str, matchers: str = "") -> str:
    selector = f"{COST}{{{matchers.removeprefix(', ')}}}" if matchers else COST
    return f"sum by ({by}) (rate({selector}{R})) * 3600"


@dataclass(frozen=True)
class Query:
    """One query of a panel. ``ref`` names it in Grafana's query editor; a ref starting with
    ``default`` or ``latest`` is a query on that mode's names only, any other ref a query
    that works in both modes (``tests/prometheus`` checks each against the modes it claims)."""

    ref: str
    expr: str
    legend: str = ""


@dataclass(frozen=True)
class Panel:
    title: str
    description: str
    unit: str
    queries: tuple[Query, ...]
    kind: str = "timeseries"
    width: int = 12
    height: int = 8
    #: Stat panels: the value from which the number turns red.
    red_from: float | None = None


@dataclass(frozen=True)
class Row:
    title: str
    panels: tuple[Panel, ...] = field(default_factory=tuple)


ROWS: tuple[Row, ...] = (
    Row(
        "Overview",
        (
            Panel(
                "Calls per second",
                "Every LiteLLM call (chat, streams, embeddings, images, audio, rerank, "
                "moderation), failed ones included.",
                "reqps",
                (Query("calls", calls_rate(None)),),
                kind="stat",
                width=6,
                height=4,
            ),
            Panel(
                "Error ratio",
                "Share of calls that ended in an error (error.type set).",
                "percentunit",
                (Query("errors", error_ratio(None)),),
                kind="stat",
                width=6,
                height=4,
                red_from=0.05,
            ),
            Panel(
                "Call duration p95",
                "95th percentile of the call duration, streams until their last chunk.",
                "s",
                (Query("p95", quantile(0.95, DURATION_BUCKETS, None)),),
                kind="stat",
                width=6,
                height=4,
            ),
            Panel(
                "Cost over the time range",
                "What LiteLLM computed the calls cost, in USD (litellm.client.cost.usd).",
                "currencyUSD",
                (Query("cost", f"sum(increase({COST}[$__range]))"),),
                kind="stat",
                width=6,
                height=4,
            ),
        ),
    ),
    Row(
        "Calls and errors",
        (
            Panel(
                "Calls per second by provider and model",
                "The request model, as the caller named it (gen_ai.request.model).",
                "reqps",
                (
                    Query(
                        "calls",
                        calls_rate(PROVIDER_MODEL),
                        "{{gen_ai_provider_name}} {{gen_ai_request_model}}",
                    ),
                ),
                width=8,
            ),
            Panel(
                "Errors per second by model and error type",
                "error.type is the exception's class name, or the HTTP status for errors "
                "that came back as a response.",
                "reqps",
                (
                    Query(
                        "errors",
                        calls_rate(f"{MODEL}, error_type", ', error_type!=""'),
                        "{{gen_ai_request_model}}: {{error_type}}",
                    ),
                ),
                width=8,
            ),
            Panel(
                "Error ratio by provider and model",
                "Failed calls over all calls of the model.",
                "percentunit",
                (
                    Query(
                        "ratio",
                        error_ratio(PROVIDER_MODEL),
                        "{{gen_ai_provider_name}} {{gen_ai_request_model}}",
                    ),
                ),
                width=8,
            ),
        ),
    ),
    Row(
        "Latency",
        (
            Panel(
                "Call duration by model (p50, p95)",
                "From the call to its result; for a stream, until the stream ended.",
                "s",
                (
                    Query(
                        "p50",
                        quantile(0.5, DURATION_BUCKETS, MODEL),
                        "p50 {{gen_ai_request_model}}",
                    ),
                    Query(
                        "p95",
                        quantile(0.95, DURATION_BUCKETS, MODEL),
                        "p95 {{gen_ai_request_model}}",
                    ),
                ),
                width=8,
            ),
            Panel(
                "Time to first chunk by model (p50, p95)",
                "Streams only: from the call to the first chunk.",
                "s",
                (
                    Query(
                        "p50",
                        quantile(0.5, FIRST_CHUNK_BUCKETS, MODEL),
                        "p50 {{gen_ai_request_model}}",
                    ),
                    Query(
                        "p95",
                        quantile(0.95, FIRST_CHUNK_BUCKETS, MODEL),
                        "p95 {{gen_ai_request_model}}",
                    ),
                ),
                width=8,
            ),
            Panel(
                "Time per output chunk by model (p50, p95)",
                "Streams only: between consecutive chunks after the first.",
                "s",
                (
                    Query(
                        "p50",
                        quantile(0.5, CHUNK_BUCKETS, MODEL),
                        "p50 {{gen_ai_request_model}}",
                    ),
                    Query(
                        "p95",
                        quantile(0.95, CHUNK_BUCKETS, MODEL),
                        "p95 {{gen_ai_request_model}}",
                    ),
                ),
                width=8,
            ),
        ),
    ),
    Row(
        "Tokens",
        (
            Panel(
                "Tokens per second by model (input, output)",
                "Default mode: the gen_ai.client.token.usage histogram (all operations). "
                "Latest mode: the usage counters (inference) and the embeddings' input-token "
                "histogram. A mixed fleet shows both.",
                "short",
                (
                    Query(
                        "default_input",
                        f"sum by ({MODEL}) (rate({DEFAULT_TOKENS % ('input', '')}{R}))",
                        "{{gen_ai_request_model}} input",
                    ),
                    Query(
                        "default_output",
                        f"sum by ({MODEL}) (rate({DEFAULT_TOKENS % ('output', '')}{R}))",
                        "{{gen_ai_request_model}} output",
                    ),
                    Query(
                        "latest_input",
                        f"sum by ({MODEL}) (rate({LATEST_INPUT % ''}{R}))",
                        "{{gen_ai_request_model}} input",
                    ),
                    Query(
                        "latest_output",
                        f"sum by ({MODEL}) (rate({LATEST_OUTPUT}{R}))",
                        "{{gen_ai_request_model}} output",
                    ),
                ),
            ),
            Panel(
                "Prompt-cache share of input tokens by model",
                "Input tokens the provider read from its prompt cache, over all input tokens. "
                "Latest mode only: the default names carry no cache counts.",
                "percentunit",
                (
                    Query(
                        "latest_cache_read",
                        f"sum by ({MODEL}) (rate({CACHE_READ}{R}))"
                        f" / (sum by ({MODEL}) (rate({LATEST_INPUT_COUNTER}{R})) > 0)",
                        "{{gen_ai_request_model}}",
                    ),
                ),
            ),
        ),
    ),
    Row(
        "Cost",
        (
            Panel(
                "Cost per hour by provider and model (USD)",
                "litellm.client.cost.usd, the cost LiteLLM computed per call; the same name "
                "in both modes.",
                "currencyUSD",
                (
                    Query(
                        "cost",
                        cost_per_hour(PROVIDER_MODEL),
                        "{{gen_ai_provider_name}} {{gen_ai_request_model}}",
                    ),
                ),
            ),
            Panel(
                "Average cost per call by model (USD)",
                "Cost over calls, failed calls included (they cost nothing).",
                "currencyUSD",
                (
                    Query(
                        "cost_per_call",
                        f"sum by ({MODEL}) (rate({COST}{R})) / ({calls_rate(MODEL)} > 0)",
                        "{{gen_ai_request_model}}",
                    ),
                ),
            ),
        ),
    ),
    Row(
        "LiteLLM Proxy: teams and keys",
        (
            Panel(
                "Calls per second by team",
                "Proxy only: the virtual key's team (litellm.proxy.team_id / team_alias). "
                "_OTHER collects the teams past the identity limit.",
                "reqps",
                (
                    Query(
                        "calls",
                        calls_rate(TEAM, HAS_TEAM),
                        "{{litellm_proxy_team_alias}} ({{litellm_proxy_team_id}})",
                    ),
                ),
                width=8,
            ),
            Panel(
                "Cost per hour by team (USD)",
                "Proxy only.",
                "currencyUSD",
                (
                    Query(
                        "cost",
                        cost_per_hour(TEAM, HAS_TEAM),
                        "{{litellm_proxy_team_alias}} ({{litellm_proxy_team_id}})",
                    ),
                ),
                width=8,
            ),
            Panel(
                "Cost per hour by key alias (USD)",
                "Proxy only: the virtual key's alias (litellm.proxy.key_alias).",
                "currencyUSD",
                (Query("cost", cost_per_hour(KEY, HAS_KEY), "{{litellm_proxy_key_alias}}"),),
                width=8,
            ),
            Panel(
                "Tokens per second by key alias (input, output)",
                "Proxy only. Default and latest names as in the Tokens row.",
                "short",
                (
                    Query(
                        "default_input",
                        f"sum by ({KEY}) (rate({DEFAULT_TOKENS % ('input', HAS_KEY)}{R}))",
                        "{{litellm_proxy_key_alias}} input",
                    ),
                    Query(
                        "default_output",
                        f"sum by ({KEY}) (rate({DEFAULT_TOKENS % ('output', HAS_KEY)}{R}))",
                        "{{litellm_proxy_key_alias}} output",
                    ),
                    Query(
                        "latest_input",
                        f"sum by ({KEY}) (rate({LATEST_INPUT % HAS_KEY}{R}))",
                        "{{litellm_proxy_key_alias}} input",
                    ),
                    Query(
                        "latest_output",
                        f"sum by ({KEY}) (rate({LATEST_OUTPUT}{{{HAS_KEY[2:]}}}{R}))",
                        "{{litellm_proxy_key_alias}} output",
                    ),
                ),
            ),
            Panel(
                "Error ratio by key alias",
                "Proxy only: calls made with the key that failed.",
                "percentunit",
                (Query("ratio", error_ratio(KEY, HAS_KEY), "{{litellm_proxy_key_alias}}"),),
            ),
        ),
    ),
)

DATASOURCE = {"type": "prometheus", "uid": "${datasource}"}


def _target(query: Query, instant: bool) -> dict[str, Any]:
    return {
        "refId": query.ref,
        "datasource": DATASOURCE,
        "editorMode": "code",
        "expr": query.expr,
        "legendFormat": query.legend or "__auto",
        "range": not instant,
        "instant": instant,
    }


def _panel(panel: Panel, panel_id: int, x: int, y: int) -> dict[str, Any]:
    steps: list[dict[str, Any]] = [{"color": "green", "value": None}]
    if panel.red_from is not None:
        steps.append({"color": "red", "value": panel.red_from})
    defaults: dict[str, Any] = {
        "unit": panel.unit,
        "thresholds": {"mode": "absolute", "steps": steps},
    }
    if panel.kind == "stat":
        defaults["color"] = {"mode": "thresholds"}
        options: dict[str, Any] = {
            "reduceOptions": {"calcs": ["lastNotNull"], "fields": "", "values": False},
            "colorMode": "value",
            "graphMode": "area",
            "justifyMode": "auto",
            "orientation": "auto",
            "textMode": "auto",
        }
    else:
        defaults["color"] = {"mode": "palette-classic"}
        defaults["custom"] = {
            "drawStyle": "line",
            "lineWidth": 1,
            "fillOpacity": 10,
            "showPoints": "never",
            "spanNulls": False,
        }
        options = {
            "legend": {
                "displayMode": "table",
                "placement": "bottom",
                "calcs": ["mean", "max"],
                "showLegend": True,
            },
            "tooltip": {"mode": "multi", "sort": "desc"},
        }
    return {
        "id": panel_id,
        "type": panel.kind,
        "title": panel.title,
        "description": panel.description,
        "datasource": DATASOURCE,
        "gridPos": {"h": panel.height, "w": panel.width, "x": x, "y": y},
        "fieldConfig": {"defaults": defaults, "overrides": []},
        "options": options,
        "targets": [_target(q, instant=panel.kind == "stat") for q in panel.queries],
    }


def dashboard() -> dict[str, Any]:
    panels: list[dict[str, Any]] = []
    next_id = 1
    y = 0
    for row in ROWS:
        panels.append(
            {
                "id": next_id,
                "type": "row",
                "title": row.title,
                "collapsed": False,
                "gridPos": {"h": 1, "w": 24, "x": 0, "y": y},
                "panels": [],
            }
        )
        next_id += 1
        y += 1
        x = 0
        line_height = 0
        for panel in row.panels:
            if x + panel.width > 24:
                x = 0
                y += line_height
                line_height = 0
            panels.append(_panel(panel, next_id, x, y))
            next_id += 1
            x += panel.width
            line_height = max(line_height, panel.height)
        y += line_height
    return {
        "title": "LiteLLM (OpenTelemetry GenAI metrics)",
        "uid": "litellm-otel",
        "description": (
            "Calls, errors, latency, tokens and cost of LiteLLM calls instrumented by "
            "litellm-otel, from the OpenTelemetry Prometheus names of both the default and "
            "the latest (OTEL_SEMCONV_STABILITY_OPT_IN=gen_ai_latest_experimental) GenAI "
            "conventions. Generated by scripts/dashboards.py."
        ),
        "tags": ["litellm", "opentelemetry", "genai", "llm"],
        "editable": True,
        "graphTooltip": 1,
        "schemaVersion": 39,
        "version": 1,
        "time": {"from": "now-6h", "to": "now"},
        "refresh": "30s",
        "timezone": "browser",
        "links": [],
        "annotations": {"list": []},
        "templating": {
            "list": [
                {
                    "name": "datasource",
                    "label": "Data source",
                    "type": "datasource",
                    "query": "prometheus",
                    "current": {},
                    "hide": 0,
                    "refresh": 1,
                    "regex": "",
                    "options": [],
                },
                {
                    "name": "filters",
                    "label": "Filters",
                    "description": (
                        "Narrow every panel by any label: gen_ai_request_model, "
                        "gen_ai_provider_name, litellm_proxy_team_id, service_name, ..."
                    ),
                    "type": "adhoc",
                    "datasource": DATASOURCE,
                    "filters": [],
                    "hide": 0,
                },
            ]
        },
        "panels": panels,
    }


def _cell(text: str) -> str:
    return text.replace("|", "&#124;")


#: What Markdown would read inside an HTML ``<code>`` (``__name__`` as bold, ``[...]`` links).
_MARKDOWN = {"|": "&#124;", "_": "&#95;", "*": "&#42;", "[": "&#91;", "]": "&#93;"}


def _code(text: str) -> str:
    """Inline code for a table cell. Python-Markdown keeps the backslash of ``\\|`` inside
    backticks, so a query with ``|`` would render wrong there: HTML code with entities."""
    if not text:
        return ""
    escaped = html.escape(text, quote=False)
    return "<code>" + "".join(_MARKDOWN.get(c, c) for c in escaped) + "</code>"


def queries_table() -> str:
    lines = [
        "| panel | query | names |",
        "|---|---|---|",
    ]
    for row in ROWS:
        for panel in row.panels:
            for query in panel.queries:
                if query.ref.startswith("default"):
                    names = "default"
                elif query.ref.startswith("latest"):
                    names = "latest"
                else:
                    names = "both"
                lines.append(
                    f"| {_cell(panel.title)} ({query.ref}) | {_code(query.expr)} | {names} |"
                )
    return "\n".join(lines)


def alerts_table() -> str:
    rules = yaml.safe_load(ALERTS.read_text(encoding="utf-8"))
    lines = ["| rule | expression | for | severity |", "|---|---|---|---|"]
    for group in rules["groups"]:
        for rule in group["rules"]:
            name = rule.get("alert") or rule["record"]
            kind = "alert" if "alert" in rule else "record"
            lines.append(
                f"| {kind} `{name}` | {_code(' '.join(str(rule['expr']).split()))} "
                f"| {rule.get('for', '')} | {rule.get('labels', {}).get('severity', '')} |"
            )
    return "\n".join(lines)


def _replace_section(page: str, name: str, body: str) -> str:
    start, end = f"<!-- generated: {name} -->", f"<!-- end generated: {name} -->"
    pattern = re.compile(re.escape(start) + ".*?" + re.escape(end), re.DOTALL)
    if not pattern.search(page):
        raise SystemExit(f"{PAGE}: no {start} ... {end} section")
    return pattern.sub(lambda _: f"{start}\n\n{body}\n\n{end}", page)


def main() -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--check", action="store_true", help="fail if a file is stale")
    args = parser.parse_args()
    wanted = {
        DASHBOARD: json.dumps(dashboard(), indent=2) + "\n",
        PAGE: _replace_section(
            _replace_section(PAGE.read_text(encoding="utf-8"), "queries", queries_table()),
            "alerts",
            alerts_table(),
        ),
    }
    stale = [
        path
        for path, text in wanted.items()
        if not path.exists() or path.read_text(encoding="utf-8") != text
    ]
    if args.check:
        for path in stale:
            sys.stderr.write(
                f"{path.relative_to(ROOT)} is stale: run python scripts/dashboards.py\n"
            )
        return 1 if stale else 0
    for path in stale:
        path.write_text(wanted[path], encoding="utf-8")
        sys.stdout.write(f"wrote {path.relative_to(ROOT)}\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
