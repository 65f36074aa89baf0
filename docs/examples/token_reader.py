"""Expiry-aware reader of token-refresher parameters, for Python Lambdas (boto3).

Caches each token until 60 s before its own expiresAt (not for a fixed TTL), so a
warm container reads SSM about once per token and never returns an expired one.
Copy this file into your function; boto3 ships with the Lambda Python runtime.
"""

import json
import time
from datetime import datetime

import boto3


class TokenUnavailable(Exception):
    """The parameter holds no usable token: missing, malformed, or (nearly) expired."""


class TokenReader:
    def __init__(self, ssm=None, margin_seconds=60, minimum_lifetime_seconds=5, clock=time.time):
        self._ssm = ssm or boto3.client("ssm")
        self._margin = margin_seconds
        self._minimum = minimum_lifetime_seconds
        self._clock = clock
        self._cache = {}  # parameter name -> (token dict, usable until, epoch seconds)

    def get_token(self, name, force_refresh=False):
        """The published token dict; force_refresh=True after the provider answered 401."""
        cached = self._cache.get(name)
        if cached and not force_refresh and self._clock() < cached[1]:
            return cached[0]
        try:
            value = self._ssm.get_parameter(Name=name, WithDecryption=True)["Parameter"]["Value"]
        except self._ssm.exceptions.ParameterNotFound:
            raise TokenUnavailable(f"no usable token in {name}: the parameter does not exist yet") from None
        token = _published_token(value)
        if token is None:
            raise TokenUnavailable(f"no usable token in {name}: the value is not a published token")
        expires_at = _instant(token["expiresAt"])
        now = self._clock()
        if expires_at - self._minimum <= now:
            self._cache.pop(name, None)
            raise TokenUnavailable(
                f"no usable token in {name}: the token expired or expires within seconds ({token['expiresAt']})"
            )
        usable_until = expires_at - self._margin
        # Inside the margin the token is still returned, but not cached: the next call looks for its successor.
        if usable_until > now:
            self._cache[name] = (token, usable_until)
        else:
            self._cache.pop(name, None)
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
