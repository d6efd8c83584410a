"""`manage.py flags list` and `manage.py flags set NAME on|off|clear [--rollout P] --reason TEXT`
(SPEC F2, F7, F8)."""

from __future__ import annotations

import getpass

from django.core.management.base import BaseCommand, CommandError

from core.errors import RuleViolation
from flags.models import OverrideState
from flags.registry import UnknownFlag, registry
from flags.services import flag_override_set
from flags.store import current_snapshot

STATES = {"on": OverrideState.ON, "off": OverrideState.OFF, "clear": OverrideState.UNSET}


class Command(BaseCommand):
    help = "List feature flags with their effective value and source, or set/clear an override."

    def add_arguments(self, parser):
        sub = parser.add_subparsers(dest="action", required=True)
        sub.add_parser("list", help="Each flag's effective value and where it came from.")
        setter = sub.add_parser("set", help="Override a flag in the database, or clear the override.")
        setter.add_argument("name")
        setter.add_argument("value", help="on, off or clear")
        # Required, as in the admin form: the audit must say why (not argparse's required=True,
        # so a missing or blank reason gets the same message and exit as every other error).
        setter.add_argument("--reason", default="", help="Why (required); stored in the audit.")
        # Text, not type=int, so a bad value gets this command's message and exit (see --reason).
        setter.add_argument(
            "--rollout",
            default=None,
            metavar="P",
            help="With on: ON for P %% of subjects only (1-100), sticky per subject (SPEC F8).",
        )

    def handle(self, *args, action: str, **options):
        if action == "list":
            return self._list()
        return self._set(options["name"], options["value"], options["reason"], options["rollout"])

    def _list(self) -> None:
        snapshot = current_snapshot()
        width = max(len(name) for name in registry())
        for name in registry():
            value = snapshot[name]
            # The third column is the source that decided (SPEC F2: OFF wins).
            note = f"  (database override on, held off by {name}=0)" if value.held_off_by_environment else ""
            if value.enabled and not value.everyone:
                note += f"  (rollout: on for {value.percent} % of subjects)"
            self.stdout.write(f"{name:<{width}}  {'on' if value.enabled else 'off':<3}  {value.source}{note}")

    def _set(self, name: str, value: str, reason: str, rollout_text: str | None) -> None:
        state = STATES.get(value.strip().lower())
        if state is None:
            raise CommandError(f"Unknown value {value!r}: use on, off or clear. Nothing was changed.")
        if not reason.strip():
            raise CommandError(
                'A reason is required: add --reason "why" (it is stored in the audit). Nothing was changed.'
            )
        rollout = None
        if rollout_text is not None:
            if not rollout_text.strip().isdigit():
                raise CommandError(f"--rollout takes a whole percentage from 1 to 100, not {rollout_text!r}.")
            rollout = int(rollout_text)
        user = getpass.getuser()
        try:
            flag_override_set(
                name=name,
                state=state,
                reason=reason.strip(),
                actor_label=f"cli:{user}",
                rollout=rollout,
            )
        except UnknownFlag as exc:
            raise CommandError(f"{exc} Nothing was changed.") from None
        except RuleViolation as exc:
            raise CommandError(f"{exc.detail} Nothing was changed.") from None
        value_now = current_snapshot()[name]
        self.stdout.write(self.style.SUCCESS(f"{name} is now {value_now.state} ({value_now.source})"))
        if value_now.held_off_by_environment:
            self.stderr.write(
                self.style.WARNING(f"Warning: {name}=0 in this environment holds the override ON off.")
            )
