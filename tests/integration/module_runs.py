"""Run one module of the collection through ansible-playbook against a lab and see what it did there.

`run_module(lab, run_playbook, module, ...)` runs tests/integration/playbooks/modules/run.yml for one
module on every host of the lab inventory and returns the results per host (read from the files the
playbook writes) and the requests and writes each lab listener received during the run (differences
of the `sdwan-lab state` counters).
"""
import json
import tempfile
from dataclasses import dataclass
from pathlib import Path

PLAYBOOK = Path(__file__).resolve().parent / "playbooks" / "modules" / "run.yml"
LOGIN = "POST /j_security_check"


def _counters(state, key):
    counters = {"ssm": dict(state["ssm"].get(key) or {})}
    for name, vmanage in state["vmanage"].items():
        counters[name] = dict(vmanage.get(key) or {})
    return counters


def _difference(before, after):
    delta = {}
    for listener, counts in after.items():
        changed = dict((request, count - before.get(listener, {}).get(request, 0)) for request, count in counts.items())
        delta[listener] = dict((request, count) for request, count in changed.items() if count)
    return delta


@dataclass
class ModuleRun:
    playbook: object  # conftest.PlaybookRun
    results: dict  # host -> module result
    requests: dict  # listener ("ssm", "vmanage-001"...) -> {"METHOD /path/template": count}
    writes: dict  # the same for write requests only (the lab's rule, docs/dev/interfaces.md section 5)

    @property
    def result(self):
        """The result of the only host."""
        (only,) = self.results.values()
        return only

    def changed(self):
        return self.playbook.changed()

    def total_writes(self):
        return sum(sum(counts.values()) for counts in self.writes.values())

    def vmanage_requests(self, host="vmanage-001"):
        return self.requests.get(host, {})


def run_module(lab, run_playbook, module, check=False, diff=False, verbosity=0, env=None, **variables):
    result_dir = Path(tempfile.mkdtemp(prefix="results-", dir=lab.dir))
    before = lab.state()
    playbook = run_playbook(PLAYBOOK, lab.inventory, extra_vars=dict(variables, module_under_test=module, result_dir=str(result_dir)),
                            check=check, diff=diff, verbosity=verbosity, env=env)
    after = lab.state()
    assert playbook.stats, "ansible-playbook did not run:\n%s\n%s" % (playbook.stdout[-3000:], playbook.stderr[-3000:])
    results = dict((path.stem, json.loads(path.read_text())) for path in sorted(result_dir.glob("*.json")))
    assert set(results) == set(playbook.stats), "no result for some hosts:\n%s" % playbook.stdout[-3000:]
    return ModuleRun(playbook, results, _difference(_counters(before, "requests"), _counters(after, "requests")),
                     _difference(_counters(before, "write_requests"), _counters(after, "write_requests")))


def four_steps(lab, run_playbook, module, **variables):
    """check -> real -> idempotent check -> idempotent real, each a ModuleRun."""
    return [run_module(lab, run_playbook, module, check=check, diff=True, **variables) for check in (True, False, True, False)]


def assert_idempotent(runs):
    """The last two of four_steps: nothing changed, nothing written."""
    for run in runs[2:]:
        assert run.changed() == 0, run.playbook.stdout[-3000:]
        assert run.total_writes() == 0, run.writes
