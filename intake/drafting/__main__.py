"""Template maintenance: ``python -m intake.drafting lock`` approves the current text.

Run it only after the template change was reviewed; it rewrites
``config/templates/versions.lock`` with every template's current version.
``python -m intake.drafting check`` loads the templates, verifies the lock and
runs the guardrail over every template in every language.
"""

from __future__ import annotations

import sys

from intake.drafting.errors import DraftingError
from intake.drafting.templates import (
    LANGUAGES,
    load_templates,
    templates_dir,
    write_lock,
)


def main(argv: list[str]) -> int:
    if argv == ["lock"]:
        versions = write_lock()
        sys.stdout.write(
            f"wrote {templates_dir() / 'versions.lock'}: {len(versions)} templates\n"
        )
        return 0
    if argv == ["check"]:
        from intake.drafting.guardrail import check_outbound

        try:
            loaded = load_templates()
        except DraftingError as exc:
            sys.stderr.write(f"{exc}\n")
            return 1
        failures = 0
        for template_id in sorted(loaded.templates):
            for language in LANGUAGES:
                preview = loaded.preview(template_id, language)
                verdict = check_outbound(preview, templates=loaded)
                if not verdict.ok:
                    failures += 1
                    sys.stderr.write(
                        f"{template_id} ({language}): {verdict.violations}\n"
                    )
        sys.stdout.write(f"{len(loaded.templates)} templates, {failures} refused\n")
        return 1 if failures else 0
    sys.stderr.write("usage: python -m intake.drafting lock|check\n")
    return 2


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
