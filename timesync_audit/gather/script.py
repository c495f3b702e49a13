"""Render a Request as one read-only POSIX sh script, and parse what it prints.

Every block the script prints is framed by a marker holding a random nonce, so
no file content or command output can forge a frame. The script only reads:
cat, stat, readlink, and the read-only query commands named in the request.
"""
from __future__ import annotations

import posixpath
import re
import secrets
import shlex

from .snapshot import CommandOutput, FileRecord, Request, Snapshot, Stat

_PRELUDE = r"""
export LC_ALL=C PATH=/usr/sbin:/usr/bin:/sbin:/bin:$PATH
M=%(marker)s
if command -v timeout >/dev/null 2>&1; then T="timeout 10"; else T=""; fi
st() {
  if [ -L "$1" ]; then l=$(readlink "$1" 2>/dev/null); else l=""; fi
  s=$(stat -L -c '%%u|%%g|%%U|%%G|%%a|%%F' "$1" 2>/dev/null) || s="|||||"
  printf '%%s|%%s|%%s\n' "$s" "$l" "$1"
}
blocked() {
  # the nearest existing directory above $1 when we cannot search it: $1 is hidden, not missing
  d=${1%%/*}; [ -n "$d" ] || d=/
  while [ ! -d "$d" ]; do
    case "$d" in */*) d=${d%%/*}; [ -n "$d" ] || d=/ ;; *) return 1 ;; esac
  done
  if [ -x "$d" ]; then return 1; fi
  printf '%%s' "$d"
}
absent() {
  # $1 kind: FILE or STAT; $2 path that does not exist as far as we can see
  if b=$(blocked "$2"); then printf '%%s %%s denied|||||||%%s|%%s\n' "$M" "$1" "$b" "$2"
  else printf '%%s %%s missing||||||||%%s\n' "$M" "$1" "$2"; fi
}
secret() {
  case "$1" in %(secrets)s) return 0 ;; esac
  return 1
}
file() {
  if secret "$1"; then statonly "$1"; return; fi
  if [ ! -e "$1" ] && [ ! -L "$1" ]; then absent FILE "$1"; return; fi
  if [ ! -f "$1" ]; then printf '%%s FILE not-a-file|' "$M"; st "$1"; return; fi
  if [ ! -r "$1" ]; then printf '%%s FILE unreadable|' "$M"; st "$1"; return; fi
  printf '%%s FILE ok|' "$M"; st "$1"; cat "$1" 2>/dev/null; printf '\n%%s END\n' "$M"
}
statonly() {
  if [ ! -e "$1" ] && [ ! -L "$1" ]; then absent STAT "$1"; return; fi
  printf '%%s STAT ok|' "$M"; st "$1"
}
globdir() {
  # $1 the directory a glob lists: one we cannot list (or reach) hides its matches
  if [ -d "$1" ]; then
    if [ -r "$1" ] && [ -x "$1" ]; then return 1; fi
    printf '%%s GLOBDENIED %%s|%%s\n' "$M" "$p" "$1"; return 0
  fi
  if b=$(blocked "$1"); then printf '%%s GLOBDENIED %%s|%%s\n' "$M" "$p" "$b"; return 0; fi
  return 1
}
expand() {
  p="$1"; g="$2"; shift 2; n=0
  for f in "$@"; do
    if [ -e "$f" ] || [ -L "$f" ]; then n=1; printf '%%s GLOB %%s|%%s\n' "$M" "$p" "$f"; file "$f"; fi
  done
  [ "$n" = 1 ] || globdir "$g" || :
  printf '%%s GLOBDONE %%s\n' "$M" "$p"
}
statexpand() {
  p="$1"; g="$2"; shift 2; n=0
  for f in "$@"; do
    if [ -e "$f" ] || [ -L "$f" ]; then n=1; printf '%%s GLOB %%s|%%s\n' "$M" "$p" "$f"; statonly "$f"; fi
  done
  [ "$n" = 1 ] || globdir "$g" || :
  printf '%%s GLOBDONE %%s\n' "$M" "$p"
}
cmd() {
  n="$1"; shift
  printf '%%s CMD %%s\n' "$M" "$n"
  o=$( (eval "$1") 2>&1 ); r=$?
  printf '%%s\n%%s RC %%s\n' "$o" "$M" "$r"
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


#: never fetched as content, whatever include glob matches them: key material
SECRET_PATTERNS = ("*.keys", "*.key", "*key*.pem", "*/ntp.keys", "*/ntpkey_*", "*/chrony.keys")


def render(request: Request, marker: str, secret_paths: tuple[str, ...] = ()) -> str:
    patterns = list(SECRET_PATTERNS) + [glob_quote(p) for p in secret_paths]
    lines = [_PRELUDE % {"marker": marker, "secrets": "|".join(patterns)}]
    for path in request.files:
        lines.append(f"file {shlex.quote(path)}")
    for path in request.stats:
        lines.append(f"statonly {shlex.quote(path)}")
    for pattern in request.globs:
        lines.append(f"expand {shlex.quote(pattern)} {shlex.quote(glob_dir(pattern))} {glob_quote(pattern)}")
    for pattern in request.stat_globs:
        lines.append(f"statexpand {shlex.quote(pattern)} {shlex.quote(glob_dir(pattern))} {glob_quote(pattern)}")
    for name, snippet in request.commands:
        lines.append(f"cmd {shlex.quote(name)} {shlex.quote(snippet)}")
    lines.append('printf "%s DONE\\n" "$M"')
    return "\n".join(lines) + "\n"


def glob_dir(pattern: str) -> str:
    """The deepest directory of a glob without glob characters: the one the shell lists."""
    parts = posixpath.normpath(pattern).split("/")
    fixed = []
    for part in parts[:-1]:
        if any(c in part for c in "*?["):
            break
        fixed.append(part)
    return "/".join(fixed) or "/"


def new_marker() -> str:
    return "@@TSA-" + secrets.token_hex(8)


class ProtocolError(Exception):
    """The host's answer is not what the script prints: not a POSIX shell, or cut short."""


def _stat_fields(fields: list[str]) -> tuple[Stat | None, str | None, str]:
    # uid|gid|user|group|mode|kind|link|path  (path last: it may contain '|')
    uid, gid, user, group, mode, kind, link = fields[:7]
    path = "|".join(fields[7:])
    stat = None
    if uid.isdigit() and gid.isdigit() and mode:
        stat = Stat(int(uid), int(gid), user, group, int(mode, 8), kind)
    return stat, (link or None), path


def parse(output: str, marker: str) -> Snapshot:
    begin = f"{marker} BEGIN\n"
    start = output.find(begin)
    if start < 0:
        raise ProtocolError("the gather script printed nothing recognisable")
    if f"{marker} DONE" not in output:
        raise ProtocolError("the gather script's output was cut short")
    snap = Snapshot(round_trips=1)
    pos = start + len(begin)
    current_glob: list[str] = []
    head = marker + " "
    while True:
        if not output.startswith(head, pos):
            nl = output.find("\n", pos)
            if nl < 0:
                break
            pos = nl + 1
            continue
        nl = output.find("\n", pos)
        line = output[pos + len(head):nl]
        pos = nl + 1
        kind, _, rest = line.partition(" ")
        if kind == "DONE":
            break
        if kind in ("FILE", "STAT"):
            state, _, tail = rest.partition("|")
            stat, link, path = _stat_fields(tail.split("|"))
            content = None
            if kind == "FILE" and state == "ok":
                end = output.find(f"\n{marker} END\n", pos - 1)
                if end < 0:
                    raise ProtocolError(f"content of {path} was cut short")
                content = output[pos:end] if end >= pos else ""
                pos = end + len(f"\n{marker} END\n")
            path = posixpath.normpath(path) if path else path
            blocked_by = None
            if state == "denied":  # the link field names the directory we could not search
                blocked_by, link = link, None
            record = FileRecord(path, state, stat, content, link, blocked_by)
            (snap.files if kind == "FILE" else snap.stats)[path] = record
        elif kind == "GLOB":
            _, _, path = rest.partition("|")
            current_glob.append(posixpath.normpath(path))
        elif kind == "GLOBDENIED":
            pattern, _, directory = rest.partition("|")
            snap.denied_globs[pattern] = directory
        elif kind == "GLOBDONE":
            snap.globs[rest] = tuple(sorted(current_glob))
            current_glob = []
        elif kind == "CMD":
            end = output.find(f"\n{marker} RC ", pos - 1)
            if end < 0:
                raise ProtocolError(f"output of {rest} was cut short")
            stdout = output[pos:end] if end >= pos else ""
            rc_start = end + len(f"\n{marker} RC ")
            rc_end = output.find("\n", rc_start)
            rc_text = output[rc_start:rc_end]
            snap.commands[rest] = CommandOutput(rest, int(rc_text) if rc_text.lstrip("-").isdigit() else -1, stdout)
            pos = rc_end + 1
    return snap
