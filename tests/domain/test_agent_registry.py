"""The agent registry: one agent per system whatever name a source gives it, configurable."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from provenance.domain.agent_registry import (
    DEFAULT_REGISTRY,
    AgentRegistry,
    AgentRegistryError,
    RegisteredAgent,
    ResolvedAgent,
    load_registry,
    registry_from_text,
)

CATALOG = ResolvedAgent("software/preservation_catalog", "Preservation Catalog", "software")


@pytest.mark.parametrize(
    "name",
    # The log's spelling, the repository events' `invoked_by`, and other spellings of either.
    ["preservation_catalog", "preservation-catalog", "Preservation Catalog", " PRESCAT "],
)
def test_every_name_of_the_catalog_is_one_agent(name: str) -> None:
    assert DEFAULT_REGISTRY.resolve(name, "software") == CATALOG


def test_a_stated_version_is_its_own_agent_record_of_the_same_system() -> None:
    resolved = DEFAULT_REGISTRY.resolve("preservation-catalog", "software", "6.1.0")
    assert resolved == ResolvedAgent(
        "software/preservation_catalog@6.1.0", "Preservation Catalog", "software", "6.1.0"
    )


def test_a_name_nobody_registered_is_its_own_agent() -> None:
    assert DEFAULT_REGISTRY.resolve("ocrWF/ocr-create", "software", "2.0") == ResolvedAgent(
        "software/ocrWF/ocr-create@2.0", "ocrWF/ocr-create", "software", "2.0"
    )
    assert DEFAULT_REGISTRY.resolve("x", "person").identifier == "person/x"


def test_a_robot_step_is_the_system_that_runs_its_workflow() -> None:
    # The step's robot and the notification it sends (`invoked_by`) are one agent.
    assert DEFAULT_REGISTRY.resolve("accessionWF/shelve", "software", "2.0") == ResolvedAgent(
        "software/common-accessioning@2.0", "common-accessioning", "software", "2.0"
    )
    assert DEFAULT_REGISTRY.resolve("common-accessioning", "software").identifier == (
        "software/common-accessioning"
    )
    robots = DEFAULT_REGISTRY.resolve("preservationIngestWF/update-moab", "software")
    assert robots.identifier == "software/preservation_robots"


_separators = st.lists(st.sampled_from(["_", "-", " ", "__", " - "]), min_size=2, max_size=2)


@given(separators=_separators, upper=st.booleans())
def test_case_and_separators_do_not_make_another_agent(separators: list[str], upper: bool) -> None:
    name = f"preservation{separators[0]}catalog"
    assert DEFAULT_REGISTRY.resolve(name.upper() if upper else name, "software") == CATALOG


@given(name=st.text(min_size=1, max_size=20).filter(str.strip))
def test_resolving_is_a_function_of_the_name(name: str) -> None:
    first = DEFAULT_REGISTRY.resolve(name, "software")
    assert AgentRegistry().resolve(name, "software") == first
    assert first.identifier.startswith("software/")


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "agents.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_a_file_adds_agents_and_replaces_built_in_ones(tmp_path: Path) -> None:
    path = _write(
        tmp_path,
        """
[agents.preservation_catalog]
name = "SDR Preservation Catalog"
aliases = ["preservation-catalog", "pc"]

[agents.argo-prod]
name = "Argo (production)"
aliases = ["argo"]

[agents.sul]
name = "Stanford University Libraries"
type = "organization"
""",
    )
    registry = load_registry(path)
    catalog = registry.resolve("pc", "software")
    assert catalog.identifier == "software/preservation_catalog"
    assert catalog.name == "SDR Preservation Catalog"
    assert registry.resolve("preservation_catalog", "software") == catalog
    # The file's entry replaced the built-in one: its other alias is gone with it.
    assert registry.resolve("prescat", "software").identifier == "software/prescat"
    # An alias the file gives another key moves there.
    assert registry.resolve("argo", "software").identifier == "software/argo-prod"
    assert registry.resolve("sul", "software") == ResolvedAgent(
        "organization/sul", "Stanford University Libraries", "organization"
    )
    # The built-in registry is not changed by loading a file.
    assert DEFAULT_REGISTRY.resolve("argo", "software").identifier == "software/argo"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("[agents.a\nname = 1", "not TOML"),
        ("[agent.a]\nname = 'A'", "unknown table 'agent'"),
        ("agents = 3", "'agents' must be a table"),
        ("[agents.a]\nnom = 'A'", "unknown field 'nom'"),
        ("[agents.a]\nname = ''", "agents.a.name must be a non-empty string"),
        ("[agents.a]\ntype = 'robot'", "agents.a.type must be one of software"),
        ("[agents.a]\naliases = 'b'", "agents.a.aliases must be a list"),
        ("[agents.'a b']\nname = 'A'", "a key is letters"),
        ("[agents.a]\naliases = ['x']\n[agents.b]\naliases = ['X']", "claimed by both"),
    ],
)
def test_a_bad_agents_file_is_a_one_line_error_naming_the_file(
    tmp_path: Path, text: str, message: str
) -> None:
    path = _write(tmp_path, text)
    with pytest.raises(AgentRegistryError) as raised:
        load_registry(path)
    assert message in str(raised.value)
    assert str(raised.value).startswith(f"agents file {path}: ")
    assert "\n" not in str(raised.value)


def test_a_text_is_read_as_a_file_is_and_its_errors_name_where_it_came_from(
    tmp_path: Path,
) -> None:
    """The API function has no file: it reads the file's text from PROV_AGENTS_TOML."""
    text = "[agents.preservation_catalog]\nname = 'SDR Catalog'\naliases = ['pres-cat']\n"
    from_text = registry_from_text(text, "PROV_AGENTS_TOML")
    from_file = load_registry(_write(tmp_path, text))
    for name in ("preservation_catalog", "pres-cat", "prescat", "argo"):
        assert from_text.resolve(name, "software") == from_file.resolve(name, "software")
    with pytest.raises(AgentRegistryError) as raised:
        registry_from_text("[agents.a]\ntype = 'robot'", "PROV_AGENTS_TOML")
    assert str(raised.value).startswith("PROV_AGENTS_TOML: agents.a.type must be one of ")
    assert "\n" not in str(raised.value)


def test_a_missing_agents_file_is_a_one_line_error(tmp_path: Path) -> None:
    with pytest.raises(AgentRegistryError, match=r"cannot read it: No such file") as raised:
        load_registry(tmp_path / "absent.toml")
    assert "\n" not in str(raised.value)


def test_two_agents_cannot_claim_one_name() -> None:
    with pytest.raises(AgentRegistryError, match="claimed by both 'a' and 'b'"):
        AgentRegistry(
            [
                RegisteredAgent("a", "A", aliases=("x-y",)),
                RegisteredAgent("b", "B", aliases=("X_Y",)),
            ]
        )
