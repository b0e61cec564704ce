"""Label constraints: syntax, matching, contradictions."""
import pytest

from common.errors import InvalidArgument
from scheduler.rules import constraints as c


@pytest.mark.parametrize("text, labels, expected", [
    ("zone=a", {"zone": "a"}, True),
    ("zone==a", {"zone": "b"}, False),
    ("zone=a", {}, False),
    ("gpu!=none", {}, True),
    ("gpu!=none", {"gpu": "none"}, False),
    ("gpu!=none", {"gpu": "a100"}, True),
    ("zone in a,b", {"zone": "b"}, True),
    ("zone in a, b", {"zone": "c"}, False),
    ("zone notin a,b", {"zone": "c"}, True),
    ("zone notin a,b", {}, True),
    ("ssd", {"ssd": ""}, True),
    ("ssd", {}, False),
    ("!ssd", {}, True),
    ("!ssd", {"ssd": "yes"}, False),
])
def test_constraint_matches(text, labels, expected):
    assert c.parse(text).matches(labels) is expected


@pytest.mark.parametrize("text", ["", "zone=", "zone in ", "bad key=a", "=a", "!"])
def test_malformed_constraints_name_the_field(text):
    with pytest.raises(InvalidArgument) as err:
        c.parse(text)
    assert err.value.field == "spec.constraints"


@pytest.mark.parametrize("texts", [
    ["zone=a", "zone=b"],
    ["zone=a", "zone!=a"],
    ["zone in a,b", "zone notin a,b"],
    ["zone in a,b", "zone in c"],
    ["ssd", "!ssd"],
    ["zone=a", "!zone"],
])
def test_contradictions_are_refused(texts):
    with pytest.raises(InvalidArgument, match="contradictory"):
        c.parse_all(texts)


def test_compatible_constraints_are_accepted():
    parsed = c.parse_all(["zone in a,b", "zone!=b", "gpu!=none", "ssd"])
    assert c.matches_all(parsed, {"zone": "a", "ssd": "1"})
    assert not c.matches_all(parsed, {"zone": "b", "ssd": "1"})


def test_constraints_print_back_as_parsed():
    for text in ["zone=a", "gpu!=none", "zone in a,b", "zone notin c", "ssd", "!ssd"]:
        assert str(c.parse(text)) == text
