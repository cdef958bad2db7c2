# -*- coding: utf-8 -*-
"""Writes every task result and the run's custom stats as JSON lines (reliability tests only).

Enabled by the reliability harness with ANSIBLE_CALLBACKS_ENABLED=result_recorder and
RESULT_RECORDER_FILE=<path>. It records what any callback (AWX's included) receives, so the
file is also one of the places the secret-leak tests search.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import os
import time

from ansible.plugins.callback import CallbackBase

DOCUMENTATION = """
name: result_recorder
type: aggregate
short_description: JSON lines of every task result (reliability tests)
description: Writes one JSON object per task result, per host, and one for the run's stats.
requirements: [RESULT_RECORDER_FILE in the environment]
"""


class CallbackModule(CallbackBase):
    CALLBACK_VERSION = 2.0
    CALLBACK_TYPE = 'aggregate'
    CALLBACK_NAME = 'result_recorder'
    CALLBACK_NEEDS_ENABLED = True

    def __init__(self):
        super(CallbackModule, self).__init__()
        self._path = os.environ.get('RESULT_RECORDER_FILE')

    def _write(self, record):
        if not self._path:
            return
        with open(self._path, 'a') as stream:
            stream.write(json.dumps(record, default=str, sort_keys=True) + '\n')

    def _task_result(self, status, result, ignore_errors=False):
        self._write(dict(
            kind='task',
            time=time.time(),
            status=status,
            host=result._host.get_name(),
            task=result._task.get_name(),
            action=result._task.action,
            ignore_errors=bool(ignore_errors),
            result=result._result,
        ))

    def v2_runner_on_ok(self, result):
        self._task_result('changed' if result._result.get('changed') else 'ok', result)

    def v2_runner_on_failed(self, result, ignore_errors=False):
        self._task_result('failed', result, ignore_errors)

    def v2_runner_on_skipped(self, result):
        self._task_result('skipped', result)

    def v2_runner_on_unreachable(self, result):
        self._task_result('unreachable', result)

    def v2_runner_item_on_ok(self, result):
        self._task_result('item_ok', result)

    def v2_runner_item_on_failed(self, result):
        self._task_result('item_failed', result)

    def v2_playbook_on_stats(self, stats):
        summary = dict((host, stats.summarize(host)) for host in sorted(stats.processed))
        self._write(dict(kind='stats', custom=stats.custom, summary=summary))
