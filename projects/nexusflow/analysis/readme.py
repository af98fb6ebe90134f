"""Generated sections of a markdown file (the README's result tables).

A section lies between ``<!-- BEGIN results:NAME -->`` and
``<!-- END results:NAME -->``; the tools rewrite only what is between the
two markers, so the rest of the README stays hand-written.
"""
import os.path as osp
from typing import Optional, Tuple


def section_markers(name: str) -> Tuple[str, str]:
    """The begin and end markers of a generated README section.

    Args:
        name (str): the section name, e.g. ``'uniad-tiny'``.

    Returns:
        tuple[str, str]: ``<!-- BEGIN results:NAME -->`` and
        ``<!-- END results:NAME -->``.
    """
    return (f'<!-- BEGIN results:{name} -->', f'<!-- END results:{name} -->')


def replace_section(path: str, name: str, text: str) -> None:
    """Replaces what lies between a section's markers in a markdown file.

    Everything outside the markers, the markers included, stays byte for
    byte as it was.

    Args:
        path (str): the markdown file (e.g. ``README.md``).
        name (str): the section name of the markers.
        text (str): the new content (surrounding blank lines are dropped).
    """
    if not osp.isfile(path):
        raise FileNotFoundError(f'{path} does not exist (--readme)')
    with open(path, encoding='utf-8') as f:
        content = f.read()
    begin, end = section_markers(name)
    for marker in (begin, end):
        count = content.count(marker)
        if count != 1:
            raise ValueError(f'{path}: expected the marker "{marker}" once, '
                             f'found it {count} times; add the pair '
                             f'"{begin}" ... "{end}" where the section goes')
    start = content.index(begin) + len(begin)
    stop = content.index(end)
    if stop < start:
        raise ValueError(f'{path}: "{end}" comes before "{begin}"')
    content = content[:start] + '\n' + text.strip('\n') + '\n' + \
        content[stop:]
    with open(path, 'w', encoding='utf-8') as f:
        f.write(content)


def publish(table: str,
            caption: Optional[str] = None,
            out: Optional[str] = None,
            readme: Optional[str] = None,
            section: Optional[str] = None) -> str:
    """Writes a table, with its caption, to a README section and a file.

    Args:
        table (str): the markdown table(s).
        caption (str, optional): a line written above the table.
        out (str, optional): a file that gets the text.
        readme (str, optional): a markdown file whose section ``section``
            gets the text; prints a line when written.
        section (str, optional): the section name (with ``readme``).

    Returns:
        str: the text written (caption, blank line, table).
    """
    text = f'{caption}\n\n{table}' if caption else table
    if readme:
        replace_section(readme, section, text)
        print(f'wrote section {section} of {readme}')
    if out:
        with open(out, 'w') as f:
            f.write(text + '\n')
    return text
