from tests.e2e.conftest import city  # noqa: F401 (fixture)
