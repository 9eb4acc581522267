"""Connector configs are YAML files under configs/: load one, fill its placeholders, hand Connect plain strings."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from connectors.errors import ConnectorNotFound, InvalidConnectorConfig
from connectors.settings import CONFIG_DIR, ConnectorSettings

_PLACEHOLDER = re.compile(r"\{\{(\w+)\}\}")


@dataclass(frozen=True)
class ConnectorConfig:
    name: str
    config: dict[str, str]

    @property
    def connector_class(self) -> str:
        return self.config["connector.class"]


def available(config_dir: Path = CONFIG_DIR) -> list[str]:
    return sorted(path.stem for path in config_dir.glob("*.yaml"))


def load(name: str, settings: ConnectorSettings, config_dir: Path = CONFIG_DIR) -> ConnectorConfig:
    path = config_dir / f"{name}.yaml"
    if not path.exists():
        raise ConnectorNotFound(name, available(config_dir))
    document: dict[str, Any] = yaml.safe_load(path.read_text())
    values = {field: str(value) for field, value in settings.model_dump().items()}
    config = {key: _fill(name, key, str(value), values) for key, value in document["config"].items()}
    return ConnectorConfig(name=document.get("name", name), config=config)


def _fill(name: str, key: str, value: str, values: dict[str, str]) -> str:
    def substitute(match: re.Match[str]) -> str:
        if match.group(1) not in values:
            raise InvalidConnectorConfig(name, {key: [f"unknown placeholder {match.group(0)}"]})
        return values[match.group(1)]

    return _PLACEHOLDER.sub(substitute, value)
