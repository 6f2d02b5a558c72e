"""Local development stack: starts the infrastructure stand-ins (RabbitMQ,
SecantusDB, SeaweedFS) and the project's processes on loopback, and stops them.

Importing it puts the importing process (``make run``, ``make demo``, the tests,
the benchmarks) in development mode unless ``CRM_ENV`` says otherwise, so it
shares the development secrets of the stack it starts (for example the one that
signs gRPC caller assertions). Production processes never import it.
"""

import os

os.environ.setdefault("CRM_ENV", "development")
