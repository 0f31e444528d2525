"""Provider credentials, kept out of settings files and out of every repr, dump and error message.

Read from the environment (``POLYGON_API_KEY``, ``TRADIER_API_KEY``, ``POLYGON_S3_ACCESS_KEY_ID``,
``POLYGON_S3_SECRET_ACCESS_KEY``) or from a git-ignored secrets YAML file with the same names in lower
case; the environment wins over the file.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Self

from pydantic import Field, SecretStr, ValidationError, field_validator, model_validator

from volengine.config._base import ConfigModel, Problem, raise_problems
from volengine.config._problems import Provenance, validation_lines
from volengine.config._yaml import read_yaml_mapping
from volengine.errors import ConfigError

SECRETS_FILE_ENV_VAR = "VOLENGINE_SECRETS_FILE"


class Secrets(ConfigModel):
    """Provider credentials; each is a :class:`pydantic.SecretStr` or None when not configured.

    Examples
    --------
    >>> s = Secrets(polygon_api_key="abc123")
    >>> "abc123" in repr(s) or "abc123" in s.model_dump_json()
    False
    >>> s.require("polygon_api_key")
    'abc123'
    """

    polygon_api_key: SecretStr | None = Field(None, description="Polygon REST key (POLYGON_API_KEY).")
    tradier_api_key: SecretStr | None = Field(None, description="Tradier bearer token (TRADIER_API_KEY).")
    polygon_s3_access_key_id: SecretStr | None = Field(
        None, description="Polygon flat-file S3 key id (POLYGON_S3_ACCESS_KEY_ID)."
    )
    polygon_s3_secret_access_key: SecretStr | None = Field(
        None, description="Polygon flat-file S3 secret (POLYGON_S3_SECRET_ACCESS_KEY)."
    )

    @field_validator("*", mode="after")
    @classmethod
    def _no_whitespace(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None:
            text = value.get_secret_value()
            if not text or text != text.strip() or any(c.isspace() for c in text):
                msg = "must be a non-empty key without whitespace"
                raise ValueError(msg)
        return value

    @model_validator(mode="after")
    def _s3_pair(self) -> Self:
        problems: list[Problem] = []
        has_id = self.polygon_s3_access_key_id is not None
        if has_id != (self.polygon_s3_secret_access_key is not None):
            names = ("polygon_s3_access_key_id", "polygon_s3_secret_access_key")
            present, missing = names if has_id else names[::-1]
            problems.append(
                Problem(missing, "is needed too: the S3 key id and secret come as a pair", None, (present,))
            )
        raise_problems(problems)
        return self

    def require(self, name: str) -> str:
        """Return the plain value of credential ``name``.

        Raises
        ------
        ConfigError
            When the credential is not configured; the message names the environment variable to set.
        """
        if name not in type(self).model_fields:
            msg = f"secrets: unknown credential {name!r} (known: {', '.join(type(self).model_fields)})"
            raise ConfigError(msg)
        value = getattr(self, name)
        if value is None:
            msg = f"secrets: {name} is not set; export {name.upper()} or add it to the secrets file"
            raise ConfigError(msg)
        return str(value.get_secret_value())


def load_secrets(path: str | Path | None = None, env: Mapping[str, str] | None = None) -> Secrets:
    """Read provider credentials from a secrets file and the environment.

    Parameters
    ----------
    path : str or Path, optional
        Secrets YAML with keys ``polygon_api_key``, ``tradier_api_key``, ``polygon_s3_access_key_id``,
        ``polygon_s3_secret_access_key``. When None, the file named by ``VOLENGINE_SECRETS_FILE`` is read,
        if that variable is set. Keep the file out of git (``*.secrets.yaml`` is ignored).
    env : mapping of str to str, optional
        Environment; ``os.environ`` when None. Non-empty ``POLYGON_API_KEY`` etc. beat the file.

    Returns
    -------
    Secrets
        Frozen; values are ``SecretStr`` and print as ``**********``.

    Raises
    ------
    ConfigError
        Missing or invalid file, unknown key, or a malformed value; no line ever contains a secret.
    """
    env = os.environ if env is None else env
    if path is None:
        path = env.get(SECRETS_FILE_ENV_VAR) or None
    provenance = Provenance("secrets")
    data: dict[str, object] = {}
    if path is not None:
        data, problems = read_yaml_mapping(path)
        if problems:
            raise ConfigError(problems)
        provenance.record(str(path), data)
    for name in Secrets.model_fields:
        value = env.get(name.upper())
        if value:
            data[name] = value
            provenance.record(name.upper(), {name: value})
    try:
        return Secrets.model_validate(data)
    except ValidationError as exc:
        raise ConfigError(validation_lines(exc, provenance, model=Secrets, redact=True)) from None
