"""README sections: only what lies between a section's markers changes."""
import pytest

from nexusflow.analysis import publish, replace_section
from helpers.analysis import README

BEGIN, END = ('<!-- BEGIN results:uniad-tiny -->',
              '<!-- END results:uniad-tiny -->')


def test_replace_section_changes_only_the_section(tmp_path):
    readme = tmp_path / 'README.md'
    readme.write_text(README)
    replace_section(str(readme), 'uniad-tiny', '\n| a |\n\n')
    text = readme.read_text()
    begin, end = text.index(BEGIN), text.index(END)
    assert text[begin:end].splitlines()[1:] == ['| a |']
    # Everything outside the section is byte for byte the same.
    assert text[:begin] == README[:README.index(BEGIN)]
    assert text[end:] == README[README.index(END):]
    # A second write replaces the first instead of appending.
    replace_section(str(readme), 'uniad-tiny', '| b |')
    assert '| a |' not in readme.read_text()
    assert readme.read_text().count('| b |') == 1


def test_replace_section_names_a_missing_marker(tmp_path):
    readme = tmp_path / 'README.md'
    broken = README.replace('<!-- END results:other -->\n', '')
    readme.write_text(broken)
    with pytest.raises(ValueError, match=r'README.md: expected the marker '
                       r'"<!-- END results:other -->" once, found it 0'):
        replace_section(str(readme), 'other', 'x')
    with pytest.raises(ValueError, match='results:nope'):
        replace_section(str(readme), 'nope', 'x')
    assert readme.read_text() == broken
    with pytest.raises(FileNotFoundError, match='missing.md'):
        replace_section(str(tmp_path / 'missing.md'), 'x', 'y')


def test_publish_writes_caption_and_table(tmp_path, capsys):
    readme, out = tmp_path / 'README.md', tmp_path / 'table.md'
    readme.write_text(README)
    text = publish('| t |', 'caption', str(out), str(readme), 'other')
    assert text == 'caption\n\n| t |'
    assert out.read_text() == text + '\n'
    assert 'caption\n\n| t |\n<!-- END results:other' in readme.read_text()
    assert capsys.readouterr().out == (f'wrote section other of {readme}\n')
    # Neither file: only the text.
    assert publish('| t |') == '| t |'
