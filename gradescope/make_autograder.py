"""Build the autograder.zip to upload to Gradescope ("Configure Autograder" > "Zip file upload").

    python gradescope/make_autograder.py [--assignment problems/autoencoders] [--out autograder.zip]
                                         [--secret course.secret] [--roster handout/students.csv [--key COLUMN]]

The zip holds, at its root (Gradescope unpacks it into /autograder/source): setup.sh and run_autograder
from this folder, the grader package with pyproject.toml and README.md (setup.sh installs them), and
the full assignment (specs and reference solutions) as assignment/. Gradescope's container is the
instructor's side: the reference solutions are needed there to grade the hidden cases.

An assignment with per-student cases or questions needs the course secret (``--secret FILE``, checked as the grader
checks it): it is added beside the assignment as ``course.secret`` (mode 0600 in the zip; ``run_autograder`` and
``setup.sh`` chmod it 600 again, whatever the unzip kept, and pass ``--secret``). ``--roster`` adds the release's
roster as ``roster.csv`` (its id column as ``--key`` names it, written as a ``student`` column), so that each graded
student's id is checked against it (a warning in the autograder's log).
"""

from __future__ import annotations

import argparse
import sys
import zipfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
sys.path.insert(0, str(REPO))
from grader.spec import SpecError, load_assignment  # noqa: E402 - the repository's own grader
from grader import variants  # noqa: E402
from grader.release import ReleaseError, roster_ids  # noqa: E402

SECRET = "course.secret"  #: the course secret's name in the zip, beside assignment/
ROSTER = "roster.csv"  #: the release roster's, one 'student' column
_SKIP = ("__pycache__", ".pytest_cache", ".egg-info")


def _files(folder: Path) -> list[Path]:
    return sorted(p for p in folder.rglob("*") if p.is_file() and not p.name.endswith(".pyc")
                  and not any(part.endswith(_SKIP) for part in p.relative_to(folder).parts))


def _add(archive: zipfile.ZipFile, path: Path | bytes, name: str, executable: bool = False,
         mode: int | None = None) -> None:
    info = zipfile.ZipInfo(name, date_time=(2020, 1, 1, 0, 0, 0))
    info.compress_type = zipfile.ZIP_DEFLATED
    info.external_attr = (0o100000 | (mode if mode is not None else 0o755 if executable else 0o644)) << 16
    archive.writestr(info, path if isinstance(path, bytes) else path.read_bytes())


def build(assignment: Path, out: Path, secret: Path | None = None, roster: Path | None = None,
          key: str | None = None) -> list[str]:
    """Write ``out``; return the names it holds. The assignment must load and be a full one; one with per-student
    cases or questions needs ``secret`` (checked as the grader checks it, then shipped as course.secret, mode 0600).
    ``roster``: the release's roster (its ids in column ``key``), shipped as roster.csv."""
    loaded = load_assignment(assignment)
    if loaded.released:
        raise SystemExit(f"{assignment}: a student release; Gradescope needs the full assignment")
    needing = variants.needing_secret(loaded.problems)
    if needing and secret is None:
        raise SystemExit(f"{assignment}: {', '.join(needing)} have per-student cases or questions: pass --secret FILE "
                         "(the course secret the releases were written with) to ship it in the autograder")
    try:
        key_file = variants.load_secret(secret, inside=(loaded.root,)) if secret is not None else None
    except variants.SecretError as exc:
        raise SystemExit(str(exc)) from exc
    try:
        students = roster_ids(roster, key) if roster is not None else None
    except ReleaseError as exc:
        raise SystemExit(str(exc)) from exc
    with zipfile.ZipFile(out, "w") as archive:
        _add(archive, HERE / "setup.sh", "setup.sh", executable=True)
        _add(archive, HERE / "run_autograder", "run_autograder", executable=True)
        for name in ("pyproject.toml", "README.md"):
            _add(archive, REPO / name, name)
        for path in _files(REPO / "grader"):
            _add(archive, path, "grader/" + path.relative_to(REPO / "grader").as_posix())
        for path in _files(loaded.root):
            if path.relative_to(loaded.root).parts[0] in ("samples", "samples.yaml"):
                continue  # the author's sample submissions decide no grade
            _add(archive, path, "assignment/" + path.relative_to(loaded.root).as_posix())
        if key_file is not None:
            _add(archive, key_file.path, SECRET, mode=0o600)
        if students is not None:
            _add(archive, "".join(f"{s}\n" for s in ["student", *students]).encode("utf-8"), ROSTER)
        return archive.namelist()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--assignment", type=Path, default=REPO / "problems" / "autoencoders")
    parser.add_argument("--out", type=Path, default=Path("autograder.zip"))
    parser.add_argument("--secret", type=Path, metavar="FILE", help="the course secret, for per-student cases and "
                        "questions: shipped beside the assignment as course.secret (mode 0600)")
    parser.add_argument("--roster", type=Path, metavar="FILE", help="the roster the release was written for (the "
                        "release's students.csv, or the CSV given to release --roster): shipped as roster.csv")
    parser.add_argument("--key", metavar="COLUMN", help="with --roster: its id column (as grader release --key)")
    args = parser.parse_args(argv)
    if args.key is not None and args.roster is None:
        parser.error("--key: only with --roster")
    try:
        names = build(args.assignment, args.out, args.secret, args.roster, args.key)
    except SpecError as exc:
        print(f"{args.assignment}: the specs have problems:\n  " + "\n  ".join(map(str, exc.issues)), file=sys.stderr)
        return 2
    print(f"Wrote {args.out} ({len(names)} files); upload it in Gradescope's autograder settings.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
