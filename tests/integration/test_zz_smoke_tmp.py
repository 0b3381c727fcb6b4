import pytest
from tests import factories as f

@pytest.mark.parametrize("state", f.APPLICATION_STATES)
def test_app_state(make_application, state):
    a = make_application(state=state)
    assert a.status == state

@pytest.mark.parametrize("state", f.CALL_STATES)
def test_call_state(make_call, state):
    assert make_call(state=state).status == state
