"""Container health probes: ``crm-healthcheck amqp | grpc HOST:PORT [SERVICE] | http URL``.

The image ships neither curl nor grpc_health_probe, so docker-compose healthchecks
and Kubernetes exec probes run this instead. Exit status 0 means healthy; anything
else prints one line on stderr naming what failed and exits 1.
"""

from __future__ import annotations

import argparse
import sys
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Sequence

from crm_platform.config import setting

DEFAULT_AMQP_URI = "amqp://guest:guest@127.0.0.1:5672/"
DEFAULT_TIMEOUT = 3.0


class Unhealthy(Exception):
    """The probed component did not answer as healthy."""


def check_amqp(uri: str, timeout: float = DEFAULT_TIMEOUT) -> None:
    """The broker at ``uri`` accepts a connection (one attempt, bounded by ``timeout``)."""
    from kombu import Connection

    connection = Connection(uri, connect_timeout=timeout)
    # as_uri() masks the password, so the message is safe to log.
    where = connection.as_uri()
    try:
        connection.ensure_connection(max_retries=1, interval_start=0, timeout=timeout)
    except Exception as exc:  # a probe reports every failure, never a traceback
        raise Unhealthy(f"amqp {where}: {type(exc).__name__}: {exc}") from exc
    finally:
        connection.release()


def check_grpc(target: str, service: str = "", timeout: float = DEFAULT_TIMEOUT) -> None:
    """grpc.health.v1 ``Check`` on ``target`` answers SERVING for ``service``."""
    import grpc
    from grpc_health.v1 import health_pb2, health_pb2_grpc

    label = f"grpc {target} service {service!r}"
    with grpc.insecure_channel(target) as channel:
        try:
            reply = health_pb2_grpc.HealthStub(channel).Check(
                health_pb2.HealthCheckRequest(service=service), timeout=timeout
            )
        except grpc.RpcError as exc:
            code = exc.code() if isinstance(exc, grpc.Call) else None
            details = exc.details() if isinstance(exc, grpc.Call) else str(exc)
            raise Unhealthy(f"{label}: {code.name if code else 'error'}: {details}") from exc
    if reply.status != health_pb2.HealthCheckResponse.SERVING:
        status = health_pb2.HealthCheckResponse.ServingStatus.Name(reply.status)
        raise Unhealthy(f"{label}: status {status}")


def check_http(url: str, timeout: float = DEFAULT_TIMEOUT) -> None:
    """GET ``url`` answers 200."""
    if urllib.parse.urlsplit(url).scheme not in {"http", "https"}:
        raise Unhealthy(f"http {url}: only http and https URLs can be probed")
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:  # noqa: S310 (scheme checked)
            status = int(response.status)
    except urllib.error.HTTPError as exc:
        status = exc.code
        exc.close()
    except (OSError, ValueError) as exc:
        raise Unhealthy(f"http {url}: {type(exc).__name__}: {exc}") from exc
    if status != 200:
        raise Unhealthy(f"http {url}: status {status}")


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="crm-healthcheck", description="Probe a dependency; exit 0 when it is healthy."
    )
    parser.add_argument(
        "--timeout",
        type=float,
        default=DEFAULT_TIMEOUT,
        help="seconds to wait for an answer (default %(default)s)",
    )
    probes = parser.add_subparsers(dest="probe", required=True)
    amqp = probes.add_parser("amqp", help="connect to the broker (AMQP_URI)")
    amqp.add_argument("uri", nargs="?", help="broker URI; default: $AMQP_URI")
    grpc_probe = probes.add_parser("grpc", help="grpc.health.v1 Check; healthy only if SERVING")
    grpc_probe.add_argument("target", help="HOST:PORT")
    grpc_probe.add_argument("service", nargs="?", default="", help="service name; default: server")
    http = probes.add_parser("http", help="GET a URL; healthy only on 200")
    http.add_argument("url")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        if args.probe == "amqp":
            check_amqp(args.uri or setting("AMQP_URI", DEFAULT_AMQP_URI), args.timeout)
        elif args.probe == "grpc":
            check_grpc(args.target, args.service, args.timeout)
        else:
            check_http(args.url, args.timeout)
    except Unhealthy as exc:
        print(f"unhealthy: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
