"""``neocloud completion bash|zsh``: a shell completion script generated from this command line's own parser.

Install: ``source <(neocloud completion bash)`` (or save it under ``/etc/bash_completion.d/``); for zsh,
``source <(neocloud completion zsh)`` in ``~/.zshrc`` (it loads zsh's ``bashcompinit``, which runs bash
completion functions). Commands, nested commands (``backend bootstrap``), options, option choices
(``--format text|json|sarif``), stack names (``stacks/Pulumi.<stack>.yaml`` in the current directory) and paths are
completed. Why generated rather than written by hand: a new command or flag is completed without another edit.
The mechanism is bash's programmable completion (``complete -F``, ``compgen -W``, ``COMP_WORDS``/``COMP_CWORD``;
GNU Bash manual, "Programmable Completion"), which zsh's ``bashcompinit`` emulates (zsh manual, "Completion
System": bashcompinit).
"""

from __future__ import annotations

import argparse
import shlex
from dataclasses import dataclass, field

__all__ = ["bash_script", "register", "zsh_script"]

SHELLS = ("bash", "zsh")
_PATH_OPTIONS = {"dir": ("--project-dir", "--policy-pack"), "file": ("--policy-config", "--out")}
"""Options whose value is a directory or a file, by flag (the rest with a metavar complete as files too)."""


def _catalog_words() -> dict[str, list[str]]:
    """Free-text options whose useful values are catalog names (``fabric --system``, ``--switch``)."""
    from ..catalog import SWITCHES, known_system_names

    return {"--system": known_system_names(), "--switch": sorted(SWITCHES)}


def register(subparsers: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    parser = subparsers.add_parser("completion", help="print a shell completion script (bash, zsh)")
    parser.add_argument("shell", choices=SHELLS, help="the shell: bash, or zsh (through bashcompinit)")
    parser.set_defaults(run=_run)


def _run(args: argparse.Namespace) -> int:
    from . import build_parser

    parser = build_parser()
    print(bash_script(parser) if args.shell == "bash" else zsh_script(parser))
    return 0


@dataclass
class _Command:
    path: str
    children: list[str] = field(default_factory=list)
    options: list[str] = field(default_factory=list)
    choices: dict[str, list[str]] = field(default_factory=dict)
    """Option -> its allowed values."""
    dirs: list[str] = field(default_factory=list)
    files: list[str] = field(default_factory=list)
    values: list[str] = field(default_factory=list)
    """Options that take a value that is neither a choice nor a path (nothing to complete, but not a command)."""
    positional: str = "none"
    """What the first positional argument is: ``stack``, ``choices``, ``file`` or ``none``."""
    positional_choices: list[str] = field(default_factory=list)


def _commands(parser: argparse.ArgumentParser, path: str = "") -> list[_Command]:
    command = _Command(path)
    found: list[_Command] = [command]
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                command.children.append(name)
                found.extend(_commands(sub, f"{path} {name}".strip()))
        elif action.option_strings:
            long = [o for o in action.option_strings if o.startswith("--")]
            command.options.extend(long or action.option_strings)
            takes_value = action.nargs != 0
            for option in action.option_strings:
                if not takes_value:
                    continue
                if action.choices:
                    command.choices[option] = [str(c) for c in action.choices]
                elif option in _catalog_words():
                    command.choices[option] = _catalog_words()[option]
                elif option in _PATH_OPTIONS["dir"]:
                    command.dirs.append(option)
                elif option in _PATH_OPTIONS["file"] or getattr(action.type, "__name__", "") == "Path":
                    command.files.append(option)
                else:
                    command.values.append(option)
        elif command.positional == "none":
            if action.dest == "stack" or action.dest.startswith("stack_"):
                command.positional = "stack"
            elif action.choices:
                command.positional = "choices"
                command.positional_choices = [str(c) for c in action.choices]
            else:
                command.positional = "file"
    return found


def _words(items: list[str]) -> str:
    return shlex.quote(" ".join(items))


def bash_script(parser: argparse.ArgumentParser) -> str:
    commands = _commands(parser)
    children = "\n".join(f"        {shlex.quote(c.path)}) echo {_words(c.children)} ;;" for c in commands)
    cases = []
    for c in commands:
        lines = [f"        {shlex.quote(c.path)})"]
        lines.append('            case "$prev" in')
        for option, values in c.choices.items():
            lines.append(f'                {option}) COMPREPLY=($(compgen -W {_words(values)} -- "$cur")); return ;;')
        if c.dirs:
            lines.append(f'                {"|".join(c.dirs)}) COMPREPLY=($(compgen -d -- "$cur")); return ;;')
        if c.files:
            lines.append(f'                {"|".join(c.files)}) COMPREPLY=($(compgen -f -- "$cur")); return ;;')
        if c.values:
            lines.append(f'                {"|".join(c.values)}) COMPREPLY=(); return ;;')
        lines.append("            esac")
        lines.append(f'            if [[ "$cur" == -* ]]; then '
                     f'COMPREPLY=($(compgen -W {_words(c.options)} -- "$cur")); return; fi')
        if c.children:
            lines.append(f'            COMPREPLY=($(compgen -W {_words(c.children)} -- "$cur")) ;;')
        elif c.positional == "stack":
            lines.append('            COMPREPLY=($(compgen -W "$(_neocloud_stacks)" -- "$cur")) ;;')
        elif c.positional == "choices":
            lines.append(f'            COMPREPLY=($(compgen -W {_words(c.positional_choices)} -- "$cur")) ;;')
        elif c.positional == "file":
            lines.append('            COMPREPLY=($(compgen -f -- "$cur")) ;;')
        else:
            lines.append("            COMPREPLY=() ;;")
        cases.append("\n".join(lines))
    body = "\n".join(cases)
    return f"""# neocloud shell completion (bash), generated by `neocloud completion bash`.
_neocloud_stacks() {{
    local f
    for f in stacks/Pulumi.*.yaml Pulumi.*.yaml; do
        [[ -e "$f" ]] || continue
        f="${{f##*/Pulumi.}}"
        echo "${{f%.yaml}}"
    done
}}
_neocloud_children() {{
    case "$1" in
{children}
    esac
}}
_neocloud() {{
    local cur="${{COMP_WORDS[COMP_CWORD]}}" prev="${{COMP_WORDS[COMP_CWORD-1]}}" path="" word i
    for ((i = 1; i < COMP_CWORD; i++)); do
        word="${{COMP_WORDS[i]}}"
        [[ "$word" == -* ]] && continue
        if [[ " $(_neocloud_children "$path") " == *" $word "* ]]; then
            path="${{path:+$path }}$word"
        fi
    done
    case "$path" in
{body}
    esac
}}
complete -o default -F _neocloud neocloud
"""


def zsh_script(parser: argparse.ArgumentParser) -> str:
    return ("# neocloud shell completion (zsh), generated by `neocloud completion zsh`: the bash completion run by\n"
            "# zsh's bashcompinit.\n"
            "autoload -U +X compinit && compinit\n"
            "autoload -U +X bashcompinit && bashcompinit\n" + bash_script(parser))
