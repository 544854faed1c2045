"""The Library of Congress preservation vocabularies PREMIS 3 uses, as enums.

Owns the codes, the authoritative labels and the URIs of: eventType, eventOutcome, agentType,
eventRelatedAgentRole, eventRelatedObjectRole, cryptographicHashFunctions and the structural
terms of relationshipSubType (https://id.loc.gov/vocabulary/preservation). Every member has
`.code`, `.label` (the LoC `madsrdf:authoritativeLabel`, exactly), `.uri`, and its scheme's
`.authority` and `.authority_uri`; `from_code()` looks a member up by its code.
"""

from __future__ import annotations

from enum import Enum
from typing import ClassVar, Self

from premis.errors import PremisModelError

LOC_PRESERVATION = "http://id.loc.gov/vocabulary/preservation/"
"""Base of every scheme URI (http and no `.html`: the form the LoC data itself uses)."""


class LocTerm(Enum):
    """A term of one LoC preservation vocabulary; each subclass is one scheme.

    The enum value is the term's code; look terms up with `from_code`, which names the valid
    codes when it fails.
    """

    label: str
    authority: ClassVar[str]

    def __new__(cls, code: str, label: str) -> Self:
        member = object.__new__(cls)
        member._value_ = code
        member.label = label
        return member

    def __init_subclass__(cls, *, authority: str = "", **kwargs: object) -> None:
        # A class keyword rather than a class attribute: any value assigned in an Enum body
        # would become a member.
        super().__init_subclass__(**kwargs)
        cls.authority = authority

    @property
    def code(self) -> str:
        """The LoC code, e.g. `fix`."""
        return str(self.value)

    @property
    def uri(self) -> str:
        """The term URI, e.g. `http://id.loc.gov/vocabulary/preservation/eventType/fix`."""
        return f"{LOC_PRESERVATION}{self.authority}/{self.code}"

    @property
    def authority_uri(self) -> str:
        """The scheme URI, e.g. `http://id.loc.gov/vocabulary/preservation/eventType`."""
        return f"{LOC_PRESERVATION}{self.authority}"

    @classmethod
    def from_code(cls, code: str) -> Self:
        """The member with this code; `PremisModelError` names the valid codes otherwise."""
        member = cls._value2member_map_.get(code)
        if isinstance(member, cls):
            return member
        known = ", ".join(term.code for term in cls)
        raise PremisModelError(f"unknown {cls.authority} code {code!r}: expected one of {known}")


class EventType(LocTerm, authority="eventType"):
    """eventType: what happened (50 terms)."""

    ACCESSION = ("acc", "accession")
    APPRAISAL = ("app", "appraisal")
    CAPTURE = ("cap", "capture")
    COMPRESSION = ("com", "compression")
    COMPILING = ("cop", "compiling")
    CREATION = ("cre", "creation")
    DEACCESSION = ("dea", "deaccession")
    DECOMPRESSION = ("dec", "decompression")
    DELETION = ("del", "deletion")
    DECRYPTION = ("der", "decryption")
    DIGITAL_SIGNATURE_VALIDATION = ("dig", "digital signature validation")
    DISSEMINATION = ("dis", "dissemination")
    DIGITAL_SIGNATURE_GENERATION = ("dsg", "digital signature generation")
    DISPLAYING = ("dsp", "displaying")
    ENCRYPTION = ("enc", "encryption")
    EXECUTION = ("exe", "execution")
    EXPORTING = ("exp", "exporting")
    EXTRACTION = ("ext", "extraction")
    FORENSIC_FEATURE_ANALYSIS = ("ffa", "forensic feature analysis")
    FILENAME_CHANGE = ("fil", "filename change")
    FIXITY_CHECK = ("fix", "fixity check")
    FORMAT_IDENTIFICATION = ("for", "format identification")
    IMAGING = ("ima", "imaging")
    INGESTION_END = ("ine", "ingestion end")
    INGESTION = ("ing", "ingestion")
    INGESTION_START = ("ins", "ingestion start")
    INTERPRETING = ("int", "interpreting")
    INFORMATION_PACKAGE_CREATION = ("ipc", "information package creation")
    INFORMATION_PACKAGE_MERGING = ("ipm", "information package merging")
    INFORMATION_PACKAGE_SPLITTING = ("ips", "information package splitting")
    METADATA_EXTRACTION = ("mee", "metadata extraction")
    METADATA_MODIFICATION = ("mem", "metadata modification")
    MESSAGE_DIGEST_CALCULATION = ("mes", "message digest calculation")
    MIGRATION = ("mig", "migration")
    MODIFICATION = ("mod", "modification")
    NORMALIZATION = ("nor", "normalization")
    PACKING = ("pac", "packing")
    POLICY_ASSIGNMENT = ("poa", "policy assignment")
    PRINTING = ("prt", "printing")
    QUARANTINE = ("qua", "quarantine")
    RECOVERY = ("rec", "recovery")
    REDACTION = ("red", "redaction")
    REFRESHMENT = ("ref", "refreshment")
    RENDERING = ("ren", "rendering")
    REPLICATION = ("rep", "replication")
    TRANSFER = ("tra", "transfer")
    UNPACKING = ("unp", "unpacking")
    UNQUARANTINE = ("unq", "unquarantine")
    VALIDATION = ("val", "validation")
    VIRUS_CHECK = ("vir", "virus check")


class EventOutcome(LocTerm, authority="eventOutcome"):
    """eventOutcome: how an event ended."""

    FAIL = ("fai", "fail")
    SUCCESS = ("suc", "success")
    WARNING = ("war", "warning")


class AgentType(LocTerm, authority="agentType"):
    """agentType: what kind of actor an agent is."""

    HARDWARE = ("har", "hardware")
    ORGANIZATION = ("org", "organization")
    PERSON = ("per", "person")
    SOFTWARE = ("sof", "software")


class AgentRole(LocTerm, authority="eventRelatedAgentRole"):
    """eventRelatedAgentRole: the part an agent played in an event (in RDF, a sub-property of
    `prov:wasAssociatedWith`). Replaces the deprecated linkingAgentRoleEvent scheme."""

    AUTHORIZER = ("aut", "authorizer")
    EXECUTING_PROGRAM = ("exe", "executing program")
    IMPLEMENTER = ("imp", "implementer")
    VALIDATOR = ("val", "validator")


class ObjectRole(LocTerm, authority="eventRelatedObjectRole"):
    """eventRelatedObjectRole: how an object took part in an event (in RDF, sub-properties of
    `prov:generated` (outcome) and `prov:used` (source))."""

    OUTCOME = ("out", "outcome")
    SOURCE = ("sou", "source")


class StructuralRelationship(LocTerm, authority="relationshipSubType"):
    """relationshipSubType, the terms of relationshipType "structural" this library writes (in
    RDF each term is a property, a refinement of `premis:relationship` that keeps the direction:
    `<representation> relationshipSubType:rep <entity>`). The members are named as
    `premis.model.RelationshipSubType`'s, whose values are the labels the XML has always shown.

    Codes and labels from the LoC data (relationshipSubType.rdf, `madsrdf:code` and
    `madsrdf:authoritativeLabel`), as data dumps and PREMIS XML of other systems use them."""

    IS_PART_OF = ("isp", "is Part Of")
    HAS_PART = ("hsp", "has Part")
    REPRESENTS = ("rep", "represents")
    IS_REPRESENTED_BY = ("isr", "is Represented By")


class HashFunction(LocTerm, authority="cryptographicHashFunctions"):
    """cryptographicHashFunctions: the algorithm behind a message digest."""

    ADLER32 = ("adler", "Adler-32")
    CRC32 = ("crc32", "CRC32")
    HAVAL = ("haval", "HAVAL")
    MD2 = ("md2", "MD2")
    MD5 = ("md5", "MD5")
    MNP = ("mnp", "MNP")
    SHA1 = ("sha1", "SHA-1")
    SHA256 = ("sha256", "SHA-256")
    SHA384 = ("sha384", "SHA-384")
    SHA512 = ("sha512", "SHA-512")
    TIGER = ("tiger", "TIGER")
    UNKNOWN = ("unk", "unknown")
    WHIRLPOOL = ("whirl", "Whirlpool")
