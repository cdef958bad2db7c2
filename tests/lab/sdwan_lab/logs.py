"""Log lines in the real products' formats: SSM On-Prem's nginx access/error and Rails (lograge) logs, vManage's vmanage-server.log."""

import itertools
import os
import time
from datetime import datetime, timezone

# nginx's "main" format plus $http_x_forwarded_for, as SSM On-Prem's nginx access log writes its lines.
NGINX_ACCESS_FORMAT = (
    '$remote_addr - $remote_user [$time_local] "$request" $status $body_bytes_sent '
    '"$http_referer" "$http_user_agent" "$http_x_forwarded_for"'
)


class LogFile:
    """An append-only text log. `keep_open=False` suits the many rarely written vManage logs."""

    def __init__(self, path, keep_open=True):
        self.path = path
        path.parent.mkdir(parents=True, exist_ok=True)
        self._file = open(path, "a", buffering=1) if keep_open else None

    def write(self, line):
        if self._file:
            self._file.write(line + "\n")
        else:
            with open(self.path, "a") as log:
                log.write(line + "\n")

    def close(self):
        if self._file:
            self._file.close()


def _dash(value):
    return value if value else "-"


class NginxLogs:
    """What the built-in front writes where a real nginx would have written it."""

    def __init__(self, access_path, error_path):
        self.access = LogFile(access_path)
        self.error = LogFile(error_path)
        self._connection_numbers = itertools.count(1)

    def log_access(self, request, status, body_bytes):
        remote = request.remote or "-"
        stamp = time.strftime("%d/%b/%Y:%H:%M:%S %z")
        self.access.write(
            f'{remote} - - [{stamp}] "{request_line(request)}" {status} {body_bytes} '
            f'"{_dash(request.headers.get("Referer"))}" "{_dash(request.headers.get("User-Agent"))}" '
            f'"{_dash(request.headers.get("X-Forwarded-For"))}"'
        )

    def log_upstream_refused(self, request, upstream_url):
        stamp = time.strftime("%Y/%m/%d %H:%M:%S")
        pid = os.getpid()
        self.error.write(
            f"{stamp} [error] {pid}#{pid}: *{next(self._connection_numbers)} connect() failed "
            f"(111: Connection refused) while connecting to upstream, client: {request.remote}, server: , "
            f'request: "{request_line(request)}", upstream: "{upstream_url}", host: "{request.host}"'
        )

    def close(self):
        self.access.close()
        self.error.close()


def request_line(request):
    return f"{request.method} {request.raw_path} HTTP/{request.version.major}.{request.version.minor}"


def rails_line(method, path, controller, action, status, duration_ms, uid=None):
    """A lograge line as the SSM back end writes it (e.g. controller=Doorkeeper::OauthTokensController for the token)."""
    line = (
        f"method={method} path={path} format=json controller={controller} action={action} "
        f"status={status} duration={duration_ms:.2f} view={duration_ms * 0.1:.2f} db={duration_ms * 0.2:.2f}"
    )
    return f"{line} uid={uid}" if uid else line


class VManageServerLog:
    """DIR/logs/<vmanage>/vmanage-server.log in vManage's format (SmartLicensingUtil, RestAPIClient, ... lines)."""

    def __init__(self, path, host_name):
        self._file = LogFile(path, keep_open=False)
        self._host_name = host_name
        self._tasks = itertools.count(1)

    def task(self):
        """A JBoss worker name; all lines of one REST call share it."""
        return f"default task-{next(self._tasks)}"

    def write(self, task, level, logger, message):
        now = datetime.now(timezone.utc)
        stamp = now.strftime("%d-%b-%Y %H:%M:%S,") + f"{now.microsecond // 1000:03d} UTC"
        self._file.write(f"{stamp} {level} [{self._host_name}] [{logger}] ({task}) |default| {message}")
