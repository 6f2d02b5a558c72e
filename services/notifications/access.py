"""Who may call each operation of the notifications service
(``crm.notifications.v1.NotificationsService``): the one table. The gRPC server
enforces it before any handler runs; the gateway derives its 403s from it.

- Sending a message to people, a household or a community: admin, coordinator, gestor.
- The delivery log and the message templates: the same, and auditors.
- Delivery reports: only messaging providers (the gateway forwards their webhooks
  under the ``provider`` role; the service then checks the provider's signature).
"""

from __future__ import annotations

from crm_platform.access import ADMIN, AUDITOR, COORDINATOR, GESTOR, PROVIDER, AccessTable, roles

SENDERS = roles(ADMIN, COORDINATOR, GESTOR)
READERS = roles(SENDERS, AUDITOR)

ACCESS: AccessTable = {
    "Send": SENDERS,
    "GetNotification": READERS,
    "ListDeliveries": READERS,
    "ListMessageTemplates": READERS,
    "CountDeliveries": READERS,
    "ReceiveWebhook": roles(PROVIDER),
}
