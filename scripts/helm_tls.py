"""The chart's TLS wiring, for helm_check.py: the Secret mounted read-only at
/etc/tessera/tls, TESSERA_TLS_* in the ConfigMap, probes as `tessera health` over TLS (kubelet's
gRPC probe speaks no TLS), the helm test over TLS, and the cert-manager Certificate.

kubernetes-validate ships no schema for cert-manager's CRDs, so the Certificate is checked here
field by field against what cert-manager reads (cert-manager.io/v1: spec.secretName, dnsNames,
issuerRef.name/kind/group, usages, duration, renewBefore).
"""

from __future__ import annotations

from typing import Any

from helm_metrics import one_crd_object

TLS_DIR = "/etc/tessera/tls"


def check_tls_probes(r: Any, p: str, c: dict) -> None:
    for kind in ("livenessProbe", "readinessProbe", "startupProbe"):
        probe = c.get(kind) or {}
        cmd = (probe.get("exec") or {}).get("command") or []
        r.check(f"{p} {kind} runs `tessera health` over TLS with the Secret's CA",
                cmd[:2] == ["/usr/local/bin/tessera", "health"]
                and "--server=https://127.0.0.1:50051" in cmd
                and f"--ca-file={TLS_DIR}/ca.crt" in cmd and "grpc" not in probe, str(probe))
    ready = ((c.get("readinessProbe") or {}).get("exec") or {}).get("command") or []
    r.check(f"{p} readinessProbe checks tessera.v1.TokenService",
            "--service=tessera.v1.TokenService" in ready, str(ready))


def check_tls(r: Any, sc: str, out: Any, *, release: str, namespace: str, secret: str,
              client_auth: bool, cert_manager: dict | None = None) -> None:
    p = f"[{sc}]"
    deploy = out.one("Deployment", release)
    pod = deploy["spec"]["template"]["spec"]
    c = next(x for x in pod["containers"] if x["name"] == "tessera")
    data = out.one("ConfigMap", release).get("data") or {}
    want = {"TESSERA_TLS_CERT_FILE": f"{TLS_DIR}/tls.crt", "TESSERA_TLS_KEY_FILE": f"{TLS_DIR}/tls.key"}
    if client_auth:
        want["TESSERA_TLS_CLIENT_CA_FILE"] = f"{TLS_DIR}/ca.crt"
    got = {k: v for k, v in data.items() if k.startswith("TESSERA_TLS_")}
    r.check(f"{p} ConfigMap: TESSERA_TLS_* point into {TLS_DIR}", got == want, str(got))
    mounts = {m["name"]: m for m in c.get("volumeMounts") or []}
    r.check(f"{p} the TLS Secret is mounted read-only at {TLS_DIR}",
            (mounts.get("tls") or {}).get("mountPath") == TLS_DIR and mounts["tls"].get("readOnly") is True,
            str(mounts.get("tls")))
    vols = {v["name"]: v for v in pod.get("volumes") or []}
    source = (vols.get("tls") or {}).get("secret") or {}
    r.check(f"{p} the tls volume is Secret {secret}, not world-readable",
            source.get("secretName") == secret and source.get("defaultMode", 0o644) & 0o007 == 0, str(source))
    probe = ((c.get("livenessProbe") or {}).get("exec") or {}).get("command") or []
    r.check(f"{p} probes present the pod's certificate exactly under mutual TLS",
            (f"--client-cert-file={TLS_DIR}/tls.crt" in probe) == client_auth, str(probe))
    svc = out.one("Service", release)
    protocols = {x["name"]: x.get("appProtocol") for x in svc["spec"].get("ports") or []}
    r.check(f"{p} Service: grpc and http say appProtocol https",
            protocols.get("grpc") == "https" and protocols.get("http") == "https", str(protocols))

    cert = one_crd_object(r, p, out, "Certificate", wanted=cert_manager is not None,
                          absent_why="without tls.certManager.issuerRef",
                          api_version="cert-manager.io/v1", namespace=namespace)
    if cert is None or cert_manager is None:
        return
    spec = cert.get("spec") or {}
    r.check(f"{p} Certificate writes Secret {secret}", spec.get("secretName") == secret, str(spec.get("secretName")))
    names = spec.get("dnsNames") or []
    service_names = [release, f"{release}.{namespace}", f"{release}.{namespace}.svc",
                     f"{release}.{namespace}.svc.cluster.local"]
    r.check(f"{p} Certificate names the Service and the extra names",
            names == service_names + list(cert_manager.get("dnsNames") or []), str(names))
    ref = spec.get("issuerRef") or {}
    issuer = cert_manager["issuerRef"]
    r.check(f"{p} Certificate issuerRef {issuer}",
            ref.get("name") == issuer["name"] and ref.get("kind") == issuer.get("kind", "Issuer")
            and ref.get("group") == "cert-manager.io", str(ref))
    r.check(f"{p} Certificate usages: server auth and client auth (the probes under mTLS)",
            spec.get("usages") == ["server auth", "client auth"], str(spec.get("usages")))
    r.check(f"{p} Certificate duration and renewBefore are set",
            bool(spec.get("duration")) and bool(spec.get("renewBefore")))
