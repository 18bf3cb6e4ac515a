"""One Settings object, read from the environment (and a `.env` file if present).

Nothing else in the code base reads `os.environ` for configuration: tests build
their own `Settings` and hand it to `create_app`.
"""

from __future__ import annotations

import dataclasses
import os
import re
import secrets
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlparse

PROJECT_ROOT = Path(__file__).resolve().parents[2]

SECRET_NAMES = frozenset(
    {"MEILI_MASTER_KEY", "STRIPE_SECRET_KEY", "STRIPE_WEBHOOK_SECRET", "SECRET_KEY", "TOTP_KEY", "SMTP_URL",
     "DATABASE_URL", "AWS_SECRET_ACCESS_KEY", "METRICS_TOKEN"}
)
PRODUCTION_REQUIRED = (
    "DATABASE_URL",
    "MEILI_URL",
    "MEILI_MASTER_KEY",
    "STRIPE_SECRET_KEY",
    "STRIPE_PUBLISHABLE_KEY",
    "STRIPE_WEBHOOK_SECRET",
    "SMTP_URL",
    "MAIL_FROM",
    "SECRET_KEY",
    "BASE_URL",
)


class ConfigurationError(Exception):
    """The environment cannot run the board; `problems` names every variable at fault."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        super().__init__("Configuration is unusable:\n" + "\n".join(f"  - {p}" for p in problems))


@dataclass(frozen=True)
class Settings:
    env: str = "development"
    data_dir: Path = PROJECT_ROOT / "var"
    database_url: str = ""
    meili_url: str = ""
    meili_master_key: str = ""
    meili_index: str = "listings"
    stripe_secret_key: str = ""
    stripe_publishable_key: str = ""
    stripe_webhook_secret: str = ""
    stripe_api_base: str = ""
    stripe_js_url: str = "https://js.stripe.com/v3/"
    smtp_url: str = ""
    mail_from: str = "CareerCenter <no-reply@careercenter.localhost>"
    secret_key: str = ""
    totp_key: str = ""  # seals authenticator keys at rest; SECRET_KEY when unset (careers/core/sealing.py)
    base_url: str = "http://127.0.0.1:8000"
    # Rate limits: (requests, window seconds). Tests raise or lower them.
    login_rate: tuple[int, int] = (10, 300)
    login_account_rate: tuple[int, int] = (10, 900)
    register_rate: tuple[int, int] = (10, 3600)
    reset_rate: tuple[int, int] = (5, 3600)
    apply_rate: tuple[int, int] = (30, 3600)
    report_rate: tuple[int, int] = (10, 3600)
    post_rate: tuple[int, int] = (50, 3600)
    session_days: int = 14
    # Reports: how many counting reports hide a listing, how old an account must be for its report to count,
    # and the network size within which only one report counts (one office, one mobile carrier's block).
    report_hide_threshold: int = 3
    report_min_account_age_hours: int = 24
    report_network_prefix_v4: int = 24
    report_network_prefix_v6: int = 48
    invite_rate: tuple[int, int] = (10, 3600)
    # TRUSTED_PROXIES: addresses/CIDRs of our reverse proxies; only their X-Forwarded-For (the client address) and
    # X-Request-ID are believed (careers/core/proxies.py, careers/core/logs.py).
    trusted_proxies: tuple[str, ...] = ()
    worker_in_process: bool = False  # tests drive the worker by hand
    outbox_lease_seconds: int = 60  # how long a claimed outbox row stays the worker's (drills shorten it)
    db_pool_size: int = 10  # PostgreSQL connections per process (DB_POOL_SIZE)
    print_mail: bool = True
    access_log: bool = True  # ACCESS_LOG=0: no line per request from the web server (a proxy in front logs them)
    # Uploads: file:///PATH ('' = $CAREERS_DATA_DIR/uploads) or s3://BUCKET/PREFIX (careers/core/storage.py).
    storage_url: str = ""
    s3_endpoint_url: str = ""
    s3_region: str = ""
    aws_access_key_id: str = ""
    aws_secret_access_key: str = ""
    metrics_token: str = ""  # /metrics answers only `Authorization: Bearer <this>`; unset = 404
    sitemap_max_urls: int = 50_000  # URLs per child sitemap (the protocol's limit; SITEMAP_MAX_URLS, tests lower it)
    # Search-engine announcements (reach/): IndexNow when its key is set; Google's Indexing API with a service account.
    indexnow_key: str = ""
    indexnow_endpoint: str = "https://api.indexnow.org/indexnow"
    google_indexing_credentials: str = ""  # path of the service-account JSON file
    google_indexing_endpoint: str = "https://indexing.googleapis.com"  # tests point it at a loopback server
    google_indexing_daily_quota: int = 200
    extra: dict = field(default_factory=dict)

    # ---- derived -----------------------------------------------------------------
    @property
    def production(self) -> bool:
        return self.env == "production"

    @property
    def debug(self) -> bool:
        return self.env == "development"

    @property
    def sqlite_path(self) -> Path | None:
        url = self.database_url
        if url.startswith("sqlite:///"):
            return Path(url.removeprefix("sqlite:///"))
        return None

    @property
    def is_postgres(self) -> bool:
        return self.database_url.startswith(("postgres://", "postgresql://"))

    @property
    def uploads_dir(self) -> Path:
        return self.data_dir / "uploads"

    @property
    def stripe_mode(self) -> str:
        if self.stripe_api_base and not self.stripe_secret_key.startswith("sk_live_"):
            return "emulator"
        return "live" if self.stripe_secret_key.startswith("sk_live_") else "test"

    @property
    def secure_cookies(self) -> bool:
        return self.production or self.base_url.startswith("https://")

    def replace(self, **changes) -> "Settings":
        return dataclasses.replace(self, **changes)

    def masked(self) -> dict[str, str]:
        """The configuration as environment variables, secrets masked, for `careers check`."""
        shown = {
            "CAREERS_ENV": self.env,
            "CAREERS_DATA_DIR": str(self.data_dir),
            "DATABASE_URL": _mask_url(self.database_url),
            "MEILI_URL": self.meili_url or "(managed local Meilisearch)",
            "MEILI_MASTER_KEY": _mask(self.meili_master_key),
            "STRIPE_SECRET_KEY": _mask(self.stripe_secret_key),
            "STRIPE_PUBLISHABLE_KEY": self.stripe_publishable_key or "(unset)",
            "STRIPE_WEBHOOK_SECRET": _mask(self.stripe_webhook_secret),
            "STRIPE_API_BASE": self.stripe_api_base or "(Stripe)",
            "STRIPE_JS_URL": self.stripe_js_url,
            "SMTP_URL": _mask_url(self.smtp_url) if self.smtp_url else "(unset: mail kept in the outbox)",
            "MAIL_FROM": self.mail_from,
            "SECRET_KEY": _mask(self.secret_key),
            "TOTP_KEY": _mask(self.totp_key) if self.totp_key else "(unset: derived from SECRET_KEY)",
            "BASE_URL": self.base_url,
            "STORAGE_URL": self.storage_url or f"file://{self.uploads_dir} (default)",
            "S3_ENDPOINT_URL": self.s3_endpoint_url or "(AWS)",
            "S3_REGION": self.s3_region or "(us-east-1)",
            "AWS_ACCESS_KEY_ID": self.aws_access_key_id or "(unset)",
            "AWS_SECRET_ACCESS_KEY": _mask(self.aws_secret_access_key),
            "TRUSTED_PROXIES": ", ".join(self.trusted_proxies) or "(unset: X-Forwarded-For is ignored)",
            "ACCESS_LOG": "on" if self.access_log else "off",
            "METRICS_TOKEN": _mask(self.metrics_token),
            "INDEXNOW_KEY": self.indexnow_key or "(unset: IndexNow off)",
            "GOOGLE_INDEXING_CREDENTIALS": self.google_indexing_credentials or "(unset: Indexing API off)",
        }
        return shown


def _mask(value: str) -> str:
    if not value:
        return "(unset)"
    return value[:4] + "…" if len(value) > 12 else "****"


def _mask_url(url: str) -> str:
    parsed = urlparse(url)
    if parsed.password:
        return url.replace(f":{parsed.password}@", ":****@")
    return url


def _read_dotenv(path: Path) -> dict[str, str]:
    from dotenv import dotenv_values

    if not path.is_file():
        return {}
    return {k: v for k, v in dotenv_values(path).items() if v is not None}


def production_problems(environ: dict[str, str]) -> list[str]:
    """Every reason a production environment is unusable, each naming its variable."""
    problems = [f"{name} is required in production" for name in PRODUCTION_REQUIRED if not environ.get(name)]
    db = environ.get("DATABASE_URL", "")
    if db and not db.startswith(("postgres://", "postgresql://")):
        problems.append("DATABASE_URL must point at PostgreSQL in production")
    base = environ.get("BASE_URL", "")
    if base and not base.startswith("https://"):
        problems.append("BASE_URL must start with https:// in production")
    if environ.get("STRIPE_API_BASE"):
        problems.append("STRIPE_API_BASE must be unset in production (the Stripe emulator is refused)")
    if environ.get("GOOGLE_INDEXING_ENDPOINT"):
        problems.append("GOOGLE_INDEXING_ENDPOINT must be unset in production (it is for tests)")
    return problems


def load_settings(environ: dict[str, str] | None = None, **overrides) -> Settings:
    """Read the environment (plus `.env`), validate it and return Settings.

    In development a missing SECRET_KEY is generated once and kept in the data dir.
    In production every variable of PRODUCTION_REQUIRED must be set; one
    ConfigurationError lists all that are missing.
    """
    env = dict(_read_dotenv(Path.cwd() / ".env"))
    env.update(os.environ if environ is None else environ)
    mode = env.get("CAREERS_ENV", "development").strip() or "development"
    if mode not in ("development", "production", "test"):
        raise ConfigurationError([f"CAREERS_ENV must be development or production, not {mode!r}"])
    if mode == "production":
        problems = production_problems(env)
        if problems:
            raise ConfigurationError(problems)
    data_dir = Path(env.get("CAREERS_DATA_DIR") or PROJECT_ROOT / "var").resolve()
    database_url = env.get("DATABASE_URL") or f"sqlite:///{data_dir / 'careers.sqlite3'}"
    if not database_url.startswith(("sqlite:///", "postgres://", "postgresql://")):
        raise ConfigurationError(["DATABASE_URL must be sqlite:///PATH or postgresql://USER:PASS@HOST:PORT/DB"])
    secret_key = env.get("SECRET_KEY") or ""
    if not secret_key:
        secret_key = _development_secret(data_dir)
    values = dict(
        env=mode,
        data_dir=data_dir,
        database_url=database_url,
        meili_url=env.get("MEILI_URL", ""),
        meili_master_key=env.get("MEILI_MASTER_KEY", ""),
        stripe_secret_key=env.get("STRIPE_SECRET_KEY", ""),
        stripe_publishable_key=env.get("STRIPE_PUBLISHABLE_KEY", ""),
        stripe_webhook_secret=env.get("STRIPE_WEBHOOK_SECRET", ""),
        stripe_api_base=env.get("STRIPE_API_BASE", ""),
        stripe_js_url=env.get("STRIPE_JS_URL") or "https://js.stripe.com/v3/",
        smtp_url=env.get("SMTP_URL", ""),
        mail_from=env.get("MAIL_FROM") or Settings.mail_from,
        secret_key=secret_key,
        totp_key=env.get("TOTP_KEY", ""),
        base_url=(env.get("BASE_URL") or "http://127.0.0.1:8000").rstrip("/"),
        worker_in_process=env.get("CAREERS_WORKER_IN_PROCESS", "") == "1",
        outbox_lease_seconds=_positive_int(env, "CAREERS_OUTBOX_LEASE_SECONDS", Settings.outbox_lease_seconds),
        db_pool_size=_positive_int(env, "DB_POOL_SIZE", Settings.db_pool_size),
        storage_url=_storage_url(env.get("STORAGE_URL", "")),
        s3_endpoint_url=env.get("S3_ENDPOINT_URL", "").rstrip("/"),
        s3_region=env.get("S3_REGION", ""),
        aws_access_key_id=env.get("AWS_ACCESS_KEY_ID", ""),
        aws_secret_access_key=env.get("AWS_SECRET_ACCESS_KEY", ""),
        metrics_token=env.get("METRICS_TOKEN", ""),
        sitemap_max_urls=min(_positive_int(env, "SITEMAP_MAX_URLS", Settings.sitemap_max_urls), 50_000),
        trusted_proxies=_trusted_proxies(env),
        access_log=_yes_no(env, "ACCESS_LOG", Settings.access_log),
        report_hide_threshold=_positive_int(env, "REPORT_HIDE_THRESHOLD", Settings.report_hide_threshold),
        report_min_account_age_hours=_positive_int(env, "REPORT_MIN_ACCOUNT_AGE_HOURS",
                                                   Settings.report_min_account_age_hours, minimum=0),
    )
    if values["storage_url"].startswith("s3://") and not (values["aws_access_key_id"] and values["aws_secret_access_key"]):
        # static keys only: without them the S3 client would go looking for cloud instance credentials
        raise ConfigurationError(["STORAGE_URL is s3://…: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY"])
    values.update(_raised_rate_limits(env))
    values.update(_reach_settings(env))
    values.update(overrides)
    return Settings(**values)


def _storage_url(raw: str) -> str:
    raw = raw.strip()
    if raw and not (raw.startswith("file:///") or (raw.startswith("s3://") and len(raw) > len("s3://"))):
        raise ConfigurationError([f"STORAGE_URL must be file:///PATH or s3://BUCKET/PREFIX, not {raw!r}"])
    return raw


def _trusted_proxies(env: dict[str, str]) -> tuple[str, ...]:
    """TRUSTED_PROXIES, comma-separated addresses or CIDRs; a value that is neither is a configuration error."""
    from careers.core.proxies import parse_networks

    values = tuple(v.strip() for v in (env.get("TRUSTED_PROXIES") or "").split(",") if v.strip())
    try:
        parse_networks(values)
    except ValueError as exc:
        raise ConfigurationError([f"TRUSTED_PROXIES: {exc}"]) from None
    return values


INDEXNOW_KEY_RE = re.compile(r"[A-Za-z0-9-]{8,128}")  # what the IndexNow protocol accepts as a key


def _reach_settings(env: dict[str, str]) -> dict:
    """INDEXNOW_* and GOOGLE_INDEXING_*: a key IndexNow would refuse is a configuration error now, not a 403 later."""
    key = (env.get("INDEXNOW_KEY") or "").strip()
    if key and not INDEXNOW_KEY_RE.fullmatch(key):
        raise ConfigurationError(["INDEXNOW_KEY must be 8 to 128 letters, digits or dashes"])
    return dict(
        indexnow_key=key,
        indexnow_endpoint=(env.get("INDEXNOW_ENDPOINT") or "").strip() or Settings.indexnow_endpoint,
        google_indexing_credentials=(env.get("GOOGLE_INDEXING_CREDENTIALS") or "").strip(),
        google_indexing_endpoint=(env.get("GOOGLE_INDEXING_ENDPOINT") or "").strip().rstrip("/")
        or Settings.google_indexing_endpoint,
        google_indexing_daily_quota=_positive_int(env, "GOOGLE_INDEXING_DAILY_QUOTA",
                                                  Settings.google_indexing_daily_quota),
    )


def _yes_no(env: dict[str, str], name: str, default: bool) -> bool:
    raw = (env.get(name) or "").strip().lower()
    if not raw:
        return default
    if raw not in ("1", "0", "true", "false", "yes", "no", "on", "off"):
        raise ConfigurationError([f"{name} must be 1 or 0 (true or false), not {raw!r}"])
    return raw in ("1", "true", "yes", "on")


def _positive_int(env: dict[str, str], name: str, default: int, *, minimum: int = 1) -> int:
    raw = (env.get(name) or "").strip()
    if not raw:
        return default
    if not raw.isdigit() or int(raw) < minimum:
        raise ConfigurationError([f"{name} must be a whole number of {minimum} or more, not {raw!r}"])
    return int(raw)


RATE_LIMIT_FIELDS = ("login_rate", "login_account_rate", "register_rate", "reset_rate", "apply_rate", "report_rate",
                     "post_rate", "invite_rate")


def _raised_rate_limits(env: dict[str, str]) -> dict[str, tuple[int, int]]:
    """CAREERS_RATE_LIMIT_MULTIPLIER=N multiplies every rate limit's count (browser tests and drills on one address)."""
    raw = (env.get("CAREERS_RATE_LIMIT_MULTIPLIER") or "").strip()
    if not raw:
        return {}
    try:
        factor = int(raw)
    except ValueError:
        raise ConfigurationError([f"CAREERS_RATE_LIMIT_MULTIPLIER must be a whole number, not {raw!r}"]) from None
    if factor < 1:
        raise ConfigurationError(["CAREERS_RATE_LIMIT_MULTIPLIER must be 1 or more"])
    limits = {}
    for name in RATE_LIMIT_FIELDS:
        count, window = getattr(Settings, name)
        limits[name] = (count * factor, window)
    return limits


def kept_secret(data_dir: Path, name: str, new: Callable[[], str]) -> str:
    """A secret generated once by `new()` and kept in `data_dir/name` (readable by its owner only); a process that
    loses the race to create it reads the winner's."""
    path = data_dir / name
    if not path.is_file():
        data_dir.mkdir(parents=True, exist_ok=True)
        secret = new()
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            pass
        else:
            with os.fdopen(fd, "w") as fh:
                fh.write(secret)
            return secret
    return path.read_text().strip()


def _development_secret(data_dir: Path) -> str:
    return kept_secret(data_dir, "secret_key", lambda: secrets.token_urlsafe(48))
