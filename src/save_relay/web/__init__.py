"""The daemon's HTTP side: a Starlette app served by uvicorn in the daemon's event loop.

Today it serves the RFC 8058 one-click unsubscribe, ``/healthz`` and the console's first page; the web
console for moderators and coordinators grows here (``application.py`` holds the routing table).
"""
