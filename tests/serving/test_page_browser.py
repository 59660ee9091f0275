"""The prediction page and offline /docs and /redoc, in headless Chromium driven by
Playwright against a real `python -m serving` process. Debian's /usr/bin/chromium, never a downloaded browser.

Screenshots go to .bodyfat/test-artifacts/browser/ (ignored by git, kept after the run for people to look at)."""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.serving_process import REPO, ServingProcess, serving_process

pytestmark = [pytest.mark.integration, pytest.mark.filterwarnings("ignore::DeprecationWarning")]
CHROMIUM = Path("/usr/bin/chromium")
ARTIFACTS = REPO / ".bodyfat" / "test-artifacts" / "browser"
API_KEY = "page-k3y"
WAIT_MS = 30_000

if not CHROMIUM.exists() or shutil.which("chromium") is None:
    message = "Debian's chromium is not installed (apt-get install -y chromium; .ci/run does it)"
    if os.environ.get("CI") == "true":  # as with PostgreSQL: a skip in CI would hide a missing install step
        pytest.fail(message, pytrace=False)
    pytest.skip(message, allow_module_level=True)
sync_api = pytest.importorskip("playwright.sync_api")


@pytest.fixture(scope="module")
def api(tmp_path_factory) -> Iterator[ServingProcess]:
    with serving_process(tmp_path_factory.mktemp("page")) as process:
        yield process


@pytest.fixture(scope="module")
def keyed_api(tmp_path_factory) -> Iterator[ServingProcess]:
    with serving_process(tmp_path_factory.mktemp("page-key"), BODYFAT_SERVING_API_KEY=API_KEY) as process:
        yield process


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    with sync_api.sync_playwright() as playwright:
        chromium = playwright.chromium.launch(
            executable_path=str(CHROMIUM), args=["--no-sandbox", "--disable-gpu", "--disable-background-networking"]
        )
        yield chromium
        chromium.close()


@pytest.fixture
def offline_page(browser) -> Iterator[tuple[object, list[str]]]:
    """A page whose every request to anything but 127.0.0.1 is aborted (the network is cut); returns those URLs."""
    context = browser.new_context(viewport={"width": 1200, "height": 900})
    blocked: list[str] = []

    def only_loopback(route) -> None:
        if route.request.url.startswith("http://127.0.0.1:"):
            route.continue_()
        else:
            blocked.append(route.request.url)
            route.abort()

    context.route("**/*", only_loopback)
    page = context.new_page()
    page.set_default_timeout(WAIT_MS)
    yield page, blocked
    context.close()


def open_form(page, url: str) -> None:
    page.goto(url + "/")
    page.wait_for_selector("body[data-ready='true']")


def test_example_person_gets_an_estimate_with_an_interval(api, offline_page) -> None:
    page, blocked = offline_page
    open_form(page, api.url)
    page.get_by_role("button", name="Fill in an example person").click()
    assert page.get_by_label("Height", exact=True).input_value() == "67.75"
    page.get_by_role("button", name="Estimate body fat").click()
    page.wait_for_selector("#result:not([hidden])")
    estimate = float(page.text_content("#estimate-value"))
    assert 2 < estimate < 50
    assert "90 % interval" in page.text_content("#interval-text")
    # Which model answered, as the answer says (this API has no registry: the bundled fallback).
    assert page.text_content("#model-text") == (
        "Answered by model fallback, version fallback, from the bundled fallback: the registry has no champion or "
        "cannot be reached."
    )
    assert page.locator("#interval-bar").bounding_box()["width"] > 0
    assert json.loads(page.text_content("#sent"))["Height"] == 67.75
    assert "Estimated" in page.text_content("#status")
    page.screenshot(path=str(ARTIFACTS / "filled-page.png"), full_page=True)
    assert blocked == [], "the page loads nothing from outside the API"

    def from_registry(route) -> None:  # the API's own answer, as a registry champion would sign it
        route.fulfill(json={**route.fetch().json(), "model_name": "bodyfat", "model_version": "7",
                            "model_source": "registry"})  # fmt: skip

    page.route("**/predict", from_registry)
    page.get_by_role("button", name="Estimate body fat").click()
    page.wait_for_selector("#model-text:has-text('version 7')")
    assert page.text_content("#model-text") == "Answered by model bodyfat, version 7, from the MLflow registry."


def test_units_are_converted_and_shown_as_sent(api, offline_page) -> None:
    page, _ = offline_page
    open_form(page, api.url)
    page.get_by_role("button", name="Fill in an example person").click()
    page.select_option("#unit-Weight", "kg")
    assert float(page.get_by_label("Weight", exact=True).input_value()) == pytest.approx(69.97, abs=0.01)
    page.get_by_role("button", name="Estimate body fat").click()
    page.wait_for_selector("#result:not([hidden])")
    assert json.loads(page.text_content("#sent"))["Weight"] == pytest.approx(154.25, abs=0.02)


def test_out_of_range_value_is_flagged_before_sending(api, offline_page) -> None:
    page, _ = offline_page
    open_form(page, api.url)
    page.get_by_role("button", name="Fill in an example person").click()
    sent: list[str] = []
    page.on("request", lambda request: sent.append(request.url) if "/predict" in request.url else None)
    page.get_by_label("Height", exact=True).fill("29.5")
    page.get_by_role("button", name="Estimate body fat").click()
    assert page.text_content("#err-Height") == "Input should be greater than or equal to 48 (in)"
    assert page.get_attribute("#f-Height", "aria-invalid") == "true"
    assert "Height" in page.text_content("#status") and page.get_attribute("#status", "aria-live") == "polite"
    assert sent == []
    page.screenshot(path=str(ARTIFACTS / "client-error.png"), full_page=True)


def test_an_impossible_person_is_warned_and_a_failed_submit_clears_the_estimate(api, offline_page) -> None:
    page, _ = offline_page
    open_form(page, api.url)
    page.get_by_role("button", name="Fill in an example person").click()
    for name, unit, value in (("Weight", "kg", "40"), ("Height", "cm", "200"), ("Abdomen", None, "150")):
        if unit:
            page.select_option(f"#unit-{name}", unit)
        page.get_by_label(name, exact=True).fill(value)
    page.get_by_role("button", name="Estimate body fat").click()
    page.wait_for_selector("#warnings:not([hidden])")
    assert "unlike any man the model was trained on" in page.text_content("#warnings")
    assert "see the warning" in page.text_content("#status")
    page.screenshot(path=str(ARTIFACTS / "impossible-person.png"), full_page=True)
    page.get_by_label("Weight", exact=True).fill("30")
    page.get_by_role("button", name="Estimate body fat").click()
    assert page.text_content("#err-Weight") == "Input should be greater than or equal to 36.3 (kg)"
    assert page.locator("#result").is_hidden(), "the previous estimate stays under the error"


def test_the_apis_422_is_shown_at_the_field(api, offline_page) -> None:
    page, _ = offline_page

    def widened_contract(route) -> None:  # the page lets through what the API refuses
        body = route.fetch().json()
        for feature in body["features"]:
            feature["high"] = 10_000
        route.fulfill(json=body)

    page.route("**/features", widened_contract)
    open_form(page, api.url)
    page.get_by_role("button", name="Fill in an example person").click()
    page.get_by_label("Height", exact=True).fill("150")
    with page.expect_response("**/predict") as answer:
        page.get_by_role("button", name="Estimate body fat").click()
    assert answer.value.status == 422
    page.wait_for_selector("#f-Height[aria-invalid='true']")
    assert page.text_content("#err-Height") == "Input should be less than or equal to 96 (in)"
    assert page.locator("#result").is_hidden()
    page.screenshot(path=str(ARTIFACTS / "api-422-at-field.png"), full_page=True)


def test_api_key_is_asked_once_and_kept_for_the_session_only(keyed_api, offline_page) -> None:
    page, _ = offline_page
    open_form(page, keyed_api.url)
    page.get_by_role("button", name="Fill in an example person").click()
    page.get_by_role("button", name="Estimate body fat").click()
    page.wait_for_selector("#key-form:not([hidden])")
    assert "API key" in page.text_content("#status")
    page.get_by_label("API key", exact=True).fill(API_KEY)
    page.get_by_role("button", name="Use this key").click()
    page.wait_for_selector("#result:not([hidden])")
    assert page.evaluate("sessionStorage.getItem('bodyfat-api-key')") == API_KEY
    assert page.evaluate("localStorage.length") == 0 and API_KEY not in page.url
    page.get_by_role("button", name="Estimate body fat").click()  # second time: no prompt
    page.wait_for_selector("#status:has-text('Estimated')")
    assert page.locator("#key-form").is_hidden()


def test_keyboard_only(api, offline_page) -> None:
    page, _ = offline_page
    open_form(page, api.url)
    for _ in range(10):
        if page.evaluate("document.activeElement.id") == "fill-example":
            break
        page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.id") == "fill-example"
    page.keyboard.press("Enter")
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.id") == "f-Age"
    page.keyboard.press("Enter")  # implicit submission from a text field
    page.wait_for_selector("#result:not([hidden])")


def test_no_horizontal_scroll_at_375_px(api, browser) -> None:
    context = browser.new_context(viewport={"width": 375, "height": 812})
    page = context.new_page()
    page.set_default_timeout(WAIT_MS)
    open_form(page, api.url)
    page.get_by_role("button", name="Fill in an example person").click()
    page.get_by_role("button", name="Estimate body fat").click()
    page.wait_for_selector("#result:not([hidden])")
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    page.screenshot(path=str(ARTIFACTS / "narrow-375px.png"), full_page=True)
    context.close()


@pytest.mark.parametrize(("path", "shows"), [("/docs", ".opblock-summary-path"), ("/redoc", "[data-section-id]")])
def test_api_docs_work_with_the_network_cut(api, offline_page, path: str, shows: str) -> None:
    page, _ = offline_page
    page.goto(api.url + path)
    page.wait_for_selector(shows)
    assert "/predict/batch" in page.content()
    page.screenshot(path=str(ARTIFACTS / f"offline{path.replace('/', '-')}.png"))
