"""MMD tables and PCA scree reports over latents files."""
import numpy as np
import pytest

from nexusflow.analysis import mmd_tables, plot_scree, scree_report
from helpers.analysis import table_rows, write_latents


def test_mmd_tables_rank_runs_overall_and_per_domain(tmp_path):
    aligned = write_latents(tmp_path / 'aligned.npz', shift=0.0)
    apart = write_latents(tmp_path / 'apart.npz', shift=2.0)
    text = mmd_tables([apart, aligned], ['Baseline', 'NexusFlow'],
                      permutations=50)
    for title in ('all samples', 'domain boston', 'domain singapore'):
        rows = table_rows(text, title)
        assert list(rows) == ['Baseline', 'NexusFlow']
        assert float(rows['Baseline'][-1]) > float(rows['NexusFlow'][-1])
    p_value = float(table_rows(text, 'all samples')['Baseline'][0]
                    .split('p=')[1].rstrip(')'))
    assert p_value < 0.05
    # Without permutations a cell is the bare estimate; labels default to
    # the file names.
    rows = table_rows(mmd_tables([apart], max_samples=10), 'all samples')
    assert list(rows) == ['apart'] and 'p=' not in rows['apart'][0]


def test_mmd_tables_mark_what_a_run_lacks(tmp_path):
    rng = np.random.default_rng(0)
    no_domain = tmp_path / 'plain.npz'
    np.savez(no_domain, z_a=rng.standard_normal((10, 3)),
             z_c=rng.standard_normal((10, 3)))
    other = write_latents(tmp_path / 'other.npz', shift=1.0, num=10)
    text = mmd_tables([str(no_domain), other], ['plain', 'other'])
    # Tasks in first-seen order: a, c (plain), then b (other).
    assert text.splitlines()[2] == '| run | a vs c | a vs b | c vs b | mean |'
    overall = table_rows(text, 'all samples')
    assert overall['plain'][1:3] == ['–', '–']
    assert overall['other'][0] == '–' and overall['other'][1] != '–'
    # A run without domains has no per-domain numbers.
    assert set(table_rows(text, 'domain boston')['plain']) == {'–'}
    np.savez(tmp_path / 'one.npz', z_a=np.zeros((4, 2)))
    with pytest.raises(ValueError, match='at least two tasks'):
        mmd_tables([str(tmp_path / 'one.npz')])


def test_scree_report_and_plot_have_one_line_per_run(tmp_path):
    rng = np.random.default_rng(0)
    low = rng.standard_normal((50, 2)) @ rng.standard_normal((2, 8))
    np.savez(tmp_path / 'low.npz', z_a=low, z_b=low[::-1])
    write_latents(tmp_path / 'full.npz', shift=0.0, num=50, dim=8)
    paths = [str(tmp_path / 'low.npz'), str(tmp_path / 'full.npz')]

    curves, table = scree_report(paths, ['low', 'full'])
    rows = table_rows('t\n' + table, 't')
    assert rows['low'] == ['8', '2', '2']
    assert int(rows['full'][2]) > 2
    fig = plot_scree(curves, 'title')
    assert len(fig.axes[0].get_lines()) == 2
    assert fig.axes[0].get_yscale() == 'log'
    out = tmp_path / 'scree.png'
    fig.savefig(out)
    assert out.read_bytes()[:8] == b'\x89PNG\r\n\x1a\n'

    _, table = scree_report(paths[1:], task='b')
    assert '| full | 8 |' in table
    with pytest.raises(ValueError, match='no array z_c'):
        scree_report(paths, task='c')
