"""Prometheus for operators: alert rules (`rules/`), their unit tests (`tests/`, run by `promtool test rules`), the
scrape configuration of the compose stack (`prometheus.yml`), and promtool itself, built once per version."""

from __future__ import annotations

from pathlib import Path

from infra import versions
from infra.install import go_install
from infra.settings import stack_settings

HERE = Path(__file__).parent
RULES = sorted((HERE / "rules").glob("*.yml"))
RULE_TESTS = sorted((HERE / "tests").glob("*_test.yml"))
PROMTOOL_PACKAGE = "github.com/prometheus/prometheus/cmd/promtool"


# Without the cloud service discoveries (AWS, Azure, GCE, Kubernetes, …: most of Prometheus' dependencies), which
# checking and testing rules never use: the build takes a fraction of the time. Static and file discovery stay.
PROMTOOL_TAGS = ("remove_all_sd",)


def promtool() -> Path:
    """The pinned promtool (`go install` from the module proxy into the per-user cache on first use)."""
    return go_install("promtool", PROMTOOL_PACKAGE, versions.PROMETHEUS, stack_settings().cache_dir, PROMTOOL_TAGS)
