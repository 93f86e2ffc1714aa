"""The README starts with the two quickstart commands, CI runs the second one verbatim, and the README
stays a short front page whose table of contents reaches every page of docs/."""
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
README = ROOT / "README.md"
DOCS = ROOT / "docs"
LINK = re.compile(r"\[[^\]]*\]\(([^)\s]+)\)")


def quickstart_commands():
    text = README.read_text(encoding="utf-8")
    match = re.match(r"# [^\n]+\n\n```bash\n(.*?)```", text, re.S)
    assert match, "README must start with its title and one bash block"
    return [line for line in match.group(1).splitlines() if line.strip()]


def test_readme_opens_with_exactly_two_commands():
    commands = quickstart_commands()
    assert len(commands) == 2
    assert commands[0].endswith("socialfusion demo")
    assert commands[1] == "bash scripts/test.sh"


def test_ci_runs_the_readme_test_command():
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    assert f"TEST_COMMAND='{quickstart_commands()[1]}'" in ci
    assert 'bash -c "$TEST_COMMAND"' in ci


def test_readme_is_a_short_front_page():
    lines = README.read_text(encoding="utf-8").splitlines()
    assert len(lines) <= 200, f"README.md has {len(lines)} lines; move the detail into docs/"
    # within its first 10 lines: what it is (a LLaVA plugin: frozen encoder, connector + LoRA) and for whom
    opening = " ".join(lines[:10])
    for words in ("LLaVA plugin", "who already train", "social-perception", "frozen", "connector", "LoRA",
                  "gestures", "social relations", "gaze", "gaze in video", "emotion"):
        assert words in opening, f"README's first 10 lines do not say {words!r}"


def test_readme_table_of_contents_reaches_every_docs_page():
    linked = {target.split("#")[0] for target in LINK.findall(README.read_text(encoding="utf-8"))
              if target.startswith("docs/")}
    missing = sorted(target for target in linked if not (ROOT / target).is_file())
    assert not missing, f"README links to docs pages that do not exist: {missing}"
    pages = {page.relative_to(ROOT).as_posix() for page in DOCS.rglob("*.md")}
    assert pages <= linked, f"docs pages the README's table of contents does not list: {sorted(pages - linked)}"


def github_anchor(heading):
    """The fragment GitHub gives a heading: lower case, punctuation dropped, spaces as hyphens."""
    return re.sub(r"[^\w\- ]", "", heading.strip().lower()).replace(" ", "-")


def anchors(page):
    text = re.sub(r"```.*?```", "", page.read_text(encoding="utf-8"), flags=re.S)
    return {github_anchor(heading) for heading in re.findall(r"^#+ (.+)$", text, re.M)}


def test_relative_links_in_readme_and_docs_resolve():
    broken = []
    for page in [README, *sorted(DOCS.rglob("*.md"))]:
        for target in LINK.findall(page.read_text(encoding="utf-8")):
            if re.match(r"[a-z]+:", target):
                continue  # an outside address
            path, _, fragment = target.partition("#")
            linked = (page.parent / path).resolve() if path else page
            if not linked.exists():
                broken.append(f"{page.relative_to(ROOT)}: {target} (no such file)")
            elif fragment and linked.suffix == ".md" and fragment not in anchors(linked):
                broken.append(f"{page.relative_to(ROOT)}: {target} (no such heading)")
    assert not broken, "\n".join(broken)
