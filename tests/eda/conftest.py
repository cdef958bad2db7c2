"""Harness of the Event-Driven Ansible tests: the event source as ansible-rulebook loads it, running against a lab,
and the search for the lab's secret values in everything the source and the rulebook printed.

Fixtures:
  source_plugin  the plugin's globals, loaded with runpy from the collection path (as ansible-rulebook loads it)
  watch          factory: watch(inventory, **args) runs the source's main(queue, args) on its own event loop
  lab_secrets    lab_secrets(lab) -> the lab's passwords and every grant secret SSM On-Prem holds now
  leaks          leaks(secrets, {where: text}) -> the places where a secret appears (raw, URL-encoded, JSON-escaped)
"""
import asyncio
import logging
import threading
import time

import pytest

from ..conftest import REPO, secret_forms


PLUGIN = (REPO / ".build" / "collections" / "ansible_collections" / "sdwan_ops" / "license_sync" / "extensions" / "eda"
          / "plugins" / "event_source" / "license_status.py")
SOURCE_LOGGER = "sdwan_ops.license_sync.license_status"
STOP_TIMEOUT_S = 30


@pytest.fixture(scope="session")
def source_plugin():
    """The plugin's globals as ansible-rulebook's runpy.run_path makes them. runpy itself cannot be used in this process:
    the collection loader that tests/conftest.py installs claims every path under .build/collections through its path
    hook, so runpy would take the file for a package; what runpy does with a plain file is what this does."""
    code = compile(PLUGIN.read_text(), str(PLUGIN), "exec")
    namespace = {"__name__": "<run_path>", "__file__": str(PLUGIN), "__builtins__": __builtins__}
    exec(code, namespace)  # noqa: S102 - the file under test
    return namespace


class SourceRun:
    """The source's ``main(queue, args)`` as a task of an event loop in a thread of its own, so that a test can change
    the lab (blocking calls) while the source polls. Its log records count the polls and are kept for the leak search."""

    def __init__(self, main, args):
        self.records = []
        self.polls = 0
        self._changed = threading.Condition()
        self._handler = _Recorder(self)
        self._logger = logging.getLogger(SOURCE_LOGGER)
        self._level = self._logger.level
        self._logger.setLevel(logging.DEBUG)
        self._logger.addHandler(self._handler)
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, name="license-status-test-loop", daemon=True)
        self.thread.start()
        self.queue = self.task = None
        asyncio.run_coroutine_threadsafe(self._start(main, args), self.loop).result(10)
        self.seen = []

    async def _start(self, main, args):
        self.queue = asyncio.Queue()
        self.task = asyncio.get_running_loop().create_task(main(self.queue, args))
        self.task.add_done_callback(self._ended)

    def _ended(self, _task):
        with self._changed:
            self._changed.notify_all()

    def record(self, record):
        text = record.getMessage()
        with self._changed:
            self.records.append(text)
            if text.startswith("poll "):
                self.polls = int(text.split()[1].rstrip(":"))
            self._changed.notify_all()

    @property
    def running(self):
        return not self.task.done()

    def wait_polls(self, count, timeout=30):
        """Wait until ``count`` more polls have ended (and put their events on the queue)."""
        deadline = time.monotonic() + timeout
        with self._changed:
            target = self.polls + count
            while self.polls < target:
                if self.task.done():
                    failure = None if self.task.cancelled() else self.task.exception()
                    raise AssertionError(f"the source ended after {self.polls} polls: {failure!r}") from failure
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError(f"{count} polls did not end within {timeout} s (at poll {self.polls})")
                self._changed.wait(min(left, 0.5))
        return self.polls

    def events(self):
        """The events put on the queue since the last call."""
        async def drain():
            found = []
            while not self.queue.empty():
                found.append(self.queue.get_nowait())
            return found
        found = asyncio.run_coroutine_threadsafe(drain(), self.loop).result(10)
        self.seen.extend(found)
        return found

    def next_events(self, timeout=30, polls=None):
        """The events of the first poll that puts any on the queue, within ``timeout`` seconds."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            self.wait_polls(1, timeout=max(0.1, deadline - time.monotonic()))
            found = self.events()
            if found:
                return found
        raise AssertionError(f"no event within {timeout} s")

    async def _stop(self):
        self.task.cancel()
        try:
            await self.task
        except asyncio.CancelledError:
            pass

    def close(self):
        if self.task is not None:
            asyncio.run_coroutine_threadsafe(self._stop(), self.loop).result(STOP_TIMEOUT_S)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(STOP_TIMEOUT_S)
        if not self.thread.is_alive():
            self.loop.close()
        self._logger.removeHandler(self._handler)
        self._logger.setLevel(self._level)


class _Recorder(logging.Handler):
    def __init__(self, run):
        super().__init__(logging.DEBUG)
        self.run = run

    def emit(self, record):
        self.run.record(record)


@pytest.fixture
def watch(source_plugin):
    runs = []

    def start(inventory, **args):
        arguments = dict(inventory=[str(path) for path in inventory] if isinstance(inventory, (list, tuple)) else str(inventory),
                         jitter=0)
        arguments.update(args)
        run = SourceRun(source_plugin["main"], arguments)
        runs.append(run)
        return run

    yield start
    for run in runs:
        run.close()


@pytest.fixture(scope="session")
def lab_secrets():
    def collect(lab):
        return sorted(lab.secrets())
    return collect


@pytest.fixture(scope="session")
def leaks():
    def search(secrets, sources):
        assert secrets and all(len(secret) >= 8 for secret in secrets), "the lab's secrets are too short to search for"
        found = []
        for where, text in sources.items():
            for secret in secrets:
                if any(form in text for form in secret_forms(secret)):
                    found.append(f"a secret of the lab in {where}")
        return found
    return search
