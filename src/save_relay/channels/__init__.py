"""Channels besides mail: signed webhooks (Standard Webhooks) for control rooms and CAP 1.2 alerts.

- ``eligibility``: the one rule of which event may go to which endpoint (event filter, zones, TLP).
- ``payloads``: what an event's JSON carries (for a report: only what its distribution carries).
- ``dispatch``: the ``webhook-events`` job, events -> one ``webhook`` delivery per eligible endpoint.
- ``signing`` and ``worker``: the signed POST of each delivery, retried through the delivery queue.
- ``cap``, ``area``, ``alerttext``, ``alerts``: a report as a CAP 1.2 alert, its area, its short text.
"""
