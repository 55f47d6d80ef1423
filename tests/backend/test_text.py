"""backend.text.nul_location: the one test of "can PostgreSQL store this text" every way in
uses. Pure, so checked as properties over any JSON-shaped value."""

from hypothesis import given
from hypothesis import strategies as st

from backend.text import NUL, nul_location, printable_location

TEXT = st.text(alphabet=st.sampled_from(["a", "物", NUL, " "]), max_size=4)
JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | TEXT,
    lambda children: st.lists(children, max_size=3) | st.dictionaries(TEXT, children, max_size=3),
    max_leaves=12,
)


def strings_in(value):
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for key, item in value.items():
            yield key
            yield from strings_in(item)
    elif isinstance(value, list):
        for item in value:
            yield from strings_in(item)


def at(value, loc):
    """The string `loc` points at: a value, or the key itself when the last step is a key that
    holds NUL."""
    for step in loc:
        if isinstance(value, dict) and isinstance(step, str) and NUL in step:
            return step
        value = value[step]
    return value


@given(JSON)
def test_a_location_is_found_exactly_when_some_string_holds_nul(value):
    assert (nul_location(value) is not None) == any(NUL in s for s in strings_in(value))


@given(JSON)
def test_the_location_points_at_a_string_holding_nul(value):
    loc = nul_location(value, ("body",))
    if loc is not None:
        assert loc[0] == "body"
        assert NUL in at(value, loc[1:])


@given(JSON)
def test_the_printable_location_holds_no_nul(value):
    loc = nul_location(value)
    if loc is not None:
        assert nul_location(printable_location(loc)) is None


def test_tuples_and_nested_values_are_searched():
    assert nul_location({"a": [1, ("x", "y\x00")]}, ("form",)) == ("form", "a", 1, 1)
