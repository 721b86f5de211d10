"""The daemon's small HTTP side: the RFC 8058 one-click unsubscribe."""
