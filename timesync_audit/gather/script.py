"""Render a Request as one read-only POSIX sh script, and parse what it prints.

What the host is asked is untrusted output's opposite: the suite's own words.
What it answers is untrusted, so the protocol is built so that nothing a file
or a command holds can change what the suite believes:
- every byte of file content is sent as "content lines", each prefixed with ':'
  on the target (sed), and command output is sent framed by its length in bytes
  (`CMD name LENGTH`), so no content can begin a line that looks like a frame;
  frames begin with the marker, a random nonce;
- the script reaches the host on standard input, inside one `{ ... }` block the
  shell reads whole before it runs anything, and the nonce is an unexported
  shell variable: the commands the script runs (chronyc, ntpq...) can read
  neither from /proc nor from their standard input (/dev/null);
- secrets stay on the host: files named as key material and files whose content
  is key material (PEM private keys, chrony/ntp key lines) are only stat'ed,
  and `crypto pw` values are redacted by sed before a byte is sent; the files a
  round sends are stated, and checked for key material, in one call each;
- sizes are bounded on the target (a file larger than the cap is not sent, a
  command's output is cut one byte past it, a glob sends at most MAX_MATCHES
  files) and on the controller (the transport stops reading past the cap);
- the answer is parsed as bytes, strictly: any frame that is not exactly what
  the script prints is ProtocolError ("the host's answer is malformed").
Content is decoded as UTF-8 with surrogateescape: an undecodable byte survives
as a lone surrogate, opaque to the parsers (the daemons treat bytes as bytes),
shown escaped in messages.
"""

from __future__ import annotations

import posixpath
import re
import secrets
import shlex

from .snapshot import CommandOutput, FileRecord, Request, Snapshot, Stat

#: a glob sends at most this many files: past it the answer says so (chronyd would go on
#: reading; the parsers call that could-not-check unless the configuration is refused earlier)
MAX_MATCHES = 256
#: the one stat and the one grep of a round take at most this many paths (the rest go their own
#: way): the shell looks each answer up in a string, at a cost that grows with the string, so a
#: glob over thousands of files took 5x longer with 1,024 than with one call per file; 256 is as fast
MAX_BATCH = 256
DEFAULT_CAP = 16 * 1024 * 1024

_PRELUDE = r"""{
M=%(marker)s
CAP=%(cap)d
MAXG=%(max_matches)d
MAXB=%(max_batch)d
NL='
'
LC_ALL=C; export LC_ALL
PATH=/usr/sbin:/usr/bin:/sbin:/bin:$PATH; export PATH
if command -v timeout >/dev/null 2>&1; then T="timeout 10"; else T=""; fi
if printf x | head -c 1 >/dev/null 2>&1; then H="head -c $((CAP + 1))"; else H="dd ibs=1 count=$((CAP + 1)) 2>/dev/null"; fi
exec 4>&1
enc() {
  # a path or link target as is, or hex (x:...) when it holds a newline or a '|'
  case "$1" in
    *"$NL"*|*"|"*) printf 'x:'; printf '%%s' "$1" | od -An -v -tx1 | tr -d ' \n' ;;
    *) printf '%%s' "$1" ;;
  esac
}
S="$NL"
plain() {
  # a path no line of a batch can misread: it holds no newline (its line could read as another
  # path's) and no '|' (the fields' separator)
  case "$1" in *"$NL"*|*"|"*) return 1 ;; esac
}
stated() {
  # $1's uid|gid|user|group|mode|kind|size in $s, from prestat's one stat, where that has it
  plain "$1" || return 1
  case "$S" in *"|$1$NL"*) s=${S%%%%"|$1$NL"*}; s=${s##*"$NL"} ;; *) return 1 ;; esac
}
prestat() {
  # one stat for the paths asked for by name and the files the globs match (but a path holding a
  # newline or a '|', which could forge another path's line): a line each,
  # uid|gid|user|group|mode|kind|size|path, looked up by stv without a process; at most MAXB
  n=$#
  for f in "$@"; do
    [ "$#" -lt $((n + MAXB)) ] || break
    plain "$f" || continue
    if [ -e "$f" ] || [ -L "$f" ]; then set -- "$@" "$f"; fi
  done
  shift "$n"
  [ "$#" -gt 0 ] || return 0
  S="$NL$(stat -L -c '%%u|%%g|%%U|%%G|%%a|%%F|%%s|%%n' "$@" 2>/dev/null)$NL"
}
stv() {
  # $1's uid|gid|user|group|mode|kind|size in $s, its link target in $l
  if [ -L "$1" ]; then l=$(readlink "$1" 2>/dev/null); else l=""; fi
  stated "$1" && return
  s=$(stat -L -c '%%u|%%g|%%U|%%G|%%a|%%F|%%s' "$1" 2>/dev/null) || s="||||||"
}
stp() {
  # uid|gid|user|group|mode|kind|size|link|path, from stv's $s and $l
  printf '%%s|' "$s"; enc "$l"; printf '|'; enc "$1"; printf '\n'
}
st() { stv "$1"; stp "$1"; }
blocked() {
  # the nearest existing directory above $1 when we cannot search it ($d): $1 is hidden, not missing
  d=${1%%/*}; [ -n "$d" ] || d=/
  while [ ! -d "$d" ]; do
    case "$d" in */*) d=${d%%/*}; [ -n "$d" ] || d=/ ;; *) return 1 ;; esac
  done
  if [ -x "$d" ]; then return 1; fi
}
absent() {
  if blocked "$2"; then printf '%%s %%s denied||||||||' "$M" "$1"; enc "$d"; printf '|'; enc "$2"; printf '\n'
  else printf '%%s %%s missing|||||||||' "$M" "$1"; enc "$2"; printf '\n'; fi
}
dangling() {
  # a symbolic link to nothing: opening it fails as for a missing file (ENOENT), unless what is
  # hidden is the target's directory; its target is sent in the link field
  l=$(readlink "$2" 2>/dev/null)
  case "$l" in /*) t=$l ;; *) t=${2%%/*}/$l ;; esac
  if blocked "$t"; then printf '%%s %%s denied||||||||' "$M" "$1"; enc "$d"; printf '|'; enc "$2"; printf '\n'
  else printf '%%s %%s missing||||||||' "$M" "$1"; enc "$l"; printf '|'; enc "$2"; printf '\n'; fi
}
secret() {
  case "$1" in %(secrets)s) return 0 ;; esac
  return 1
}
KM1='-----BEGIN ([A-Z0-9]+ )*PRIVATE KEY( BLOCK)?-----'
KM2='^[[:space:]]*[0-9]+[[:space:]]+([^[:space:]]*[^0-9.eE+[:space:]-]|[0-9]+([[:space:]]|$))'
B="$NL"; K="$NL"
prekey() {
  # which of the files among $@ that will be sent (regular, readable, within the cap, stated by
  # prestat) hold key material, in one grep: B the files asked, K those grep -l names, both looked
  # up by keymat. Where grep fails (status 2) every file is asked alone, as is any other file
  n=$#
  for f in "$@"; do
    [ "$#" -lt $((n + MAXB)) ] || break
    stated "$f" || continue
    z=${s##*|}; k=${s%%|*}; k=${k##*|}
    case "$k" in "regular file"|"regular empty file") ;; *) continue ;; esac
    if [ -n "$z" ] && [ "$z" -le "$CAP" ] 2>/dev/null && [ -r "$f" ] && ! secret "$f"; then set -- "$@" "$f"; fi
  done
  shift "$n"
  [ "$#" -gt 0 ] || return 0
  K=$(grep -l -E -e "$KM1" -e "$KM2" "$@" 2>/dev/null)
  if [ "$?" -gt 1 ]; then K="$NL"; return 0; fi
  K="$NL$K$NL"
  for f in "$@"; do B="$B$f$NL"; done
}
keymat() {
  if plain "$1"; then
    case "$B" in *"$NL$1$NL"*) case "$K" in *"$NL$1$NL"*) return 0 ;; *) return 1 ;; esac ;; esac
  fi
  grep -q -E -e "$KM1" -e "$KM2" "$1" 2>/dev/null
}
send() {
  # on a crypto line (also commented out, in any case): everything from the FIRST word pw on is
  # redacted (sed takes the leftmost match): `pw` may come again later, as a value (`ident pw`)
  # or a repeated option, and every value after a pw is a password
  sed -e '/^[[:space:]#]*[Cc][Rr][Yy][Pp][Tt][Oo][[:space:]]/s/\([[:space:]][Pp][Ww]\)\([[:space:]].*\)\{0,1\}$/\1 <redacted>/' \
    -e 's/^/:/' "$1" 2>/dev/null
}
file() {
  if secret "$1"; then statonly "$1"; return; fi
  if [ ! -e "$1" ]; then if [ -L "$1" ]; then dangling FILE "$1"; else absent FILE "$1"; fi; return; fi
  if [ ! -f "$1" ]; then printf '%%s FILE not-a-file|' "$M"; st "$1"; return; fi
  if [ ! -r "$1" ]; then printf '%%s FILE unreadable|' "$M"; st "$1"; return; fi
  stv "$1"; z=${s##*|}
  if [ -n "$z" ] && [ "$z" -gt "$CAP" ] 2>/dev/null; then printf '%%s FILE toobig|' "$M"; stp "$1"; return; fi
  if keymat "$1"; then printf '%%s FILE withheld|' "$M"; stp "$1"; return; fi
  printf '%%s FILE ok|' "$M"; stp "$1"; send "$1"; printf '\n%%s END\n' "$M"
}
statonly() {
  if [ ! -e "$1" ]; then if [ -L "$1" ]; then dangling STAT "$1"; else absent STAT "$1"; fi; return; fi
  printf '%%s STAT ok|' "$M"; st "$1"
}
globdir() {
  if [ -d "$1" ]; then
    if [ -r "$1" ] && [ -x "$1" ]; then return 1; fi
    printf '%%s GLOBDENIED %%s|' "$M" "$p"; enc "$1"; printf '\n'; return 0
  fi
  if blocked "$1"; then printf '%%s GLOBDENIED %%s|' "$M" "$p"; enc "$d"; printf '\n'; return 0; fi
  return 1
}
expand() {
  p="$1"; g="$2"; k="$3"; shift 3; n=0
  for f in "$@"; do
    if [ -e "$f" ] || [ -L "$f" ]; then
      n=$((n + 1))
      if [ "$n" -gt "$MAXG" ]; then printf '%%s GLOBCUT %%s\n' "$M" "$p"; break; fi
      printf '%%s GLOB %%s|' "$M" "$p"; enc "$f"; printf '\n'; "$k" "$f"
    fi
  done
  [ "$n" -gt 0 ] || globdir "$g" || :
  printf '%%s GLOBDONE %%s\n' "$M" "$p"
}
cmd() {
  # the output as it is, framed by its length (a shell variable holds no NUL byte: such bytes are
  # dropped); its exit status goes straight to the answer, before the frame; `.` keeps its end
  v=$( { (eval "$2") </dev/null 2>&1; printf '%%s RC %%s\n' "$M" "$?" >&4; } | $H; echo . )
  v=${v%%.}
  printf '%%s CMD %%s %%s\n%%s\n%%s END\n' "$M" "$1" "${#v}" "$v" "$M"
}
absentcmd() {
  # what cmd prints for a snippet that begins `command -v X ... || exit 127` where X is missing
  printf '%%s RC 127\n%%s CMD %%s 0\n\n%%s END\n' "$M" "$M" "$1" "$M"
}
printf '%%s BEGIN\n' "$M"
"""

_GLOB_SAFE = re.compile(r"[A-Za-z0-9_./@+,:=-]")


def glob_quote(pattern: str) -> str:
    """Quote a glob for sh so that only * ? [ ] stay special."""
    out = []
    for char in pattern:
        if char in "*?[]" or _GLOB_SAFE.fullmatch(char):
            out.append(char)
        else:
            out.append("\\" + char)
    return "".join(out)


def glob_dir(pattern: str) -> str:
    """The deepest directory of a glob without glob characters: the one the shell lists."""
    parts = posixpath.normpath(pattern).split("/")
    fixed = []
    for part in parts[:-1]:
        if any(c in part for c in "*?["):
            break
        fixed.append(part)
    return "/".join(fixed) or "/"


#: a chrony or ntp key line: an integer ID, then a word that is not a plain decimal number (a type,
#: HEX:/ASCII:, a password) or an integer (a numeric key); a tempcomp point ("20.0 1.5") is not one
_S = "[ \t\n\v\f\r]"
_KEY_MATERIAL = re.compile(
    rf"-----BEGIN ([A-Z0-9]+ )*PRIVATE KEY( BLOCK)?-----|^{_S}*[0-9]+{_S}+"
    rf"([^ \t\n\v\f\r]*[^0-9.eE+ \t\n\v\f\r-]|[0-9]+({_S}|$))",
    re.M,
)


def looks_like_key_material(content: str) -> bool:
    """What the script's keymat() sees (grep -E): a PEM private key, or a chrony/ntp key line."""
    return _KEY_MATERIAL.search(content) is not None


#: never fetched as content, whatever include glob matches them: key material by name
SECRET_PATTERNS = ("*.keys", "*.key", "*key*.pem", "*/ntp.keys", "*/ntpkey_*", "*/chrony.keys")
_NAME = re.compile(r"[A-Za-z0-9_.:@-]+")
#: a snippet that exits 127 and prints nothing when a tool is missing (chronyc, ntpq)
_NEEDS = re.compile(r"command -v ([A-Za-z0-9_.+-]+) >/dev/null 2>&1 \|\| exit 127;")


def render(request: Request, marker: str, secret_paths: tuple[str, ...] = (), cap: int = DEFAULT_CAP) -> str:
    patterns = list(SECRET_PATTERNS) + [glob_quote(p) for p in secret_paths]
    lines = [
        _PRELUDE
        % {
            "marker": marker,
            "secrets": "|".join(patterns),
            "cap": cap,
            "max_matches": MAX_MATCHES,
            "max_batch": MAX_BATCH,
        }
    ]
    # the shell expands the globs; one that matches nothing stays itself, which no file is
    named = [shlex.quote(p) for p in dict.fromkeys((*request.files, *request.stats))]
    globbed = [glob_quote(p) for p in dict.fromkeys((*request.globs, *request.stat_globs))]
    if named or globbed:
        lines.append("prestat " + " ".join(named + globbed))
    if request.files or request.globs:
        lines.append(
            "prekey " + " ".join([shlex.quote(p) for p in request.files] + [glob_quote(p) for p in request.globs])
        )
    for path in request.files:
        lines.append(f"file {shlex.quote(path)}")
    for path in request.stats:
        lines.append(f"statonly {shlex.quote(path)}")
    for pattern in request.globs:
        lines.append(f"expand {shlex.quote(pattern)} {shlex.quote(glob_dir(pattern))} file {glob_quote(pattern)}")
    for pattern in request.stat_globs:
        lines.append(f"expand {shlex.quote(pattern)} {shlex.quote(glob_dir(pattern))} statonly {glob_quote(pattern)}")
    for name, snippet in request.commands:
        if not _NAME.fullmatch(name):
            raise ValueError(f"command name {name!r}")
        line = f"cmd {shlex.quote(name)} {shlex.quote(snippet)}"
        needs = _NEEDS.match(snippet)
        if needs:  # no process for a command the host does not have: the same frames, rc 127, no output
            tool = shlex.quote(needs.group(1))
            line = f"if command -v {tool} >/dev/null 2>&1; then {line}; else absentcmd {shlex.quote(name)}; fi"
        lines.append(line)
    lines.append('printf "%s DONE\\n" "$M"')
    lines.append("} </dev/null")
    return "\n".join(lines) + "\n"


def new_marker() -> str:
    return "@@TSA-" + secrets.token_hex(16)


class ProtocolError(Exception):
    """The host's answer is not what the script prints: not a POSIX shell, cut short, or forged."""


def text(data: bytes) -> str:
    """Bytes as the parsers see them: UTF-8, undecodable bytes kept as lone surrogates."""
    return data.decode("utf-8", "surrogateescape")


_STATES = {
    "FILE": ("ok", "missing", "unreadable", "not-a-file", "denied", "toobig", "withheld"),
    "STAT": ("ok", "missing", "denied"),
}
_MODE = re.compile(rb"[0-7]{1,4}")
_NUMBER = re.compile(rb"[0-9]{1,20}")


def _field_path(raw: bytes, what: str) -> str:
    if raw.startswith(b"x:"):
        try:
            return text(bytes.fromhex(raw[2:].decode("ascii")))
        except ValueError:
            raise ProtocolError(f"malformed {what}") from None
    return text(raw)


def _record(kind: bytes, body: bytes) -> FileRecord:
    state_raw, sep, tail = body.partition(b"|")
    state = state_raw.decode("ascii", "replace")
    if not sep or state not in _STATES[kind.decode()]:
        raise ProtocolError(f"malformed {kind.decode()} frame")
    fields = tail.split(b"|", 8)
    if len(fields) != 9:
        raise ProtocolError(f"malformed {kind.decode()} frame")
    uid, gid, user, group, mode, ftype, size, link, path_raw = fields
    path = _field_path(path_raw, "path")
    if not path.startswith("/"):
        raise ProtocolError(f"malformed {kind.decode()} frame (not an absolute path)")
    path = posixpath.normpath(path)
    stat = None
    if uid or gid or mode:
        if not (
            _NUMBER.fullmatch(uid)
            and _NUMBER.fullmatch(gid)
            and _MODE.fullmatch(mode)
            and (not size or _NUMBER.fullmatch(size))
        ):
            raise ProtocolError(f"malformed stat of {path}")
        stat = Stat(int(uid), int(gid), text(user), text(group), int(mode, 8), text(ftype))
    blocked_by = link_target = None
    if state == "denied":
        blocked_by = _field_path(link, "directory")
    elif link:
        link_target = _field_path(link, "link")
    if state in ("ok", "unreadable", "not-a-file", "toobig", "withheld") and stat is None and kind == b"FILE":
        raise ProtocolError(f"malformed FILE frame of {path} (no stat)")
    withheld = None
    if state == "withheld":
        state, withheld = "ok", "key material"
    return FileRecord(
        path, state, stat, None, link_target, blocked_by, withheld, int(size) if size and state == "toobig" else None
    )


class _Answer:
    """The answer read from the front: a line at a time, or a given number of bytes."""

    def __init__(self, data: bytes, pos: int = 0):
        self.data, self.pos = data, pos

    def line(self) -> bytes:
        end = self.data.find(b"\n", self.pos)
        if end < 0:
            raise ProtocolError("the gather script's output was cut short")
        line, self.pos = self.data[self.pos : end], end + 1
        return line

    def peek(self) -> bytes:
        end = self.data.find(b"\n", self.pos)
        return self.data[self.pos : end if end >= 0 else len(self.data)]

    def take(self, size: int) -> bytes:
        if self.pos + size > len(self.data):
            raise ProtocolError("the gather script's output was cut short")
        chunk, self.pos = self.data[self.pos : self.pos + size], self.pos + size
        return chunk

    def rest(self) -> bytes:
        return self.data[self.pos :]


def _content(answer: _Answer, end: bytes) -> bytes:
    """Content lines up to the frame `end`, which is left to be read."""
    parts: list[bytes] = []
    while True:
        line = answer.peek()
        if line.startswith(b":"):
            parts.append(answer.line()[1:])
            continue
        if line.startswith(end):
            return b"\n".join(parts)
        if line == b"":
            answer.line()
            if answer.peek().startswith(end):
                return b"\n".join(parts) + (b"\n" if parts else b"")
        raise ProtocolError("malformed content (a line that is neither content nor its end)")


_RC = re.compile(rb"[0-9]{1,3}")
_LENGTH = re.compile(rb"[0-9]{1,12}")


def _command(answer: _Answer, head: bytes, rc_text: bytes, names: set[str] | None, cap: int) -> CommandOutput:
    """`RC status`, then `CMD name LENGTH`, the output's bytes, a newline and `END`."""
    if not _RC.fullmatch(rc_text):
        raise ProtocolError("malformed RC frame")
    frame = answer.line()
    name_raw, _, length = frame[len(head + b"CMD ") :].partition(b" ")
    name = text(name_raw)
    if (
        not frame.startswith(head + b"CMD ")
        or not _NAME.fullmatch(name)
        or (names is not None and name not in names)
        or not _LENGTH.fullmatch(length)
    ):
        raise ProtocolError("malformed CMD frame")
    output = answer.take(int(length))
    if answer.line() != b"" or answer.line() != head + b"END":
        raise ProtocolError(f"malformed END frame of {name} (the output is not as long as its frame says)")
    return CommandOutput(name, int(rc_text), text(output[:cap]), len(output), len(output) > cap)


def parse(output: bytes | str, marker: str, request: Request | None = None, cap: int = DEFAULT_CAP) -> Snapshot:
    if isinstance(output, str):
        output = output.encode("utf-8", "surrogateescape")
    head = marker.encode() + b" "
    begin = head + b"BEGIN\n"
    at = 0 if output.startswith(begin) else output.find(b"\n" + begin) + 1  # what a login shell prints comes first
    if at == 0 and not output.startswith(begin):
        raise ProtocolError("the gather script printed nothing recognisable")
    answer = _Answer(output, at + len(begin))
    names = {n for n, _ in request.commands} if request is not None else None
    patterns = set(request.globs + request.stat_globs) if request is not None else None
    snap = Snapshot(round_trips=1)
    current: list[str] | None = None
    current_pattern = None
    while True:
        line = answer.line()
        if not line.startswith(head):
            raise ProtocolError("malformed answer (a line outside any frame)")
        kind, _, rest = line[len(head) :].partition(b" ")
        if kind == b"DONE":
            if rest or current is not None:
                raise ProtocolError("malformed DONE frame")
            if answer.rest().strip():
                raise ProtocolError("malformed answer (text after the end)")
            return snap
        if kind in (b"FILE", b"STAT"):
            record = _record(kind, rest)
            if kind == b"FILE" and record.state == "ok" and record.withheld is None:
                content = _content(answer, head + b"END")
                if answer.line() != head + b"END":
                    raise ProtocolError("malformed END frame")
                record = FileRecord(record.path, "ok", record.stat, text(content), record.link_target)
            (snap.files if kind == b"FILE" else snap.stats)[record.path] = record
        elif kind == b"GLOB":
            pattern_raw, sep, match_raw = rest.partition(b"|")
            pattern = text(pattern_raw)
            if (
                not sep
                or (patterns is not None and pattern not in patterns)
                or (current_pattern not in (None, pattern))
            ):
                raise ProtocolError("malformed GLOB frame")
            match = _field_path(match_raw, "glob match")
            if not match.startswith("/"):
                raise ProtocolError("malformed GLOB frame (not an absolute path)")
            current_pattern = pattern
            current = (current or []) + [posixpath.normpath(match)]
        elif kind in (b"GLOBDENIED", b"GLOBCUT", b"GLOBDONE"):
            pattern_raw, _, directory = rest.partition(b"|")
            pattern = text(pattern_raw)
            if (patterns is not None and pattern not in patterns) or current_pattern not in (None, pattern):
                raise ProtocolError(f"malformed {kind.decode()} frame")
            if kind == b"GLOBDENIED":
                snap.denied_globs[pattern] = _field_path(directory, "directory")
            elif kind == b"GLOBCUT":
                snap.cut_globs[pattern] = MAX_MATCHES
                current_pattern = pattern
            else:
                snap.globs[pattern] = tuple(sorted(current or []))
                current, current_pattern = None, None
        elif kind == b"RC":
            command = _command(answer, head, rest, names, cap)
            snap.commands[command.name] = command
        else:
            raise ProtocolError("malformed answer (an unknown frame)")
