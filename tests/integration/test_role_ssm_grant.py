"""Role ssm_grant against the lab: what a rescue reports for each host names that host's grant."""
import json
import tempfile
from pathlib import Path

PLAYBOOK = Path(__file__).resolve().parent / "playbooks" / "roles" / "ssm_grant_rescue.yml"


def test_a_failure_names_each_hosts_own_grant(lab, run_playbook):
    two = lab("seed", vmanage=2)
    hosts = [vm["name"] for vm in two.info["vmanage"]]
    result_dir = Path(tempfile.mkdtemp(prefix="results-", dir=two.dir))
    two.fault("ssm", "ssm-backend-down")

    run = run_playbook(PLAYBOOK, two.inventory, extra_vars={"result_dir": str(result_dir)})

    stopped = {path.stem: json.loads(path.read_text()) for path in result_dir.glob("*.json")}
    assert sorted(stopped) == sorted(hosts), run.stdout[-3000:]
    for host in hosts:
        own, other = f"license-sync-{host}", next(f"license-sync-{h}" for h in hosts if h != host)
        report = f'stopped at "{stopped[host]["task"]}": {stopped[host]["msg"]}'
        assert own in stopped[host]["msg"] and "SSM_BACKEND_DOWN" in stopped[host]["msg"], report
        assert other not in report, report
