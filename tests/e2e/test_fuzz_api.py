"""A bounded schemathesis run against the whole local stack, as a signed-in teacher.

Every phase runs (examples, coverage, fuzzing, and the stateful phase, which follows the
document's OpenAPI links from a created class, student, invitation, grant or session to the
routes that take it), with the checks of tests/e2e/fuzz.py: no 5xx, every answer of a
documented status and content type (every error application/problem+json), every body
matching its schema, and no schema-valid request refused. ``make fuzz`` runs the same longer,
on a stack of its own, with a new seed each time.

The OpenAPI document states every constraint the server enforces that JSON Schema can express
(lengths, patterns, formats, enums, ranges, UUID ids, no control characters, names that are not
blank, birth years from 1900). A schema-valid request is still refused only where the rule is
beyond JSON Schema, and schemathesis.toml allows exactly these refusals, on the operations they
concern:

- ``page_token`` must be a token the list issued: ``400 invalid_page_token``;
- verification, reset, invitation and unlock-request tokens must be live ones that a mail
  carried: ``400 invalid_token`` (``401`` for refresh tokens);
- an ``Idempotency-Key`` already used with another body or operation: ``422
  idempotency_key_reused`` (state, not shape);
- dates relative to today: a student's birth date not in the future, an account's birth date
  in the past, ``grant_expires_at`` in the future: ``422``;
- email addresses follow email-validator's rules (special-use domains, label and IDNA syntax)
  beyond what the pattern says (local part of at most 64 characters, a dot in the domain):
  ``422``;
- a new password must have 8 characters after NFKC normalization and not be guessable
  (zxcvbn), nor contain the email's local part or "trackcc": ``422 weak_password`` with a
  score, which the contract wants rather than a schema refusal, so the length is stated in
  the description only;
- photo bytes must decode as JPEG, PNG or WebP, at most 5 MiB and 40 megapixels: ``413``,
  ``415``, ``422 invalid_image``;
- the account's and the invitation's state: ``423 account_locked`` once the fuzzer's own
  wrong passwords locked it, ``410`` for a used, revoked or expired invitation (``401``,
  ``403``, ``404``, ``409`` and ``429`` are allowed everywhere, as schemathesis does by
  default).
"""

from __future__ import annotations

import time

import pytest

from tests.e2e.fuzz import run_schemathesis
from tests.e2e.stack import RunningStack

pytestmark = pytest.mark.e2e

# About a minute and a half on two busy cores; `make fuzz` goes much further.
MAX_EXAMPLES = 8
SEED = 14


def test_schemathesis_finds_nothing(web_stack: RunningStack) -> None:
    started = time.monotonic()
    run = run_schemathesis(web_stack, max_examples=MAX_EXAMPLES, seed=SEED)
    print(  # noqa: T201 - the counts are the point of the run
        f"schemathesis: {MAX_EXAMPLES} examples per operation, seed {SEED}, "
        f"{time.monotonic() - started:.0f} s\n{run.summary}"
    )
    assert run.returncode == 0, run.output[-20000:]
