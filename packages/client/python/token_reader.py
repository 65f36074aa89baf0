"""Expiry-aware reader of token-refresher parameters, for Python Lambdas (boto3).

Caches each token until 60 s before its own expiresAt (not for a fixed TTL), so a
warm container reads SSM about once per token and never returns an expired one.
While the refresher is late (a provider outage) or SSM fails, it re-reads at most
every 5 s, serving a cached token as long as it has 5 s of life; an error names the
SSM error code.
Copy this file into your function; boto3 ships with the Lambda Python runtime.
"""

import json
import math
import time
from datetime import datetime

import boto3


class TokenUnavailable(Exception):
    """The parameter holds no usable token: missing, malformed, or (nearly) expired."""


class TokenReader:
    def __init__(self, ssm=None, margin_seconds=60, minimum_lifetime_seconds=5, recheck_seconds=5, clock=time.time):
        for option, value in (("margin_seconds", margin_seconds),
                              ("minimum_lifetime_seconds", minimum_lifetime_seconds),
                              ("recheck_seconds", recheck_seconds)):
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) or value < 0:
                raise ValueError(f'TokenReader option "{option}" must be a finite number of seconds, at least 0')
        if margin_seconds < minimum_lifetime_seconds:
            raise ValueError(
                f'TokenReader option "margin_seconds" ({margin_seconds}) must be at least '
                f'"minimum_lifetime_seconds" ({minimum_lifetime_seconds})'
            )
        self._ssm = ssm or boto3.client("ssm")
        self._margin = margin_seconds
        self._minimum = minimum_lifetime_seconds
        self._recheck = recheck_seconds
        self._clock = clock
        # parameter name -> {"token", "expires_at"} of the last token read (kept through SSM errors),
        # "attempt_at" of the last read, and "problem" when that read gave no token good for the margin.
        self._known = {}

    def get_token(self, name, force_refresh=False):
        """The published token dict; force_refresh=True after the provider answered 401 (always reads SSM)."""
        known = self._known.get(name)
        now = self._clock()
        if known and not force_refresh:
            if known.get("token") and now < known["expires_at"] - self._margin:
                return known["token"]
            if now - known["attempt_at"] < self._recheck:
                return self._usable(name, known)
        return self._usable(name, self._read(name, force_refresh))

    def _read(self, name, forced):
        previous = self._known.get(name) or {}
        try:
            value = self._ssm.get_parameter(Name=name, WithDecryption=True)["Parameter"]["Value"]
            token = _published_token(value)
            known = {"token": token, "expires_at": _instant(token["expiresAt"])} if token else {
                "problem": "the value is not a published token"}
        except Exception as error:  # noqa: BLE001 - every SSM failure is reported by its error code
            code = _error_code(error)
            if code == "ParameterNotFound":
                known = {"problem": "the parameter does not exist yet"}
            else:
                # A token with life left is served through SSM errors (not to a forced read: it was just refused).
                kept = {} if forced or not previous.get("token") else {
                    "token": previous["token"], "expires_at": previous["expires_at"]}
                known = {**kept, "problem": f"SSM GetParameter failed ({code})"}
        known["attempt_at"] = self._clock()
        self._known[name] = known
        return known

    def _usable(self, name, known):
        token = known.get("token")
        if token and known["expires_at"] - self._minimum > self._clock():
            # Inside the margin the token is still returned, and the parameter looked at again after recheck_seconds.
            return token
        if token:
            also = f", and {known['problem']}" if known.get("problem") else ""
            raise TokenUnavailable(
                f"no usable token in {name}: the token expired or expires within seconds ({token['expiresAt']}){also}"
            )
        raise TokenUnavailable(f"no usable token in {name}: {known.get('problem', 'no token has been read')}")


def _error_code(error):
    response = getattr(error, "response", None)
    if isinstance(response, dict):
        return response.get("Error", {}).get("Code") or type(error).__name__
    return type(error).__name__


def _instant(text):
    return datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()


def _published_token(value):
    try:
        token = json.loads(value)
        if not (isinstance(token, dict) and token.get("tokenType") == "Bearer"):
            return None
        if not (isinstance(token.get("token"), str) and token["token"]):
            return None
        _instant(token["expiresAt"])
        return token
    except (ValueError, KeyError, TypeError, AttributeError):
        return None


_shared = None


def get_token(name, force_refresh=False):
    """The published token for `name`, from a reader shared by the whole container."""
    global _shared
    if _shared is None:
        _shared = TokenReader()
    return _shared.get_token(name, force_refresh)
