import pytest
from hypothesis import settings

from .helpers import BACKENDS

# JIT compiles would trip hypothesis' deadline; CI runs derandomized.
settings.register_profile("ci", deadline=None, derandomize=True, max_examples=25)
settings.register_profile("dev", deadline=None, max_examples=50)
settings.load_profile("ci")


@pytest.fixture(params=BACKENDS)
def backend(request):
    return request.param
