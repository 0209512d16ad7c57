"""User-facing errors.

Every error a user can cause (bad config, unknown board, wrong shapes, a failing tool) is raised as a
FixyError whose message says what is wrong and how to fix it. The CLI prints it as one line and exits
non-zero; anything else escaping is a bug in the kit.
"""


class FixyError(Exception):
    """An error caused by input or environment, with a message that names the fix."""


class ToolError(FixyError):
    """An external tool (g++, vitis_hls, vivado, tclsh) failed; the message carries its exit code and last lines."""

    def __init__(self, tool, returncode, output_tail="", hint=""):
        self.tool = tool
        self.returncode = returncode
        self.output_tail = output_tail
        msg = f"{tool} failed with exit code {returncode}"
        if output_tail:
            msg += ":\n" + output_tail
        if hint:
            msg += f"\n{hint}"
        super().__init__(msg)


class CsimMismatchError(FixyError):
    """C-simulation disagrees with the QKeras model."""
