"""Writing TCL from data: every word is quoted so that paths and names reach the tool unchanged.

Scripts are lists of commands; a command is a list of words. A plain Python value becomes one literal
TCL word; `Raw` marks text that is already TCL (a command substitution like `[get_bd_cells dma]`);
`cmd(...)` builds such a substitution from words, `tcl_list(...)` a list value.
"""

import re

# Words made only of these characters need no quoting at all.
_BARE = re.compile(r"^[A-Za-z0-9_./:+=,@%^*-]+$")
# Inside braces nothing is substituted; only these characters can break a braced word.
_BRACE_UNSAFE = re.compile(r"[{}\\]")
_ESCAPED = {"\n": "\\n", "\t": "\\t", "\r": "\\r"}


class Raw(str):
    """Text that is already valid TCL and is written as is."""


def word(value):
    """One TCL word holding `value` literally (str, int, float, bool or Raw)."""
    if isinstance(value, Raw):
        return str(value)
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, (int, float)):
        return repr(value)
    text = str(value)
    if text == "":
        return "{}"
    if _BARE.match(text):
        return text
    if not _BRACE_UNSAFE.search(text) and "\n" not in text:
        return "{" + text + "}"
    # Backslash-escape every character TCL could act on: always valid, never substituted.
    out = []
    for ch in text:
        if ch in _ESCAPED:
            out.append(_ESCAPED[ch])
        elif ch.isalnum() or ch in "_./:+=,@%^*-":
            out.append(ch)
        else:
            out.append("\\" + ch)
    return "".join(out)


def command(*words):
    """One command line."""
    return " ".join(word(w) for w in words)


def cmd(*words):
    """A command substitution `[...]` usable as a word of another command."""
    return Raw("[" + command(*words) + "]")


def tcl_list(items):
    """A TCL list value built with `list`, so each element stays one element."""
    return Raw("[list" + "".join(" " + word(i) for i in items) + "]")


def config_dict(props):
    """`[list CONFIG.a v CONFIG.b w]` for set_property -dict, in the order given."""
    flat = []
    for key, value in props.items():
        flat += [f"CONFIG.{key}", value]
    return tcl_list(flat)


def comment(text):
    return "\n".join("# " + line for line in str(text).splitlines())


def hex32(value):
    """Addresses as 0x%08X: valid TCL integers that read like the address map."""
    return Raw(f"0x{value:08X}")


def render(lines):
    """The script text: commands and comments joined by newlines."""
    return "\n".join(lines) + "\n"


def block(lines):
    """A braced script body (for proc bodies and guarded steps). Words inside were quoted by `word`,
    whose escapes keep braces balanced, so the body evaluates to exactly those commands."""
    return Raw("{\n" + "".join("    " + ln + "\n" for ln in lines) + "}")


# A proc every generated script defines first: run one step, and on any TCL or tool error print the
# message as an ERROR line and exit 1, so a failure can never end in exit code 0.
GUARD_PROC = "fixy_step"


def guard_proc():
    return [
        comment("Run one build step; any error prints its message and ends the tool with exit code 1."),
        command("proc", GUARD_PROC, Raw("{label body}"), block([
            'puts "fixyfpga: $label"',
            'if {[catch {uplevel 1 $body} message]} {',
            '    puts "ERROR: \\[fixyfpga\\] $label failed: $message"',
            '    exit 1',
            '}',
        ])),
    ]


def step(label, lines):
    """Commands run as one guarded step."""
    return command(GUARD_PROC, label, block(lines))
