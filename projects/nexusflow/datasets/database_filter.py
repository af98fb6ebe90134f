"""Keeps ObjectSample's ground-truth database inside the label split.

ObjectSample pastes objects from ``*_dbinfos_train.pkl`` into every training
sample. ``create_data.py`` builds that database from all labels, so under a
split it would paste objects of a task from places where the task is
unlabeled — a label source outside the sample's info that stripping the
infos does not reach. Every database object records the ``sample_idx`` it
was cut from (``image_idx``); an object is kept only when its class's task
is labeled in that sample.
"""
from typing import Dict, Iterator, Mapping, Optional, Sequence

from mmengine.logging import print_log

# Pipeline steps that read labels outside the sample's info. ObjectSample
# (``db_sampler``) is the only one in mmdet3d 1.4: LoadAnnotations3D reads
# the info's ``instances`` / ``cam_instances`` / mask paths, which the
# split strips; CBGSDataset reads the stripped infos through the wrapper.
DATABASE_ATTR = 'db_sampler'


def database_samplers(pipeline) -> Iterator[object]:
    """Yields each ground-truth database sampler of a built pipeline.

    Args:
        pipeline: a dataset's ``pipeline`` (mmcv ``Compose``) or a list of
            transforms; nested ``transforms`` (RandomChoice, ...) are
            searched too.

    Yields:
        object: every ``DataBaseSampler`` (anything with ``db_infos`` and
        ``sampler_dict``) held by a transform.
    """
    stack = list(getattr(pipeline, 'transforms', pipeline) or [])
    while stack:
        transform = stack.pop()
        sampler = getattr(transform, DATABASE_ATTR, None)
        if hasattr(sampler, 'db_infos') and hasattr(sampler, 'sampler_dict'):
            yield sampler
        inner = getattr(transform, 'transforms', None)
        if isinstance(inner, (list, tuple)):
            stack.extend(inner)


def class_tasks(tasks: Mapping[str, dict],
                classes: Sequence[str]) -> Dict[str, list]:
    """Which instance tasks each class belongs to.

    Args:
        tasks (Mapping): normalized task definitions (see
            ``normalize_tasks``).
        classes (Sequence[str]): the dataset's class names.

    Returns:
        dict: ``{class name: [task, ...]}``; classes in no task are left
        out (their labels are never stripped).
    """
    out: Dict[str, list] = {}
    for task, spec in tasks.items():
        if spec['type'] != 'instances':
            continue
        for name in spec['classes'] or classes:
            out.setdefault(name, []).append(task)
    return out


def filter_database(sampler, masks: Mapping[object, Dict[str, bool]],
                    tasks_of: Mapping[str, Sequence[str]],
                    owner: str = 'NuScenesDomainSplitDataset'
                    ) -> Dict[str, tuple]:
    """Drops database objects whose task is unlabeled where they come from.

    Args:
        sampler: a ``DataBaseSampler``; its ``db_infos`` and
            ``sampler_dict`` are replaced in place.
        masks (Mapping): ``{sample_idx: {task: labeled}}`` of the training
            samples.
        tasks_of (Mapping): ``{class name: [task, ...]}`` (see
            :func:`class_tasks`).
        owner (str): who filters, for the log line.

    Returns:
        dict: ``{class name: (kept, total)}``. An object of a split class
        whose sample is not among ``masks`` cannot be placed and is
        dropped.
    """
    from mmdet3d.datasets.transforms.dbsampler import BatchSampler
    counts = {}
    for name, infos in sampler.db_infos.items():
        tasks = tasks_of.get(name)
        if not tasks:
            counts[name] = (len(infos), len(infos))
            continue
        kept = [info for info in infos
                if _labeled(masks.get(info.get('image_idx')), tasks)]
        counts[name] = (len(kept), len(infos))
        sampler.db_infos[name] = kept
        if name in sampler.sampler_dict:
            sampler.sampler_dict[name] = BatchSampler(kept, name,
                                                      shuffle=True)
    sampler.group_db_infos = sampler.db_infos
    # An emptied class would make ObjectSample stack zero boxes: it is no
    # longer sampled at all.
    empty = {name for name, (kept, _) in counts.items() if not kept}
    if empty:
        pairs = [(c, n) for c, n in zip(sampler.sample_classes,
                                        sampler.sample_max_nums)
                 if c not in empty]
        sampler.sample_classes = [c for c, _ in pairs]
        sampler.sample_max_nums = [n for _, n in pairs]
        sampler.sample_groups = [{c: n} for c, n in pairs]
    dropped = {k: v[1] - v[0] for k, v in counts.items() if v[0] < v[1]}
    print_log(f'{owner}: ObjectSample database {sampler.info_path}: '
              f'dropped objects of unlabeled tasks {dropped or "none"}; '
              f'kept {sum(v[0] for v in counts.values())} of '
              f'{sum(v[1] for v in counts.values())}', logger='current')
    return counts


def _labeled(mask: Optional[Dict[str, bool]], tasks: Sequence[str]) -> bool:
    return mask is not None and all(mask[t] for t in tasks)
