import sys
import types

import pytest

from nexusflow.utils import env


def test_stack_is_consistent():
    env.check_stack()


def test_wrong_mmcv_version_names_package_and_fix(monkeypatch):
    fake = types.SimpleNamespace(__version__='2.2.0')
    monkeypatch.setitem(sys.modules, 'mmcv', fake)
    with pytest.raises(env.StackError, match=r'mmcv>=2.0,<2.2 .* 2\.2\.0.*'
                       r'tools/setup_env.sh'):
        env.check_stack()


def test_missing_package_names_it(monkeypatch):
    monkeypatch.setitem(sys.modules, 'mmdet3d', None)  # import fails
    with pytest.raises(env.StackError, match='needs `mmdet3d`'):
        env.check_stack()


def test_mmcv_without_ops(monkeypatch):
    monkeypatch.setitem(sys.modules, 'mmcv._ext', None)
    with pytest.raises(env.StackError, match='no compiled ops'):
        env.check_stack()
