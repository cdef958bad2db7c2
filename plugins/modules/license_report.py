# -*- coding: utf-8 -*-
# Copyright: (c) 2026, sdwan_ops maintainers
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: license_report
short_description: Licence compliance of a fleet of vManage, written as JSON, JUnit XML and HTML reports
version_added: 0.1.0
description:
  - Runs once per play on the controller. It reads the result of M(sdwan_ops.license_sync.vmanage_license_info) that every
    play host registered (failed results included), decides per host whether vManage reports its licences to Cisco Smart
    Software Manager On-Prem, and writes the reports.
  - Per host it gives the state (V(compliant), V(broken), V(unreachable), V(auth_failed), V(error), or in an aggregation
    V(unprocessed)), release, licensing
    mode, SSM URL, whether client id and secret are stored, whether the grant is valid, the last sync's age and result,
    whether vManage reaches SSM On-Prem, and the cause codes with their remedies (the codes of
    M(sdwan_ops.license_sync.vmanage_precheck)).
  - Facts come from what vManage reported, including RV(sdwan_ops.license_sync.vmanage_license_info#module:ssm_check)
    (registered with O(sdwan_ops.license_sync.vmanage_license_info#module:gather=[ssm_check])), in which vManage asked SSM
    On-Prem for its accounts during the run. It shows DNS, path and TLS from vManage, SSM's backend, the grant and the stored
    SSM user as they are now, not as they were at the last sync. A failure of it for a passing reason (SSM or vManage busy)
    is a warning. Without it, a last sync error that quotes SSM On-Prem's OAuth answer proves that vManage reaches SSM
    On-Prem, and one that names a refused connection or an unknown host proves that it does not.
  - Once per distinct SSM On-Prem (the URL vManage stores, when the inventory names the same), a probe from the controller
    (reachable, trusted TLS, backend up) and, with C(ssm_admin_username)/C(ssm_admin_password) (default
    C(ssm_username)/C(ssm_password)), the API Toolkit's grant list of every account, to tell whether the client ID each
    vManage stores exists (C(GRANT_NOT_FOUND) otherwise). SSM's backend down breaks the hosts that use it; that the
    controller cannot reach or trust SSM is only a warning unless their vManage fails the same way.
  - The grant check is one token request per distinct grant (SSM URL and the client ID stored on vManage), not one per
    host, made as M(sdwan_ops.license_sync.ssm_grant) with O(sdwan_ops.license_sync.ssm_grant#module:state=verified) does.
    The client secret comes from the variables of a host that stores that client ID (C(ssm_client_secret), the
    variable the fix playbook uses; C(ssm_client_id), when set there, must name the same client) or from
    O(ssm_client_secret); vManage never returns it. Without a secret the grant is judged from vManage's last sync only.
  - The SSM options (O(ssm_url), O(ssm_username), O(ssm_client_secret)...) apply to the hosts that have no variable
    of that name; a host's own C(ssm_url) variable is also the URL its vManage must store (C(SSM_URL_MISMATCH) otherwise).
  - Writes, in O(dest), C(license-compliance-<UTC time>.json), C(.xml) (JUnit) and C(.html) with C(latest.json),
    C(latest.xml) and C(latest.html) copies, and C(broken-<UTC time>.txt) with its copy C(latest-broken.txt), which
    lists the broken hosts whose causes the fix playbook can repair, one per line, for
    C(ansible-playbook playbooks/fix_license_sync.yml --limit @reports/latest-broken.txt).
  - The HTML page needs no network. It shows what changed since the previous report, the totals, each cause with its
    remedy, and a host table that sorts by any column and filters by state, cause and text; states carry text labels as
    well as colours.
  - History. Before writing, the run reads the previous C(latest.json) of O(dest) and records per host what changed
    (RV(history); C(history) of each host in the JSON, and at the top of the HTML page) - V(newly_broken) (compliant
    before, not now), V(fixed), V(cause_changed) (not compliant both times, another state or first cause),
    V(still_broken) with the number of consecutive reports the host has not been compliant, V(new), and the hosts gone.
    A host without a record in an aggregation keeps its last known state (V(unprocessed)). History needs the V(json)
    format in every run.
  - Sliced runs (AWX / Automation Controller job slicing). The result's RV(stats) is the run's C(set_stats) data, one
    record per host under a key of its own (C(license_compliance_host_) and the host name encoded as a variable name;
    the record names the host), holding the host's facts and the SSM variables its inventory names, never a secret and
    never anything computed across hosts. AWX merges the artefacts of slices with one shallow update per slice, so the
    records of all slices reach the next workflow node intact. There, O(source=stats) reads them from the task's
    variables (the extra variables AWX passes), reports every play host without a fresh record as V(unprocessed) (cause
    C(NOT_PROCESSED)), probes SSM On-Prem and proves the grants once with its own inventory and credentials, and writes
    the same reports and records as an unsliced run, plus C(license_compliance) (the totals and report time) and
    C(fix_license_sync_hosts) (the hosts the fix playbook can repair) in RV(stats). The playbook
    C(sdwan_ops.license_sync.license_compliance_aggregate) does this.
  - With O(formats) V(prometheus), C(latest.prom) holds gauges in the Prometheus text exposition format for
    node_exporter's textfile collector, written to a temporary name and renamed - C(sdwan_license_compliance_hosts)
    (per state), C(_hosts_by_cause), C(_hosts_fixable), C(_hosts_needing_operator), C(_host_state) (1 for each host's
    state, 0 for the others), C(_host_cause), C(_host_last_sync_age_seconds) (where vManage reports one),
    C(_host_broken_runs), C(_devices) and C(_devices_out_of_compliance) (device check on), C(_run_duration_seconds),
    C(_report_timestamp_seconds).
  - Where the facts carry the devices of a vManage (M(sdwan_ops.license_sync.vmanage_license_info) with
    O(sdwan_ops.license_sync.vmanage_license_info#module:gather=[devices])), the check C(device_licenses) says how many
    devices are out of licence compliance and why. It warns and never changes the host's state - licences to assign or
    buy are not a fault of the licence reporting the fix playbook repairs.
author:
  - sdwan_ops maintainers (@sdwan-ops)
extends_documentation_fragment:
  - sdwan_ops.license_sync.ssm
  - sdwan_ops.license_sync.http_options
  - sdwan_ops.license_sync.attributes
options:
  hosts:
    description:
      - Inventory hosts to report on.
      - Defaults to every host of the play (C(ansible_play_hosts_all)), so hosts that failed earlier are reported too.
    type: list
    elements: str
  facts_var:
    description:
      - Name of the variable in which each host registered its M(sdwan_ops.license_sync.vmanage_license_info) result.
      - A host without it is reported as V(unreachable) (Ansible did not reach it).
    type: str
    default: license_compliance_info
  dest:
    description:
      - Directory of the reports on the controller; created when missing.
      - A relative path is relative to the directory C(ansible-playbook) runs in.
    type: path
    default: reports
  formats:
    description:
      - Reports to write. The limit file C(latest-broken.txt) and C(latest-stats.json) (the run's RV(stats)) are always
        written.
      - V(prometheus) writes C(latest.prom) only, no timestamped copy (node_exporter's textfile collector exports every
        C(*.prom) file of its directory).
    type: list
    elements: str
    choices: [json, junit, html, prometheus]
    default: [json, junit, html]
  title:
    description: Title of the reports.
    type: str
    default: SD-WAN licence compliance
  max_sync_age:
    description: A last successful sync older than this many seconds is a finding (C(SYNC_STALE)).
    type: int
    default: 86400
  min_release:
    description: Oldest vManage release with on-prem licensing; older ones are broken with C(RELEASE_TOO_OLD).
    type: str
    default: 20.9.1
  verify_grants:
    description: Prove each distinct grant with one token request to SSM On-Prem. V(false) makes no request at all.
    type: bool
    default: true
  source:
    description:
      - V(facts) - each play host's registered M(sdwan_ops.license_sync.vmanage_license_info) result (O(facts_var)).
      - V(stats) - the set_stats records of a sliced compliance run, merged, among the task's variables (in AWX the extra
        variables of the next workflow node; from the command line C(-e @) each slice's C(latest-stats.json)). A play host
        without a record, or whose record is not newer than O(stale_before), is V(unprocessed). The host's own
        inventory variables (and the environment) give the SSM secrets and connection settings; the record gives the SSM
        variables its slice saw where this inventory has none.
    type: str
    choices: [facts, stats]
    default: facts
  stale_before:
    description:
      - With O(source=stats), records generated at or before this UTC time (C(YYYY-MM-DDTHH:MM:SSZ)) are an earlier
        run's, carried along by the workflow; their hosts are reported V(unprocessed).
      - The role passes the report time of an aggregation earlier in the same workflow (C(license_compliance.generated)).
    type: str
  run_started:
    description:
      - When the run started, in seconds since the epoch; the report's C(duration_s) and the metric
        C(sdwan_license_compliance_run_duration_seconds) count from it. With O(source=stats), the earliest start among the
        records wins.
    type: float
attributes:
  check_mode:
    support: full
    details: The run is read-only in any mode. The reports are the run's output on the controller and are written in check mode too.
  diff_mode:
    support: none
  idempotent:
    support: full
    details: Reads only. Each run writes new timestamped report files and refreshes the C(latest) copies.
  action:
    support: full
notes:
  - Makes no request to vManage and no write anywhere. Per distinct SSM On-Prem, C(GET /backend/settings/oauth_adfs) (the
    probe) and, with admin credentials, the Admin Workspace login, C(GET /backend/accounts) and
    C(GET /backend/api_toolkit/grants) per account. Per distinct grant with a known client secret, one
    C(POST /backend/oauth/token) (credentials in the body).
  - Runs on the controller only; run it once per play (C(run_once)), after the hosts registered their facts.
  - The reports hold no secret (no password, client secret or token).
  - The role C(sdwan_ops.license_sync.license_compliance) and the playbook C(sdwan_ops.license_sync.license_compliance) run
    the whole compliance check.
seealso:
  - module: sdwan_ops.license_sync.vmanage_license_info
  - module: sdwan_ops.license_sync.vmanage_precheck
  - module: sdwan_ops.license_sync.ssm_grant
"""

EXAMPLES = r"""
- name: Read the licensing facts of every vManage
  sdwan_ops.license_sync.vmanage_license_info:
    vmanage_host: "{{ vmanage_host }}"
    vmanage_username: "{{ vmanage_username }}"
    vmanage_password: "{{ vmanage_password }}"
  register: license_compliance_info
  ignore_errors: true

- name: Write the compliance reports
  sdwan_ops.license_sync.license_report:
    dest: /var/reports/licensing
    max_sync_age: 43200
  run_once: true
"""

RETURN = r"""
msg:
  description: One line with the totals and the report directory.
  returned: always
  type: str
  sample: "500 hosts: 180 compliant, 250 broken (236 fixable), 40 unreachable, 30 auth failed, 0 error; reports in /srv/reports"
totals:
  description:
    - Hosts per state, hosts per cause code, broken hosts the fix playbook can repair, hosts that need an operator.
    - V(unprocessed) counts the hosts of an aggregation (O(source=stats)) that no fresh record reached.
  returned: always
  type: dict
  sample: {"hosts": 3, "compliant": 1, "broken": 1, "unreachable": 1, "auth_failed": 0, "error": 0, "unprocessed": 0,
           "by_cause": {"GRANT_NOT_FOUND": 1, "VMANAGE_UNREACHABLE": 1}, "fixable": 1, "needs_operator": 1}
reports:
  description: Paths of the timestamped reports written (the C(latest) copies sit beside them).
  returned: always
  type: dict
  sample: {"json": "/srv/reports/license-compliance-20261126T060000Z.json", "junit": "/srv/reports/license-compliance-20261126T060000Z.xml",
           "html": "/srv/reports/license-compliance-20261126T060000Z.html", "limit": "/srv/reports/broken-20261126T060000Z.txt"}
fixable_hosts:
  description: Broken hosts whose every cause the fix playbook can repair (the content of C(latest-broken.txt)).
  returned: always
  type: list
  elements: str
  sample: ["vmanage-007", "vmanage-012"]
grants:
  description: The distinct grants found and the result of their token request (never a secret).
  returned: always
  type: list
  elements: dict
  sample: [{"ssm_url": "https://ssm.example.com:8443", "client_id": "3f1c...", "hosts": 120, "verified": false,
            "cause": "GRANT_NOT_FOUND", "detail": "SSM On-Prem has no grant for this client id and secret"}]
history:
  description:
    - What changed since the previous report of O(dest) - C(previous) (its time, null for the first report), C(changed)
      (the hosts newly broken, fixed or with another cause), C(newly_broken), C(fixed), C(cause_changed), C(new),
      C(removed), C(unprocessed) (host lists) and C(still_broken) (host to consecutive reports not compliant).
  returned: always
  type: dict
  sample: {"previous": "2026-11-25T06:00:00Z", "changed": ["vmanage-007"], "newly_broken": ["vmanage-007"], "fixed": [],
           "cause_changed": [], "new": [], "removed": [], "unprocessed": [], "still_broken": {"vmanage-012": 3}}
stats:
  description:
    - The run's set_stats data (the role publishes it), also written as C(latest-stats.json) - per host a key
      C(license_compliance_host_<encoded host name>) with C(host), C(generated), C(started), C(state), C(cause), C(info)
      (the facts the report read) and C(ssm) (the SSM variables the host's inventory names, no secret).
    - With O(source=stats) also C(license_compliance) (the totals and C(generated)) and C(fix_license_sync_hosts).
  returned: always
  type: dict
ssm_servers:
  description:
    - Each distinct SSM On-Prem the run probed once - C(ssm_url), C(hosts) (how many vManage use it), C(ok), C(cause),
      C(detail), C(grants) (what the API Toolkit listing found) and C(dialect) (what it answered where the public record
      is silent, by the lab's dialect axes, for example the axis C(ssm-grant-api) with the value C(present)).
  returned: always
  type: list
  elements: dict
trace:
  description: Path of the wire trace this run added to (option O(trace_dir)).
  returned: when O(trace_dir) is set
  type: str
"""
