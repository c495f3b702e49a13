"""ntpd's restriction list, built from the restrict/unrestrict lines as the daemon builds it.

Sources (see docs/ntpd-config-errors.md for line numbers):

- NTPsec 1.2.2 ntpd/ntp_config.c config_access(): each line's flags are collected (`nopeer` and
  `notrap` are logged as ignored and set nothing); a line without address (`restrict default`) is
  applied to the IPv4 and the IPv6 list; `-4 default` / `-6 default` are address 0.0.0.0 / ::
  with mask 0.0.0.0 / ::; an address gets its family's host mask unless `mask` (or a CIDR
  suffix, fix_node_cidr()) says otherwise; `restrict` adds flags (RESTRICT_FLAGS), `unrestrict`
  with flags removes them (RESTRICT_UNFLAG) and without flags removes the entry
  (RESTRICT_REMOVE), computed after the ignored flags are dropped.
- ntpd/ntp_restrict.c hack_restrict(): an entry is found by address AND mask (the address is
  masked first) AND match flags (`ntpport`); RESTRICT_FLAGS ORs the flags into an existing entry
  (never replaces them), UNFLAG clears bits, REMOVE never removes the default entry.
  init_restrict() starts both default entries with RES_Default = noquery limited (include/ntp.h).
- Classic ntp 4.2.8: the same hack_restrict() (flags OR together), default entries start empty,
  every flag is effective (nopeer, notrap...), there is no `unrestrict` (a syntax error) and no
  CIDR suffix (`a/n` is not an address: the line is ignored), `ippeerlimit N` exists.

The default entry of a family is the one with mask 0 and no match flag: `restrict default`,
`restrict -4 default`, and any address with mask 0.0.0.0 (or ::) all reach it; `restrict
default ntpport` is a separate entry, `restrict source` a template for sources.
"""

from __future__ import annotations

import dataclasses
import ipaddress

from .provenance import Line

FAMILIES = ("IPv4", "IPv6")
#: flags every ntpsec default entry starts with (include/ntp.h RES_Default)
BUILTIN = {"ntpsec": frozenset({"noquery", "limited"}), "classic": frozenset()}
#: accepted by ntpsec's grammar, logged as ignored and never set (ntp_config.c config_access)
IGNORED = {"ntpsec": frozenset({"nopeer", "notrap"}), "classic": frozenset()}
#: match flags (mflags): they make a different entry
MATCH_FLAGS = frozenset({"ntpport"})
_HOST_BITS = {"IPv4": 32, "IPv6": 128}


@dataclasses.dataclass(frozen=True)
class RestrictOp:
    """One applied restrict/unrestrict line, as the parser read it."""

    line: Line
    mode: str  # "restrict" or "unrestrict"
    target: str  # "default" (no address), "address", "source"
    family: str | None = None  # "IPv4"/"IPv6" from -4/-6 (or implied by `-4 default`), None otherwise
    address: str | None = None
    mask: str | None = None
    flags: tuple[str, ...] = ()  # access flags and match flags, as written, in order
    ippeerlimit: int | None = None
    #: the line number ntpd puts in its "restrict: ignoring line N" messages (the next line when
    #: the command ended at the end of its line: ntpd has read the newline when it records it)
    ntpd_line_no: int = 0


@dataclasses.dataclass(frozen=True)
class Step:
    line: Line
    effect: str  # what the line did to the entry, in words


@dataclasses.dataclass(frozen=True)
class Entry:
    family: str
    network: int
    prefix: int | None  # None when the mask is not contiguous
    mask: int
    match: frozenset[str]  # match flags: {"ntpport"} or empty
    flags: frozenset[str]  # as ntpd holds them
    written: frozenset[str]  # as the configuration text sets them (ignored flags kept, built-ins not)
    lines: tuple[Line, ...]
    steps: tuple[Step, ...]

    @property
    def default(self) -> bool:
        return self.mask == 0 and not self.match

    @property
    def address(self) -> str:
        """As `ntpq -c reslist` prints it: addr/prefix, or addr and mask."""
        cls = ipaddress.IPv4Address if self.family == "IPv4" else ipaddress.IPv6Address
        if self.prefix is not None:
            return f"{cls(self.network)}/{self.prefix}"
        return f"{cls(self.network)} {cls(self.mask)}"


@dataclasses.dataclass(frozen=True)
class DefaultEntry:
    """The effective default restriction of one address family, with its provenance."""

    family: str
    flags: frozenset[str]  # what ntpd holds (ntpsec: built-ins included, nopeer/notrap never)
    written: frozenset[str]  # what the lines set, as the baselines read them (built-ins not included)
    builtin: frozenset[str]
    lines: tuple[Line, ...]  # every line that reached this entry, in the order ntpd applied them
    steps: tuple[Step, ...]


@dataclasses.dataclass
class Evaluation:
    defaults: dict[str, DefaultEntry]
    entries: list[Entry]  # every entry ntpd builds from the configuration (interfaces not included)
    messages: list[str]  # what ntpd logs while applying the lines (config_access)
    unresolved: list[RestrictOp]  # host names: resolved by DNS when ntpd starts, unknown here
    ignored: list[tuple[RestrictOp, str]]  # lines ntpd ignores when applying them, and why


def _parse_ip(text: str, family: str | None) -> tuple[str, int] | None:
    """is_ip_address(): a numeric IPv4 (inet_pton) or IPv6 (brackets and %scope allowed)."""
    if family in (None, "IPv4"):
        try:
            return "IPv4", int(ipaddress.IPv4Address(text))
        except ValueError:
            pass
    if family in (None, "IPv6"):
        candidate = text[1:].split("]", 1)[0] if text.startswith("[") else text
        if len(text) < 128:
            try:
                return "IPv6", int(ipaddress.IPv6Address(candidate))
            except ValueError:
                pass
    return None


def _cidr(address: str) -> tuple[str, int | None]:
    """fix_node_cidr(): cut `/...` off the address; a prefix it can read (1..32 or 1..128, digits
    at the start) becomes the mask, anything else (`/0`, `/x`, `/200`) leaves the host mask."""
    if "/" not in address:
        return address, None
    head, _, tail = address.rpartition("/")
    digits = ""
    for ch in tail.lstrip(" \t+"):
        if ch not in "0123456789":
            break
        digits += ch
    if not digits or tail.lstrip(" \t").startswith("-"):
        return head, None
    if len(digits.lstrip("0")) > 10:
        return head, None  # strtol() overflows (ERANGE): left as it is
    length = int(digits)
    limit = 128 if ":" in head else 32
    if length <= 0 or length > limit:
        return head, None
    return head, length


def _mask_of(family: str, prefix: int) -> int:
    bits = _HOST_BITS[family]
    return ((1 << bits) - 1) ^ ((1 << (bits - prefix)) - 1) if prefix else 0


def _prefix_of(family: str, mask: int) -> int | None:
    bits = _HOST_BITS[family]
    for prefix in range(bits, -1, -1):
        if _mask_of(family, prefix) == mask:
            return prefix
    return None


@dataclasses.dataclass
class _Mutable:
    family: str
    network: int
    mask: int
    match: frozenset[str]
    flags: set[str]
    written: set[str]
    lines: list[Line]
    steps: list[Step]


def kod_where(op: RestrictOp) -> str:
    if op.target == "address":
        return op.address or ""
    return "source" if op.target == "source" else "default"


def evaluate(ops: list[RestrictOp], flavor: str) -> Evaluation:
    """Apply the lines in order, as config_access() and hack_restrict() do."""
    builtin = BUILTIN.get(flavor, frozenset())
    ignored_flags = IGNORED.get(flavor, frozenset())
    table: dict[tuple, _Mutable] = {}
    defaults: dict[str, _Mutable] = {}
    for family in FAMILIES:
        default = _Mutable(family, 0, 0, frozenset(), set(builtin), set(), [], [])
        table[(family, 0, 0, frozenset())] = default
        defaults[family] = default
    messages: list[str] = []
    unresolved: list[RestrictOp] = []
    ignored: list[tuple[RestrictOp, str]] = []
    prefix = "CONFIG: " if flavor == "ntpsec" else ""

    for op in ops:
        match = frozenset(f for f in op.flags if f in MATCH_FLAGS)
        access = [f for f in op.flags if f not in MATCH_FLAGS and f != "source"]
        for flag in access:
            if flag in ignored_flags:
                messages.append(f"{prefix}restrict {flag} ignored")
        effective = {f for f in access if f not in ignored_flags}
        written = set(access)
        if "kod" in effective and "limited" not in effective:
            messages.append(f"{prefix}restrict {kod_where(op)}: KOD does nothing without LIMITED.")
        if op.target == "source":
            continue  # a template for the addresses of sources, never an entry of its own
        targets: list[tuple[str, int, int]] = []
        if op.target == "default" and op.family is None:
            targets = [(family, 0, 0) for family in FAMILIES]
        else:
            address, mask_text = op.address or "", op.mask
            cidr = None
            if flavor == "ntpsec":
                address, cidr = _cidr(address)
            parsed = _parse_ip(address, op.family)
            if parsed is None:
                if _parse_ip(address, None) is None and "/" not in address:
                    unresolved.append(op)  # a name: getaddrinfo() when ntpd starts
                else:
                    ignored.append((op, f"address/host '{address}' unusable"))
                    messages.append(
                        f"{prefix}restrict: ignoring line {op.ntpd_line_no}, address/host '{address}' unusable."
                    )
                continue
            family, value = parsed
            mask = _mask_of(family, _HOST_BITS[family])
            if cidr is not None:
                mask = _mask_of(family, cidr)
            elif mask_text is not None:
                parsed_mask = _parse_ip(mask_text, None)
                if parsed_mask is None:
                    ignored.append((op, f"mask '{mask_text}' unusable"))
                    messages.append(f"{prefix}restrict: ignoring line {op.ntpd_line_no}, mask '{mask_text}' unusable.")
                    continue
                if parsed_mask[0] != family:
                    ignored.append((op, f"mask {mask_text} is not of the address's family"))
                    continue
                mask = parsed_mask[1]
            targets = [(family, value & mask, mask)]
        for family, network, mask in targets:
            key = (family, network, mask, match)
            entry = table.get(key)
            if op.mode == "restrict":
                if entry is None:
                    entry = _Mutable(family, network, mask, match, set(), set(), [], [])
                    table[key] = entry
                entry.flags |= effective
                entry.written |= written
                entry.lines.append(op.line)
                entry.steps.append(Step(op.line, "adds " + (" ".join(access) if access else "no flag")))
            else:  # unrestrict
                if effective or match:
                    if entry is not None:
                        entry.flags -= effective
                        entry.written -= written
                        entry.lines.append(op.line)
                        entry.steps.append(Step(op.line, "removes " + " ".join(access)))
                    continue
                # no effective flag: the entry itself is removed, except the default entry
                if entry is None:
                    continue
                if entry is defaults.get(family) and entry.network == 0 and entry.mask == 0 and not match:
                    entry.written -= written  # the text asked to remove these flags
                    entry.lines.append(op.line)
                    entry.steps.append(
                        Step(
                            op.line,
                            "would remove the entry: ntpd never removes the default entry"
                            + (f"; {' '.join(access)} ignored by ntpsec" if access else ""),
                        )
                    )
                else:
                    del table[key]
    entries = [
        Entry(
            e.family,
            e.network,
            _prefix_of(e.family, e.mask),
            e.mask,
            e.match,
            frozenset(e.flags),
            frozenset(e.written),
            tuple(e.lines),
            tuple(e.steps),
        )
        for e in table.values()
    ]
    result = {
        family: DefaultEntry(
            family,
            frozenset(defaults[family].flags),
            frozenset(defaults[family].written),
            builtin,
            tuple(defaults[family].lines),
            tuple(defaults[family].steps),
        )
        for family in FAMILIES
    }
    return Evaluation(result, entries, messages, unresolved, ignored)
