"""Shared pieces of the fuzz tests (test_fuzz_*.py): reproducible Hypothesis settings and strategies for
the kinds of bad input people and files bring (junk text, injection strings, JSON of any shape).

Every fuzz test runs under `FUZZ` (or `settings(FUZZ, max_examples=…)`): derandomized, so CI and a developer's
machine try the same inputs, with no example database written (nothing to keep out of git), no deadline (a
loaded two-core machine must not turn slowness into failures), and few enough examples that all the fuzz tests
together stay under a minute.
"""

from __future__ import annotations

import re
from typing import Any

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st

from bot.core.errors import FlowError

FUZZ = settings(
    derandomize=True,
    database=None,
    deadline=None,
    max_examples=50,
    suppress_health_check=[
        HealthCheck.too_slow,
        HealthCheck.data_too_large,
        HealthCheck.filter_too_much,
        HealthCheck.function_scoped_fixture,
    ],
)

# What people paste, and what attackers try: quotes for SQL, markup and template syntax for pages, NUL bytes,
# right-to-left marks, format strings, very long words, line breaks of every kind.
INJECTIONS = (
    "'; DROP TABLE callbacks; --",
    '" OR 1=1 --',
    "Robert'); DELETE FROM mediators;--",
    "<script>alert('x')</script>",
    "<img src=x onerror=alert(1)>",
    '"><svg onload=alert(1)>',
    "{{ 7*7 }}",
    "{% for x in range(10) %}x{% endfor %}",
    "${7*7}",
    "{0.__class__}",
    "%s%s%s%n",
    "\x00",
    "a\x00b",
    "\u202eexe.txt",
    "\u200f\u200e\u2066\u2069",
    "\ufeff",
    "\r\n\r\n",
    "\u2028\u2029",
    "../../../etc/passwd",
    "javascript:alert(1)",
    "😀" * 10,
)


def junk_text(max_size: int = 60) -> st.SearchStrategy[str]:
    """Any text: arbitrary unicode (surrogates excluded: they cannot travel as UTF-8), control characters,
    injection strings, or both glued together."""
    any_text = st.text(st.characters(exclude_categories=("Cs",)), max_size=max_size)
    controls = st.text(st.characters(min_codepoint=0, max_codepoint=0x1F), max_size=8)
    return st.one_of(
        any_text,
        controls,
        st.sampled_from(INJECTIONS),
        st.tuples(st.sampled_from(INJECTIONS), any_text).map("".join),
        st.integers(1000, 5000).map(lambda n: "x" * n),  # one long word (drawn: keeps failure reports short)
    )


def json_values(max_leaves: int = 12) -> st.SearchStrategy[Any]:
    """Any JSON document (as Python values): nested arrays and objects of numbers, texts, booleans and null."""
    scalars = st.one_of(
        st.none(),
        st.booleans(),
        st.integers(min_value=-(2**70), max_value=2**70),
        st.floats(allow_nan=False, allow_infinity=False),
        junk_text(30),
    )
    return st.recursive(
        scalars,
        lambda children: st.one_of(
            st.lists(children, max_size=4),
            st.dictionaries(junk_text(12), children, max_size=4),
        ),
        max_leaves=max_leaves,
    )


PROBLEM_LINE = re.compile(r"^(?P<file>[^\n]+?):(?P<line>[1-9]\d*): (?P<message>[^\n]+)$")


def assert_located(error: FlowError, lines: dict[str, int]) -> None:
    """Every problem of `error` names one of the files (`lines`: file → its number of lines) and a line of it,
    as `file:line: message` on one line of its own (what `flows check` prints, one problem per line)."""
    assert error.problems, "a FlowError without problems says nothing to the coordinator"
    for problem in error.problems:
        assert problem.file in lines, (problem, sorted(lines))
        assert 1 <= problem.line <= lines[problem.file] + 1, (problem, lines[problem.file])
        assert problem.message.strip(), problem
        found = PROBLEM_LINE.match(str(problem))
        assert found is not None, repr(str(problem))
        assert found["file"] == problem.file, str(problem)
