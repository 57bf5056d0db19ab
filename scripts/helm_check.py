#!/usr/bin/env python3
"""Offline check of the Helm chart in helm/tessera: no cluster, no helm binary, no Docker.

    pip install -r scripts/helm-requirements.txt
    python3 scripts/helm_check.py [--chart helm/tessera] [-v] [-o DIR]

Helm itself comes from the helm-python-sdk wheel (Helm's Go SDK built as a shared library and
driven through ctypes); the Kubernetes OpenAPI schemas come from the kubernetes-validate wheel.

What it checks, each as a named pass/fail line:
  1. `helm lint --strict` with the default values and with the CI values (warnings fail).
  2. Renders the chart like `helm install --dry-run=client` (which also enforces the chart's
     kubeVersion and values.schema.json), and renders every template including hooks and
     `helm test` pods, for these scenarios:
       sqlite-default   the default values (SQLite, one replica, a PVC)
       sqlite-ephemeral SQLite with persistence off (an emptyDir at /data)
       postgres-ha      helm/tessera/ci/postgres-ha-values.yaml (PostgreSQL, 3 replicas,
                        autoscaling, NetworkPolicy: every optional template)
       postgres-existing-secret  PostgreSQL reading a pre-made Secret
       servicemonitor   metrics.serviceMonitor and a NetworkPolicy (helm_metrics.py checks
                        the ServiceMonitor by hand: kubernetes-validate has no CRD schemas)
       metrics-off      metrics.enabled=false
       tls-existing-secret-mtls  tls.existingSecret with clientAuth (helm_tls.py checks the mount,
                        the exec probes, the Service's appProtocol)
       tls-cert-manager  tls.certManager.issuerRef on Postgres: a cert-manager Certificate
  3. Validates every rendered object against the Kubernetes schemas (strict: an unknown field,
     such as a misspelt probe key, is an error) for the oldest version the scenario supports
     and the newest version kubernetes-validate ships.
  4. Asserts facts about the rendered objects (gRPC probes, hardened securityContext, the
     Service's grpc port, the migration hook and what it may depend on, ...).
  5. Asserts that bad configurations FAIL to render with a clear message: SQLite with
     replicaCount=3 or autoscaling, PostgreSQL without a URL, values the schema rejects.

Ends with `helm_check: N passed, M failed`; exits 1 when anything failed, 2 on a usage error.
"""

from __future__ import annotations

import argparse
import base64
import os
import sys
import time
from pathlib import Path
from typing import Any, Callable

sys.path.insert(0, str(Path(__file__).resolve().parent))
from helm_metrics import check_metrics, is_crd_object  # noqa: E402
from helm_tls import check_tls, check_tls_probes  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_CHART = ROOT / "helm" / "tessera"
RELEASE = "tessera"
NAMESPACE = "tessera-ci"
SERVICE_PORT = 50051
UID = 10001
HOOK_EVENTS_BEFORE_RELEASE = {"pre-install", "pre-upgrade"}


def deep_merge(base: dict, extra: dict) -> dict:
    out = dict(base)
    for key, value in extra.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = deep_merge(out[key], value)
        else:
            out[key] = value
    return out


class Report:
    """Collects named checks; prints FAIL lines always and ok lines with -v."""

    def __init__(self, verbose: bool) -> None:
        self.verbose = verbose
        self.passed = 0
        self.failed: list[str] = []

    def check(self, name: str, ok: bool, detail: str = "") -> bool:
        if ok:
            self.passed += 1
            if self.verbose:
                print(f"  ok    {name}")
        else:
            self.failed.append(name)
            print(f"  FAIL  {name}{': ' + detail if detail else ''}")
        return ok

    def run(self, name: str, fn: Callable[[], Any]) -> Any:
        """Runs fn; an exception (e.g. a KeyError on a missing field) is a failed check."""
        try:
            result = fn()
        except Exception as e:  # noqa: BLE001 - any error is this check's failure
            self.check(name, False, f"{type(e).__name__}: {e}")
            return None
        self.check(name, True)
        return result


# --------------------------------------------------------------------------- rendering


class Rendered:
    """The objects of one render, with lookups by kind and name."""

    def __init__(self, manifests: dict[str, str], notes: str) -> None:
        import yaml

        self.notes = notes
        self.objects: list[dict] = []
        for path, text in sorted(manifests.items()):
            if path.endswith("NOTES.txt"):
                continue
            for doc in yaml.safe_load_all(text):
                if doc:
                    doc.setdefault("__source", path)
                    self.objects.append(doc)

    def of_kind(self, kind: str) -> list[dict]:
        return [o for o in self.objects if o.get("kind") == kind]

    def one(self, kind: str, name: str | None = None) -> dict:
        found = [o for o in self.of_kind(kind) if name is None or o["metadata"]["name"] == name]
        if len(found) != 1:
            raise AssertionError(f"expected one {kind}{' ' + name if name else ''}, found {len(found)}")
        return found[0]

    def find(self, kind: str, name: str) -> dict | None:
        for o in self.of_kind(kind):
            if o["metadata"]["name"] == name:
                return o
        return None


def hook_info(obj: dict) -> tuple[set[str], int]:
    ann = obj.get("metadata", {}).get("annotations") or {}
    events = {e.strip() for e in ann.get("helm.sh/hook", "").split(",") if e.strip()}
    return events, int(ann.get("helm.sh/hook-weight", "0"))


def render(helm: Any, chart: Path, values: dict) -> Rendered:
    """Renders like `helm install --dry-run=client` (kubeVersion, schema, `fail`), then renders
    every template (hooks and tests too, which the dry-run's manifest leaves out)."""
    with helm.Config(namespace=NAMESPACE, storage_driver="memory") as cfg:
        release = cfg.install(str(chart), RELEASE, values, namespace=NAMESPACE, dry_run="client")
    loaded = helm.Chart.load(str(chart))
    try:
        manifests = loaded.render(values, name=RELEASE, namespace=NAMESPACE, is_install=True)
    finally:
        loaded.close()
    rendered = Rendered(manifests, release.get("notes") or "")
    # The dry-run's manifest (ordinary objects) must be a subset of the full render.
    import yaml

    plain = {
        (d["kind"], d["metadata"]["name"])
        for d in yaml.safe_load_all(release.get("manifest", ""))
        if d
    }
    full = {(o["kind"], o["metadata"]["name"]) for o in rendered.objects}
    missing = plain - full
    if missing:
        raise AssertionError(f"objects in the install manifest but not in the render: {missing}")
    return rendered


# --------------------------------------------------------------------------- fact helpers


def container(deploy_or_job: dict, name: str) -> dict:
    for c in deploy_or_job["spec"]["template"]["spec"]["containers"]:
        if c["name"] == name:
            return c
    raise AssertionError(f"no container {name}")


def env_map(c: dict) -> dict[str, dict]:
    return {e["name"]: e for e in c.get("env") or []}


def refs(pod_spec: dict, kind: str) -> set[str]:
    """Names of the objects of `kind` ("secret" or "configMap") a pod reads, through env
    entries, envFrom or volumes."""
    key_ref, from_ref, name_field = {
        "secret": ("secretKeyRef", "secretRef", "secretName"),
        "configMap": ("configMapKeyRef", "configMapRef", "name"),
    }[kind]
    names = set()
    for c in pod_spec.get("containers", []) + pod_spec.get("initContainers", []):
        for e in c.get("env") or []:
            ref = (e.get("valueFrom") or {}).get(key_ref)
            if ref:
                names.add(ref["name"])
        for ef in c.get("envFrom") or []:
            if from_ref in ef:
                names.add(ef[from_ref]["name"])
    for v in pod_spec.get("volumes") or []:
        if kind in v:
            names.add(v[kind][name_field])
    return names


def secret_refs(pod_spec: dict) -> set[str]:
    return refs(pod_spec, "secret")


def configmap_refs(pod_spec: dict) -> set[str]:
    return refs(pod_spec, "configMap")


def require(cond: bool, message: str) -> None:
    if not cond:
        raise AssertionError(message)


def check_hardened(r: Report, label: str, pod_spec: dict, c: dict) -> None:
    psc = pod_spec.get("securityContext") or {}
    sc = c.get("securityContext") or {}
    r.check(f"{label}: runAsNonRoot", sc.get("runAsNonRoot") is True or psc.get("runAsNonRoot") is True)
    uid = sc.get("runAsUser", psc.get("runAsUser"))
    r.check(f"{label}: fixed non-root UID {UID}", uid == UID, f"runAsUser={uid}")
    r.check(f"{label}: readOnlyRootFilesystem", sc.get("readOnlyRootFilesystem") is True)
    r.check(f"{label}: allowPrivilegeEscalation false", sc.get("allowPrivilegeEscalation") is False)
    r.check(f"{label}: capabilities drop ALL", "ALL" in ((sc.get("capabilities") or {}).get("drop") or []))
    seccomp = (sc.get("seccompProfile") or psc.get("seccompProfile") or {}).get("type")
    r.check(f"{label}: seccompProfile RuntimeDefault", seccomp == "RuntimeDefault", str(seccomp))
    res = c.get("resources") or {}
    r.check(f"{label}: resources requests and limits",
            bool(res.get("requests")) and bool(res.get("limits")), str(res))
    mounts = {m["mountPath"]: m["name"] for m in c.get("volumeMounts") or []}
    vols = {v["name"]: v for v in pod_spec.get("volumes") or []}
    r.check(f"{label}: writable emptyDir at /tmp",
            "/tmp" in mounts and "emptyDir" in vols.get(mounts["/tmp"], {}), str(mounts))


# --------------------------------------------------------------------------- scenarios


def check_common(r: Report, sc: str, out: Rendered, *, sqlite: bool, existing_secret: str = "",
                 precreated_sa: str = "", tls: bool = False) -> None:
    fullname = RELEASE
    p = f"[{sc}]"

    deploy = r.run(f"{p} one Deployment", lambda: out.one("Deployment", fullname))
    if deploy is None:
        return
    pod = deploy["spec"]["template"]["spec"]
    c = r.run(f"{p} Deployment has container tessera", lambda: container(deploy, "tessera"))
    if c is None:
        return
    r.check(f"{p} container runs `serve`", c.get("args") == ["serve"], str(c.get("args")))
    port = {p_["name"]: p_ for p_ in c.get("ports") or []}.get("grpc") or {}
    r.check(f"{p} container port grpc=50051", port.get("containerPort") == 50051, str(c.get("ports")))
    http_port = {p_["name"]: p_ for p_ in c.get("ports") or []}.get("http") or {}
    r.check(f"{p} container port http=8080", http_port.get("containerPort") == 8080, str(c.get("ports")))

    if tls:
        # kubelet's gRPC probe speaks no TLS: `tessera health` over TLS instead (helm_tls.py).
        check_tls_probes(r, p, c)
    else:
        for kind in ("livenessProbe", "readinessProbe", "startupProbe"):
            probe = c.get(kind) or {}
            r.check(f"{p} {kind} is a native grpc probe on 50051",
                    (probe.get("grpc") or {}).get("port") == 50051, str(probe))
        r.check(f"{p} readinessProbe checks tessera.v1.TokenService",
                (c.get("readinessProbe") or {}).get("grpc", {}).get("service") == "tessera.v1.TokenService")
    tgp = pod.get("terminationGracePeriodSeconds", 30)
    r.check(f"{p} terminationGracePeriodSeconds > 10 (server drains 10 s)", tgp > 10, str(tgp))
    check_hardened(r, f"{p} tessera container", pod, c)
    r.check(f"{p} pod does not mount a ServiceAccount token",
            pod.get("automountServiceAccountToken") is False)

    # Settings: the ConfigMap through envFrom, secrets through secretKeyRef.
    cm = r.run(f"{p} one ConfigMap", lambda: out.one("ConfigMap", fullname))
    if cm:
        data = cm.get("data") or {}
        r.check(f"{p} ConfigMap: TESSERA_LISTEN=0.0.0.0:50051", data.get("TESSERA_LISTEN") == "0.0.0.0:50051")
        r.check(f"{p} ConfigMap: TESSERA_HTTP_LISTEN=0.0.0.0:8080", data.get("TESSERA_HTTP_LISTEN") == "0.0.0.0:8080")
        r.check(f"{p} ConfigMap: TESSERA_LOG_FORMAT=json", data.get("TESSERA_LOG_FORMAT") == "json")
        r.check(f"{p} ConfigMap: holds no secret", not {"TESSERA_DATABASE_URL", "TESSERA_TOKEN_HMAC_KEY"} & set(data))
        r.check(f"{p} Deployment loads the ConfigMap with envFrom", fullname in configmap_refs(pod))
    env = env_map(c)
    secret_name = existing_secret or fullname
    for var, key in (("TESSERA_DATABASE_URL", "database-url"), ("TESSERA_TOKEN_HMAC_KEY", "token-hmac-key")):
        ref = ((env.get(var) or {}).get("valueFrom") or {}).get("secretKeyRef") or {}
        r.check(f"{p} {var} from Secret {secret_name} key {key}",
                ref.get("name") == secret_name and ref.get("key") == key, str(ref))

    ann = deploy["spec"]["template"]["metadata"].get("annotations") or {}
    r.check(f"{p} pod annotation checksum/config", len(ann.get("checksum/config", "")) == 64)
    if existing_secret:
        r.check(f"{p} no Secret rendered with existingSecret",
                not [s for s in out.of_kind("Secret")], str([s["metadata"]["name"] for s in out.of_kind("Secret")]))
    else:
        r.check(f"{p} pod annotation checksum/secret", len(ann.get("checksum/secret", "")) == 64)
        secret = r.run(f"{p} one release Secret", lambda: out.one("Secret", fullname))
        if secret:
            data = secret.get("data") or {}
            r.check(f"{p} Secret has database-url and token-hmac-key",
                    {"database-url", "token-hmac-key"} <= set(data), str(sorted(data)))
            events, _ = hook_info(secret)
            r.check(f"{p} release Secret is an ordinary object (not a hook)", not events)
            if sqlite and "database-url" in data:
                url = base64.b64decode(data["database-url"]).decode()
                r.check(f"{p} SQLite URL is sqlite:///data/tessera.db", url == "sqlite:///data/tessera.db", url)

    # Service: port named grpc with appProtocol grpc, selecting exactly the server pods.
    svc = r.run(f"{p} one Service", lambda: out.one("Service", fullname))
    if svc:
        ports = svc["spec"].get("ports") or []
        grpc = [x for x in ports if x.get("name") == "grpc"]
        app_protocol = "https" if tls else "grpc"
        r.check(f"{p} Service port named grpc, appProtocol {app_protocol}, port {SERVICE_PORT}",
                len(grpc) == 1 and grpc[0].get("appProtocol") == app_protocol
                and grpc[0].get("port") == SERVICE_PORT, str(ports))
        http = [x for x in ports if x.get("name") == "http"]
        r.check(f"{p} Service port named http (the OAuth endpoints) to the container's http",
                len(http) == 1 and http[0].get("targetPort") == "http", str(ports))
        labels = deploy["spec"]["template"]["metadata"]["labels"]
        sel = svc["spec"].get("selector") or {}
        r.check(f"{p} Service selects the server pods",
                bool(sel) and all(labels.get(k) == v for k, v in sel.items()), str(sel))
        r.check(f"{p} Deployment selector matches its pods",
                all(labels.get(k) == v for k, v in deploy["spec"]["selector"]["matchLabels"].items()))

    sa_name = pod.get("serviceAccountName")
    if precreated_sa:
        r.check(f"{p} pods use the pre-made ServiceAccount {precreated_sa}, none rendered",
                sa_name == precreated_sa and not out.of_kind("ServiceAccount"), str(sa_name))
    else:
        r.check(f"{p} ServiceAccount {sa_name} is rendered", out.find("ServiceAccount", sa_name or "") is not None)

    # helm test pod: a gRPC health client against the Service.
    tests = [o for o in out.of_kind("Pod") if "test" in hook_info(o)[0]]
    r.check(f"{p} a helm.sh/hook: test pod exists", len(tests) == 1, str(len(tests)))
    if tests:
        args = [a for tc in tests[0]["spec"]["containers"] for a in tc.get("args") or []]
        addr = f"-addr={fullname}.{NAMESPACE}.svc:{SERVICE_PORT}"
        r.check(f"{p} test pod probes {addr}", addr in args, str(args))
        r.check(f"{p} test pod speaks TLS exactly when the server does", ("-tls" in args) == tls, str(args))

    # Every object carries the standard labels.
    unlabelled = [f"{o['kind']}/{o['metadata']['name']}" for o in out.objects
                  if not {"app.kubernetes.io/name", "app.kubernetes.io/instance", "helm.sh/chart"}
                  <= set((o["metadata"].get("labels") or {}))]
    r.check(f"{p} every object has the standard labels", not unlabelled, str(unlabelled))

    # NOTES: how to get the admin key and call the service.
    notes = out.notes
    r.check(f"{p} NOTES: port-forward svc/{fullname} 50051", f"port-forward svc/{fullname} 50051:" in notes)
    transport = f"-cacert ca.crt -servername {fullname}.{NAMESPACE}.svc" if tls else "-plaintext"
    r.check(f"{p} NOTES: grpcurl list with a bearer key ({transport})",
            f'grpcurl {transport}' in notes and '-H "authorization: Bearer $KEY" localhost:50051 list' in notes
            and ("-plaintext" in notes) != tls)
    r.check(f"{p} NOTES: an Authorize example", "tessera.v1.TokenService/Authorize" in notes
            and '"required_scopes":["read:contacts"]' in notes)
    if sqlite:
        r.check(f"{p} NOTES: read /data/tessera.db.admin-key", "cat /data/tessera.db.admin-key" in notes)
    else:
        r.check(f"{p} NOTES: exec deploy/{fullname} -- tessera bootstrap",
                f"exec deploy/{fullname} -- tessera bootstrap" in notes)


def check_sqlite(r: Report, sc: str, out: Rendered, *, persistent: bool) -> None:
    p = f"[{sc}]"
    deploy = out.find("Deployment", RELEASE)
    if deploy is None:
        return
    spec = deploy["spec"]
    pod = spec["template"]["spec"]
    r.check(f"{p} one replica", spec.get("replicas") == 1, str(spec.get("replicas")))
    r.check(f"{p} strategy Recreate (single SQLite writer)", spec.get("strategy", {}).get("type") == "Recreate")
    r.check(f"{p} no migration Job (serve migrates SQLite itself)", not out.of_kind("Job"))
    r.check(f"{p} no PDB / HPA for one replica",
            not out.of_kind("PodDisruptionBudget") and not out.of_kind("HorizontalPodAutoscaler"))
    c = container(deploy, "tessera")
    mounts = {m["mountPath"]: m["name"] for m in c.get("volumeMounts") or []}
    vols = {v["name"]: v for v in pod.get("volumes") or []}
    data = vols.get(mounts.get("/data", ""), {})
    if persistent:
        claim = (data.get("persistentVolumeClaim") or {}).get("claimName")
        r.check(f"{p} /data is the release's PVC", claim is not None and out.find("PersistentVolumeClaim", claim) is not None,
                str(data))
        r.check(f"{p} fsGroup {UID} makes /data writable", pod.get("securityContext", {}).get("fsGroup") == UID)
    else:
        r.check(f"{p} /data is an emptyDir", "emptyDir" in data, str(data))
        r.check(f"{p} no PVC", not out.of_kind("PersistentVolumeClaim"))


def check_postgres(r: Report, sc: str, out: Rendered, *, existing_secret: str = "", ha: bool = False) -> None:
    p = f"[{sc}]"
    deploy = out.find("Deployment", RELEASE)
    if deploy is None:
        return
    spec = deploy["spec"]
    pod = spec["template"]["spec"]
    r.check(f"{p} strategy RollingUpdate", spec.get("strategy", {}).get("type") == "RollingUpdate")
    r.check(f"{p} no /data volume, no PVC",
            not any(m["mountPath"] == "/data" for m in container(deploy, "tessera").get("volumeMounts") or [])
            and not out.of_kind("PersistentVolumeClaim"))

    # The migration Job: a pre-install,pre-upgrade hook running `tessera migrate`.
    jobs = out.of_kind("Job")
    if not r.check(f"{p} one migration Job", len(jobs) == 1, str(len(jobs))):
        return
    job = jobs[0]
    events, job_weight = hook_info(job)
    r.check(f"{p} Job is a pre-install,pre-upgrade hook", events == HOOK_EVENTS_BEFORE_RELEASE, str(events))
    jc = job["spec"]["template"]["spec"]["containers"][0]
    r.check(f"{p} Job runs `tessera migrate`", jc.get("args") == ["migrate"], str(jc.get("args")))
    jpod = job["spec"]["template"]["spec"]
    r.check(f"{p} Job restartPolicy Never", jpod.get("restartPolicy") == "Never")
    check_hardened(r, f"{p} migrate container", jpod, jc)
    r.check(f"{p} Job gets TESSERA_DATABASE_URL", "TESSERA_DATABASE_URL" in env_map(jc))

    # The trap: a pre-install hook runs before the release's ordinary objects exist. Whatever the
    # Job reads must be an earlier hook of the same events, or not rendered by the chart at all
    # (an existing Secret / ServiceAccount the operator made beforehand).
    def available_to_hook(kind: str, name: str) -> tuple[bool, str]:
        obj = out.find(kind, name)
        if obj is None:
            return True, "external"
        ev, weight = hook_info(obj)
        if HOOK_EVENTS_BEFORE_RELEASE <= ev and weight < job_weight:
            return True, f"hook weight {weight}"
        return False, f"{kind}/{name} is {'a hook of ' + str(ev) + ' weight ' + str(weight) if ev else 'an ordinary release object'}"

    deps = [("Secret", n) for n in secret_refs(jpod)] + [("ConfigMap", n) for n in configmap_refs(jpod)]
    sa = jpod.get("serviceAccountName")
    if sa:
        deps.append(("ServiceAccount", sa))
    for kind, name in deps:
        ok, why = available_to_hook(kind, name)
        r.check(f"{p} Job dependency {kind}/{name} exists before the Job" + (f" ({why})" if ok else ""), ok, why)
    if existing_secret:
        r.check(f"{p} Job reads existingSecret {existing_secret}", secret_refs(jpod) == {existing_secret},
                str(secret_refs(jpod)))
    else:
        hook_secrets = [s for s in out.of_kind("Secret") if hook_info(s)[0]]
        r.check(f"{p} one hook Secret for the Job", len(hook_secrets) == 1)
        for s in hook_secrets:
            policy = s["metadata"]["annotations"].get("helm.sh/hook-delete-policy", "")
            r.check(f"{p} hook Secret is replaced and cleaned up",
                    "before-hook-creation" in policy and "hook-succeeded" in policy, policy)
            r.check(f"{p} hook Secret carries only database-url", set(s.get("data") or {}) == {"database-url"})
        # Same database URL for the Job and the server.
        rel = out.find("Secret", RELEASE)
        if rel and hook_secrets:
            r.check(f"{p} Job and server use the same database URL",
                    rel["data"].get("database-url") == hook_secrets[0]["data"].get("database-url"))
    cm = out.find("ConfigMap", RELEASE)
    if cm:
        jenv = env_map(jc)
        drift = {k for k, v in (cm.get("data") or {}).items() if (jenv.get(k) or {}).get("value") != v}
        r.check(f"{p} Job env carries the ConfigMap's settings inline", not drift, str(sorted(drift)))

    if ha:
        hpa = r.run(f"{p} one HorizontalPodAutoscaler (autoscaling/v2)", lambda: out.one("HorizontalPodAutoscaler"))
        if hpa:
            r.check(f"{p} HPA is autoscaling/v2 on the Deployment",
                    hpa["apiVersion"] == "autoscaling/v2" and hpa["spec"]["scaleTargetRef"]["name"] == RELEASE)
            r.check(f"{p} Deployment leaves replicas to the HPA", "replicas" not in spec)
        labels = spec["template"]["metadata"]["labels"]
        pdb = r.run(f"{p} one PodDisruptionBudget", lambda: out.one("PodDisruptionBudget"))
        if pdb:
            sel = pdb["spec"]["selector"]["matchLabels"]
            r.check(f"{p} PDB selects the server pods", all(labels.get(k) == v for k, v in sel.items()))
        np_ = r.run(f"{p} one NetworkPolicy", lambda: out.one("NetworkPolicy"))
        if np_:
            rules = np_["spec"].get("ingress") or []
            ports = [pt.get("port") for rule in rules for pt in rule.get("ports") or []]
            r.check(f"{p} NetworkPolicy admits the gRPC, OAuth HTTP and metrics ports only",
                    ports and "grpc" in ports and "http" in ports
                    and all(pt in ("grpc", 50051, "http", 8080, "metrics") for pt in ports),
                    str(ports))
            r.check(f"{p} NetworkPolicy: metrics in a rule of its own (its own sources)",
                    all("metrics" not in [pt.get("port") for pt in rule.get("ports") or []]
                        or len(rule.get("ports") or []) == 1 for rule in rules), str(rules))
            test_pod = next((o for o in out.of_kind("Pod") if "test" in hook_info(o)[0]), None)
            peers = [peer for rule in rules for peer in rule.get("from") or []]
            admits_test = test_pod is not None and any(
                set(peer) == {"podSelector"}
                and all(test_pod["metadata"]["labels"].get(k) == v
                        for k, v in (peer["podSelector"].get("matchLabels") or {}).items())
                for peer in peers)
            r.check(f"{p} NetworkPolicy admits the helm test pod", admits_test or not peers)
            sel = np_["spec"]["podSelector"].get("matchLabels") or {}
            r.check(f"{p} NetworkPolicy selects the server pods", all(labels.get(k) == v for k, v in sel.items()))


# --------------------------------------------------------------------------- main


def validate_schemas(r: Report, kv: Any, sc: str, out: Rendered, versions: list[str]) -> None:
    for version in versions:
        bad = []
        for obj in out.objects:
            if is_crd_object(obj):
                continue
            doc = {k: v for k, v in obj.items() if k != "__source"}
            name = f"{doc.get('kind')}/{doc['metadata'].get('name')}"
            try:
                kv.validate(doc, version, True)
            except kv.ValidationError as e:
                path = ".".join(str(x) for x in (getattr(e, "path", None) or []))
                bad.append(f"{name}: {path}: {getattr(e, 'message', e)}")
            except Exception as e:  # noqa: BLE001 - no schema for the kind, unsupported version
                bad.append(f"{name}: {type(e).__name__}: {getattr(e, 'message', e)}")
        core = [o for o in out.objects if not is_crd_object(o)]
        r.check(f"[{sc}] {len(core)} objects valid against Kubernetes {version} (strict)",
                not bad, "; ".join(bad))


def check_envoy_example(r: Report) -> None:
    """The Envoy configuration in the README (the yaml block after `<!-- envoy-config -->`)
    parses, and wires ext_authz to tessera as the README says: gRPC to the tessera cluster
    over HTTP/2, Envoy's key in initial_metadata, failure_mode_allow false, and routes that
    name their scopes in context_extensions."""
    import yaml

    text = (ROOT / "README.md").read_text()
    marker = "<!-- envoy-config -->"
    r.check("README has the Envoy configuration", marker in text)
    if marker not in text:
        return
    block = text.split(marker, 1)[1].split("```yaml", 1)[1].split("```", 1)[0]
    try:
        cfg = yaml.safe_load(block)
    except yaml.YAMLError as e:
        r.check("Envoy configuration is YAML", False, str(e))
        return
    r.check("Envoy configuration is YAML", isinstance(cfg, dict))
    res = cfg.get("static_resources", {})
    hcm = res["listeners"][0]["filter_chains"][0]["filters"][0]["typed_config"]
    filters = {f["name"]: f.get("typed_config", {}) for f in hcm.get("http_filters", [])}
    authz = filters.get("envoy.filters.http.ext_authz", {})
    r.check("ext_authz filter, before the router",
            list(filters)[-1] == "envoy.filters.http.router" and bool(authz), str(list(filters)))
    r.check("ext_authz: ExtAuthz v3 type", authz.get("@type", "").endswith("ext_authz.v3.ExtAuthz"))
    r.check("ext_authz: transport_api_version V3", authz.get("transport_api_version") == "V3")
    r.check("ext_authz: failure_mode_allow false", authz.get("failure_mode_allow") is False)
    grpc = authz.get("grpc_service", {})
    cluster = grpc.get("envoy_grpc", {}).get("cluster_name")
    meta = {m["key"]: m["value"] for m in grpc.get("initial_metadata", [])}
    r.check("ext_authz: Envoy's key in initial_metadata",
            meta.get("authorization", "").startswith("Bearer "), str(meta))
    clusters = {c["name"]: c for c in res.get("clusters", [])}
    tessera = clusters.get(cluster, {})
    opts = tessera.get("typed_extension_protocol_options", {})
    http2 = any("http2_protocol_options" in (o.get("explicit_http_config") or {}) for o in opts.values())
    r.check("the tessera cluster speaks HTTP/2 to port 50051",
            http2 and "50051" in yaml.safe_dump(tessera), str(tessera))
    routes = [rt for vh in hcm["route_config"]["virtual_hosts"] for rt in vh["routes"]]
    per_route = [rt.get("typed_per_filter_config", {}).get("envoy.filters.http.ext_authz", {})
                 for rt in routes]
    named = [p["check_settings"]["context_extensions"]["tessera.scopes"]
             for p in per_route if "check_settings" in p]
    r.check("routes name their scopes in context_extensions", len(named) >= 2, str(named))
    r.check("per-route config is ExtAuthzPerRoute",
            all(p.get("@type", "").endswith("ext_authz.v3.ExtAuthzPerRoute") for p in per_route if p))


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--chart", type=Path, default=DEFAULT_CHART)
    ap.add_argument("-v", "--verbose", action="store_true", help="print passing checks too")
    ap.add_argument("-o", "--output-dir", type=Path, help="write each scenario's rendered objects here")
    a = ap.parse_args()

    try:
        import helm_python as helm
        import kubernetes_validate as kv
        import yaml
    except ImportError as e:
        print(f"helm_check: missing dependency ({e}); run: pip install -r scripts/helm-requirements.txt")
        return 2
    chart = a.chart.resolve()
    ci_values_file = chart / "ci" / "postgres-ha-values.yaml"
    if not (chart / "Chart.yaml").is_file() or not ci_values_file.is_file():
        print(f"helm_check: no chart or CI values at {chart}")
        return 2
    ci_values = helm.values_from_yaml(ci_values_file.read_text()) or {}
    latest = kv.latest_version()
    started = time.time()
    r = Report(a.verbose)

    print(f"== lint --strict ({chart.relative_to(ROOT) if chart.is_relative_to(ROOT) else chart})")
    for label, values in (("default values", {}), ("CI values", ci_values)):
        report = helm.lint(str(chart), values, strict=True, namespace=NAMESPACE)
        for m in report.get("messages", []):
            if m["severity"] >= 2 or a.verbose:
                sev = {1: "INFO", 2: "WARNING", 3: "ERROR"}.get(m["severity"], "?")
                print(f"  lint [{sev}] {m['path']}: {m['error'].strip()}")
        r.check(f"lint --strict with {label}", not report.get("errors"), "; ".join(report.get("errors", [])))

    existing = "tessera-credentials"
    monitor_labels = {"release": "kube-prometheus-stack"}
    cert_manager = {"issuerRef": {"name": "internal-ca", "kind": "ClusterIssuer"},
                    "dnsNames": ["auth.internal.example"]}
    metrics_on = lambda sc, o: check_metrics(r, sc, o, release=RELEASE, namespace=NAMESPACE)  # noqa: E731
    scenarios: list[tuple[str, dict, str, Callable[[Rendered], None]]] = [
        ("sqlite-default", {}, "1.25.0",
         lambda o: (check_common(r, "sqlite-default", o, sqlite=True),
                    check_sqlite(r, "sqlite-default", o, persistent=True),
                    metrics_on("sqlite-default", o))),
        ("sqlite-ephemeral", {"persistence": {"enabled": False}}, "1.25.0",
         lambda o: (check_common(r, "sqlite-ephemeral", o, sqlite=True),
                    check_sqlite(r, "sqlite-ephemeral", o, persistent=False))),
        # The CI values use lifecycle.preStop.sleep, a field from Kubernetes 1.30.
        ("postgres-ha", ci_values, "1.30.0",
         lambda o: (check_common(r, "postgres-ha", o, sqlite=False),
                    check_postgres(r, "postgres-ha", o, ha=True),
                    metrics_on("postgres-ha", o))),
        ("servicemonitor",
         {"metrics": {"serviceMonitor": {"enabled": True, "labels": monitor_labels}},
          "networkPolicy": {"enabled": True}}, "1.25.0",
         lambda o: (check_common(r, "servicemonitor", o, sqlite=True),
                    check_metrics(r, "servicemonitor", o, release=RELEASE, namespace=NAMESPACE,
                                  service_monitor=True, monitor_labels=monitor_labels))),
        ("metrics-off", {"metrics": {"enabled": False, "serviceMonitor": {"enabled": True}}}, "1.25.0",
         lambda o: (check_common(r, "metrics-off", o, sqlite=True),
                    check_metrics(r, "metrics-off", o, release=RELEASE, namespace=NAMESPACE,
                                  enabled=False))),
        ("tls-existing-secret-mtls",
         {"tls": {"existingSecret": "tessera-tls", "clientAuth": True}}, "1.25.0",
         lambda o: (check_common(r, "tls-existing-secret-mtls", o, sqlite=True, tls=True),
                    check_tls(r, "tls-existing-secret-mtls", o, release=RELEASE, namespace=NAMESPACE,
                              secret="tessera-tls", client_auth=True))),
        ("tls-cert-manager", {"tls": {"certManager": cert_manager}, "database": {"type": "postgres",
                              "url": "postgres://tessera@db:5432/tessera"}, "replicaCount": 2}, "1.25.0",
         lambda o: (check_common(r, "tls-cert-manager", o, sqlite=False, tls=True),
                    check_tls(r, "tls-cert-manager", o, release=RELEASE, namespace=NAMESPACE,
                              secret=f"{RELEASE}-tls", client_auth=False, cert_manager=cert_manager))),
        ("postgres-existing-secret",
         {"replicaCount": 2, "database": {"type": "postgres"}, "existingSecret": existing,
          "serviceAccount": {"create": False, "name": "tessera-precreated"}}, "1.25.0",
         lambda o: (check_common(r, "postgres-existing-secret", o, sqlite=False, existing_secret=existing,
                                 precreated_sa="tessera-precreated"),
                    check_postgres(r, "postgres-existing-secret", o, existing_secret=existing))),
    ]
    for name, values, oldest, facts in scenarios:
        print(f"== render {name}")
        try:
            out = render(helm, chart, values)
        except Exception as e:  # noqa: BLE001
            r.check(f"[{name}] renders", False, f"{type(e).__name__}: {e}")
            continue
        r.check(f"[{name}] renders ({len(out.objects)} objects: "
                f"{', '.join(sorted({o['kind'] for o in out.objects}))})", True)
        if a.output_dir:
            a.output_dir.mkdir(parents=True, exist_ok=True)
            docs = [{k: v for k, v in o.items() if k != "__source"} for o in out.objects]
            (a.output_dir / f"{name}.yaml").write_text(yaml.safe_dump_all(docs, sort_keys=False))
            (a.output_dir / f"{name}.NOTES.txt").write_text(out.notes)
        validate_schemas(r, kv, name, out, sorted({oldest, latest}, key=lambda v: tuple(map(int, v.split(".")))))
        facts(out)

    print("== configurations that must be refused")
    must_fail = [
        ("sqlite with replicaCount=3", {"replicaCount": 3}, "supports exactly one replica"),
        ("sqlite with autoscaling to 3", {"autoscaling": {"enabled": True, "minReplicas": 1, "maxReplicas": 3}},
         "supports exactly one replica"),
        ("postgres without a URL or existingSecret", {"database": {"type": "postgres"}}, "needs the database URL"),
        ("postgres type with a sqlite URL",
         {"database": {"type": "postgres", "url": "sqlite:///data/x.db"}}, "does not start with postgres"),
        ("unknown database.type (schema)", {"database": {"type": "mysql"}}, "database/type"),
        ("unknown top-level key (schema)", {"replicas": 2}, "additional properties"),
        ("terminationGracePeriodSeconds under the drain (schema)", {"terminationGracePeriodSeconds": 5},
         "terminationGracePeriodSeconds"),
        ("malformed duration (schema)", {"config": {"cacheTtl": "5 seconds"}}, "cacheTtl"),
        ("metrics port out of range (schema)", {"metrics": {"port": 70000}}, "metrics/port"),
        ("tls.existingSecret and tls.certManager together",
         {"tls": {"existingSecret": "x", "certManager": {"issuerRef": {"name": "ca"}}}}, "not both"),
        ("tls.clientAuth without TLS", {"tls": {"clientAuth": True}}, "tls.clientAuth needs TLS"),
    ]
    for label, values, expect in must_fail:
        try:
            render(helm, chart, values)
        except Exception as e:  # noqa: BLE001
            msg = str(e)
            r.check(f"refused: {label}", expect.lower() in msg.lower(), f"unexpected error: {msg}")
            if a.verbose:
                print(f"        -> {msg.strip().splitlines()[-1]}")
        else:
            r.check(f"refused: {label}", False, "rendered without error")

    print("== the README's Envoy configuration")
    check_envoy_example(r)

    print(f"helm_check: Helm {helm.helm_sdk_version()} (helm-python-sdk {helm.__version__}), "
          f"kubernetes-validate {kv.__version__}, "
          f"{time.time() - started:.1f}s")
    print(f"helm_check: {r.passed} passed, {len(r.failed)} failed")
    return 1 if r.failed else 0


if __name__ == "__main__":
    os.chdir(ROOT)
    sys.exit(main())
