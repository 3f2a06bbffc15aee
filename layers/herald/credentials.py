"""Channel credentials: from the Secrets Manager secret in production, a dict or file locally.

The secret's JSON holds every channel's credentials by channel and account:
`{"x": {"<account>": {"consumer_key": ..., "consumer_secret": ...,
"access_token": ..., "access_token_secret": ...}}, "<channel>": {"<account>": {...}}}`.
No value read here ever reaches a log line, an error message or a repr.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

OAUTH1_KEYS = ("consumer_key", "consumer_secret", "access_token", "access_token_secret")

DEFAULT_MAX_AGE_SECONDS = 300


class CredentialsError(Exception):
    """Credentials cannot be had for an account; the message names it, never a value.

    `retryable` is true when the secret could not be read (throttled, unreachable, any AWS
    error): a later attempt may succeed once Secrets Manager recovers. It is false when the
    secret was read and has no keys for the account, or is malformed: only a person can
    fix that.
    """

    def __init__(
        self,
        message: str,
        *,
        channel: str | None = None,
        account: str | None = None,
        retryable: bool = False,
    ):
        super().__init__(message)
        self.channel = channel
        self.account = account
        self.retryable = retryable


@dataclass(frozen=True, repr=False)
class OAuth1Credentials:
    """OAuth 1.0a user-context keys of one account (X)."""

    consumer_key: str
    consumer_secret: str
    access_token: str
    access_token_secret: str

    def __repr__(self) -> str:
        return "OAuth1Credentials(<redacted>)"

    __str__ = __repr__


class SecretKeys(Mapping[str, str]):
    """One account's credentials on one channel, by name (an app password, a token): a
    mapping whose repr and str never show a value."""

    def __init__(self, values: Mapping[str, str]) -> None:
        self._values = dict(values)

    def __getitem__(self, name: str) -> str:
        return self._values[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self._values)

    def __len__(self) -> int:
        return len(self._values)

    def __repr__(self) -> str:
        return f"SecretKeys({', '.join(sorted(self._values))}: <redacted>)"

    __str__ = __repr__


class CredentialsProvider(Protocol):
    def for_account(self, channel: str, account: str) -> OAuth1Credentials:
        """The OAuth 1.0a keys of `account` on `channel` (X); CredentialsError if none."""
        ...

    def keys_for(self, channel: str, account: str, required: Sequence[str]) -> SecretKeys:
        """The named credentials of `account` on `channel` (each a non-empty string);
        CredentialsError, naming channel, account and the missing names, if not there."""
        ...


def credentials_from_secret(
    secret: Mapping[str, Any], channel: str, account: str, *, source: str
) -> OAuth1Credentials:
    """Pick one account's OAuth 1.0a keys out of a secret-shaped mapping."""
    keys = keys_from_secret(secret, channel, account, OAUTH1_KEYS, source=source)
    return OAuth1Credentials(**keys)


def keys_from_secret(
    secret: Mapping[str, Any],
    channel: str,
    account: str,
    required: Sequence[str],
    *,
    source: str,
) -> SecretKeys:
    """Pick one account's credentials out of a secret-shaped mapping, checking its shape.
    A value in the wrong channel's place is told by its missing names, never shown."""
    accounts = secret.get(channel) if isinstance(secret, Mapping) else None
    if not isinstance(accounts, Mapping):
        raise CredentialsError(
            f"{source} has no credentials for channel {channel!r}; "
            f"connect the account {account!r} on {channel}",
            channel=channel,
            account=account,
        )
    keys = accounts.get(account)
    if not isinstance(keys, Mapping):
        raise CredentialsError(
            f"{source} has no {channel} credentials for account {account!r}; "
            f"connect the account (accounts present: {', '.join(sorted(accounts)) or 'none'})",
            channel=channel,
            account=account,
        )
    missing = [k for k in required if not isinstance(keys.get(k), str) or not keys.get(k)]
    if missing:
        raise CredentialsError(
            f"{source}: {channel} credentials for account {account!r} lack "
            f"{', '.join(missing)}; reconnect the account",
            channel=channel,
            account=account,
        )
    return SecretKeys({k: str(keys[k]) for k in required})


class StaticCredentials:
    """Credentials held in memory: tests, `sam local`, the CLI with a local JSON file."""

    def __init__(self, secret: Mapping[str, Any], *, source: str = "local credentials") -> None:
        self._secret = secret
        self._source = source

    @classmethod
    def from_file(cls, path: str | Path) -> StaticCredentials:
        return cls(load_credentials_file(path), source=f"credentials file {path}")

    def for_account(self, channel: str, account: str) -> OAuth1Credentials:
        return credentials_from_secret(self._secret, channel, account, source=self._source)

    def keys_for(self, channel: str, account: str, required: Sequence[str]) -> SecretKeys:
        return keys_from_secret(self._secret, channel, account, required, source=self._source)

    def __repr__(self) -> str:
        return f"StaticCredentials(source={self._source!r})"


def load_credentials_file(path: str | Path) -> dict[str, Any]:
    """Read a JSON file in the secret's shape; errors name the file, never its content."""
    try:
        value = json.loads(Path(path).read_text(encoding="utf-8"))
    except OSError as error:
        raise CredentialsError(f"cannot read credentials file {path}: {error.strerror}") from None
    except ValueError:
        raise CredentialsError(f"credentials file {path} is not valid JSON") from None
    if not isinstance(value, dict):
        raise CredentialsError(f"credentials file {path} must hold a JSON object")
    return value


class SecretsManagerCredentials:
    """Credentials from the Secrets Manager secret `secret_id`, through Powertools Parameters.

    The secret is cached for `max_age` seconds, so a warm function does not call Secrets
    Manager on every tick, and a reconnected account is picked up within that time.
    A failed read is not cached, and raises a retryable CredentialsError.
    Pass `boto3_client` to use a particular client (tests, another endpoint).
    """

    def __init__(
        self,
        secret_id: str,
        *,
        boto3_client: Any = None,
        max_age: int = DEFAULT_MAX_AGE_SECONDS,
    ) -> None:
        if not secret_id:
            raise ValueError("secret_id is required (CREDENTIALS_SECRET)")
        from herald.observability import quiet_sdk_loggers

        quiet_sdk_loggers()  # botocore would log the secret's value at DEBUG
        self.secret_id = secret_id
        self.max_age = max_age
        self._boto3_client = boto3_client
        self._provider: Any = None

    def for_account(self, channel: str, account: str) -> OAuth1Credentials:
        secret = self._secret()
        return credentials_from_secret(
            secret, channel, account, source=f"secret {self.secret_id!r}"
        )

    def keys_for(self, channel: str, account: str, required: Sequence[str]) -> SecretKeys:
        source = f"secret {self.secret_id!r}"
        return keys_from_secret(self._secret(), channel, account, required, source=source)

    def _secret(self) -> Mapping[str, Any]:
        # Imported here: boto3 and Powertools stay off the idle path of a tick.
        from aws_lambda_powertools.utilities import parameters
        from aws_lambda_powertools.utilities.parameters.exceptions import (
            GetParameterError,
            TransformParameterError,
        )
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            if self._boto3_client is None:
                value = parameters.get_secret(
                    self.secret_id, transform="json", max_age=self.max_age
                )
            else:
                if self._provider is None:
                    self._provider = parameters.SecretsProvider(boto3_client=self._boto3_client)
                value = self._provider.get(self.secret_id, transform="json", max_age=self.max_age)
        except TransformParameterError:
            raise CredentialsError(f"secret {self.secret_id!r} does not hold valid JSON") from None
        except GetParameterError as error:
            raise CredentialsError(
                f"cannot read secret {self.secret_id!r}: {_aws_error_summary(error)}",
                retryable=True,
            ) from None
        except (BotoCoreError, ClientError) as error:  # e.g. while the client is made
            raise CredentialsError(
                f"cannot read secret {self.secret_id!r}: {type(error).__name__}", retryable=True
            ) from None
        if not isinstance(value, Mapping):
            raise CredentialsError(f"secret {self.secret_id!r} must hold a JSON object")
        return value

    def __repr__(self) -> str:
        return f"SecretsManagerCredentials(secret_id={self.secret_id!r})"


def _aws_error_summary(error: Exception) -> str:
    """The AWS error code and message; botocore messages never carry the secret's value."""
    cause = error.__cause__ or error.__context__
    response = getattr(cause, "response", None)
    if isinstance(response, Mapping):
        info = response.get("Error", {})
        code, message = info.get("Code", ""), info.get("Message", "")
        if code or message:
            return f"{code}: {message}".strip(": ")
    return type(cause).__name__ if cause is not None else type(error).__name__
