"""Expiry-aware reader of token-refresher parameters, for Python Lambdas (boto3).

Caches each token until 60 s before its own expiresAt (not for a fixed TTL), so a
warm container reads SSM about once per token and never returns an expired one.
While the refresher is late (a provider outage), it re-reads at most every 5 s.
Copy this file into your function; boto3 ships with the Lambda Python runtime.
"""

import json
import time
from datetime import datetime

import boto3


class TokenUnavailable(Exception):
    """The parameter holds no usable token: missing, malformed, or (nearly) expired."""


class TokenReader:
    def __init__(self, ssm=None, margin_seconds=60, minimum_lifetime_seconds=5, recheck_seconds=5, clock=time.time):
        self._ssm = ssm or boto3.client("ssm")
        self._margin = margin_seconds
        self._minimum = minimum_lifetime_seconds
        self._recheck = recheck_seconds
        self._clock = clock
        self._last = {}  # parameter name -> (read at, token dict or None, expires at or why there is none)

    def get_token(self, name, force_refresh=False):
        """The published token dict; force_refresh=True after the provider answered 401."""
        last = self._last.get(name)
        if last and not force_refresh:
            read_at, token, expires_at = last
            if token and self._clock() < expires_at - self._margin:
                return token
            if self._clock() - read_at < self._recheck:
                return self._usable(name, last)
        return self._usable(name, self._read(name))

    def _read(self, name):
        try:
            value = self._ssm.get_parameter(Name=name, WithDecryption=True)["Parameter"]["Value"]
            token = _published_token(value)
            last = (self._clock(), token, _instant(token["expiresAt"])) if token else (
                self._clock(), None, "the value is not a published token")
        except self._ssm.exceptions.ParameterNotFound:
            last = (self._clock(), None, "the parameter does not exist yet")
        self._last[name] = last
        return last

    def _usable(self, name, last):
        _, token, expires_at = last
        if token is None:
            raise TokenUnavailable(f"no usable token in {name}: {expires_at}")
        if expires_at - self._minimum <= self._clock():
            raise TokenUnavailable(
                f"no usable token in {name}: the token expired or expires within seconds ({token['expiresAt']})"
            )
        # Inside the margin the token is still returned, and the parameter looked at again after recheck_seconds.
        return token


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
