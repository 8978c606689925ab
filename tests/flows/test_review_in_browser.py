"""The review form in a real browser: staff resume a suspended run in Prefect's UI.

Debian's chromium, headless and driven by Playwright, opens the suspended urgent
request's run page, clicks Resume, fills the form Prefect renders from
``ReviewForm`` and submits it; the decision reaches the app database and the CRM.
No browser is downloaded: the test skips when /usr/bin/chromium is absent.
"""

from __future__ import annotations

import contextlib
import re
import uuid
from pathlib import Path
from typing import Any

import pytest

from intake.ingest import ingest_lines
from tests import factories
from tests.flows.conftest import submit, wait_for

pytestmark = [pytest.mark.server, pytest.mark.slow]

CHROMIUM = Path("/usr/bin/chromium")
if not CHROMIUM.exists():
    pytest.skip(f"{CHROMIUM} is not installed (no browser is downloaded)",
                allow_module_level=True)
sync_api = pytest.importorskip("playwright.sync_api")
expect = sync_api.expect

CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]
# Prefect 3.9.1's Resume dialog (the default, V1 UI) squeezes the markdown
# description, partly or wholly, when the form is taller than the window: with
# ReviewForm's nine fields and an urgent request's description, a window under
# about 1,300 px tall shows none of it and one about 1,700 px tall all of it.
# A tall window lets the test check what a reviewer is meant to read.
VIEWPORT = {"width": 1400, "height": 2000}
# The UI waits on the server (SQLite, shared with a worker); 5 s is too tight
# on a busy two-core machine.
UI_TIMEOUT = 30_000
REVIEWER = "Nurse Imogen Vale"
ENDED = {"COMPLETED", "FAILED", "CRASHED", "CANCELLED"}


@pytest.fixture(scope="module")
def browser() -> Any:
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM),
                                             args=CHROMIUM_ARGS)
        expect.set_options(timeout=UI_TIMEOUT)
        yield browser
        expect.set_options(timeout=5_000)
        browser.close()


@pytest.fixture
def page(browser: Any, tmp_path: Path) -> Any:
    """A fresh page; its last view is saved to tmp_path to look at after a failure."""
    context = browser.new_context(viewport=VIEWPORT)
    context.set_default_timeout(UI_TIMEOUT)
    page = context.new_page()
    yield page
    with contextlib.suppress(sync_api.Error):
        page.screenshot(path=str(tmp_path / "last-page.png"))
    context.close()


def form_field(dialog: Any, label: str) -> Any:
    """One field of the schema form, found by its label (not by position)."""
    return dialog.locator(".schema-form-property").filter(
        has=dialog.page.locator(".schema-form-property__label",
                                has_text=re.compile(f"^{re.escape(label)}$")))


def choose(dialog: Any, label: str, value: str) -> None:
    """Pick a value in one of the UI's custom selects (not a native <select>).

    In the Resume dialog a mouse click on the select's button opens the option
    list and closes it again at once (focus goes back to the button; seen in
    headless chromium), so open it from the keyboard as a keyboard user would,
    then click the option.
    """
    control = form_field(dialog, label).locator(".p-select-button__control")
    control.focus()
    control.press("ArrowDown")
    options = dialog.page.get_by_role("listbox")
    options.get_by_role("option", name=value, exact=True).click()
    expect(control).to_have_text(value)
    expect(options).to_be_hidden()


def resume_requests(page: Any) -> list[dict[str, Any]]:
    """Every resume the page posts, with its run_input, in order."""
    posted: list[dict[str, Any]] = []
    page.on("request", lambda request: posted.append(request.post_data_json)
            if request.method == "POST" and request.url.endswith("/resume") else None)
    return posted


def state_type(run_id: str) -> str:
    from prefect import get_client

    with get_client(sync_client=True) as client:
        return client.read_flow_run(run_id).state.type.value


def test_a_reviewer_resumes_an_urgent_request_from_the_prefect_ui(
    worker: str, default_app: Any, page: Any, tmp_path: Path
) -> None:
    store = default_app.store()
    request = factories.web_form_urgent(f"t-browser-{uuid.uuid4().hex[:10]}")
    (intake_id,) = ingest_lines(store, [request]).intake_ids
    run_id = submit(intake_id)
    paused = wait_for(run_id, {"PAUSED"} | ENDED).state
    assert paused.name == "Suspended", paused.message

    ui = worker.removesuffix("/api")
    posted = resume_requests(page)
    page.goto(f"{ui}/runs/flow-run/{run_id}")
    page.get_by_role("button", name="Resume").click()
    dialog = page.get_by_role("dialog")
    expect(dialog.get_by_text("Resume Flow Run")).to_be_visible()

    # The description the flow wrote for the reviewer, above the form.
    description = dialog.locator(".p-modal__body > article.markdown-renderer")
    expect(description).to_be_visible()
    expect(description).to_contain_text(intake_id)
    expect(description).to_contain_text(re.compile("urgency", re.IGNORECASE))
    expect(description).to_contain_text("Review the request")

    # A decision without a reviewer: the form refuses it and posts nothing.
    choose(dialog, "Decision", "approve")
    dialog.get_by_role("button", name="Submit").click()
    expect(form_field(dialog, "Reviewer")).to_contain_text(
        "'reviewer' is a required property")
    expect(dialog).to_be_visible()
    # A one-letter reviewer passes the form but not the server (min_length 2).
    reviewer = form_field(dialog, "Reviewer").locator("textarea")
    reviewer.fill("K")
    dialog.get_by_role("button", name="Submit").click()
    expect(page.get_by_text("'K' is too short").first).to_be_visible()
    expect(dialog).to_be_visible()
    assert [p["run_input"]["reviewer"] for p in posted] == ["K"]
    assert state_type(run_id) == "PAUSED"

    reviewer.fill(REVIEWER)
    expect(form_field(dialog, "Decision")).to_contain_text("approve")
    page.evaluate("document.querySelector('.p-modal__body').scrollTop = 0")
    dialog.locator(".p-modal__card").screenshot(path=str(tmp_path / "review-form.png"))
    dialog.get_by_role("button", name="Submit").click()
    expect(dialog).to_be_hidden()
    expect(page.get_by_text("Flow run resumed").first).to_be_visible()
    assert posted[-1]["run_input"]["decision"] == "approve"
    assert posted[-1]["run_input"]["reviewer"] == REVIEWER

    finished = wait_for(run_id, ENDED, timeout=180).state
    assert finished.type.value == "COMPLETED", finished.message
    decision = store.decision(intake_id, "request-review")
    assert decision is not None
    assert (decision.decision, decision.reviewer) == ("approve", REVIEWER)
    outcome = default_app.crm().read_intake(intake_id).follow_up_outcome or ""
    assert REVIEWER in outcome
    assert (tmp_path / "review-form.png").stat().st_size > 10_000
