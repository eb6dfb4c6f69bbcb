"""In-process tests run in development mode (dev secrets allowed) unless a test sets another mode.

Outside tests the API and the action server need MINSHENG_ENV=development set explicitly.
"""

import os

os.environ.setdefault("MINSHENG_ENV", "development")

from tests.support.stack import stack  # noqa: E402, F401  (the session's real stack, for every test folder)
