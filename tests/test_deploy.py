"""The deployment files agree with turnout: the ConfigMap's turnout.yaml loads, the grace period covers the drain,
the probes ask for paths the gateway serves, the Secret's keys are the ones the Deployment reads."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from turnout.config import load_config

DEPLOY = Path(__file__).resolve().parents[1] / "deploy"


def _manifest(name: str) -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load((DEPLOY / "k8s" / name).read_text(encoding="utf-8"))
    return loaded


def test_the_configmap_config_loads_and_the_pod_waits_long_enough_for_the_drain(tmp_path: Path) -> None:
    config = tmp_path / "turnout.yaml"
    config.write_text(_manifest("configmap.yaml")["data"]["turnout.yaml"], encoding="utf-8")
    secret = _manifest("secret.example.yaml")["stringData"]
    cfg = load_config(
        config, env={"TURNOUT_STORE_URL": secret["store-url"], "TURNOUT_ADMIN_TOKEN": secret["admin-token"]}
    )
    assert cfg.store.url.startswith("postgresql+psycopg://") and cfg.server.port == 4000
    assert cfg.log_format == "json" and cfg.server.drain_delay > 0
    pod = _manifest("deployment.yaml")["spec"]["template"]["spec"]
    # SIGTERM: drain_delay, then running requests (shutdown_timeout), then up to 5 s of comparisons, then the flush
    assert pod["terminationGracePeriodSeconds"] >= cfg.server.drain_delay + cfg.server.shutdown_timeout + 5
    [container] = pod["containers"]
    assert container["readinessProbe"]["httpGet"]["path"] == "/ready"
    assert container["livenessProbe"]["httpGet"]["path"] == "/health"
    assert container["ports"][0]["containerPort"] == cfg.server.port
    readiness = container["readinessProbe"]
    # a load balancer hears of SIGTERM within the drain delay
    assert readiness["periodSeconds"] * readiness["failureThreshold"] < cfg.server.drain_delay
    keys = {e["valueFrom"]["secretKeyRef"]["key"] for e in container["env"] if "valueFrom" in e}
    assert keys == set(secret)
    assert container["securityContext"]["readOnlyRootFilesystem"] and pod["securityContext"]["runAsNonRoot"]


def test_the_image_runs_as_the_user_the_pod_expects() -> None:
    dockerfile = (DEPLOY / "Dockerfile").read_text(encoding="utf-8")
    pod = _manifest("deployment.yaml")["spec"]["template"]["spec"]
    assert f"USER {pod['securityContext']['runAsUser']}:{pod['securityContext']['runAsGroup']}" in dockerfile
    assert dockerfile.count("FROM ") == 2  # two stages: the build's tools stay out of the image
