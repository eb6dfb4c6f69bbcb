"""The action server, locked: rasa_sdk's Sanic app behind a shared secret, on 127.0.0.1 by default.

`python -m actions.server --port 5055` replaces `rasa run actions`. Rasa sends the secret as
`Authorization: Bearer $MINSHENG_ACTIONS_TOKEN` (endpoints.yml, action_endpoint.headers); any other
call to /webhook or /actions gets 401. /health stays open for readiness checks (it says nothing).
There is no default secret: the server refuses to start without one, and outside development it
refuses the development value too.
"""

from __future__ import annotations

import hmac
import logging
import os
import sys

from actions.api_client import ConfigError, required_secret, service_token

DEV_ACTIONS_TOKEN = "dev-actions-token"
OPEN_PATHS = frozenset({"/health"})

logger = logging.getLogger(__name__)


def token_matches(header: str | None, token: str) -> bool:
    scheme, _, presented = (header or "").partition(" ")
    return scheme.lower() == "bearer" and hmac.compare_digest(presented.strip().encode(), token.encode())


def create_app(token: str, action_package: str = "actions"):  # noqa: ANN201  (a Sanic app)
    from rasa_sdk import endpoint
    from sanic import response

    app = endpoint.create_app(action_package, cors_origins=None)

    @app.on_request
    async def _require_secret(request):  # noqa: ANN001, ANN202
        if request.path in OPEN_PATHS:
            return None
        if not token_matches(request.headers.get("authorization"), token):
            logger.warning("action server: refused %s %s without the shared secret", request.method, request.path)
            return response.json({"error": "unauthorized"}, status=401)
        return None

    return app


def main(argv: list[str] | None = None) -> None:
    from rasa_sdk import utils
    from rasa_sdk.endpoint import create_argument_parser
    from rasa_sdk.plugin import plugin_manager

    parser = create_argument_parser()
    parser.add_argument("--interface", default=os.environ.get("MINSHENG_ACTIONS_HOST", "127.0.0.1"),
                        help="address to listen on (default 127.0.0.1; MINSHENG_ACTIONS_HOST)")
    args = parser.parse_args(argv)
    utils.configure_colored_logging(args.loglevel)
    utils.update_sanic_log_level()
    token = required_secret("MINSHENG_ACTIONS_TOKEN", DEV_ACTIONS_TOKEN)
    service_token()  # the API client needs its own secret too: fail now, not at the first filing
    app = create_app(token, args.actions)
    plugin_manager().hook.attach_sanic_app_extensions(app=app)
    logger.info("Action server on http://%s:%s (shared secret required)", args.interface, args.port)
    app.run(args.interface, args.port, workers=utils.number_of_sanic_workers())


if __name__ == "__main__":
    try:
        main()
    except ConfigError as exc:
        print(f"action server not started: {exc}", file=sys.stderr)
        raise SystemExit(2) from None
