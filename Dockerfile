# One image for every CRM Social Python process; the command picks the process:
#   crm-beneficiaries-amqp   nameko service (RPC and events over AMQP)
#   crm-beneficiaries-grpc   gRPC server on GRPC_HOST:GRPC_PORT (50051)
#   crm-actas-grpc           actas gRPC server on GRPC_HOST:ACTAS_GRPC_PORT (50052)
#   crm-actas-ingest         kiosk submission ingest worker (RabbitMQ consumer)
#   crm-documents            documents service: acta PDFs (AMQP) and gRPC on
#                            GRPC_HOST:DOCUMENTS_GRPC_PORT (50053)
#   crm-notifications        notifications service: acta_sealed messages (AMQP) sent
#                            by WhatsApp, SMS and email, and gRPC on
#                            GRPC_HOST:NOTIFICATIONS_GRPC_PORT (50054)
#   crm-gateway              HTTP API and web UI on HTTP_HOST:HTTP_PORT (8080), GET /healthz
#   crm-healthcheck          probe used by docker-compose and Kubernetes exec probes
# No secret is baked in: every secret arrives as an environment variable at run time.

ARG PYTHON_IMAGE=python:3.11-slim
ARG NODE_IMAGE=node:20-bookworm-slim

# The web app's front-end packages, exactly as gateway/web/package-lock.json pins them.
FROM ${NODE_IMAGE} AS web
WORKDIR /web
COPY gateway/web/package.json gateway/web/package-lock.json ./
RUN npm ci --omit=dev --no-audit --no-fund

FROM ${PYTHON_IMAGE} AS build
ENV PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1
RUN python -m venv /opt/venv
ENV PATH=/opt/venv/bin:$PATH
WORKDIR /src
# Dependencies first, from pyproject.toml alone, so a source change reuses this layer.
COPY pyproject.toml ./
RUN python -c "import tomllib; print('\n'.join(tomllib.load(open('pyproject.toml', 'rb'))['project']['dependencies']))" > /tmp/requirements.txt \
 && pip install -r /tmp/requirements.txt
COPY crm_platform ./crm_platform
COPY services ./services
COPY gateway ./gateway
COPY --from=web /web/node_modules ./gateway/web/node_modules
COPY edge_agent ./edge_agent
COPY devstack ./devstack
RUN pip install . \
 && python -c "import crm_platform.healthcheck, gateway.main, services.beneficiaries.entrypoints.grpc_server, services.actas.entrypoints.grpc_server, services.actas.entrypoints.ingest, services.documents.entrypoints.main, services.notifications.entrypoints.main"

FROM ${PYTHON_IMAGE}
LABEL org.opencontainers.image.title="crm-social" \
      org.opencontainers.image.description="CRM Social services, gRPC servers and HTTP gateway"
RUN groupadd --system --gid 10001 crm \
 && useradd --system --uid 10001 --gid 10001 --no-create-home --home-dir /tmp --shell /usr/sbin/nologin crm
COPY --from=build /opt/venv /opt/venv
ENV PATH=/opt/venv/bin:$PATH \
    CRM_ENV=production \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    HOME=/tmp \
    OTEL_TRACES_DIR=/tmp/traces \
    GRPC_HOST=0.0.0.0 \
    GRPC_PORT=50051 \
    HTTP_HOST=0.0.0.0 \
    HTTP_PORT=8080
# The root filesystem may be read-only (Kubernetes): only /tmp needs to be writable.
WORKDIR /tmp
USER 10001:10001
EXPOSE 8080 50051 50052 50053 50054
CMD ["python", "-c", "import sys; sys.exit('usage: docker run IMAGE COMMAND, where COMMAND is one of crm-beneficiaries-amqp, crm-beneficiaries-grpc, crm-actas-grpc, crm-actas-ingest, crm-documents, crm-notifications, crm-gateway, crm-healthcheck {amqp|grpc HOST:PORT [SERVICE]|http URL}')"]
