# -*- coding: utf-8 -*-
# Copyright: (c) 2026, sdwan_ops maintainers
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The one way every module of the collection runs: as an action plugin, on the controller.

FOR INTERNAL COLLECTION USE ONLY.

The module files carry documentation only; each module is an action plugin that subclasses ModuleAction, names its
runner and argument spec (module_utils/argspec.py), and gets what a module author expects of AnsibleModule: options from
the task, else the host's inventory variables of the same name (argspec.INVENTORY_VARIABLES), else the environment
(also the task's ``environment:``), defaults, types, choices, the spec's rules, the failure on invalid arguments,
check mode, diff, warnings and deprecations, ``no_log`` values masked everywhere in the result and
``invocation.module_args``.

Why the controller: starting a module process costs ~0.19 s per host, an action plugin ~0.02 s (bench/README.md), and
the HTTP calls go to vManage and SSM On-Prem either way. The calls therefore always leave from the controller (or the
AWX execution node): ``delegate_to`` does not move them (docs/dev/architecture.md, "Where the HTTP calls come from").

The few ansible-core internals this needs are in the three functions under "ansible-core internals" below, and the
unit tests run under the oldest and the newest supported ansible-core (make test).
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible.errors import AnsibleError
from ansible.module_utils.common.parameters import remove_values
from ansible.module_utils.errors import UnsupportedError
from ansible.plugins.action import ActionBase
from ansible.utils.display import Display

from ansible_collections.sdwan_ops.license_sync.plugins.module_utils.argspec import INVENTORY_VARIABLES, non_empty_env_fallback, validator
from ansible_collections.sdwan_ops.license_sync.plugins.module_utils.runner import RunContext, run

display = Display()


# -- ansible-core internals (2.16 to 2.21 expose no public API for these)

def _no_log_values(validation):
    """The values of no_log options (and of their sub-options) that the validation found."""
    return validation._no_log_values


def _messages(validation):
    """(warnings, deprecations) of the validation, as AnsibleModule would report them."""
    return validation._warnings, validation._deprecations


def _task_environment(action):
    """The task's ``environment:`` (templated), as a module process would see it added to the controller's."""
    environment = {}
    action._compute_environment_string(environment)
    return environment


class ModuleAction(ActionBase):
    """Subclasses set RUNNER (``run_x(params, ctx) -> dict``) and SPEC (from module_utils.argspec)."""

    RUNNER = None
    SPEC = None
    # The options that read the host's inventory variables (None: every option of INVENTORY_VARIABLES).
    INVENTORY_OPTIONS = None
    _requires_connection = False

    def run(self, tmp=None, task_vars=None):
        super(ModuleAction, self).run(tmp, task_vars)
        task_vars = task_vars or {}
        spec = self.SPEC
        try:
            args = self._with_inventory_variables(dict(self._task.args), spec['argument_spec'], task_vars)
        except AnsibleError as error:
            return self._finish(dict(failed=True, msg=str(error)), {}, set(), [], [])
        args = self._with_environment_fallbacks(args, spec['argument_spec'])
        validation = validator(spec).validate(args)
        no_log_values = _no_log_values(validation)
        params = validation.validated_parameters
        aliases, deprecations = _messages(validation)

        if validation.error_messages:
            msg = validation.errors.msg
            if isinstance(validation.errors[0], UnsupportedError):
                msg = 'Unsupported parameters for (%s) module: %s' % (self._task.action, msg)
            failure = dict(failed=True, msg=msg, cause='INVALID_INPUT', remedy=(
                'Set each option named above in the task, as a host variable of the same name (vmanage_host, ssm_url...), '
                'or in its environment variable (VMANAGE_HOST, SSM_URL...); an empty value counts as unset. '
                '"ansible-doc %s" lists the options.' % self._task.action))
            return self._finish(failure, params, no_log_values, [], [])

        warnings = ['Both option %(option)s and its alias %(alias)s are set.' % alias for alias in aliases]
        ctx = RunContext(
            check_mode=bool(self._task.check_mode),
            diff=bool(self._task.diff),
            no_log=bool(self._task.no_log),
            warn=warnings.append,
            debug=display.vvv,
            secrets=no_log_values,
        )
        result = self.execute(params, ctx, task_vars)
        return self._finish(result, params, no_log_values, warnings, deprecations)

    def execute(self, params, ctx, task_vars):
        """The module's result: its runner on the validated parameters (license_report adds the fleet's facts)."""
        return run(self.RUNNER, params, ctx, trace_name=task_vars.get('inventory_hostname'))

    def _with_inventory_variables(self, args, argument_spec, task_vars):
        """Options the task leaves out, from the host's inventory variables of the same name (INVENTORY_VARIABLES).

        Task arguments win, then these variables, then the environment (the option's fallback), then the default. An
        empty value counts as unset, as an empty environment variable does.
        """
        for name in argument_spec if self.INVENTORY_OPTIONS is None else self.INVENTORY_OPTIONS:
            variable = INVENTORY_VARIABLES.get(name)
            if name in args or variable not in task_vars:
                continue
            try:
                value = self._templar.template(task_vars[variable])
            except AnsibleError as error:
                raise AnsibleError('the inventory variable %s (for the option %s) cannot be templated: %s' % (variable, name, error))
            if value is not None and value != '':
                args[name] = value
        return args

    def _with_environment_fallbacks(self, args, argument_spec):
        """Resolve env fallbacks as a module would see its environment: controller env + task ``environment:``."""
        task_environment = _task_environment(self)
        if not task_environment:
            return args  # the validator's own env_fallback reads os.environ, which is all there is
        for name, option in argument_spec.items():
            fallback = option.get('fallback')
            if name in args or not fallback or fallback[0] is not non_empty_env_fallback:
                continue
            for variable in fallback[1]:
                if task_environment.get(variable):
                    args[name] = task_environment[variable]
                    break
        return args

    def _finish(self, result, params, no_log_values, warnings, deprecations):
        result.setdefault('changed', False)
        result['invocation'] = dict(module_args=params)
        if warnings:
            result['warnings'] = result.get('warnings', []) + warnings
        if deprecations:
            result['deprecations'] = result.get('deprecations', []) + deprecations
        return remove_values(result, no_log_values)
