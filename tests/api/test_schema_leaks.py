"""SPEC F5, issue 21: nothing in the schema names a flag or describes a feature whose flag is off."""

from __future__ import annotations

import itertools
import re
from pathlib import Path

import pytest

FLAGS = [
    "FLAG_WALKTHROUGH_PERSONA_ROUTING",
    "FLAG_BETA_WALKTHROUGH_SELF_SELECT",
    "FLAG_SENTIMENT_JOURNAL",
    "FLAG_STRATEGY_TEMPLATES_V2",
]
# Words that describe a flagged feature (lower case): none is in the schema while it is off.
FEATURE_WORDS = {
    "FLAG_SENTIMENT_JOURNAL": ["pre_label", "post_label", "journal", "sentiment"],
    "FLAG_BETA_WALKTHROUGH_SELF_SELECT": ["simple"],
}


@pytest.mark.django_db
@pytest.mark.parametrize("values", list(itertools.product([False, True], repeat=len(FLAGS))))
def test_the_schema_names_no_flag_and_describes_no_feature_that_is_off(client, set_flags, values):
    flags = dict(zip(FLAGS, values, strict=True))
    set_flags(**flags)
    text = client.get("/api/schema/?format=json").content.decode()
    assert "FLAG_" not in text
    for flag in (name for name, on in flags.items() if not on):
        for word in FEATURE_WORDS.get(flag, []):
            assert word not in text.lower(), (flag, word)
    if flags["FLAG_SENTIMENT_JOURNAL"]:
        assert '"pre_label"' in text  # the order ticket's field is described while the journal is on


def test_env_example_sets_no_flag_and_says_off_wins():
    """A FLAG_X=0 copied from the example would hold every operator override ON off (SPEC F2)."""
    example = (Path(__file__).resolve().parents[2] / ".env.example").read_text()
    assert not re.findall(r"^FLAG_[A-Z0-9_]+=", example, flags=re.MULTILINE)
    assert "OFF wins" in example and "override wins" not in example.lower()
