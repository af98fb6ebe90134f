"""One error line for user errors, once per run, traceback on request."""
import pytest

from nexusflow.utils.errors import describe, one_line_errors


def fail(err):
    with one_line_errors():
        raise err


@pytest.mark.parametrize('err,line', [
    (ValueError('NexusFlowHook: bad\n  value'),
     'error: NexusFlowHook: bad value'),
    (KeyError('Foo is not in the mmdet3d::model registry'),
     'error: Foo is not in the mmdet3d::model registry'),
    (FileNotFoundError('config x.py does not exist'),
     'error: config x.py does not exist'),
])
def test_user_error_is_one_line_on_rank_zero(err, line, capsys, monkeypatch):
    monkeypatch.delenv('NEXUSFLOW_DEBUG', raising=False)
    monkeypatch.setenv('RANK', '0')
    with pytest.raises(SystemExit) as exit_:
        fail(err)
    assert exit_.value.code == 1
    lines = capsys.readouterr().err.splitlines()
    assert len(lines) == 1 and lines[0].startswith(line + ' (--debug')


def test_other_ranks_exit_quietly(capsys, monkeypatch):
    monkeypatch.setenv('RANK', '1')
    with pytest.raises(SystemExit):
        fail(ValueError('x'))
    assert capsys.readouterr().err == ''


def test_debug_keeps_the_traceback(monkeypatch):
    monkeypatch.setenv('NEXUSFLOW_DEBUG', '1')
    with pytest.raises(ValueError, match='x'):
        fail(ValueError('x'))
    monkeypatch.delenv('NEXUSFLOW_DEBUG')
    with pytest.raises(ValueError):
        with one_line_errors(debug=True):
            raise ValueError('x')


def test_a_bug_is_not_hidden():
    with pytest.raises(ZeroDivisionError):
        with one_line_errors():
            1 / 0


def test_describe_keeps_an_error_prefix():
    assert describe(SystemExit('error: x')) == 'error: x'


def test_bare_assert_names_where_it_failed():
    try:
        raise AssertionError()
    except AssertionError as err:
        line = describe(err)
    assert line.startswith('error: AssertionError at ') and \
        line.endswith('test_errors.py:' + line.rsplit(':', 1)[1])
