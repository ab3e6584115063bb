"""Typed settings read from the environment (and an optional ``.env`` file).

Every variable is listed in the README's configuration table. In production
(``SESSIONS_ENV=prod``) the settings refuse the default secret key and the test-only time
scale, so a misconfigured deployment fails at start instead of running insecurely.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Literal

from pydantic import Field, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

DEFAULT_SECRET = "dev-insecure-secret-change-me"


class Settings(BaseSettings):
    """Application settings; field names map to upper-case environment variables."""

    model_config = SettingsConfigDict(env_file=".env", extra="ignore")

    sessions_env: Literal["dev", "test", "prod"] = "dev"
    database_url: str = "sqlite:///data/sessions.db"
    secret_key: str = DEFAULT_SECRET
    # Where students reach the app (used to build links that leave the app: OAuth returns,
    # calendar links). The backend URL is where OAuth providers send the browser back.
    public_url: str = "http://localhost:3000"
    backend_url: str = "http://localhost:8000"
    session_days: int = Field(default=30, ge=1, le=365)

    github_client_id: str = ""
    github_client_secret: str = ""
    github_authorize_url: str = "https://github.com/login/oauth/authorize"
    github_token_url: str = "https://github.com/login/oauth/access_token"
    github_api_url: str = "https://api.github.com"

    google_client_id: str = ""
    google_client_secret: str = ""
    google_discovery_url: str = "https://accounts.google.com/.well-known/openid-configuration"

    # Test-only: a factor that shortens every timer phase (60 = a minute lasts a second).
    time_scale: float = Field(default=1.0, ge=1.0, le=3600.0)
    # Seconds a disconnected member is kept before they count as gone.
    presence_grace_seconds: float = Field(default=6.0, ge=0.5, le=120.0)

    # Rate limits ("N per M seconds", the `limits` library's notation).
    login_rate_limit: str = "10/minute"
    join_code_rate_limit: str = "10/minute"
    chat_rate_limit: str = "5/5second"
    # OAuth logins started per client (each writes a pending-login row).
    oauth_start_rate_limit: str = "30/minute"
    rate_limit_storage: str = "memory://"

    @model_validator(mode="after")
    def _refuse_unsafe_production(self) -> Settings:
        weak_secret = self.secret_key == DEFAULT_SECRET or len(self.secret_key) < 32
        if self.sessions_env == "prod" and weak_secret:
            raise ValueError("SECRET_KEY must be set to a random string of 32+ characters in production.")
        if self.time_scale != 1.0 and self.sessions_env != "test":
            raise ValueError("TIME_SCALE is a test-only setting: it is refused unless SESSIONS_ENV=test.")
        return self

    @property
    def github_enabled(self) -> bool:
        """Whether GitHub login is configured (both id and secret)."""
        return bool(self.github_client_id and self.github_client_secret)

    @property
    def google_enabled(self) -> bool:
        """Whether Google login is configured (both id and secret)."""
        return bool(self.google_client_id and self.google_client_secret)


@lru_cache
def get_settings() -> Settings:
    """The process-wide settings (read once)."""
    return Settings()
