"""Static files under ``/static/``: the console's CSS and the vendored front-end packages."""

from __future__ import annotations

import os

from starlette.responses import Response
from starlette.staticfiles import PathLike, StaticFiles
from starlette.types import Scope

#: Every URL the pages use is versioned (``vendor/<name>-<version>/``) or hashed (``?v=``), so it never
#: changes content: browsers keep it a year and do not ask again.
LONG_CACHE = "public, max-age=31536000, immutable"


class CachedStaticFiles(StaticFiles):
    """Starlette's static files with a long ``Cache-Control`` (otherwise ``no-store`` would apply)."""

    def file_response(
        self, full_path: PathLike, stat_result: os.stat_result, scope: Scope, status_code: int = 200
    ) -> Response:
        response = super().file_response(full_path, stat_result, scope, status_code)
        response.headers["Cache-Control"] = LONG_CACHE
        return response
