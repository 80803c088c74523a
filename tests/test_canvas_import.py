"""Canvas bulk downloads: file names mapped to students, newest uploads kept, late submissions noted,
everything else reported; zips read safely; `grader grade` on a Canvas zip end to end."""

from __future__ import annotations

import csv
import json
import stat
import zipfile
from pathlib import Path

import pytest

from conftest import ASSIGNMENT, SUBMISSIONS
from grader import cli
from grader.lms.canvas_import import (LATE_NOTE, ROSTER, STAGED, CanvasImportError, looks_like_canvas, parse_name,
                                      stage)
from grader.lms.safezip import ArchiveError, MemberError, SafeZip

CORRECT = (SUBMISSIONS / "correct-numpy" / "solution.py").read_bytes()
SIGN = (SUBMISSIONS / "slip-sign" / "solution.py").read_bytes()
ANSWERS = (SUBMISSIONS / "correct-numpy" / "answers.yaml").read_bytes()


def _download(folder: Path, files: dict[str, bytes]) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for name, data in files.items():
        (folder / name).write_bytes(data)
    return folder


def _zip(path: Path, files: dict[str, bytes]) -> Path:
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z:
        for name, data in files.items():
            z.writestr(name, data)
    return path


def test_parse_canvas_names():
    n = parse_name("smithjane_12345_67890_solution.py")
    assert (n.slug, n.late, n.user_id, n.attachment_id, n.target, n.version) == \
           ("smithjane", False, "12345", 67890, "solution.py", 0)
    n = parse_name("obrien-mary_LATE_7_8_solution-2.ipynb")
    assert (n.slug, n.late, n.user_id, n.target, n.version) == ("obrien-mary", True, "7", "solution.ipynb", 2)
    assert parse_name("doejohn_1_2_Answers-1.yml").target == "answers.yaml"
    assert parse_name("doejohn_1_2_hw3.py").target is None
    for name in ("solution.py", "doejohn_solution.py", "doejohn_x_2_solution.py", "._doejohn_1_2_solution.py"):
        assert parse_name(name) is None, name


def test_stage_a_folder(tmp_path):
    src = _download(tmp_path / "download", {
        "smithjane_101_5001_solution.py": CORRECT,
        "smithjane_101_5002_answers.yaml": ANSWERS,
        "doejohn_LATE_202_5003_solution.py": SIGN,
        "doejohn_LATE_202_5009_solution-1.py": CORRECT,        # uploaded again: the newest wins
        "smithjane_303_5004_hw3.py": SIGN,                     # same name, another student; odd file name
        "leeann_404_5005_solution.py": CORRECT,
        "leeann_404_5006_solution.ipynb": b"{}",
        "leeann_404_5007_report.pdf": b"%PDF",
        "grades.csv": b"not canvas",
    })
    (src / "subfolder").mkdir()
    assert looks_like_canvas(src) is False  # a folder inside: not the flat layout (--canvas forces it)
    (src / "subfolder").rmdir()
    assert looks_like_canvas(src) and not looks_like_canvas(SUBMISSIONS)
    result = stage(src, tmp_path / "out")
    folder = tmp_path / "out" / STAGED
    assert result.folder == folder and sorted(result.students) == ["101", "202", "303", "404"]
    assert sorted(p.name for p in (folder / "101").iterdir()) == ["answers.yaml", "solution.py"]
    assert (folder / "202" / "solution.py").read_bytes() == CORRECT
    assert (folder / "303" / "solution.py").read_bytes() == SIGN
    assert result.notes["202"] == [LATE_NOTE]
    assert "graded hw3.py as solution.py" in result.notes["303"][0]
    assert "not graded: report.pdf" in result.notes["404"][0] and "101" not in result.notes
    warnings = "\n".join(result.warnings)
    assert "doejohn_LATE_202_5003_solution.py: not graded; student 202 uploaded solution.py again" in warnings
    assert "grades.csv: ignored (not a Canvas submission file name" in warnings
    assert "leeann_404_5007_report.pdf: not graded" in warnings
    assert "student 404: both solution.py and solution.ipynb; solution.py is graded" in warnings
    assert "name clash: 'smithjane' is Canvas users 101, 303" in warnings
    roster = {r["student"]: r for r in csv.DictReader(open(tmp_path / "out" / ROSTER))}
    assert roster["202"]["late"] == "yes" and roster["101"]["canvas_name"] == "smithjane"
    assert "solution.py <- doejohn_LATE_202_5009_solution-1.py" in roster["202"]["files"]


def test_stage_refuses_a_folder_it_did_not_make(tmp_path):
    src = _download(tmp_path / "download", {"smithjane_101_5001_solution.py": CORRECT})
    mine = _download(tmp_path / "out" / STAGED, {"keep.txt": b"mine"})
    with pytest.raises(CanvasImportError, match="not made by a Canvas import"):
        stage(src, tmp_path / "out")
    assert (mine / "keep.txt").exists()
    (mine / "keep.txt").unlink()
    stage(src, tmp_path / "out")
    stage(src, tmp_path / "out")  # its own folder is rebuilt
    assert sorted(p.name for p in (tmp_path / "out" / STAGED).iterdir()) == [".canvas-import", "101"]


def test_zip_members_cannot_escape(tmp_path):
    archive = _zip(tmp_path / "submissions.zip", {
        "smithjane_101_5001_solution.py": CORRECT,
        "../doejohn_202_5002_solution.py": SIGN,
        "/etc/leeann_303_5003_solution.py": SIGN,
        "C:/x/leeann_303_5004_solution.py": SIGN,
        "__MACOSX/._smithjane_101_5001_solution.py": b"meta",
        "folder/doejohn_LATE_202_5005_answers.yaml": ANSWERS,   # a re-zipped download: basenames count
    })
    with zipfile.ZipFile(archive, "a") as z:
        link = zipfile.ZipInfo("smithjane_101_5006_answers.yaml")
        link.external_attr = (stat.S_IFLNK | 0o777) << 16
        z.writestr(link, "/etc/passwd")
    result = stage(archive, tmp_path / "out")
    warnings = "\n".join(result.warnings)
    assert "../doejohn_202_5002_solution.py: ignored (a path that climbs out" in warnings
    assert "/etc/leeann_303_5003_solution.py: ignored (an absolute path)" in warnings
    assert "C:/x/leeann_303_5004_solution.py: ignored (an absolute path)" in warnings
    assert "smithjane_101_5006_answers.yaml: ignored (a symbolic link)" in warnings
    assert "__MACOSX" not in warnings
    assert sorted(result.students) == ["101", "202"]
    assert (result.folder / "202" / "answers.yaml").read_bytes() == ANSWERS
    assert not (result.folder / "101" / "answers.yaml").exists()
    assert not list(tmp_path.glob("**/etc")) and not (tmp_path / "doejohn_202_5002_solution.py").exists()


def test_zip_size_limits(tmp_path):
    archive = _zip(tmp_path / "bomb.zip", {"a_1_1_solution.py": b"x" * 50_000, "b_2_2_solution.py": b"y" * 50_000,
                                           "c_3_3_solution.py": b"z" * 10})
    with SafeZip(archive, max_file=40_000, max_total=10**6) as z:
        big = next(z.members())
        with pytest.raises(MemberError, match="a_1_1_solution.py is 50000 bytes"):
            z.read(big)
    with SafeZip(archive, max_file=10**6, max_total=60_000) as z:
        first, second, _ = z.members()
        z.read(first)
        with pytest.raises(ArchiveError, match="a zip bomb"):
            z.read(second)
    # a member whose header understates its size is read no further than that, and refused as corrupt
    with SafeZip(archive, max_file=40_000) as z:
        member = next(z.members())
        member.info.file_size = 10
        with pytest.raises(MemberError, match="a_1_1_solution.py is corrupt"):
            z.read(member)


def test_bad_downloads_are_clear_errors(tmp_path, capsys):
    bad = tmp_path / "download.zip"
    bad.write_bytes(b"PK\x03\x04 this is not a zip")
    with pytest.raises(CanvasImportError, match="download.zip: not a readable zip file"):
        stage(bad, tmp_path / "out")
    code = cli.main(["grade", str(bad), "--assignment", str(ASSIGNMENT), "--out", str(tmp_path / "out")])
    err = capsys.readouterr().err
    assert code == 2 and "download.zip: not a readable zip file" in err and "Traceback" not in err
    empty = _zip(tmp_path / "empty.zip", {"readme.txt": b"hello"})
    with pytest.raises(CanvasImportError, match="empty.zip: no Canvas submission files found"):
        stage(empty, tmp_path / "out")


def test_grade_a_canvas_zip_end_to_end(tmp_path, capsys):
    archive = _zip(tmp_path / "submissions.zip", {
        "smithjane_101_5001_solution.py": CORRECT,
        "doejohn_LATE_202_5003_solution.py": SIGN,
        "notes.txt": b"?",
    })
    out = tmp_path / "out"
    code = cli.main(["grade", str(archive), "--assignment", str(ASSIGNMENT), "--out", str(out),
                     "--problems", "linear-ae-gradients"])
    printed = capsys.readouterr()
    assert code == 0, printed.err
    assert "Canvas download" in printed.out and "notes.txt: ignored" in printed.err
    rows = {r["student"]: float(r["score"]) for r in csv.DictReader(open(out / "scores.csv"))}
    assert rows == {"101": 10.0, "202": 0.0}
    late = json.loads((out / "students" / "202" / "results.json").read_text())
    assert LATE_NOTE in late["output"]
    assert LATE_NOTE not in json.loads((out / "students" / "101" / "results.json").read_text())["output"]
