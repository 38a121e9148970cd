"""The SSC IPAC table dialect."""

from __future__ import annotations

import numpy as np
import pytest

from pipeline.instrument import IpacError, read_ipac_table


def write(tmp_path, text):
    path = tmp_path / "t.tbl"
    path.write_text(text)
    return path


def test_keywords_types_units_and_comments(tmp_path):
    table = read_ipac_table(write(tmp_path, (
        "\\character channelID = 1\n"
        "\\VALIDFROM=\"2453940.0000\"\n"
        "\\ comment=free text\n"
        "| order | wave   | name      |\n"
        "| int   | real   | char      |\n"
        "|       | micron |           |\n"
        "   11    18.6     Short-Hi\n"
        "   12    17.1     Short-Lo\n"
    )))
    assert table.keywords == {"channelID": "1", "VALIDFROM": "2453940.0000"}
    assert table.comments == ("comment=free text",)
    assert table["order"].dtype == np.int64
    assert table["wave"].tolist() == [18.6, 17.1]
    assert table["name"].tolist() == ["Short-Hi", "Short-Lo"]
    assert table.units["wave"] == "micron"
    assert len(table) == 2


def test_repeated_header_blocks_are_concatenated(tmp_path):
    table = read_ipac_table(write(tmp_path, (
        "|a|b|\n|int|real|\n 1 2.0\n"
        "\\character channelID = 1\n"
        "|a|b|\n|int|real|\n 3 4.0"  # no trailing newline, as in some SSC files
    )))
    assert table["a"].tolist() == [1, 3]


def test_char_cell_with_blanks_uses_header_boundaries(tmp_path):
    table = read_ipac_table(write(tmp_path, (
        "|name        |n  |\n|char        |int|\n Long High    3\n"
    )))
    assert table["name"].tolist() == ["Long High"]


@pytest.mark.parametrize("text, message", [
    ("no header here\n", "no .|. column header"),
    ("\\only = keywords\n", "no '|' column header"),
    ("|a|b|\n|int|int|\n1 2 3 4\n", "expected 2 values"),
    ("|a|\n|int|\nx\n", "column 'a'"),
])
def test_bad_tables_raise_with_location(tmp_path, text, message):
    with pytest.raises(IpacError, match=message):
        read_ipac_table(write(tmp_path, text))


def test_missing_file(tmp_path):
    with pytest.raises(IpacError, match="cannot read"):
        read_ipac_table(tmp_path / "absent.tbl")


def test_unknown_column_names_the_columns(tmp_path):
    table = read_ipac_table(write(tmp_path, "|a|\n|int|\n1\n"))
    with pytest.raises(IpacError, match="columns: a"):
        table["b"]
