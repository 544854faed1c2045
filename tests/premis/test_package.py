"""The package stays standalone and cheap to import."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import premis

PACKAGE = Path(premis.__file__).parent
ALLOWED_THIRD_PARTY = {"lxml", "rdflib"}


def _imported_top_level_names(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module.split(".")[0])
    return names


def test_premis_imports_only_the_stdlib_lxml_rdflib_and_itself() -> None:
    for module in sorted(PACKAGE.glob("*.py")):
        foreign = {
            name
            for name in _imported_top_level_names(module)
            if name not in sys.stdlib_module_names and name != "premis"
        }
        assert foreign <= ALLOWED_THIRD_PARTY, f"{module.name} imports {foreign}"


def test_rdflib_is_imported_by_premis_rdf_only() -> None:
    for module in sorted(PACKAGE.glob("*.py")):
        if module.name != "rdf.py":
            assert "rdflib" not in _imported_top_level_names(module), module.name


def test_import_premis_loads_neither_lxml_nor_rdflib() -> None:
    probe = "import sys, premis; print(sorted({'lxml', 'rdflib'} & set(sys.modules)))"
    loaded = subprocess.run(
        [sys.executable, "-c", probe],
        capture_output=True,
        text=True,
        check=True,
        cwd=PACKAGE.parent,
    ).stdout.strip()
    assert loaded == "[]"


def test_lazy_names_resolve_to_their_modules() -> None:
    from premis import schema, xml

    assert premis.write_document is xml.write_document
    assert premis.validate is schema.validate
    for name in premis.__all__:
        assert getattr(premis, name) is not None, name
