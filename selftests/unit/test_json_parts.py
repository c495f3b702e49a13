"""The parts of a document written one at a time are json.dumps' text of the whole."""

import json

from hypothesis import given
from hypothesis import strategies as st

from timesync_audit.json_parts import dumps_in_parts

_SCALARS = st.none() | st.booleans() | st.integers() | st.floats(allow_nan=True) | st.text()
_VALUES = st.recursive(
    _SCALARS,
    lambda inner: (
        st.lists(inner, max_size=4)
        | st.tuples(inner, inner)
        | st.dictionaries(st.text(max_size=5), inner, max_size=4)
        | st.dictionaries(st.integers() | st.none() | st.booleans(), inner, max_size=3)
    ),  # keys json makes strings
    max_leaves=20,
)
_SEPARATORS = st.sampled_from([(", ", ": "), (",", ":")])


@given(_VALUES, st.integers(0, 4), st.booleans(), _SEPARATORS)
def test_the_parts_are_json_dumps(value, depth, ensure_ascii, separators):
    parts = list(dumps_in_parts(value, depth, ensure_ascii=ensure_ascii, separators=separators))
    assert "".join(parts) == json.dumps(value, ensure_ascii=ensure_ascii, separators=separators)


def test_each_host_is_a_part_of_its_own():
    document = {"run": {"a": 1}, "hosts": [{"name": "h1"}, {"name": "h2"}]}
    parts = list(dumps_in_parts(document, 2, separators=(",", ":")))
    assert '{"name":"h1"}' in parts and '{"name":"h2"}' in parts
