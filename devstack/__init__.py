"""Local development stack: starts the infrastructure stand-ins (RabbitMQ,
SecantusDB, SeaweedFS) and the project's processes on loopback, and stops them."""
