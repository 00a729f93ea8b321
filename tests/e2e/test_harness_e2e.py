"""The harness itself: a page that reaches for another origin or logs an error cannot pass."""
import pytest

pytestmark = pytest.mark.e2e


def test_requests_to_other_origins_are_blocked_recorded_and_fail_the_check(dashboard):
    dashboard.open("/")
    outcome = dashboard.page.evaluate(
        "fetch('https://example.org/beacon').then(() => 'reached', () => 'blocked')")
    assert outcome == "blocked"
    assert dashboard.foreign_requests == ["https://example.org/beacon"]
    with pytest.raises(AssertionError, match="other origins"):
        dashboard.assert_clean()
    dashboard.foreign_requests.clear()
    dashboard.console_errors.clear()  # the aborted fetch also logs a console error


def test_console_errors_fail_the_check(dashboard):
    dashboard.open("/")
    dashboard.page.evaluate("console.error('boom')")
    with pytest.raises(AssertionError, match="console errors.*boom"):
        dashboard.assert_clean()
    dashboard.console_errors.clear()
