"""IFEval's loose evaluation: the response variants any one of which may follow an instruction.

Loose scoring forgives a chatty first line ("Sure, here is the poem:"), a sign-off last line and
markdown stars, which strict scoring counts against the response.
"""

from __future__ import annotations


def loose_variants(response: str) -> list[str]:
    """The eight variants IFEval tries, in its order: the response, the response with every "*"
    removed, without its first line, without its last line, without both, and those three cut
    variants with every "*" removed.

    Args:
        response: the model's response.

    Returns:
        Eight strings (cut variants stripped of outer whitespace; some may be equal or empty).
    """
    lines = response.split("\n")
    cut = ["\n".join(lines[1:]).strip(), "\n".join(lines[:-1]).strip(), "\n".join(lines[1:-1]).strip()]
    return [response, response.replace("*", ""), *cut, *(text.replace("*", "") for text in cut)]
