"""Domains (e.g. cities) that metrics report separately, and sample access.

A domain is a name and a list of ``fnmatch`` patterns over nuScenes
``log.location``; the default reports Boston and Singapore separately, which
is how the domain-split experiments are scored.
"""
from fnmatch import fnmatchcase
from typing import Any, Dict, List, Mapping, Optional, Sequence

DEFAULT_DOMAINS = dict(boston=['boston-seaport'], singapore=['singapore-*'])


def check_domains(owner: str,
                  domains: Optional[Mapping[str, Sequence[str]]]
                  ) -> Dict[str, List[str]]:
    """Validates a ``{name: [location patterns]}`` dict.

    Args:
        owner (str): name of the caller, used in error messages.
        domains (Mapping[str, Sequence[str]], optional): ``None`` or ``{}``
            disables per-domain results.

    Returns:
        dict[str, list[str]]: a plain copy of ``domains``.

    Raises:
        ValueError: when a name is not a non-empty string without '/', or
            when patterns are not a non-empty list of strings.
    """
    if not domains:
        return {}
    if not isinstance(domains, Mapping):
        raise ValueError(f'{owner}: domains must be a dict '
                         f'{{name: [location patterns]}}, got {domains!r}')
    checked = {}
    for name, patterns in domains.items():
        if not isinstance(name, str) or not name or '/' in name:
            raise ValueError(f'{owner}: domain name {name!r} must be a '
                             f"non-empty string without '/'")
        if isinstance(patterns, str):
            patterns = [patterns]
        if not patterns or not all(isinstance(p, str) for p in patterns):
            raise ValueError(f'{owner}: domains[{name!r}] must be a '
                             f'non-empty list of location patterns, got '
                             f'{patterns!r}')
        checked[name] = list(patterns)
    return checked


def match_domains(location: str,
                  domains: Mapping[str, Sequence[str]]) -> List[str]:
    """Names of the domains whose patterns match ``location``.

    Args:
        location (str): a nuScenes ``log.location``, e.g.
            ``'singapore-onenorth'``.
        domains (Mapping[str, Sequence[str]]): ``{name: [patterns]}``.

    Returns:
        list[str]: matching domain names, in the order of ``domains``.
    """
    return [
        name for name, patterns in domains.items()
        if any(fnmatchcase(location, p) for p in patterns)
    ]


def get_meta(sample: Mapping[str, Any], key: str, owner: str) -> Any:
    """Reads a metainfo field of a ``Det3DDataSample.to_dict()`` result.

    ``to_dict()`` puts metainfo fields at the top level; a nested
    ``metainfo`` dict is accepted too.

    Args:
        sample (Mapping): one data sample as a dict.
        key (str): metainfo key, e.g. ``'token'``.
        owner (str): name of the caller, used in error messages.

    Returns:
        The value stored under ``key``.

    Raises:
        ValueError: when ``key`` is in neither place.
    """
    if key in sample:
        return sample[key]
    metainfo = sample.get('metainfo')
    if isinstance(metainfo, Mapping) and key in metainfo:
        return metainfo[key]
    raise ValueError(f'{owner}: data sample has no metainfo {key!r} '
                     f'(keys: {sorted(sample)})')
