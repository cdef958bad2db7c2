# -*- coding: utf-8 -*-
# Copyright: (c) 2026, sdwan_ops maintainers
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Controller-side execution of a module's runner, behaving as the module would.

FOR INTERNAL COLLECTION USE ONLY.

Starting a module process costs ~0.19 s per host; an action plugin ~0.02 s. Each module's action
plugin subclasses ModuleAction, names its runner and argument spec, and gets what AnsibleModule
would do: environment fallbacks (including the task's ``environment:``), defaults, types, choices,
required/required_if/mutually_exclusive, the module's failure on invalid arguments, check mode,
diff, warnings and deprecations, ``no_log`` values masked everywhere in the result and
``invocation.module_args`` as a module returns it.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible.module_utils.common.arg_spec import ArgumentSpecValidator
from ansible.module_utils.common.parameters import remove_values
from ansible.module_utils.errors import UnsupportedError
from ansible.plugins.action import ActionBase
from ansible.utils.display import Display

from ansible_collections.sdwan_ops.license_sync.plugins.module_utils.argspec import non_empty_env_fallback
from ansible_collections.sdwan_ops.license_sync.plugins.module_utils.runner import RunContext, run

display = Display()

_SPEC_RULES = ('mutually_exclusive', 'required_together', 'required_one_of', 'required_if', 'required_by')


class ModuleAction(ActionBase):
    """Subclasses set RUNNER (``run_x(params, ctx) -> dict``) and SPEC (from module_utils.argspec)."""

    RUNNER = None
    SPEC = None

    def run(self, tmp=None, task_vars=None):
        super(ModuleAction, self).run(tmp, task_vars)
        spec = self.SPEC
        args = self._with_environment_fallbacks(dict(self._task.args), spec['argument_spec'])
        validator = ArgumentSpecValidator(spec['argument_spec'], **dict((rule, spec[rule]) for rule in _SPEC_RULES if rule in spec))
        validation = validator.validate(args)
        no_log_values = validation._no_log_values
        params = validation.validated_parameters

        if validation.error_messages:
            msg = validation.errors.msg
            if isinstance(validation.errors[0], UnsupportedError):
                msg = 'Unsupported parameters for (%s) module: %s' % (self._task.action, msg)
            return self._finish(dict(failed=True, msg=msg), params, no_log_values, [], [])

        warnings = ['Both option %(option)s and its alias %(alias)s are set.' % alias for alias in validation._warnings]
        ctx = RunContext(
            check_mode=bool(self._task.check_mode),
            diff=bool(self._task.diff),
            no_log=bool(self._task.no_log),
            warn=warnings.append,
            debug=display.vvv,
            secrets=no_log_values,
        )
        result = run(self.RUNNER, params, ctx)
        return self._finish(result, params, no_log_values, warnings, validation._deprecations)

    def _with_environment_fallbacks(self, args, argument_spec):
        """Resolve env fallbacks as a module would see its environment: controller env + task ``environment:``."""
        task_environment = {}
        self._compute_environment_string(task_environment)
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
