"""Shared platform package: configuration, telemetry, messaging and gRPC helpers,
and the generated protobuf code. It holds no domain code."""
