"""The alert rules are valid and do what they say: promtool (built from the pinned Prometheus module) checks them
and runs their unit tests (`infra/prometheus/tests/*_test.yml`); every alert has a case where it fires; the compose
Prometheus and Grafana read what is in the repo."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from infra import versions
from infra.prometheus import HERE, RULE_TESTS, RULES, promtool
from infra.settings import REPO_ROOT

GRAFANA = REPO_ROOT / "infra" / "grafana"


@pytest.fixture(scope="module")
def tool() -> Path:
    return promtool()


def run(tool: Path, *args: str | Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(tool), *map(str, args)], capture_output=True, text=True, cwd=HERE, timeout=120)


def alerts() -> list[str]:
    return [rule["alert"] for path in RULES for group in yaml.safe_load(path.read_text())["groups"]
            for rule in group["rules"] if "alert" in rule]  # fmt: skip


def test_promtool_checks_the_rules(tool: Path) -> None:
    result = run(tool, "check", "rules", *RULES)
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"SUCCESS: {len(alerts())} rules found" in result.stdout


def test_promtool_runs_the_rule_unit_tests(tool: Path) -> None:
    result = run(tool, "test", "rules", *RULE_TESTS)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "SUCCESS" in result.stdout


def test_a_broken_expectation_fails_promtool(tool: Path, tmp_path: Path) -> None:
    """The unit tests can fail: the same cases with one expected alert dropped do."""
    case: dict[str, Any] = yaml.safe_load(RULE_TESTS[0].read_text())
    firing = next(t for test in case["tests"] for t in test["alert_rule_test"] if t.get("exp_alerts"))
    firing["exp_alerts"] = []
    case["rule_files"] = [str(path) for path in RULES]
    broken = tmp_path / "broken_test.yml"
    broken.write_text(yaml.safe_dump(case))
    result = run(tool, "test", "rules", broken)
    assert result.returncode != 0
    assert firing["alertname"] in result.stdout + result.stderr


def test_every_alert_fires_in_some_unit_test() -> None:
    fired = {
        check["alertname"]
        for path in RULE_TESTS
        for test in yaml.safe_load(path.read_text())["tests"]
        for check in test.get("alert_rule_test", [])
        if check.get("exp_alerts")
    }
    assert set(alerts()) <= fired, f"alerts never shown firing: {sorted(set(alerts()) - fired)}"


def test_the_compose_prometheus_config_is_valid(tool: Path) -> None:
    result = run(tool, "check", "config", HERE / "prometheus.yml")
    assert result.returncode == 0, result.stdout + result.stderr


def test_compose_runs_the_prometheus_release_of_the_pinned_promtool() -> None:
    """Module v0.3MM.P is Prometheus 3.MM.P: the rules are checked by the same release that evaluates them."""
    compose = yaml.safe_load((REPO_ROOT / "docker-compose.yml").read_text())["services"]
    minor, patch = versions.PROMETHEUS.removeprefix("v0.3").split(".")
    assert compose["prometheus"]["image"] == f"prom/prometheus:v3.{int(minor)}.{patch}"
    mounts = [str(volume).split(":")[:2] for volume in compose["prometheus"]["volumes"]]
    assert ["./infra/prometheus", "/etc/prometheus"] in mounts


def test_the_dashboard_reads_the_provisioned_datasource() -> None:
    datasource = yaml.safe_load((GRAFANA / "provisioning" / "datasources" / "prometheus.yml").read_text())
    uid = datasource["datasources"][0]["uid"]
    dashboard = json.loads((GRAFANA / "dashboards" / "pipeline.json").read_text())
    panels = [panel for panel in dashboard["panels"] if panel["type"] != "row"]
    assert panels
    assert {panel["datasource"]["uid"] for panel in panels} == {uid}
    assert len({panel["id"] for panel in dashboard["panels"]}) == len(dashboard["panels"])
    assert all(target["expr"] for panel in panels for target in panel["targets"])


def test_the_compose_prometheus_scrapes_every_app_where_it_listens() -> None:
    """Each job's targets are compose services; the workers and the agent listen beyond their container's loopback
    (natively they stay on 127.0.0.1), and the writer reports the relay connector's state from Connect."""
    compose = yaml.safe_load((REPO_ROOT / "docker-compose.yml").read_text())["services"]
    config = yaml.safe_load((HERE / "prometheus.yml").read_text())
    jobs = {
        job["job_name"]: [t for c in job["static_configs"] for t in c["targets"]] for job in config["scrape_configs"]
    }
    assert set(jobs) == {"writer", "readapi", "streams", "webhooks"}
    for job, targets in jobs.items():
        assert {target.split(":")[0] for target in targets} == {job}
        assert job in compose
    assert compose["streams"]["environment"]["CQRS_STREAMS_METRICS_HOST"] == "0.0.0.0"
    assert compose["webhooks"]["environment"]["CQRS_WEBHOOKS_METRICS_HOST"] == "0.0.0.0"
    assert compose["writer"]["environment"]["CQRS_WRITER_RELAY_CONNECT_URL"] == "http://connect:8083"


def test_every_dashboard_query_is_valid_promql(tool: Path, tmp_path: Path) -> None:
    """promtool parses each panel's query (as a recording rule: the same parser Prometheus evaluates it with)."""
    dashboard = json.loads((GRAFANA / "dashboards" / "pipeline.json").read_text())
    queries = [target["expr"] for panel in dashboard["panels"] for target in panel.get("targets", [])]
    rules = [{"record": f"dashboard:query_{index}", "expr": query} for index, query in enumerate(queries)]
    path = tmp_path / "dashboard_queries.yml"
    path.write_text(yaml.safe_dump({"groups": [{"name": "dashboard", "rules": rules}]}))
    result = run(tool, "check", "rules", path)
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"SUCCESS: {len(queries)} rules found" in result.stdout
