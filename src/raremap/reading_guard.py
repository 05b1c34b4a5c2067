"""The guarded reader: every byte raremap takes from a person passes through here first.

Table CSVs, scenario, risk and plan YAML, BACI files and the web server's request bodies are all
read by these functions, so a limit cannot be enforced in one door and forgotten in another (the
server once refused YAML aliases while the command line expanded them until memory ran out). Here
the size, the nesting depth, the size a document reaches once its aliases are expanded, the
encoding, duplicate keys, real dates and finite numbers are checked the same way for everyone, and
each refusal is one `InputError` naming the source, the position (line, column, byte) and the fix.

The limits are stated in docs/limits.md; each is far above anything the bundled files need and
far below what would stall the machine.
"""

from __future__ import annotations

import codecs
import datetime
import json
import math
import re
import stat
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO

import yaml
from yaml.composer import Composer
from yaml.constructor import SafeConstructor
from yaml.events import AliasEvent
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode
from yaml.reader import ReaderError
from yaml.resolver import Resolver

from raremap.errors import RaremapError, shortened

KILOBYTE = 1024
MEGABYTE = 1024 * KILOBYTE
GIGABYTE = 1024 * MEGABYTE


@dataclass(frozen=True)
class Limits:
    """How much one input may hold: bytes, nesting depth, nodes (aliases expanded) and characters per text."""

    max_bytes: int
    max_depth: int = 32
    max_nodes: int = 250_000
    max_text: int = 10_000


TABLE_LIMITS = Limits(max_bytes=64 * MEGABYTE)
"""One table CSV: 64 MB (the bundled trade table, the largest, is 2.4 MB); see docs/limits.md for memory."""
SPECIFICATION_LIMITS = Limits(max_bytes=1 * MEGABYTE)
"""One scenario, risk or plan file: 1 MB, 32 levels, 250,000 values once aliases are expanded
(a megabyte of YAML without aliases holds about 130,000)."""
REQUEST_LIMITS = Limits(max_bytes=256 * KILOBYTE)
"""One request body to the web server."""
BACI_LIMITS = Limits(max_bytes=4 * GIGABYTE)
"""One BACI file: a year of world trade is about 400 MB; it is read in blocks, never whole."""


class InputError(RaremapError):
    """Input refused before it is interpreted: which source, where in it, what is wrong, the fix."""

    def __init__(
        self,
        source: str,
        message: str,
        fix: str,
        *,
        line: int | None = None,
        column: int | None = None,
        byte: int | None = None,
    ):
        self.source = source
        self.message = message
        self.fix = fix
        self.line = line
        self.column = column
        self.byte = byte
        super().__init__(f"{source}{self.position}: {message}; fix: {fix}")

    @property
    def position(self) -> str:
        """' line 3 column 7 (byte 41)', or whichever parts are known."""
        parts = []
        if self.line is not None:
            parts.append(f"line {self.line}")
        if self.column is not None:
            parts.append(f"column {self.column}")
        text = " ".join(parts)
        if self.byte is not None:
            text += f" (byte {self.byte})" if text else f"byte {self.byte}"
        return f" {text}" if text else ""


# --- bytes and text ----------------------------------------------------------------------------


def read_bytes(path: str | Path, limits: Limits, what: str) -> bytes:
    """The bytes of a regular file no larger than the limit; `what` names it in messages ("table")."""
    path = Path(path)
    try:
        status = path.stat()
    except FileNotFoundError:
        raise InputError(str(path), "does not exist", f"give the path of an existing {what}") from None
    except OSError as error:
        raise InputError(str(path), f"cannot be read ({error.strerror})", f"give a readable {what}") from None
    if stat.S_ISDIR(status.st_mode):
        raise InputError(str(path), "is a directory", f"give the path of a {what} file")
    if not stat.S_ISREG(status.st_mode):
        raise InputError(str(path), "is not a regular file", f"give the path of a {what} file")
    refuse_size(str(path), status.st_size, limits, what)
    try:
        with path.open("rb") as stream:
            raw = stream.read(limits.max_bytes + 1)
    except OSError as error:
        raise InputError(str(path), f"cannot be read ({error.strerror})", f"give a readable {what}") from None
    refuse_size(str(path), len(raw), limits, what)  # a file that grew since stat()
    return raw


def refuse_size(source: str, size: int, limits: Limits, what: str) -> None:
    if size > limits.max_bytes:
        raise InputError(
            source,
            f"is {size:,} bytes, more than the {limits.max_bytes:,} a {what} may have",
            "split it or remove what raremap does not need (limits: docs/limits.md)",
        )


def _line_and_column(raw: bytes, offset: int) -> tuple[int, int]:
    line = raw.count(b"\n", 0, offset) + 1
    column = offset - (raw.rfind(b"\n", 0, offset) + 1) + 1
    return line, column


def decode_text(raw: bytes, source: str) -> str:
    """UTF-8 text (a byte-order mark is dropped); binary and other encodings are refused at the bad byte."""
    zero = raw.find(b"\x00")
    if zero >= 0:
        line, column = _line_and_column(raw, zero)
        raise InputError(
            source, "is a binary file, not text (a NUL byte)", "save it as UTF-8 text",
            line=line, column=column, byte=zero,
        )
    body = raw[len(codecs.BOM_UTF8):] if raw.startswith(codecs.BOM_UTF8) else raw
    try:
        return body.decode("utf-8")
    except UnicodeDecodeError as error:
        offset = error.start + (len(raw) - len(body))
        line, column = _line_and_column(raw, offset)
        raise InputError(
            source,
            f"byte 0x{raw[offset]:02X} is not UTF-8 text",
            "save the file as UTF-8 (in a spreadsheet: 'CSV UTF-8')",
            line=line, column=column, byte=offset,
        ) from None


def read_text(path: str | Path, limits: Limits, what: str) -> str:
    """A file's text within the limits: bytes checked, then decoded as UTF-8."""
    return decode_text(read_bytes(path, limits, what), str(path))


def check_utf8_stream(stream: BinaryIO, source: str, block_bytes: int = 4 * MEGABYTE) -> None:
    """Check a large file is UTF-8 without a NUL byte, block by block, naming the first bad byte."""
    decoder = codecs.getincrementaldecoder("utf-8")()
    offset, line = 0, 1
    while block := stream.read(block_bytes):
        zero = block.find(b"\x00")
        try:
            decoder.decode(block)
        except UnicodeDecodeError as error:
            bad = error.start
            if zero < 0 or bad < zero:
                raise InputError(
                    source, f"byte 0x{block[bad]:02X} is not UTF-8 text", "save the file as UTF-8",
                    line=line + block.count(b"\n", 0, bad), byte=offset + bad,
                ) from None
        if zero >= 0:
            raise InputError(
                source, "is a binary file, not text (a NUL byte)", "give the CSV file itself",
                line=line + block.count(b"\n", 0, zero), byte=offset + zero,
            )
        offset += len(block)
        line += block.count(b"\n")
    try:
        decoder.decode(b"", final=True)
    except UnicodeDecodeError:
        raise InputError(source, "ends inside a UTF-8 character", "save the file as UTF-8", byte=offset) from None


# --- dates -------------------------------------------------------------------------------------

DATE_PATTERN = re.compile(r"^(\d{4})(?:-(\d{2})(?:-(\d{2}))?)?$")


def partial_date(text: str) -> datetime.date:
    """A date written YYYY, YYYY-MM or YYYY-MM-DD (the first day where the rest is left out).

    Raises ValueError with a message a person can act on when the text is not a date that exists.
    """
    match = DATE_PATTERN.match(text.strip())
    if match is None:
        raise ValueError("is not a date; write YYYY, YYYY-MM or YYYY-MM-DD")
    year, month, day = int(match[1]), int(match[2] or 1), int(match[3] or 1)
    if not 1 <= month <= 12:
        raise ValueError(f"is not a real date: there is no month {month}; months run 01-12")
    try:
        return datetime.date(year, month, day)
    except ValueError:
        last = (datetime.date(year + month // 12, month % 12 + 1, 1) - datetime.timedelta(days=1)).day
        raise ValueError(
            f"is not a real date: {datetime.date(year, month, 1):%B %Y} has {last} days"
        ) from None


# --- YAML ---------------------------------------------------------------------------------------

try:
    from yaml._yaml import CParser as _EventSource

    _NATIVE_PARSER = True
except ImportError:  # PyYAML without libyaml: the pure-Python scanner and parser, slower but the same
    _NATIVE_PARSER = False


if _NATIVE_PARSER:

    class _Events(_EventSource):
        def __init__(self, text: str):
            _EventSource.__init__(self, text)

else:
    from yaml.parser import Parser
    from yaml.reader import Reader
    from yaml.scanner import Scanner

    class _Events(Reader, Scanner, Parser):  # type: ignore[no-redef]
        def __init__(self, text: str):
            Reader.__init__(self, text)
            Scanner.__init__(self)
            Parser.__init__(self)


class GuardedYamlLoader(_Events, Composer, SafeConstructor, Resolver):
    """A safe YAML loader that counts as it composes: depth, nodes with aliases expanded, duplicate keys.

    libyaml (C) scans and parses; composing is done here in Python so that every node passes
    through `compose_node`, where an alias is charged the full size of what it refers to. A bomb of
    nested aliases is refused as soon as the size it would expand to passes the limit, long before
    anything is expanded. Dates that do not exist (2025-02-30) stay text, so that the model
    reports them with their path instead of the parser failing.
    """

    def __init__(self, text: str, source: str, limits: Limits):
        _Events.__init__(self, text)
        Composer.__init__(self)
        SafeConstructor.__init__(self)
        Resolver.__init__(self)
        self.source = source
        self.limits = limits
        self.depth = 0
        self.sizes: dict[int, int] = {}
        self.duplicates: list[InputError] = []

    # Composer methods that libyaml's CParser would otherwise take over.
    get_single_node = Composer.get_single_node
    compose_document = Composer.compose_document

    def _refuse(self, node_or_mark: Any, message: str, fix: str) -> InputError:
        mark = getattr(node_or_mark, "start_mark", node_or_mark)
        return InputError(self.source, message, fix, line=mark.line + 1, column=mark.column + 1)

    def compose_node(self, parent: Node | None, index: Any) -> Node:
        if self.check_event(AliasEvent):
            event = self.peek_event()
            assert event is not None  # check_event just saw it
            alias = Composer.compose_node(self, parent, index)
            assert alias is not None  # an alias always names a node composed before it
            self._charge(alias, self.sizes.get(id(alias), 1), event.start_mark)
            return alias
        self.depth += 1
        if self.depth > self.limits.max_depth:
            raise self._refuse(
                self.peek_event(),
                f"nests deeper than {self.limits.max_depth} levels",
                "flatten the document; no raremap file needs that depth",
            )
        node = Composer.compose_node(self, parent, index)
        assert node is not None  # composing at a node event always yields a node
        self.depth -= 1
        self._charge(node, self._size(node), node.start_mark)
        return node

    def _size(self, node: Node) -> int:
        if isinstance(node, SequenceNode):
            return 1 + sum(self.sizes.get(id(child), 1) for child in node.value)
        if isinstance(node, MappingNode):
            return 1 + sum(
                self.sizes.get(id(key), 1) + self.sizes.get(id(value), 1) for key, value in node.value
            )
        return 1

    def _charge(self, node: Node, size: int, mark: Any) -> None:
        """Record a node's expanded size; refuse the document once one node expands past the limit."""
        self.sizes[id(node)] = size
        if size > self.limits.max_nodes:
            raise self._refuse(
                mark,
                f"holds more than {self.limits.max_nodes:,} values (each alias counted with all it repeats)",
                "split the file, or write repeated parts out instead of nesting aliases",
            )

    def construct_mapping(self, node: MappingNode, deep: bool = False) -> dict[Any, Any]:
        """A mapping whose explicit keys are all different (merge keys `<<` may still be overridden)."""
        seen: dict[tuple[str, str], ScalarNode] = {}
        for key_node, _ in node.value:
            if not isinstance(key_node, ScalarNode) or key_node.tag == "tag:yaml.org,2002:merge":
                continue
            identity = (key_node.tag, key_node.value)
            if identity in seen:
                first = seen[identity].start_mark.line + 1
                self.duplicates.append(
                    self._refuse(
                        key_node,
                        f"key {shortened(key_node.value)!r} appears twice in one mapping (first on line {first})",
                        "keep one of them; raremap would otherwise have to guess which value you meant",
                    )
                )
            else:
                seen[identity] = key_node
        return super().construct_mapping(node, deep=deep)

    def construct_real_timestamp(self, node: ScalarNode) -> Any:
        """A date that exists as a date; one that does not (2026-13-01) as its text, for the model to report."""
        try:
            return SafeConstructor.construct_yaml_timestamp(self, node)
        except ValueError:
            return self.construct_scalar(node)


GuardedYamlLoader.add_constructor(  # type: ignore[type-var]  # the stubs expect a stock Loader class
    "tag:yaml.org,2002:timestamp", GuardedYamlLoader.construct_real_timestamp
)


def _yaml_error(error: yaml.YAMLError, source: str, limits: Limits, text: str) -> InputError:
    if isinstance(error, ReaderError):  # a character YAML does not allow anywhere
        position = int(error.position)
        line = text.count("\n", 0, position) + 1
        column = position - (text.rfind("\n", 0, position) + 1) + 1
        return InputError(
            source,
            f"character U+{ord(text[position]) if position < len(text) else 0:04X} is a control character, "
            "not allowed in YAML",
            "remove it (it often comes from copying out of another program)",
            line=line, column=column,
        )
    mark = getattr(error, "problem_mark", None)
    problem = " ".join((getattr(error, "problem", None) or str(error)).split())
    if "nesting depth" in problem:  # libyaml's own limit, met before the composer's on long flow lines
        return InputError(
            source, f"nests deeper than {limits.max_depth} levels", "flatten the document",
            line=None if mark is None else mark.line + 1,
            column=None if mark is None else mark.column + 1,
        )
    return InputError(
        source,
        f"is not valid YAML ({problem})",
        "correct the syntax at that place (indentation, a missing ':' or a closing bracket)",
        line=None if mark is None else mark.line + 1,
        column=None if mark is None else mark.column + 1,
    )


def parse_yaml(text: str, source: str, limits: Limits) -> Any:
    """One YAML document within the limits; duplicate keys are all listed in one error."""
    loader = GuardedYamlLoader(text, source, limits)
    try:
        document = loader.get_single_data()
    except yaml.YAMLError as error:
        raise _yaml_error(error, source, limits, text) from None
    except RecursionError:
        raise InputError(source, "nests too deeply", "flatten the document") from None
    finally:
        loader.dispose()
    if loader.duplicates:
        first, *others = loader.duplicates
        if others:
            lines = ", ".join(str(other.line) for other in others[:10])
            first.message += f" (and {len(others)} more repeated keys, on lines {lines})"
            first.args = (f"{first.source}{first.position}: {first.message}; fix: {first.fix}",)
        raise first
    return document


# --- JSON ---------------------------------------------------------------------------------------

_JSON_TOKENS = re.compile(r'"(?:[^"\\]|\\.)*"|[\[\]{}]')


def _json_depth_problem(text: str, limits: Limits) -> int | None:
    """The offset where `text` first nests deeper than the limit (strings skipped), or None."""
    depth = 0
    for match in _JSON_TOKENS.finditer(text):
        token = match.group()
        if token in "[{":
            depth += 1
            if depth > limits.max_depth:
                return match.start()
        elif token in "]}":
            depth -= 1
    return None


def _unique_pairs(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    mapping: dict[str, Any] = {}
    for key, value in pairs:
        if key in mapping:
            raise ValueError(f"key {shortened(key)!r} appears twice in one object")
        mapping[key] = value
    return mapping


def parse_json(text: str, source: str, limits: Limits) -> Any:
    """One JSON value within the limits; duplicate keys are refused."""
    deep = _json_depth_problem(text, limits)
    if deep is not None:
        line = text.count("\n", 0, deep) + 1
        raise InputError(
            source, f"nests deeper than {limits.max_depth} levels", "flatten the document",
            line=line, column=deep - (text.rfind("\n", 0, deep) + 1) + 1,
        )
    try:
        return json.loads(text, object_pairs_hook=_unique_pairs)
    except json.JSONDecodeError as error:
        raise InputError(
            source, f"is not valid JSON ({error.msg})", "correct the syntax at that place",
            line=error.lineno, column=error.colno,
        ) from None
    except ValueError as error:
        raise InputError(source, str(error), "keep one of them") from None
    except RecursionError:
        raise InputError(source, "nests too deeply", "flatten the document") from None


# --- documents after parsing ----------------------------------------------------------------------


PLAIN_KEY = re.compile(r"^[A-Za-z0-9_<>-]{1,64}$")


def yaml_path(location: Sequence[str | int]) -> str:
    """A location as a YAML path: ('a', 2, 'b') -> 'a[2].b'; an odd key is quoted: a["x y"]."""
    text = ""
    for part in location:
        if isinstance(part, int):
            text += f"[{part}]"
        elif PLAIN_KEY.match(str(part)):
            text += f".{part}" if text else str(part)
        else:
            text += f"[{shortened(json.dumps(str(part)), 40)}]"
    return text or "(top level)"


def _walk(document: Any) -> Iterator[tuple[tuple[str | int, ...], Any]]:
    """Every value of a parsed document with its location, depth first, without recursion."""
    stack: list[tuple[tuple[str | int, ...], Any]] = [((), document)]
    while stack:
        location, value = stack.pop()
        yield location, value
        if isinstance(value, Mapping):
            stack.extend(((*location, str(key)), item) for key, item in reversed(list(value.items())))
        elif isinstance(value, list | tuple):
            stack.extend(((*location, index), item) for index, item in reversed(list(enumerate(value))))


def document_problems(document: Any, limits: Limits) -> list[str]:
    """Every number that is not finite and every text longer than the limit, by YAML path.

    Run on every specification document whatever its origin (file, request body, override), so
    `.nan` in a file and `NaN` in JSON are refused alike, with the others problems of the document.
    """
    problems = []
    for count, (location, value) in enumerate(_walk(document)):
        if count > limits.max_nodes:
            problems.append(f"(top level): more than {limits.max_nodes:,} values; split the document")
            break
        if isinstance(value, float) and not math.isfinite(value):
            problems.append(
                f"{yaml_path(location)} = {value}: not a finite number; give a number "
                "(NaN and infinity would make the results meaningless)"
            )
        elif isinstance(value, str) and len(value) > limits.max_text:
            problems.append(
                f"{yaml_path(location)}: text of {len(value):,} characters, more than {limits.max_text:,}; "
                "shorten it"
            )
    return problems


def read_yaml_file(path: str | Path, what: str, limits: Limits = SPECIFICATION_LIMITS) -> Any:
    """A YAML file's document, guarded: size, encoding, depth, aliases, duplicate keys."""
    return parse_yaml(read_text(path, limits, what), str(path), limits)


def parse_body(body: bytes, content_type: str, limits: Limits = REQUEST_LIMITS) -> Any:
    """A request body (JSON or YAML by its content type) guarded exactly like a file."""
    source = "the request body"
    refuse_size(source, len(body), limits, "request body")
    text = decode_text(body, source)
    if content_type == "json":
        return parse_json(text, source, limits)
    return parse_yaml(text, source, limits)
