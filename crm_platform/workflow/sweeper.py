"""The periodic side of the engine for a service's process: every ``interval``
seconds, store the ``workflow_overdue`` events of state entries that fell due,
then run the actions left in outboxes (a crash, an outage, or those overdue
events). Both steps are safe to run in several processes at once: each overdue
entry is announced by one conditional write, each action is idempotent on its id.
"""

from __future__ import annotations

from datetime import timedelta

from crm_platform.clock import Clock
from crm_platform.process import Periodic
from crm_platform.workflow.actions import ActionRunner
from crm_platform.workflow.engine import WorkflowEngine


class WorkflowSweeper(Periodic):
    def __init__(
        self,
        engine: WorkflowEngine,
        runner: ActionRunner,
        clock: Clock,
        interval: float = 30.0,
        older_than: timedelta = timedelta(seconds=5),
    ) -> None:
        super().__init__("workflow-sweeper", self.sweep_once, interval)
        self._engine, self._runner, self._clock, self._older_than = engine, runner, clock, older_than

    def sweep_once(self) -> int:
        """Announce what is overdue, then run pending actions; returns the actions run."""
        now = self._clock.now()
        # The overdue events just stored run in this pass; older leftovers through the sweep.
        ran = sum(self._runner.run(instance_id) for instance_id in self._engine.sweep_overdue(now))
        return ran + self._runner.sweep(now, older_than=self._older_than)
