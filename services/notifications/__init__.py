"""Notifications service: WhatsApp, SMS and email to beneficiaries and staff."""
