"""Build the autograder.zip to upload to Gradescope ("Configure Autograder" > "Zip file upload").

    python gradescope/make_autograder.py [--assignment problems/autoencoders] [--out autograder.zip]

The zip holds, at its root (Gradescope unpacks it into /autograder/source): setup.sh and run_autograder
from this folder, the grader package with pyproject.toml and README.md (setup.sh installs them), and
the full assignment (specs and reference solutions) as assignment/. Gradescope's container is the
instructor's side: the reference solutions are needed there to grade the hidden cases.
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
_SKIP = ("__pycache__", ".pytest_cache", ".egg-info")


def _files(folder: Path) -> list[Path]:
    return sorted(p for p in folder.rglob("*") if p.is_file() and not p.name.endswith(".pyc")
                  and not any(part.endswith(_SKIP) for part in p.relative_to(folder).parts))


def _add(archive: zipfile.ZipFile, path: Path, name: str, executable: bool = False) -> None:
    info = zipfile.ZipInfo(name, date_time=(2020, 1, 1, 0, 0, 0))
    info.compress_type = zipfile.ZIP_DEFLATED
    info.external_attr = (0o100755 if executable else 0o100644) << 16
    archive.writestr(info, path.read_bytes())


def build(assignment: Path, out: Path) -> list[str]:
    """Write ``out``; return the names it holds. The assignment must load and be a full one."""
    loaded = load_assignment(assignment)
    if loaded.released:
        raise SystemExit(f"{assignment}: a student release; Gradescope needs the full assignment")
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
        return archive.namelist()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--assignment", type=Path, default=REPO / "problems" / "autoencoders")
    parser.add_argument("--out", type=Path, default=Path("autograder.zip"))
    args = parser.parse_args(argv)
    try:
        names = build(args.assignment, args.out)
    except SpecError as exc:
        print(f"{args.assignment}: the specs have problems:\n  " + "\n  ".join(map(str, exc.issues)), file=sys.stderr)
        return 2
    print(f"Wrote {args.out} ({len(names)} files); upload it in Gradescope's autograder settings.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
