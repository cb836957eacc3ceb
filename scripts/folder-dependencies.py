#!/usr/bin/env python3
"""Lists which folders of Sources/PresenceSync use types declared in which other folders.

A folder uses another when one of its files names a type (struct, class, enum, protocol, actor, typealias)
declared at the top level of a file in the other folder. Comments and string literals are ignored. The output is
the block the README's Layout section shows; `--check` exits 1 when two folders use each other (directly or
through others) or when the README's block differs from what this prints, so the list stays true.
"""
import os
import re
import sys

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")
LIBRARY = os.path.join(ROOT, "Sources", "PresenceSync")
README = os.path.join(ROOT, "README.md")
BEGIN, END = "<!-- folder-dependencies:begin -->", "<!-- folder-dependencies:end -->"

DECLARATION = re.compile(
    r"^(?:public |internal |package |private |fileprivate |final |indirect |@\w+ )*"
    r"(?:struct|class|enum|protocol|actor|typealias)\s+([A-Z]\w*)", re.M)


def strip(source):
    """The source without comments and string literals (so a doc comment naming a type is no dependency)."""
    source = re.sub(r'"""[\s\S]*?"""', '""', source)
    source = re.sub(r'#?"(?:\\.|[^"\\\n])*"#?', '""', source)
    source = re.sub(r"/\*[\s\S]*?\*/", "", source)
    return re.sub(r"//[^\n]*", "", source)


def folders():
    result = {}
    for folder in sorted(os.listdir(LIBRARY)):
        path = os.path.join(LIBRARY, folder)
        if os.path.isdir(path):
            result[folder] = {name: strip(open(os.path.join(path, name)).read())
                              for name in sorted(os.listdir(path)) if name.endswith(".swift")}
    return result


def dependencies(why=False):
    sources = folders()
    declared = {}
    for folder, files in sources.items():
        for text in files.values():
            for name in DECLARATION.findall(text):
                declared.setdefault(name, folder)
    uses = {}
    for folder, files in sources.items():
        words = set()
        for text in files.values():
            words.update(re.findall(r"\b[A-Z]\w*\b", text))
        uses[folder] = sorted({declared[w] for w in words if w in declared and declared[w] != folder})
        if why:
            for target in uses[folder]:
                names = sorted(w for w in words if declared.get(w) == target)
                print(f"{folder} -> {target}: {', '.join(names)}")
    return uses


def cycles(uses):
    """Pairs of folders that reach each other."""
    def reach(start):
        seen, stack = set(), [start]
        while stack:
            for nxt in uses.get(stack.pop(), []):
                if nxt not in seen:
                    seen.add(nxt)
                    stack.append(nxt)
        return seen
    reached = {folder: reach(folder) for folder in uses}
    return sorted({tuple(sorted((a, b))) for a in uses for b in reached[a] if a != b and a in reached[b]})


def block(uses):
    lines = ["```", "Sources/PresenceSync/ folder -> folders whose types it uses (scripts/folder-dependencies.py)"]
    width = max(len(f) for f in uses)
    for folder, targets in uses.items():
        lines.append(f"  {folder.ljust(width)} -> {', '.join(targets) if targets else '(none)'}")
    lines.append("```")
    return "\n".join(lines)


def main():
    uses = dependencies(why="--why" in sys.argv)
    text = block(uses)
    if "--check" not in sys.argv:
        print(text)
        return 0
    status = 0
    for a, b in cycles(uses):
        print(f"folders {a} and {b} use each other")
        status = 1
    readme = open(README).read()
    if BEGIN not in readme or END not in readme:
        print(f"README.md has no {BEGIN} ... {END} block")
        return 1
    shown = readme.split(BEGIN, 1)[1].split(END, 1)[0].strip()
    if shown != text:
        print("README.md's folder dependency list is out of date; run scripts/folder-dependencies.py and paste it")
        status = 1
    return status


if __name__ == "__main__":
    sys.exit(main())
