"""Ray token authentication for `cxr scan --engine ray --address`.

A cluster made with `ray start --head` uses token authentication when the head has a token
(`~/.ray/auth_token`, written by `ray get-auth-token --generate` or by any local
`ray.init()`), or when `RAY_AUTH_MODE=token` is set there. A process that connects to an
explicit address stays unauthenticated unless told, so `cxr` turns token authentication on
when it finds a token where Ray documents one, and otherwise says what to set.
"""

from __future__ import annotations

import os
from pathlib import Path

MODE = "RAY_AUTH_MODE"
TOKEN = "RAY_AUTH_TOKEN"
TOKEN_PATH = "RAY_AUTH_TOKEN_PATH"
DEFAULT_TOKEN = "~/.ray/auth_token"
_GET_TOKEN = "`ray get-auth-token` on the head node prints it"


def token_source() -> str | None:
    """Where Ray will read the token, in Ray's own order (RAY_AUTH_TOKEN, RAY_AUTH_TOKEN_PATH,
    ~/.ray/auth_token); None when there is none."""
    if os.environ.get(TOKEN, "").strip():
        return TOKEN
    if os.environ.get(TOKEN_PATH):
        return f"{TOKEN_PATH}={os.environ[TOKEN_PATH]}"
    if Path(DEFAULT_TOKEN).expanduser().is_file():
        return DEFAULT_TOKEN
    return None


def use_token_if_found() -> None:
    """Token authentication on for this process when RAY_AUTH_MODE is unset and a token is
    found: what Ray does itself for `address="auto"`, never for an explicit address. A
    cluster without authentication accepts such a client as well."""
    if MODE in os.environ or token_source() is None:
        return
    os.environ[MODE] = "token"
    from ray._raylet import Config

    # Ray read RAY_AUTH_MODE when it was imported; `ray start --head` reloads it the same way
    Config.initialize("")


def refusal(address: str, exc: BaseException) -> str | None:
    """What to set, when `ray.init(address)` failed for want of the right token (None when
    it failed for another reason)."""
    from ray.exceptions import AuthenticationError

    if isinstance(exc, AuthenticationError):  # token mode on here, but no usable token
        return (
            f"cannot use token authentication for the Ray cluster at {address} "
            f"({exc.message}): set {TOKEN} to the cluster's token ({_GET_TOKEN}), or "
            f"{TOKEN_PATH} to a readable file that holds it"
        )
    chain, cause = [], exc
    while cause is not None and len(chain) < 8:
        chain.append(str(cause))
        cause = cause.__cause__ or cause.__context__
    if not any("InvalidAuthToken" in text for text in chain):
        return None
    if os.environ.get(MODE, "").lower() == "disabled":
        return (
            f"the Ray cluster at {address} requires token authentication, which "
            f"{MODE}=disabled turns off here: unset {MODE} (cxr then reads the token from "
            f"{TOKEN}, {TOKEN_PATH} or {DEFAULT_TOKEN})"
        )
    source = token_source()
    if source is None:
        return (
            f"the Ray cluster at {address} requires token authentication and this machine "
            f"has no token: copy the head node's {DEFAULT_TOKEN} to {DEFAULT_TOKEN} here, or "
            f"set {TOKEN} to the token ({_GET_TOKEN})"
        )
    return (
        f"the Ray cluster at {address} refused the token in {source}: set {TOKEN} to the "
        f"cluster's token ({_GET_TOKEN})"
    )
