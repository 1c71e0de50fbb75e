"""pytest hooks for the interop test: attach the services' logs to failures."""

import pytest


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    if not report.failed:
        return
    cluster = getattr(item.config, "_laurel_cluster", None)
    if cluster is None:
        return
    for title, text in cluster.log_sections():
        report.sections.append((title, text))
