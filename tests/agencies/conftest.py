import pytest


@pytest.fixture
def khanh_hoa(db):
    from agencies.demo import seed_agencies

    return seed_agencies()
