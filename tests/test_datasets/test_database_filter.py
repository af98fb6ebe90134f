"""ObjectSample's ground-truth database under a label split: over a full
pass of the training set, no pasted object comes from a sample where its
task is unlabeled."""
import copy
import os.path as osp
import pickle

import pytest
from mmengine.config import Config
from mmengine.registry import init_default_scope

from mmdet3d.registry import DATASETS
from nexusflow.datasets.database_filter import class_tasks, database_samplers

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
CONFIGS = {
    'hook': 'configs/nexusflow/centerpoint_pillar_domainsplit_hook_tiny.py',
    'wrapper':
    'configs/nexusflow/centerpoint_pillar_domainsplit_wrapper_tiny.py',
}
# A rule of the test's own: the reverse cities, barriers in Boston only.
REVERSED = dict(vehicle=['singapore-*'], vru=['boston-seaport'],
                barrier=['boston-seaport'])


def split_dataset(config: str, root: str, rules=None, objects: int = 15):
    """The config's training set on the synthetic root, ObjectSample asked
    for ``objects`` per class (the stock groups rarely paste on a small
    set)."""
    cfg = Config.fromfile(osp.join(REPO, config))
    init_default_scope('mmdet3d')
    dataset_cfg = copy.deepcopy(cfg.train_dataloader.dataset)
    split = dataset_cfg.dataset
    assert split.type == 'NuScenesDomainSplitDataset'
    if rules is not None:
        split.rules = rules
    inner = split.dataset
    inner.data_root = root + '/'
    for step in inner.pipeline:
        if step['type'] == 'ObjectSample':
            sampler = step['db_sampler']
            sampler.data_root = root + '/'
            sampler.info_path = osp.join(root, 'nuscenes_dbinfos_train.pkl')
            sampler.sample_groups = {
                name: objects for name in sampler.sample_groups}
    return DATASETS.build(dataset_cfg)


def record_pastes(sampler) -> list:
    """Makes the sampler record every object it pastes."""
    pasted = []
    original = sampler.sample_class_v2

    def sample_class(name, num, gt_bboxes):
        valid = original(name, num, gt_bboxes)
        pasted.extend((info['name'], info['image_idx']) for info in valid)
        return valid

    sampler.sample_class_v2 = sample_class
    return pasted


def leaks(objects, split, classes) -> int:
    """Objects whose task is unlabeled in the sample they come from."""
    tasks_of = class_tasks(split.tasks, classes)
    masks = {info['sample_idx']: info['task_mask']
             for info in map(split.get_data_info, range(len(split)))}
    return sum(not all(masks[idx][t] for t in tasks_of.get(name, ()))
               for name, idx in objects)


@pytest.mark.slow
@pytest.mark.parametrize('config,rules', [
    ('hook', None), ('wrapper', None), ('hook', REVERSED)])
def test_no_pasted_object_comes_from_an_unlabeled_place(
        synthetic_nuscenes_infos, config, rules):
    root = synthetic_nuscenes_infos['root'].rstrip('/')
    dataset = split_dataset(CONFIGS[config], root, rules)
    split = dataset.dataset  # CBGSDataset(NuScenesDomainSplitDataset)
    classes = split.metainfo['classes']
    [sampler] = database_samplers(split.dataset.pipeline)

    # Without the filter the database would leak: count it on the file.
    with open(sampler.info_path, 'rb') as f:
        full = pickle.load(f)
    unfiltered = [(name, info['image_idx']) for name, infos in full.items()
                  for info in infos]
    assert leaks(unfiltered, split, classes) > 0

    held = [(name, info['image_idx'])
            for name, infos in sampler.db_infos.items() for info in infos]
    pasted = record_pastes(sampler)
    for index in range(len(dataset)):
        dataset[index]
    print(f'{config} rules={rules}: {len(pasted)} objects pasted over '
          f'{len(dataset)} samples, {leaks(pasted, split, classes)} from '
          f'places where their task is unlabeled; database kept '
          f'{len(held)} of {len(unfiltered)}')
    assert pasted, 'ObjectSample pasted nothing: the test checks nothing'
    assert leaks(held, split, classes) == 0
    assert leaks(pasted, split, classes) == 0
    # Objects of classes that stay labeled everywhere are all kept.
    if rules is None:
        assert len(sampler.db_infos['barrier']) == len(full['barrier'])
