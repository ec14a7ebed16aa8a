"""The package's shape: stages import only earlier stages, SQL lives in the store alone,
and the record model, exports, review and audit load no image or PDF library, nor the web
server (only `srsform review web` does)."""

from __future__ import annotations

import ast
import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "src" / "srsform"
SAMPLES = ROOT / "samples"
HEAVY = ("cv2", "numpy", "reportlab", "pikepdf", "PIL", "pdf2image", "matplotlib", "starlette",
         "uvicorn")
# form -> read -> store -> report, with the entry points last; errors, records, inputs and
# outputs are shared by every stage.
STAGES = {"errors": 0, "records": 0, "inputs": 0, "outputs": 0, "form": 1, "read": 2, "store": 3,
          "report": 4, "batch": 5, "watch": 5, "cli": 5, "places": 5, "__main__": 5}
# SQL is written in capitals here (lower-case words such as "select" occur in help texts).
SQL = re.compile(r"\b(SELECT\s+\S|INSERT\s+INTO|UPDATE\s+\w+\s+SET|DELETE\s+FROM|CREATE\s+"
                 r"(TABLE|INDEX|TRIGGER)|PRAGMA\s+\w+|BEGIN\s+IMMEDIATE)")


def _modules() -> list[Path]:
    return sorted(PACKAGE.rglob("*.py"))


def _dotted(path: Path) -> list[str]:
    parts = list(path.relative_to(PACKAGE).with_suffix("").parts)
    return parts[:-1] if parts[-1] == "__init__" else parts


def _stage(parts: list[str]) -> int:
    return STAGES[parts[0]] if parts else 0


def _imported(path: Path) -> list[list[str]]:
    """srsform modules a file imports, as parts below the package (relative ones resolved)."""
    here = _dotted(path)
    package = here if path.name == "__init__.py" else here[:-1]
    found = []
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom):
            if node.level:
                base = package[:len(package) - (node.level - 1)] if node.level > 1 else package
                target = [*base, *(node.module.split(".") if node.module else [])]
            elif node.module and node.module.split(".")[0] == "srsform":
                target = node.module.split(".")[1:]
            else:
                continue
            names = [alias.name for alias in node.names]
            found += [[*target, n] if not node.module else target for n in names]
        elif isinstance(node, ast.Import):
            found += [a.name.split(".")[1:] for a in node.names
                      if a.name.split(".")[0] == "srsform"]
    return found


def test_no_module_imports_a_later_stage() -> None:
    wrong = []
    for path in _modules():
        own = _stage(_dotted(path))
        for target in _imported(path):
            if _stage(target) > own:
                wrong.append(f"{path.relative_to(PACKAGE)} imports {'.'.join(target)}")
    assert not wrong, wrong


def test_sql_is_written_in_the_store_alone() -> None:
    speaking = [str(path.relative_to(PACKAGE)) for path in _modules()
                if path.name != "store.py" and SQL.search(path.read_text())]
    assert speaking == []
    assert SQL.search((PACKAGE / "store.py").read_text())  # the check itself finds SQL


def test_no_test_data_generator_ships_in_the_package() -> None:
    names = {path.name for path in _modules()}
    assert not names & {"synth.py", "accuracy.py"}


def _loaded_after(code: str) -> list[str]:
    """The heavy libraries a fresh interpreter has loaded after running `code`."""
    probe = (f"{code}\nimport sys, json\n"
             f"print(json.dumps([m for m in {HEAVY!r} if m in sys.modules]))")
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True,
                          check=True)
    return json.loads(done.stdout.strip().splitlines()[-1])


@pytest.mark.parametrize("modules", [
    "srsform.records", "srsform.report.export", "srsform.store", "srsform.report.review",
    "srsform.report.keyed_audit", "srsform.report.agreement", "srsform.form.layout",
    "srsform.form.templates", "srsform.cli",
])
def test_the_record_model_and_exports_load_no_heavy_library(modules: str) -> None:
    assert _loaded_after(f"import {modules}") == []


def test_reports_draw_their_charts_without_a_plotting_library() -> None:
    # matplotlib and its PDF backend took a second to load (issue 12: a report in under 1 s).
    assert _loaded_after("import srsform.report.clinician_html") == []
    assert set(_loaded_after("import srsform.report.clinician_pdf, srsform.report.audit_pdf")
               ) == {"reportlab", "PIL"}


def test_the_loader_sees_heavy_libraries_when_they_load() -> None:
    # The probe above would pass vacuously if it could not see a module load.
    assert "cv2" in _loaded_after("import srsform.read.pipeline")
    assert {"starlette", "uvicorn"} <= set(_loaded_after("import srsform.report.review_web"))


def test_export_of_a_store_does_not_load_opencv(tmp_path: Path) -> None:
    db, out = tmp_path / "s.db", tmp_path / "all.csv"
    scan = subprocess.run([sys.executable, "-m", "srsform", "-q", "scan",
                           str(SAMPLES / "scans" / "stack.pdf"), "--db", str(db),
                           "-o", str(tmp_path / "r.jsonl"), "--no-evidence"],
                          capture_output=True, text=True)
    assert scan.returncode in (0, 4), scan.stderr
    loaded = _loaded_after(
        "from srsform.cli import main\n"
        f"try:\n    main(['-q', 'export', '--db', {str(db)!r}, '-o', {str(out)!r}])\n"
        "except SystemExit as stop:\n    assert stop.code in (0, None), stop.code")
    assert loaded == []
    assert len(out.read_text().splitlines()) == 1 + 4  # header and the stack's four pages


def test_a_keyed_audit_loads_no_heavy_library(tmp_path: Path) -> None:
    # `audit --against` without -o reads the store and a CSV: no PDF, image or plot library.
    db = tmp_path / "s.db"
    scan = subprocess.run([sys.executable, "-m", "srsform", "-q", "scan",
                           str(SAMPLES / "scans" / "stack.pdf"), "--db", str(db),
                           "-o", str(tmp_path / "r.jsonl"), "--no-evidence"],
                          capture_output=True, text=True)
    assert scan.returncode in (0, 4), scan.stderr
    keyed = tmp_path / "keyed.csv"
    keyed.write_text("serial,overall\nSAMP00000011,0\n")
    loaded = _loaded_after(
        "from srsform.cli import main\n"
        f"try:\n    main(['-q', 'audit', '--db', {str(db)!r}, '--against', {str(keyed)!r}])\n"
        "except SystemExit as stop:\n    assert stop.code in (0, None), stop.code")
    assert loaded == []


def test_every_subpackage_is_listed_for_the_wheel() -> None:
    # pyproject lists packages by hand (the templates ship from the top-level templates/
    # folder as srsform.template_files); a subpackage missing there is missing when installed.
    import tomllib

    listed = set(tomllib.loads((ROOT / "pyproject.toml").read_text())
                 ["tool"]["setuptools"]["packages"])
    found = {".".join(["srsform", *_dotted(init)]) for init in PACKAGE.rglob("__init__.py")}
    assert found <= listed, sorted(found - listed)
