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

    # Facebook Login (Graph API). Facebook says nothing about whether an email was verified,
    # so a Facebook login never claims or joins an account by email (sessions_app/oauth_more.py).
    facebook_client_id: str = ""
    facebook_client_secret: str = ""
    facebook_authorize_url: str = "https://www.facebook.com/v21.0/dialog/oauth"
    facebook_token_url: str = "https://graph.facebook.com/v21.0/oauth/access_token"
    facebook_api_url: str = "https://graph.facebook.com/v21.0"

    # Any standards-compliant OpenID Connect provider, found by its discovery document; its
    # button reads "Continue with <OIDC_NAME>".
    oidc_name: str = Field(default="OpenID Connect", min_length=1, max_length=40)
    oidc_discovery_url: str = ""
    oidc_client_id: str = ""
    oidc_client_secret: str = ""

    # Test-only: a factor that shortens every timer phase (60 = a minute lasts a second).
    time_scale: float = Field(default=1.0, ge=1.0, le=3600.0)
    # Test-only: how far ahead of the wall clock the app's clock starts (sessions_app/testclock.py),
    # so a restarted test server comes back as if it had been down that long.
    test_clock_offset_seconds: float = Field(default=0.0, ge=-7 * 86400, le=7 * 86400)
    # Seconds a disconnected member is kept before they count as gone.
    presence_grace_seconds: float = Field(default=6.0, ge=0.5, le=120.0)

    # Rate limits ("N per M seconds", the `limits` library's notation).
    # Failed logins: free failures per key, then delays of 1, 2, 4 ... seconds up to the
    # maximum (services/login_guard.py explains the keys).
    login_free_failures: int = Field(default=5, ge=1, le=1000)
    login_max_delay: float = Field(default=900.0, ge=1.0, le=86400.0)
    # Sign-ups per client (IP), then for the whole server: each costs an argon2 hash.
    signup_rate_limit: str = "10/hour"
    signup_global_rate_limit: str = "60/minute"
    join_code_rate_limit: str = "10/minute"
    chat_rate_limit: str = "5/5second"
    # OAuth logins started per client (each writes a pending-login row).
    oauth_start_rate_limit: str = "30/minute"
    rate_limit_storage: str = "memory://"
    # Password hashing off the event loop: threads, and jobs allowed to wait or run at once
    # (more are refused as "busy" rather than queued).
    password_workers: int = Field(default=1, ge=1, le=32)
    password_queue: int = Field(default=8, ge=1, le=1000)
    # Events one socket may send: a burst, refilled at a rate per second (typing sends one
    # event per keystroke; a script flooding a handler is refused past this).
    event_burst: int = Field(default=60, ge=1, le=100000)
    event_rate: float = Field(default=20.0, gt=0, le=100000)

    # Outgoing mail (verification and password-reset links). Without SMTP_HOST nothing is
    # sent: in dev/test the mail, link included, is written to the server log instead.
    smtp_host: str = ""
    smtp_port: int = Field(default=587, ge=1, le=65535)
    smtp_username: str = ""
    smtp_password: str = ""
    smtp_from: str = "Sessions <no-reply@localhost>"
    smtp_tls: Literal["starttls", "ssl", "none"] = "starttls"
    smtp_timeout: float = Field(default=10.0, gt=0, le=120)
    # Verification / reset mails per address and per client ("N per period").
    mail_rate_limit: str = "3/10minute"
    mail_client_rate_limit: str = "20/hour"

    # Calls (audio/video in rooms and sessions; docs/calls.md). STUN/TURN
    # servers the browsers use (comma-separated URLs); with TURN_SECRET set, each browser gets
    # short-lived TURN REST credentials (coturn's use-auth-secret / static-auth-secret).
    call_stun_urls: str = ""
    call_turn_urls: str = ""
    turn_secret: str = ""
    turn_ttl_seconds: int = Field(default=3600, ge=60, le=86400)
    # Most people in one call; a peer-to-peer mesh sends every stream to everyone, so keep
    # it small without an SFU.
    call_max_participants: int = Field(default=12, ge=2, le=100)
    # The SFU (Janus VideoRoom, scripts/janus.sh): set JANUS_WS_URL (where browsers reach its
    # WebSocket transport) and the server-side API/admin URLs and secrets to use it. A call
    # moves to the SFU when it grows past CALL_SFU_ABOVE people (0: every call uses it).
    janus_ws_url: str = ""
    janus_api_url: str = ""
    janus_admin_url: str = ""
    janus_admin_secret: str = ""
    janus_room_admin_key: str = ""
    call_sfu_above: int = Field(default=4, ge=0, le=100)

    @model_validator(mode="after")
    def _refuse_unsafe_production(self) -> Settings:
        weak_secret = self.secret_key == DEFAULT_SECRET or len(self.secret_key) < 32
        if self.sessions_env == "prod" and weak_secret:
            raise ValueError("SECRET_KEY must be set to a random string of 32+ characters in production.")
        if self.time_scale != 1.0 and self.sessions_env != "test":
            raise ValueError("TIME_SCALE is a test-only setting: it is refused unless SESSIONS_ENV=test.")
        if self.test_clock_offset_seconds != 0.0 and self.sessions_env != "test":
            raise ValueError("TEST_CLOCK_OFFSET_SECONDS is a test-only setting: it is refused unless SESSIONS_ENV=test.")
        if self.sessions_env == "prod" and self.smtp_username and self.smtp_tls == "none":
            raise ValueError("SMTP_TLS=none would send the SMTP password in clear text: use starttls or ssl.")
        return self

    @property
    def github_enabled(self) -> bool:
        """Whether GitHub login is configured (both id and secret)."""
        return bool(self.github_client_id and self.github_client_secret)

    @property
    def sfu_enabled(self) -> bool:
        """Whether the Janus SFU is configured (all of its settings)."""
        return bool(self.janus_ws_url and self.janus_api_url and self.janus_admin_url and self.janus_admin_secret
                    and self.janus_room_admin_key)

    @property
    def google_enabled(self) -> bool:
        """Whether Google login is configured (both id and secret)."""
        return bool(self.google_client_id and self.google_client_secret)

    @property
    def facebook_enabled(self) -> bool:
        """Whether Facebook login is configured (both id and secret)."""
        return bool(self.facebook_client_id and self.facebook_client_secret)

    @property
    def oidc_enabled(self) -> bool:
        """Whether the OpenID Connect provider is configured (discovery URL, id and secret)."""
        return bool(self.oidc_discovery_url and self.oidc_client_id and self.oidc_client_secret)


@lru_cache
def get_settings() -> Settings:
    """The process-wide settings (read once)."""
    return Settings()
