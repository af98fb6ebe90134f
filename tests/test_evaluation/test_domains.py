import pytest

from nexusflow.evaluation import DEFAULT_DOMAINS, check_domains, match_domains

LOCATIONS = ('boston-seaport', 'singapore-onenorth', 'singapore-queenstown',
             'singapore-hollandvillage')


def test_default_domains_split_the_four_locations():
    matched = {loc: match_domains(loc, DEFAULT_DOMAINS) for loc in LOCATIONS}
    assert matched['boston-seaport'] == ['boston']
    for loc in LOCATIONS[1:]:
        assert matched[loc] == ['singapore']
    assert match_domains('pittsburgh', DEFAULT_DOMAINS) == []


def test_patterns_may_overlap_and_strings_are_accepted():
    domains = check_domains('T', dict(all='*', onenorth=['*-onenorth']))
    assert domains == dict(all=['*'], onenorth=['*-onenorth'])
    assert match_domains('singapore-onenorth', domains) == ['all', 'onenorth']
    assert check_domains('T', None) == {}


@pytest.mark.parametrize('bad', [
    ['boston'], {'': ['boston-seaport']}, {'a/b': ['x']}, {'a': []},
    {'a': [1]}
])
def test_bad_domains_raise(bad):
    with pytest.raises(ValueError, match='T: domain'):
        check_domains('T', bad)
