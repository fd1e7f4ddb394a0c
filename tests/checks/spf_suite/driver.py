"""Load the OpenSPF RFC 7208 suite and serve each scenario's zone from a loopback DNS server.

The suite (a YAML file of scenarios, each with ``zonedata`` and ``tests``) is
read from the shared corpus in place. Its conventions, as its README states
them:

- an ``SPF`` entry is also published as TXT unless the name has a ``TXT``
  entry of its own, and ``TXT: NONE`` suppresses that copy. RFC 7208 dropped
  the SPF record type and the evaluator never queries it, so it is not served;
- a bare ``TIMEOUT`` entry makes queries for the types not listed before it
  time out: the server sends no reply at all;
- ``MX: [10, host]`` is preference and exchange, and a TXT given as a list is
  several character-strings;
- ``\\xNN`` escapes stand for raw octets, so strings are served as Latin-1 bytes.

One adaptation: a TXT record with no strings at all (``SPF: []``) cannot be
decoded by dnspython, which rejects the whole reply. It is served as one
empty string, which an SPF evaluator ignores in the same way.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from tests.support.dns_server import CLASSIC_UDP_SIZE, LoopbackDnsServer

SUITE_FILE = Path("spf") / "rfc7208-tests.yml"
_ADDRESS_TYPES = ("A", "AAAA", "MX", "PTR", "CNAME")


@dataclass(frozen=True)
class SuiteCase:
    """One test of the suite: its identity, its inputs and the accepted results."""

    scenario: int
    scenario_description: str
    name: str
    helo: str
    host: str
    mailfrom: str
    results: tuple[str, ...]
    explanation: str | None

    @property
    def preferred(self) -> str:
        """The first accepted result, which the suite prefers."""
        return self.results[0]

    @property
    def id(self) -> str:
        """A test id unique in the suite: the scenario number and the test name."""
        return f"{self.scenario:02d}-{self.name}"


@dataclass(frozen=True)
class Scenario:
    """A scenario's description, zone data and tests."""

    index: int
    description: str
    zonedata: dict[str, list[Any]]
    cases: tuple[SuiteCase, ...]


def load_suite(corpus_dir: Path) -> list[Scenario]:
    """Read every scenario of the suite file under ``corpus_dir``."""
    text = (corpus_dir / SUITE_FILE).read_text(encoding="utf-8")
    scenarios = []
    for index, document in enumerate(yaml.safe_load_all(text)):
        if not document:
            continue
        description = str(document.get("description", ""))
        cases = tuple(
            _case(index, description, name, spec)
            for name, spec in (document.get("tests") or {}).items()
        )
        scenarios.append(Scenario(index, description, document.get("zonedata") or {}, cases))
    return scenarios


def _case(index: int, description: str, name: str, spec: dict[str, Any]) -> SuiteCase:
    result = spec["result"]
    results = tuple(result) if isinstance(result, list) else (result,)
    explanation = spec.get("explanation")
    return SuiteCase(
        scenario=index,
        scenario_description=description,
        name=name,
        helo=str(spec.get("helo", "")),
        host=str(spec["host"]),
        mailfrom=str(spec.get("mailfrom", "")),
        results=tuple(str(item) for item in results),
        explanation=None if explanation is None else str(explanation),
    )


def serve_scenario(scenario: Scenario) -> LoopbackDnsServer:
    """Build an unstarted loopback server that answers for every name of the scenario.

    UDP answers past 512 bytes are truncated whatever EDNS size the client
    offers, so the resolver's fallback to TCP is part of the run.
    """
    server = LoopbackDnsServer(max_udp_size=CLASSIC_UDP_SIZE)
    server.add_zone(".")
    for owner, entries in scenario.zonedata.items():
        _serve_name(server, str(owner), entries or [])
    return server


def _serve_name(server: LoopbackDnsServer, owner: str, entries: list[Any]) -> None:
    has_own_txt = any(isinstance(entry, dict) and "TXT" in entry for entry in entries)
    answered_types: set[str] = set()
    for entry in entries:
        if entry == "TIMEOUT":
            server.time_out(owner, except_rdtypes=sorted(answered_types))
            continue
        for rdtype, value in entry.items():
            if rdtype == "SPF":
                if not has_own_txt:
                    server.add_txt(owner, list(_txt_strings(value)))
                    answered_types.add("TXT")
            elif rdtype == "TXT":
                if value != "NONE":
                    server.add_txt(owner, list(_txt_strings(value)))
                    answered_types.add("TXT")
            elif rdtype == "MX":
                preference, exchange = value
                server.add_record(owner, "MX", f"{preference} {_absolute(str(exchange))}")
                answered_types.add("MX")
            elif rdtype in ("PTR", "CNAME"):
                server.add_record(owner, rdtype, _absolute(str(value)))
                answered_types.add(rdtype)
            elif rdtype in _ADDRESS_TYPES:
                server.add_record(owner, rdtype, str(value))
                answered_types.add(rdtype)
            else:
                raise ValueError(f"unexpected record type {rdtype} at {owner} in the SPF suite")


def _txt_strings(value: str | list[str]) -> Iterator[bytes]:
    strings = value if isinstance(value, list) else [value]
    if not strings:
        yield b""
        return
    for string in strings:
        raw = string.encode("latin-1")
        # RFC 1035 section 3.3: one character-string contains at most 255 octets.
        for start in range(0, max(len(raw), 1), 255):
            yield raw[start : start + 255]


def _absolute(name: str) -> str:
    return name if name.endswith(".") else name + "."


def corpus_path() -> Path:
    """The shared corpus, beside the repository unless SENDGUARD_CORPUS_DIR names it."""
    configured = os.environ.get("SENDGUARD_CORPUS_DIR")
    repo_root = Path(__file__).resolve().parents[3]
    return Path(configured) if configured else repo_root.parent / "shared" / "corpus"
