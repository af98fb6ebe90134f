"""Latents files: written and read back, and their errors named."""
import numpy as np
import pytest

from nexusflow.analysis import load_latents, save_latents


def test_save_and_load_round_trip(tmp_path):
    path = str(tmp_path / 'sub' / 'run.npz')
    arrays = dict(h_a=np.ones((3, 2)), z_a=np.zeros((3, 2)),
                  z_b=np.full((3, 2), 2.0),
                  domain=np.array(['boston', 'boston', 'singapore']))
    line = save_latents(path, arrays)
    assert line == (f'saved {path}: h_a (3, 2), z_a (3, 2), z_b (3, 2), '
                    f'domain (3,)')
    latents, domains = load_latents(path)
    assert sorted(latents) == ['a', 'b']
    assert latents['b'].tolist() == arrays['z_b'].tolist()
    assert domains.tolist() == ['boston', 'boston', 'singapore']
    h, _ = load_latents(path, 'h')
    assert list(h) == ['a']


def test_latents_file_errors_are_named(tmp_path):
    path = tmp_path / 'bad.npz'
    np.savez(path, feats=np.zeros((3, 2)))
    with pytest.raises(ValueError, match=r'bad.npz: expected arrays named '
                       r'z_<task>'):
        load_latents(str(path))
    np.savez(path, z_a=np.zeros((3, 2)), z_b=np.zeros((4, 2)))
    with pytest.raises(ValueError, match='one N'):
        load_latents(str(path))
    np.savez(path, z_a=np.zeros((3, 2)), domain=np.array(['x']))
    with pytest.raises(ValueError, match=r'"domain" must have shape \(3,\)'):
        load_latents(str(path))
    with pytest.raises(FileNotFoundError, match='nope.npz'):
        load_latents(str(tmp_path / 'nope.npz'))
