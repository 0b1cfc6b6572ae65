"""The docs live in the project: README links resolve inside the repo, and the architecture
page covers every package."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).parent.parent
DOCS = [ROOT / "README.md", ROOT / "docs" / "architecture.md", ROOT / "docs" / "seed_to_code.md"]


def test_docs_point_to_nothing_outside_the_repo():
    for doc in DOCS:
        text = doc.read_text()
        assert "../" + "shared" not in text, doc  # a link to the steering repo, which users do not have
        for target in re.findall(r"\]\(([^)#]+)\)", text):
            if not target.startswith(("http://", "https://")):
                assert (doc.parent / target).exists(), f"{doc.name}: broken link {target}"


def test_readme_links_the_architecture_page():
    assert "](docs/architecture.md)" in (ROOT / "README.md").read_text()


def test_the_credits_and_the_seed_table_are_linked():
    readme, arch = (ROOT / "README.md").read_text(), (ROOT / "docs" / "architecture.md").read_text()
    assert "](NOTICE)" in readme and "](docs/seed_to_code.md)" in readme
    assert "](../NOTICE)" in arch and "](seed_to_code.md)" in arch


def test_the_architecture_page_names_every_package():
    text = (ROOT / "docs" / "architecture.md").read_text()
    src = ROOT / "src" / "instructune"
    packages = [p.name for p in src.iterdir() if p.is_dir() and (p / "__init__.py").exists()]
    assert packages and all(f"{name}/" in text for name in packages), packages
