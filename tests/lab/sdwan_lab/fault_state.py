"""The faults switched on for one target, applied to each request it serves."""

import asyncio


class ActiveFaults:
    """The faults switched on for one target, with the request numbering of the every-k faults."""

    def __init__(self):
        self._active = {}
        self._request_numbers = {}

    def set(self, name, options):
        self._active[name] = options
        self._request_numbers[name] = 0

    def clear(self, name):
        self._active.pop(name, None)

    def __contains__(self, name):
        return name in self._active

    def options(self, name):
        return self._active[name]

    def names(self):
        return sorted(self._active)

    def _hits(self, name):
        """True for every --every'th request since the fault was switched on."""
        if name not in self._active:
            return False
        self._request_numbers[name] += 1
        return self._request_numbers[name] % self._active[name].every == 0

    async def before_request(self, server_error, rate_limited):
        """Apply slow, flapping-5xx and rate-limit; return the fault's response or None."""
        if "slow" in self._active:
            await asyncio.sleep(self._active["slow"].ms / 1000)
        if self._hits("flapping-5xx"):
            return server_error()
        if self._hits("rate-limit"):
            response = rate_limited()
            response.headers["Retry-After"] = str(self._active["rate-limit"].retry_after)
            return response
        return None
