import pytest

import glassbox

IOI_CLEAN = "When Mary and John went to the store, John gave a drink to"
IOI_CORRUPT = "When Mary and John went to the store, Mary gave a drink to"


@pytest.fixture(scope="session")
def ioi():
    return glassbox.load("ioi")


@pytest.fixture(scope="session")
def tiny_lm():
    return glassbox.load("tiny-lm")


@pytest.fixture(scope="session")
def induction():
    return glassbox.load("induction")
