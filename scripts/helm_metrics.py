"""The chart's metrics wiring, for helm_check.py: the `metrics` port on the container and the
Service, TESSERA_METRICS_LISTEN, the NetworkPolicy rule, and the ServiceMonitor.

kubernetes-validate ships no schema for prometheus-operator's CRDs, so the ServiceMonitor is
checked here field by field against what the operator reads (monitoring.coreos.com/v1:
spec.selector, spec.namespaceSelector.matchNames, spec.endpoints[].port/path/interval).
"""

from __future__ import annotations

from typing import Any

METRICS_PORT = 9464
# prometheus-operator's ServiceMonitor (below) and cert-manager's Certificate (helm_tls.py).
CRD_GROUPS = ("monitoring.coreos.com/", "cert-manager.io/")


def is_crd_object(obj: dict) -> bool:
    """Objects of CRDs kubernetes-validate has no schema for (checked by hand below)."""
    return str(obj.get("apiVersion", "")).startswith(CRD_GROUPS)


def one_crd_object(r: Any, p: str, out: Any, kind: str, *, wanted: bool, absent_why: str,
                   api_version: str, namespace: str) -> dict | None:
    """The one object of a CRD kind, in the release's namespace, when `wanted`; else checks
    there is none. `None` when absent (or not exactly one)."""
    objs = out.of_kind(kind)
    if not wanted:
        r.check(f"{p} no {kind} {absent_why}", not objs, str(len(objs)))
        return None
    if not r.check(f"{p} one {kind}", len(objs) == 1, str(len(objs))):
        return None
    obj = objs[0]
    r.check(f"{p} {kind} is {api_version} in {namespace}",
            obj.get("apiVersion") == api_version and obj["metadata"].get("namespace") == namespace)
    return obj


def check_metrics(r: Any, sc: str, out: Any, *, release: str, namespace: str,
                  enabled: bool = True, service_monitor: bool = False,
                  monitor_labels: dict | None = None) -> None:
    p = f"[{sc}]"
    deploy = out.one("Deployment", release)
    c = next(x for x in deploy["spec"]["template"]["spec"]["containers"] if x["name"] == "tessera")
    ports = {x["name"]: x for x in c.get("ports") or []}
    data = out.one("ConfigMap", release).get("data") or {}
    svc = out.one("Service", release)
    svc_ports = {x["name"]: x for x in svc["spec"].get("ports") or []}
    monitors = out.of_kind("ServiceMonitor")
    if not enabled:
        r.check(f"{p} metrics off: no metrics port, TESSERA_METRICS_LISTEN empty, no ServiceMonitor",
                "metrics" not in ports and "metrics" not in svc_ports
                and data.get("TESSERA_METRICS_LISTEN") == "" and not monitors,
                f"{sorted(ports)} {sorted(svc_ports)} {data.get('TESSERA_METRICS_LISTEN')!r} {len(monitors)}")
        return
    r.check(f"{p} container port metrics={METRICS_PORT}",
            (ports.get("metrics") or {}).get("containerPort") == METRICS_PORT, str(c.get("ports")))
    r.check(f"{p} ConfigMap: TESSERA_METRICS_LISTEN=0.0.0.0:{METRICS_PORT}",
            data.get("TESSERA_METRICS_LISTEN") == f"0.0.0.0:{METRICS_PORT}")
    r.check(f"{p} metrics is not the OAuth http port",
            data.get("TESSERA_METRICS_LISTEN") != data.get("TESSERA_HTTP_LISTEN"))
    r.check(f"{p} Service port metrics to the container's metrics",
            (svc_ports.get("metrics") or {}).get("targetPort") == "metrics", str(svc_ports))

    policies = out.of_kind("NetworkPolicy")
    for pol in policies:
        opened = [pt.get("port") for rule in pol["spec"].get("ingress") or [] for pt in rule.get("ports") or []]
        r.check(f"{p} NetworkPolicy opens the metrics port", "metrics" in opened, str(opened))

    sm = one_crd_object(r, p, out, "ServiceMonitor", wanted=service_monitor,
                        absent_why="unless metrics.serviceMonitor.enabled",
                        api_version="monitoring.coreos.com/v1", namespace=namespace)
    if sm is None:
        return
    spec = sm.get("spec") or {}
    wanted = (spec.get("selector") or {}).get("matchLabels") or {}
    svc_labels = svc["metadata"].get("labels") or {}
    r.check(f"{p} ServiceMonitor selects the Service",
            bool(wanted) and all(svc_labels.get(k) == v for k, v in wanted.items()), str(wanted))
    r.check(f"{p} ServiceMonitor looks in the release namespace",
            (spec.get("namespaceSelector") or {}).get("matchNames") == [namespace])
    endpoints = spec.get("endpoints") or []
    r.check(f"{p} ServiceMonitor scrapes port metrics at /metrics",
            len(endpoints) == 1 and endpoints[0].get("port") == "metrics"
            and endpoints[0].get("path") == "/metrics" and endpoints[0].get("scheme") == "http",
            str(endpoints))
    known = {"port", "path", "scheme", "interval", "scrapeTimeout"}
    r.check(f"{p} ServiceMonitor endpoint has only fields the CRD defines",
            all(set(e) <= known for e in endpoints), str(endpoints))
    labels = sm["metadata"].get("labels") or {}
    r.check(f"{p} ServiceMonitor carries metrics.serviceMonitor.labels",
            all(labels.get(k) == v for k, v in (monitor_labels or {}).items()), str(labels))
