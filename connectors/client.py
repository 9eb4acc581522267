"""A small client for Kafka Connect's REST API (httpx), turning its failures into named errors."""

from __future__ import annotations

import time
from typing import Any

import httpx

from connectors.config import ConnectorConfig
from connectors.errors import ConnectorNotFound, ConnectRequestFailed, ConnectUnreachable, InvalidConnectorConfig


class ConnectClient:
    def __init__(self, base_url: str, timeout_s: float = 30.0) -> None:
        self.base_url = base_url.rstrip("/")
        self._http = httpx.Client(base_url=self.base_url, timeout=timeout_s)

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> ConnectClient:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    def _request(self, method: str, path: str, json: Any = None, missing: str | None = None) -> Any:
        try:
            response = self._http.request(method, path, json=json)
        except httpx.TransportError as error:
            raise ConnectUnreachable(self.base_url, type(error).__name__) from error
        if response.status_code == 404 and missing is not None:
            raise ConnectorNotFound(missing, self.connectors())
        if response.status_code >= 400:
            try:
                message = response.json().get("message", response.text)
            except ValueError:
                message = response.text
            raise ConnectRequestFailed(method, path, response.status_code, message)
        return response.json() if response.content else None

    def connectors(self) -> list[str]:
        return sorted(self._request("GET", "/connectors"))

    def plugins(self) -> list[dict[str, str]]:
        return list(self._request("GET", "/connector-plugins?connectorsOnly=false"))

    def validate(self, connector: ConnectorConfig) -> None:
        """Ask Connect itself (the plugin's own ConfigDef) whether the config is valid; raise with per-field errors."""
        plugin = connector.connector_class.rsplit(".", 1)[-1]
        body = {**connector.config, "name": connector.name}
        try:
            result = self._request("PUT", f"/connector-plugins/{plugin}/config/validate", json=body)
        except ConnectRequestFailed as error:
            raise InvalidConnectorConfig(connector.name, {"connector.class": [error.args[0]]}) from error
        errors = {
            item["value"]["name"]: item["value"]["errors"] for item in result["configs"] if item["value"]["errors"]
        }
        if result["error_count"] and not errors:
            errors = {"config": [f"{result['error_count']} error(s) reported without a field"]}
        if errors:
            raise InvalidConnectorConfig(connector.name, errors)

    def put_config(self, connector: ConnectorConfig) -> dict[str, Any]:
        """Create or update (PUT is idempotent: the same config twice changes nothing)."""
        return dict(self._request("PUT", f"/connectors/{connector.name}/config", json=connector.config))

    def status(self, name: str) -> dict[str, Any]:
        return dict(self._request("GET", f"/connectors/{name}/status", missing=name))

    def wait_running(self, name: str, timeout_s: float = 60.0, failed_grace_s: float = 10.0) -> dict[str, Any]:
        """Poll until the connector and all its tasks run. A task still FAILED after `failed_grace_s` raises with its
        trace (a restart just requested shows the old FAILED state for a moment)."""
        started = time.monotonic()
        deadline = started + timeout_s
        while True:
            try:
                state = self.status(name)
            except (ConnectorNotFound, ConnectRequestFailed):
                state = {"connector": {"state": "UNASSIGNED"}, "tasks": []}
            tasks = state["tasks"]
            failed = [task for task in tasks if task["state"] == "FAILED"]
            if failed and time.monotonic() - started > failed_grace_s:
                trace = (failed[0].get("trace") or "").splitlines()[:3]
                raise ConnectRequestFailed("GET", f"/connectors/{name}/status", 200, "task failed: " + " ".join(trace))
            if state["connector"]["state"] == "RUNNING" and tasks and all(t["state"] == "RUNNING" for t in tasks):
                return state
            if time.monotonic() > deadline:
                raise ConnectRequestFailed("GET", f"/connectors/{name}/status", 200, f"not running after {timeout_s} s")
            time.sleep(0.5)

    def restart(self, name: str) -> None:
        self._request("POST", f"/connectors/{name}/restart?includeTasks=true&onlyFailed=false", missing=name)

    def restart_failed(self, name: str) -> None:
        """Restart the connector's FAILED tasks, if any. A connector Connect has only just been given shows up
        moments later (404 until then): it has nothing failed to restart."""
        try:
            self._request("POST", f"/connectors/{name}/restart?includeTasks=true&onlyFailed=true", missing=name)
        except ConnectorNotFound:
            return

    def pause(self, name: str) -> None:
        self._request("PUT", f"/connectors/{name}/pause", missing=name)

    def resume(self, name: str) -> None:
        self._request("PUT", f"/connectors/{name}/resume", missing=name)

    def delete(self, name: str) -> None:
        self._request("DELETE", f"/connectors/{name}", missing=name)
