"""What changes between two versions of a flow, for the admin deciding to publish."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from bot.flow.model import Flow, Rule, Step


@dataclass(frozen=True)
class FlowDiff:
    added: tuple[str, ...]
    removed: tuple[str, ...]
    changed: tuple[str, ...]
    languages_added: tuple[str, ...]
    languages_removed: tuple[str, ...]
    rules_changed: bool

    @property
    def empty(self) -> bool:
        return not (
            self.added
            or self.removed
            or self.changed
            or self.languages_added
            or self.languages_removed
            or self.rules_changed
        )


def _step_key(step: Step) -> tuple[Any, ...]:
    """Everything about a step that an applicant or a rule would notice (not its line)."""
    return (
        step.type,
        tuple(sorted(step.text.items())),
        tuple(sorted((step.help or {}).items())),
        step.required,
        step.relevant.source if step.relevant else None,
        step.constraint.source if step.constraint else None,
        tuple(sorted((step.constraint_message or {}).items())),
        step.sensitive,
        step.tags,
        tuple((c.value, tuple(sorted(c.label.items()))) for c in step.choices),
        step.max_length,
        step.min,
        step.max,
        step.integer,
        step.max_files,
    )


def _rules_key(rules: tuple[Rule, ...]) -> tuple[Any, ...]:
    return tuple((r.id, r.when.source, tuple(sorted(r.label.items())), r.points) for r in rules)


def diff(old: Flow, new: Flow) -> FlowDiff:
    old_ids = [s.id for s in old.steps]
    new_ids = [s.id for s in new.steps]
    changed = tuple(
        s.id for s in new.steps if old.has_step(s.id) and _step_key(old.step(s.id)) != _step_key(s)
    )
    rules = any(
        _rules_key(getattr(old, kind)) != _rules_key(getattr(new, kind))
        for kind in ("eligibility", "exclusions", "to_check", "priority")
    )
    return FlowDiff(
        added=tuple(i for i in new_ids if i not in old_ids),
        removed=tuple(i for i in old_ids if i not in new_ids),
        changed=changed,
        languages_added=tuple(lang for lang in new.languages if lang not in old.languages),
        languages_removed=tuple(lang for lang in old.languages if lang not in new.languages),
        rules_changed=rules,
    )
