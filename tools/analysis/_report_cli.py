"""The output options shared by summarize.py and mmd.py: ``--readme``,
``--section`` and ``--caption`` (with the tool's ``--out``)."""
import argparse
import sys

from nexusflow.analysis import publish


def add_readme_args(parser: argparse.ArgumentParser, what: str) -> None:
    """Adds ``--readme``, ``--section`` and ``--caption``.

    Args:
        parser (ArgumentParser): the tool's parser (it adds ``--out``).
        what (str): ``'table'`` or ``'tables'``, for the help texts.
    """
    parser.add_argument('--readme', help='markdown file whose section '
                        f'--section gets the {what} (e.g. README.md)')
    parser.add_argument('--section', help='name in the file\'s "<!-- BEGIN '
                        'results:NAME -->" / "<!-- END results:NAME -->"')
    parser.add_argument('--caption', help=f'a line written above the {what} '
                        '(with --out / --readme)')


def parse_report_args(parser: argparse.ArgumentParser) -> argparse.Namespace:
    """Parses the command line; ``--readme`` needs ``--section``."""
    args = parser.parse_args()
    if (args.readme is None) != (args.section is None):
        parser.error('--readme and --section go together')
    return args


def report(table: str, args: argparse.Namespace) -> None:
    """Prints ``table`` and writes it where the output options say.

    Args:
        table (str): the markdown table(s).
        args (Namespace): ``out``, ``readme``, ``section``, ``caption``.
    """
    print(table)
    try:
        publish(table, args.caption, args.out, args.readme, args.section)
    except (ValueError, FileNotFoundError) as err:
        sys.exit(f'error: {err}')
