"""docs/reliability.md lists exactly the rows the tests check: the fault table from ``_faults.FAULTS``, the
bounded-responses table from ``_faults.BOUNDS``; a row is marked **bug** exactly when its tests are strict xfails.
The "Bad input" section of docs/reference/errors.md links to the page."""

from __future__ import annotations

import pytest

from ._faults import BOUNDS, FAULTS
from .conftest import REPO

DOC = REPO / "docs" / "reliability.md"


def table_rows(section: str) -> dict[str, str]:
    """First cell -> whole line, for the data rows of the first table under ``## <section>``."""
    text = DOC.read_text()
    body = text.split(f"\n## {section}\n", 1)[1].split("\n## ", 1)[0]
    lines = [line for line in body.splitlines() if line.startswith("|")]
    rows = {}
    for line in lines[2:]:  # skip the header and the |---| line
        name = line.split("|")[1].strip()
        assert name not in rows, f"duplicate row {name!r}"
        rows[name] = line
    return rows


def test_the_fault_table_has_exactly_one_row_per_fault():
    rows = table_rows("Fault matrix")
    assert set(rows) == {fault.name for fault in FAULTS}


@pytest.mark.parametrize("fault", FAULTS, ids=str)
def test_each_fault_row_shows_a_bug_exactly_when_a_test_is_a_known_bug(fault):
    row = table_rows("Fault matrix")[fault.name]
    assert ("**bug**" in row) == bool(fault.xfail), row
    assert len([cell for cell in row.split("|")[1:-1] if cell.strip()]) == 5, row  # fault, injection, 3 outcomes


def test_the_bounded_responses_table_has_exactly_one_row_per_case():
    assert set(table_rows("Bounded responses")) == {bound.name for bound in BOUNDS}


def test_the_bad_input_section_links_to_the_page():
    page = (REPO / "docs" / "reference" / "errors.md").read_text()
    section = page.split("## Bad input", 1)[1].split("\n## ", 1)[0]
    assert "(../reliability.md)" in section


def test_the_files_and_deployments_table_has_exactly_one_row_per_route_fault():
    from ._faults import ROUTE_FAULTS

    rows = table_rows("Files and deployments")
    assert set(rows) == {fault.name for fault in ROUTE_FAULTS}
    for line in rows.values():
        assert len([cell for cell in line.split("|")[1:-1] if cell.strip()]) == 3, line  # fault, injection, outcome


def test_the_checkpoints_table_has_exactly_one_row_per_checkpoint_fault():
    from ._faults import CHECKPOINT_FAULTS

    rows = table_rows("Checkpoints and exports")
    assert set(rows) == {fault.name for fault in CHECKPOINT_FAULTS}
    for line in rows.values():
        assert len([cell for cell in line.split("|")[1:-1] if cell.strip()]) == 3, line  # fault, injection, outcome
