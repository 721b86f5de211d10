"""Membership: subscribers and zones, subscriptions by mail, unsubscribes, bounces and personal data."""
