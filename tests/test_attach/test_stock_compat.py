"""The compatibility table: NexusFlowHook dropped into each stock nuScenes
config of mmdet3d 1.4 (``nexusflow.analysis.compat.STOCK_CONFIGS``), shrunk
and trained 4 iterations on the synthetic set; the configs that cannot run
on CPU stop with the error the table lists."""
import math
import os.path as osp
import subprocess
import sys

import pytest
from mmengine.config import Config

from nexusflow.analysis.compat import (IMAGE_SCALE, ITERS, STOCK_CONFIGS,
                                       attach, check_config, shrink,
                                       stock_config, stock_config_path)

pytestmark = pytest.mark.slow  # training runs

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))


@pytest.mark.parametrize('entry', STOCK_CONFIGS, ids=lambda e: e.name)
def test_stock_config_with_the_hook(entry, synthetic_nuscenes_infos,
                                    tmp_path):
    result = check_config(entry, synthetic_nuscenes_infos['root'],
                          str(tmp_path))
    print(f'{entry.name}: {result.status} in {result.seconds:.1f} s '
          f'{result.losses} {result.error}')
    if entry.cpu_error:
        assert result.status == 'no CPU', result.error
        assert result.iters == 0
        return
    assert result.status == 'runs', result.error
    assert result.iters == ITERS
    assert math.isfinite(result.losses['loss'])
    assert 'loss_align' in result.losses
    assert result.expected


def _without(node, keys):
    """``node`` without the given keys, at any depth."""
    if isinstance(node, dict):
        return {k: _without(v, keys) for k, v in node.items()
                if k not in keys}
    if isinstance(node, (list, tuple)):
        return [_without(v, keys) for v in node]
    return node


@pytest.mark.parametrize('name, grid', [
    ('pointpillars_hv_fpn_sbn-all_8xb4-2x_nus-3d', [80, 80]),
    ('centerpoint_pillar02_second_secfpn_head-circlenms_8xb4-cyclic-20e_'
     'nus-3d', [128, 128]),
    ('fcos3d_r101-caffe-dcn_fpn_head-gn_8xb2-1x_nus-mono3d', None)])
def test_shrink_changes_only_size_data_and_loop(name, grid):
    entry = stock_config(name)
    stock = Config.fromfile(stock_config_path(entry))
    tiny = shrink(stock, '/data/syn')
    size_keys = {'voxel_size', 'output_shape', 'grid_size', 'init_cfg'}
    assert _without(tiny.model.to_dict(), size_keys) == \
        _without(stock.model.to_dict(), size_keys)
    if grid:
        assert tiny.model.pts_middle_encoder.output_shape == grid
    inner = tiny.train_dataloader.dataset
    while 'dataset' in inner:
        inner = inner.dataset
    assert inner.data_root == '/data/syn/'
    assert inner.metainfo.version == 'v1.0-mini'
    if grid is None:
        scales = [s.scale for s in inner.pipeline if 'scale' in s]
        assert scales == [IMAGE_SCALE]
    assert tiny.train_cfg == dict(type='IterBasedTrainLoop', max_iters=ITERS)
    assert tiny.optim_wrapper == stock.optim_wrapper
    assert tiny.param_scheduler == stock.param_scheduler

    hooked = attach(tiny, entry)
    hook = hooked.custom_hooks[-1]
    assert hook.type == 'NexusFlowHook' and entry.separation in hook
    split = hooked.train_dataloader.dataset
    while split.type != 'NuScenesDomainSplitDataset':
        split = split.dataset
    assert split.rules == dict(vehicle=['boston-seaport'],
                               vru=['singapore-*'])


def test_compat_table_tool_writes_the_readme_section(
        synthetic_nuscenes_infos, tmp_path):
    readme = tmp_path / 'README.md'
    readme.write_text('# x\n\n<!-- BEGIN results:compat -->\nold\n'
                      '<!-- END results:compat -->\n')
    name = 'pointpillars_hv_fpn_sbn-all_8xb2-amp-2x_nus-3d'  # fails fast
    result = subprocess.run(
        [sys.executable, 'tools/analysis/compat_table.py',
         synthetic_nuscenes_infos['root'], '--configs', name, '--readme',
         str(readme), '--section', 'compat', '--work-dir',
         str(tmp_path / 'work')],
        cwd=REPO, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[
        -2000:]
    text = readme.read_text()
    assert 'old' not in text
    assert f'| `{name}` | `task_classes` | no CPU: `AssertionError: ' \
        '``AmpOptimizerWrapper`` is only available training on gpu' in text
