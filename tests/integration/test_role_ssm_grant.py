"""Role ssm_grant against the lab: what a rescue reports for each host names that host's grant."""
import json
import tempfile
from pathlib import Path

import yaml

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


FIX_PLAYBOOK = Path(__file__).resolve().parents[2] / "playbooks" / "fix_license_sync.yml"


def test_a_rotation_is_refused_on_each_host_whose_own_variables_say_its_grant_is_shared(lab, run_playbook, tmp_path):
    two = lab("seed", vmanage=2)
    inventory = yaml.safe_load(two.inventory.read_text())
    inventory["all"]["children"]["vmanage"]["hosts"]["vmanage-002"]["ssm_grant_shared"] = True
    (tmp_path / "inventory.yml").write_text(yaml.safe_dump(inventory))

    run = run_playbook(FIX_PLAYBOOK, tmp_path / "inventory.yml", extra_vars={"ssm_grant_rotate": True})

    assert run.failed_hosts() == ["vmanage-002"], run.stdout[-3000:]
    assert "would rotate the shared grant" in run.stdout
    grants = {grant["name"] for grant in two.state()["ssm"]["grants"]}
    assert "license-sync-vmanage-001" in grants and not any("vmanage-002" in name for name in grants)
    assert two.writes()["vmanage-001"] and not two.writes()["vmanage-002"]
