"""`mismarterad auth schwab`: the browser login that makes (or renews) the Schwab token file.

schwab-py's manual flow, usable on a server without a browser: it prints Schwab's login URL,
the operator opens it anywhere, logs in, allows the app, and pastes the address the browser
was sent to (the callback URL with a code); the code is exchanged for a token pair and the
token file is written in schwab-py's format (mode 0600, given to the state directory's owner
when run as root, so the service can rewrite it at each refresh). The steps are schwab-py's
(`get_auth_context`, authlib's `fetch_token`, `TokenMetadata`), on the adapter's transport, so
`--endpoint` runs the same code against the emulator. The refresh token lasts 7 days: run this
again before (the `MismarteradSchwabTokenAging` alert says when).
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import Any

from mismarterad.cli.support import EX_DATAERR, EX_UNAVAILABLE
from mismarterad.core.errors import ConfigError

__all__ = ["register"]

DEFAULT_CALLBACK = "https://127.0.0.1:8182"  # schwab-py's suggestion; it must equal the app's registered one

EXAMPLES = f"""examples:
  sudo -u mismarterad mismarterad auth schwab --config /etc/mismarterad/mismarterad.toml
  mismarterad auth schwab --token-file /var/lib/mismarterad/schwab-token.json --callback-url https://127.0.0.1:8182
  mismarterad auth schwab --endpoint http://127.0.0.1:8800 --token-file ./schwab-token.json   # the emulator

The app's key and secret come from SCHWAB_APP_KEY / SCHWAB_APP_SECRET, --credentials-file (or
the [schwab] credentials_file of --config; mode 0600), or $CREDENTIALS_DIRECTORY/schwab. The
token file is --token-file, else [schwab] token_file of --config, else schwab-token.json in the
state directory. --callback-url must be exactly the one registered for the app on
developer.schwab.com (default {DEFAULT_CALLBACK}); nothing needs to listen there: copy the
address the browser ends on, even if the page does not load. Exit codes: 0 written, 65 the
pasted address is not this login's redirect or its code was refused (expired or used), 69 Schwab gave no usable token (not reached, an
HTTP error such as a 5xx, or an answer that is not a token: log in again later), 78 a refused
app key or secret, or bad options."""


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = sub.add_parser("auth", help="log in to a venue and write its token file")
    venues = p.add_subparsers(dest="venue", required=True, metavar="VENUE")
    s = venues.add_parser("schwab", help="Schwab's browser login (manual flow): writes the token file",
                          epilog=EXAMPLES, formatter_class=argparse.RawDescriptionHelpFormatter)
    s.add_argument("--config", type=Path, default=None, metavar="FILE", help="the daemon TOML whose [schwab] to use")
    s.add_argument("--token-file", type=Path, default=None, metavar="FILE", help="where to write the token")
    s.add_argument("--callback-url", default=None, metavar="URL",
                   help=f"the app's registered callback URL (default {DEFAULT_CALLBACK})")
    s.add_argument("--credentials-file", type=Path, default=None, metavar="FILE",
                   help="SCHWAB_APP_KEY=… and SCHWAB_APP_SECRET=… lines, mode 0600")
    s.add_argument("--endpoint", default=None, metavar="URL", help="an emulator's base URL instead of Schwab's host")
    s.set_defaults(func=_auth_schwab, needs_app=False)


def _auth_schwab(args: argparse.Namespace) -> int:
    from authlib.common.errors import AuthlibBaseError
    from authlib.integrations.httpx_client import OAuth2Client
    from authlib.oauth2.rfc6749.parameters import parse_authorization_code_response
    from httpx2 import HTTPStatusError, TransportError
    from schwab.auth import TOKEN_ENDPOINT, TokenMetadata, get_auth_context

    from mismarterad.config.daemon_config import load_daemon_config
    from mismarterad.config.settings import load_settings
    from mismarterad.integrations.schwab import TOKEN_FILE_NAME, SchwabEndpoint, TokenFile, load_schwab_credentials
    from mismarterad.integrations.schwab.transport import VenueTransport

    table = load_daemon_config(args.config).schwab if args.config is not None else None
    token_path = args.token_file or (table.token_file if table is not None else None) \
        or load_settings().state_dir / TOKEN_FILE_NAME
    try:
        endpoint = SchwabEndpoint.derive(args.endpoint or (table.endpoint if table is not None else None))
    except ValueError as exc:
        raise ConfigError(f"--endpoint: {exc}") from None
    credentials = load_schwab_credentials(
        os.environ, args.credentials_file or (table.credentials_file if table is not None else None))
    callback = args.callback_url or DEFAULT_CALLBACK
    if not callback.startswith("https://"):
        raise ConfigError(f"--callback-url: Schwab takes https:// callback URLs only, got {callback[:80]!r}")
    if not token_path.parent.is_dir():
        raise ConfigError(f"--token-file {token_path}: its directory does not exist")

    context = get_auth_context(credentials.app_key, callback)
    print("Schwab login (schwab-py's manual flow):")
    print(f"  1. open this address in any browser:\n\n     {endpoint.shown(context.authorization_url)}\n")
    print("  2. log in and allow the app; the browser is then sent to the callback URL "
          f"({callback}), which may not load")
    print("  3. copy the whole address it ends on and paste it here\n", flush=True)
    try:
        received = input("Redirect URL> ").strip()
    except EOFError:
        print("mismarterad: no redirect URL was given (nothing written)", file=sys.stderr)
        return EX_DATAERR
    try:  # the pasted address first, so that nothing the token endpoint answers is taken for it
        code = parse_authorization_code_response(received, state=context.state)["code"]
    except AuthlibBaseError as exc:  # mismatching_state, missing_code
        return _bad_paste(f"the pasted address is not this login's redirect ({_oauth_code(exc)})")
    except (ValueError, KeyError):
        return _bad_paste("the pasted text is not a redirect URL with a code")
    oauth = OAuth2Client(credentials.app_key, redirect_uri=callback, transport=VenueTransport(endpoint), timeout=30.0)
    try:
        token: Any = oauth.fetch_token(TOKEN_ENDPOINT, grant_type="authorization_code", code=code,
                                       client_id=credentials.app_key, auth=(credentials.app_key,
                                                                            credentials.app_secret))
    except TransportError as exc:
        return _unavailable(f"Schwab at {endpoint.host} did not answer ({type(exc).__name__})")
    except HTTPStatusError as exc:  # a 5xx, or an error page that is not JSON
        return _unavailable(f"Schwab's token endpoint at {endpoint.host} answered HTTP {exc.response.status_code}")
    except AuthlibBaseError as exc:
        if _oauth_code(exc) == "invalid_grant":  # the code, not the app: it lives seconds and serves once
            return _bad_paste("Schwab refused the login's code (invalid_grant: it expires within a minute or so "
                              "of the login and serves once)")
        raise ConfigError(f"Schwab refused the login ({_oauth_code(exc)}): check SCHWAB_APP_KEY, SCHWAB_APP_SECRET "
                          f"and --callback-url (it must equal the app's registered one); nothing written") from None
    except ValueError:  # authlib: a 2xx whose body is not a JSON object
        return _unavailable(f"Schwab's token endpoint at {endpoint.host} answered something that is not JSON")
    finally:
        oauth.close()
    missing = [k for k in ("access_token", "refresh_token") if not (isinstance(token.get(k), str) and token.get(k))]
    if missing:
        return _unavailable(f"Schwab's token endpoint at {endpoint.host} answered without {' or '.join(missing)}")
    tokens = TokenFile(token_path)
    metadata = TokenMetadata(token, int(tokens.wall.now().timestamp()), tokens.write)
    try:
        metadata.wrapped_token_write_func()(token)
    except OSError as exc:
        raise ConfigError(f"--token-file {token_path}: cannot write it ({exc.strerror})") from None
    print(f"token written to {token_path} (mode 0600); the refresh token lasts 7 days: run this again before")
    return 0


def _bad_paste(what: str) -> int:
    print(f"mismarterad: {what}: start again; nothing written", file=sys.stderr)
    return EX_DATAERR


def _unavailable(what: str) -> int:
    """Schwab gave no usable token (down, an error page, an answer that is not one): exit 69,
    the login may be tried again later."""
    print(f"mismarterad: {what}; nothing written: try again later (a new login)", file=sys.stderr)
    return EX_UNAVAILABLE


def _oauth_code(exc: Exception) -> str:
    """The OAuth error code of authlib's exception (never its description: Schwab's text)."""
    return str(getattr(exc, "error", "") or type(exc).__name__)[:40]
