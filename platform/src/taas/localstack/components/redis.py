"""Redis 7 from Debian: the Celery broker and the gateway's rate limits."""

from __future__ import annotations

from pathlib import Path

import redis

from taas.localstack import install, versions
from taas.localstack.components.base import PROBE_TIMEOUT_S, Health, Port, ProcessComponent


class Redis(ProcessComponent):
    """Redis 7 from Debian, the Celery broker, with a password and no persistence."""

    name = "redis"
    title = "Redis"
    fix_hint = "read the log; a stale pid file is cleared by `taas stack down`"

    @property
    def version(self) -> str:
        return versions.REDIS_MAJOR

    def ports(self) -> list[Port]:
        return [Port(self.ctx.settings.redis_port, "port", "TAAS_REDIS_PORT")]

    def installed(self) -> bool:
        return install.APT_PACKAGES["redis"][0].exists()

    def install(self) -> None:
        install.ensure_apt(self.ctx.log, self.ctx.paths, ["redis"])

    @property
    def _conf(self) -> Path:
        return self.ctx.paths.state / "redis.conf"

    def prepare(self) -> None:
        data = self.ctx.paths.data(self.name)
        data.mkdir(parents=True, exist_ok=True)
        self._conf.write_text(
            f"bind {self.ctx.host}\nport {self.ctx.settings.redis_port}\n"
            f"dir {data}\nrequirepass {self.ctx.secrets.redis_password}\n"
            'save ""\nappendonly no\ndaemonize no\nprotected-mode yes\n'
        )
        self._conf.chmod(0o600)

    def argv(self) -> list[str]:
        return [str(install.APT_PACKAGES["redis"][0]), str(self._conf)]

    def url(self, db: int = 0) -> str:
        return f"redis://:{self.ctx.secrets.redis_password}@{self.ctx.host}:{self.ctx.settings.redis_port}/{db}"

    def probe(self) -> Health:
        if not self.is_running():
            return Health(False, "not running")
        try:
            client = redis.Redis.from_url(self.url(), socket_timeout=PROBE_TIMEOUT_S)
            info = client.info("server")
        except redis.RedisError as exc:
            return Health(False, f"running, but PING failed: {exc}")
        finally:
            client.close()
        return Health(True, "PONG", str(info.get("redis_version")))
