"""The latent plots from saved latents files: the PCA scatter (colour =
task, marker = city) and the scree plot, both written as PNGs by their
tools."""
import matplotlib.colors as mcolors
import numpy as np
import pytest
from PIL import Image

from nexusflow.analysis import explained_variance_ratio, load_latents
from nexusflow.visualization import pca_2d, plot_latent_scatter
from nexusflow.visualization.latent_scatter import city_of
from helpers.analysis import run_main, write_latents


def test_pca_2d_keeps_the_two_leading_directions():
    rng = np.random.default_rng(0)
    x = rng.standard_normal((200, 5)) * [5.0, 2.0, 0.5, 0.1, 0.1]
    coords, ratios = pca_2d(x)
    np.testing.assert_allclose(ratios, explained_variance_ratio(x)[:2])
    assert coords[:, 0].var() > coords[:, 1].var() > 1.0
    # One feature only: the second coordinate is zero.
    coords, ratios = pca_2d(x[:, :1])
    assert (coords[:, 1] == 0).all() and ratios[1] == 0
    with pytest.raises(ValueError, match='N >= 2'):
        pca_2d(x[:1])


def test_scatter_colours_tasks_and_marks_cities(tmp_path):
    run = load_latents(write_latents(tmp_path / 'a.npz', shift=3.0))
    assert sorted(set(map(city_of, ['boston-seaport', 'singapore-onenorth',
                                    'singapore-queenstown']))) == [
                                        'boston', 'singapore']
    fig = plot_latent_scatter({'A': run, 'B': run})
    assert len(fig.axes) == 2
    for ax in fig.axes:
        # Two tasks x two cities, each a group of 20 points.
        groups = ax.collections
        assert len(groups) == 4
        assert all(len(g.get_offsets()) == 20 for g in groups)
        colours = {mcolors.to_hex(g.get_facecolor()[0]) for g in groups}
        assert len(colours) == 2
        assert ax.get_xlabel().startswith('PC1 (')
    # The shifted task b sits apart from a along PC1.
    offsets = [g.get_offsets()[:, 0].mean() for g in fig.axes[0].collections]
    assert abs(np.mean(offsets[:2]) - np.mean(offsets[2:])) > 2.0


def test_scatter_tool_writes_a_png(tmp_path, load_tool, monkeypatch):
    a = write_latents(tmp_path / 'a.npz', shift=0.0)
    b = write_latents(tmp_path / 'b.npz', shift=3.0, seed=1)
    out = tmp_path / 'plots' / 'scatter.png'
    run_main(load_tool('analysis/latent_scatter.py'), monkeypatch,
             [a, b, '--labels', 'baseline', 'nexusflow', '--out', str(out)])
    image = np.asarray(Image.open(out).convert('RGB'))
    assert image.shape[:2] == (420, 840)  # 8.4 x 4.2 in at 100 dpi
    assert (image < 200).any(-1).mean() > 0.01  # points and axes drawn


def test_scatter_tool_errors_are_one_line(tmp_path, load_tool, monkeypatch,
                                          capsys):
    a = write_latents(tmp_path / 'a.npz', shift=0.0)
    with pytest.raises(SystemExit):
        run_main(load_tool('analysis/latent_scatter.py'), monkeypatch,
                 [a, a, '--out', str(tmp_path / 'x.png')])
    err = capsys.readouterr().err.strip()
    assert err.startswith('error: runs need distinct labels')
    with pytest.raises(SystemExit):
        run_main(load_tool('analysis/latent_scatter.py'), monkeypatch,
                 [str(tmp_path / 'none.npz')])
    assert capsys.readouterr().err.startswith('error: latents file')


def test_scree_tool_writes_a_png(tmp_path, load_tool, monkeypatch):
    a = write_latents(tmp_path / 'a.npz', shift=0.0)
    b = write_latents(tmp_path / 'b.npz', shift=3.0, seed=1)
    out = tmp_path / 'scree.png'
    run_main(load_tool('analysis/pca_scree.py'), monkeypatch,
             [a, b, '--labels', 'baseline', 'nexusflow', '--out', str(out)])
    image = np.asarray(Image.open(out).convert('RGB'))
    assert image.shape[:2] == (480, 720)  # 6 x 4 in at 120 dpi
    assert (image < 200).any(-1).mean() > 0.01
