"""HTTP JSON API (OpenAPI) over the services' gRPC interfaces, with
authentication and role-based access."""
