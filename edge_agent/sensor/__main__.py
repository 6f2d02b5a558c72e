"""``python -m edge_agent.sensor``: the same as the ``crm-fingerprint-sensor`` console script."""

import sys

from edge_agent.sensor.cli import main

sys.exit(main())
