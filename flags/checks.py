"""System checks for the registry and FLAG_* environment (SPEC F1): `manage.py check` fails."""

from __future__ import annotations

import os

from django.core.checks import Error, register

from flags.registry import environment_problems, load_registry_file, registry_path


@register("flags")
def check_flag_registry(app_configs=None, **kwargs) -> list[Error]:
    specs, errors = load_registry_file(registry_path())
    messages = [Error(message, id="flags.E001", obj="feature_flags.yaml") for message in errors]
    for problem in environment_problems(specs, os.environ):
        messages.append(Error(problem, id="flags.E002", obj="environment"))
    return messages
