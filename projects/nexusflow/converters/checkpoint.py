"""Official BEVFormer / UniAD checkpoints -> this project's ``UniADTrackMap``.

``tools/convert_checkpoint.py`` is a thin CLI over this module. Two kinds of
input are understood, both plain mmcv-1.x checkpoints (``state_dict`` +
``meta``):

- ``bevformer``: ``bevformer_r101_dcn_24ep.pth`` (BEVFormer-base), where
  UniAD stage 1 starts (its ``load_from``);
- ``uniad``: ``uniad_base_track_map.pth`` (UniAD stage 1, track + map).

Every official tensor is either mapped (renamed by
:mod:`.bevformer_keys` for the image branch and the BEV encoder, by
:mod:`.uniad_track_keys` for the track decoder and by
:mod:`.uniad_seg_keys` for UniAD's panoptic map head, ``seg_head.*`` ->
``map_head.*``; values unchanged except the class rows, below), dropped on
purpose (a named group: a module this project does not have, or a tensor
UniAD itself never reads) or unmapped (nothing covers it; 0 for the
official stage-1 layouts).

Class rows: the official heads score the 10 nuScenes detection classes
(:data:`OFFICIAL_CLASSES`); the last Linear of every ``cls_branches.*``
keeps the rows of this project's classes (by default all 10, UniAD's
training classes,
:data:`~nexusflow.structures.nuscenes_meta.DETECTION_CLASSES`; a head over
a subset, e.g. the 7 tracking classes, gets those rows), in this
project's order. The regression rows are not touched: the track head turns
UniAD's box code (mmdet3d 0.17 convention) into mmdet3d 1.x's in code
(:func:`~nexusflow.hosts.uniad.box_coder.uniad_codes_to_lidar`).
"""
import os
import os.path as osp
import re
from collections import OrderedDict
from typing import Dict, List, Mapping, NamedTuple, Optional, Sequence, Tuple

import torch
from torch import Tensor

from ..structures.nuscenes_meta import DETECTION_CLASSES
from .bevformer_keys import bevformer_encoder_key
from .uniad_seg_keys import SEG_HEAD_DROPPED, seg_head_key
from .uniad_track_keys import is_track_decoder_key, track_decoder_key

#: The official heads' classes, in their row order (BEVFormer's and UniAD's
#: ``class_names``), which this project's infos and heads use too.
OFFICIAL_CLASSES = DETECTION_CLASSES
KINDS = ('bevformer', 'uniad')
#: Where each official file comes from, and the converted file the configs
#: load (``ckpts/<converted>``).
OFFICIAL_CHECKPOINTS = {
    'bevformer': dict(
        file='bevformer_r101_dcn_24ep.pth',
        url='https://github.com/zhiqi-li/storage/releases/download/v1.0/'
        'bevformer_r101_dcn_24ep.pth',
        converted='bevformer_r101_dcn_24ep_nexusflow.pth'),
    'uniad': dict(
        file='uniad_base_track_map.pth',
        url='https://github.com/OpenDriveLab/UniAD/releases/download/v1.0/'
        'uniad_base_track_map.pth',
        converted='uniad_base_track_map_nexusflow.pth'),
}
ENCODER_PREFIX = 'bev_encoder.'
DECODER_PREFIX = 'track_head.decoder.'
MAP_HEAD_PREFIX = 'map_head.'
QUERY_UPDATE_PREFIX = 'track_head.query_update.'
# Keys that tell the two kinds apart: BEVFormer's detection queries sit in
# its head, UniAD's track queries at the model level.
_SIGNATURES = {
    'bevformer': ('pts_bbox_head.query_embedding.weight', 'query_embedding.'
                  'weight'),
    'uniad': ('query_embedding.weight', 'pts_bbox_head.query_embedding.'
              'weight'),
}
_WHAT = {
    'bevformer': 'the official BEVFormer checkpoint (bevformer_r101_dcn_'
    '24ep.pth: pts_bbox_head.query_embedding, no model-level '
    'query_embedding)',
    'uniad': 'the official UniAD stage-1 checkpoint (uniad_base_track_map.'
    'pth: model-level query_embedding, query_interact, seg_head)',
}
_CLS_LAST = re.compile(r'^pts_bbox_head\.cls_branches\.(\d+)\.(\d+)\.'
                       r'(weight|bias)$')

# (group, official key pattern, why it is dropped); the first match wins.
_BEVFORMER_DROPPED: Tuple[Tuple[str, str, str], ...] = (
    ('detection queries', r'pts_bbox_head\.query_embedding\.|'
     r'pts_bbox_head\.transformer\.reference_points\.',
     "BEVFormer's 900 detection queries and their reference-point layer; "
     'UniAD stage 1 does not load them either (its track queries are the '
     'model-level query_embedding, 900 + 1 ego rows, and reference_points)'),
    ('loss weights', r'pts_bbox_head\.code_weights$',
     'a loss setting (the track head takes code_weights from its config)'),
)


def _seg_group(pattern: str) -> str:
    """A readable group name of a seg-head drop pattern, e.g.
    ``seg_head.reg_branches2.*``."""
    name = pattern.replace('\\.', '.').rstrip('$')
    return name + '*' if name.endswith('.') else name


_UNIAD_DROPPED: Tuple[Tuple[str, str, str], ...] = tuple(
    (_seg_group(pattern), pattern, f'UniAD panoptic map head: {why}')
    for pattern, why in SEG_HEAD_DROPPED) + (
    ('later-stage heads (motion, occupancy, planning)',
     r'(motion_head|occ_head|planning_head)\.',
     'UniAD stage-2 heads; this project trains stage 1 (track + map)'),
    ('loss weights', r'(criterion\.|pts_bbox_head\.code_weights$)',
     'loss settings (the track head takes code_weights from its config)'),
)
DROPPED_GROUPS = {
    'bevformer': tuple((g, re.compile(p), w) for g, p, w in
                       _BEVFORMER_DROPPED),
    'uniad': tuple((g, re.compile(p), w) for g, p, w in _UNIAD_DROPPED),
}


class CheckpointConversion(NamedTuple):
    """Result of :func:`convert_official_state_dict`.

    Attributes:
        state_dict (OrderedDict[str, Tensor]): tensors under this
            project's names (``UniADTrackMap``).
        mapping (dict[str, str]): official name -> project name.
        dropped (dict[str, list[str]]): group -> official keys dropped on
            purpose (see :data:`DROPPED_GROUPS` for the reasons).
        unmapped (list[str]): official keys nothing covers.
        class_rows (list[int]): official class rows kept, in our order.
    """
    state_dict: 'OrderedDict[str, Tensor]'
    mapping: Dict[str, str]
    dropped: Dict[str, List[str]]
    unmapped: List[str]
    class_rows: List[int]

    @property
    def num_dropped(self) -> int:
        return sum(len(keys) for keys in self.dropped.values())


def class_rows(classes: Sequence[str] = DETECTION_CLASSES) -> List[int]:
    """Rows of the official class branches that hold ``classes``.

    Args:
        classes (Sequence[str]): this project's classes, in its order.

    Returns:
        list[int]: indices into :data:`OFFICIAL_CLASSES`.
    """
    unknown = [name for name in classes if name not in OFFICIAL_CLASSES]
    if unknown or not classes or len(set(classes)) != len(classes):
        raise ValueError(f'classes must be distinct names among the official '
                         f'classes {list(OFFICIAL_CLASSES)}, got '
                         f'{list(classes)}')
    return [OFFICIAL_CLASSES.index(name) for name in classes]


def check_kind(state_dict: Mapping[str, Tensor], kind: str,
               source: str = 'the state dict') -> None:
    """Raises ValueError unless ``state_dict`` is an official ``kind``
    checkpoint.

    Args:
        state_dict (Mapping[str, Tensor]): the checkpoint's state dict.
        kind (str): ``'bevformer'`` or ``'uniad'``.
        source (str): the file, for the message.
    """
    if kind not in KINDS:
        raise ValueError(f'unknown checkpoint kind {kind!r}; expected one '
                         f'of {list(KINDS)}')
    need, other = _SIGNATURES[kind]
    if need in state_dict and other not in state_dict and any(
            key.startswith('pts_bbox_head.transformer.encoder.')
            for key in state_dict):
        return
    found = ''
    other_kind = next(k for k in KINDS if k != kind)
    if any(key.startswith(ENCODER_PREFIX) for key in state_dict):
        found = ' (it looks already converted: it has bev_encoder.* keys)'
    elif _SIGNATURES[other_kind][0] in state_dict:
        found = f' (it looks like a {other_kind} checkpoint)'
    raise ValueError(f'{source} is not {_WHAT[kind]}{found}')


def _drop_group(key: str, kind: str) -> Optional[str]:
    for group, pattern, _ in DROPPED_GROUPS[kind]:
        if pattern.match(key):
            return group
    return None


def official_key(key: str) -> Optional[str]:
    """This project's name of one official key (image branch, BEV encoder,
    track decoder, track query update or panoptic map head), None if no rule
    maps it."""
    if key.startswith('seg_head.'):
        try:
            return seg_head_key(key, MAP_HEAD_PREFIX)
        except KeyError:
            return None
    if key.startswith(('query_interact.', 'memory_bank.')):
        # TrackQueryUpdate holds both under UniAD's own names.
        return QUERY_UPDATE_PREFIX + key
    name = bevformer_encoder_key(key, ENCODER_PREFIX)
    if name is None and is_track_decoder_key(key):
        name = track_decoder_key(key, DECODER_PREFIX)
    return name


def convert_official_state_dict(
        state_dict: Mapping[str, Tensor],
        kind: str,
        classes: Sequence[str] = DETECTION_CLASSES) -> CheckpointConversion:
    """Converts an official BEVFormer / UniAD state dict.

    Args:
        state_dict (Mapping[str, Tensor]): the official ``state_dict``.
        kind (str): ``'bevformer'`` or ``'uniad'``.
        classes (Sequence[str]): the classes the target track head scores,
            in its order. Defaults to all 10 (UniAD's training classes).

    Returns:
        CheckpointConversion: converted tensors and the bookkeeping.

    Raises:
        ValueError: wrong kind of state dict, unknown classes, or class
            branches without one row per official class.
    """
    check_kind(state_dict, kind)
    rows = class_rows(classes)
    last = {}
    for key in state_dict:
        match = _CLS_LAST.match(key)
        if match:
            branch, index = int(match.group(1)), int(match.group(2))
            last[branch] = max(last.get(branch, -1), index)
    converted: 'OrderedDict[str, Tensor]' = OrderedDict()
    mapping: Dict[str, str] = {}
    dropped: Dict[str, List[str]] = {}
    unmapped: List[str] = []
    for key, value in state_dict.items():
        group = _drop_group(key, kind)
        if group is not None:
            dropped.setdefault(group, []).append(key)
            continue
        name = official_key(key)
        if name is None:
            unmapped.append(key)
            continue
        match = _CLS_LAST.match(key)
        if match and int(match.group(2)) == last[int(match.group(1))]:
            if value.shape[0] != len(OFFICIAL_CLASSES):
                raise ValueError(
                    f'{key} has {value.shape[0]} rows; the official class '
                    f'branches score {len(OFFICIAL_CLASSES)} classes '
                    f'{list(OFFICIAL_CLASSES)}')
            value = value[rows].clone()
        converted[name] = value
        mapping[key] = name
    return CheckpointConversion(converted, mapping, dropped, unmapped, rows)


def summary_lines(conversion: CheckpointConversion, kind: str) -> List[str]:
    """What was mapped, dropped (by group, with the reason) and unmapped."""
    total = len(conversion.mapping) + conversion.num_dropped + len(
        conversion.unmapped)
    lines = [f'{kind}: {total} tensors: {len(conversion.mapping)} mapped / '
             f'{conversion.num_dropped} dropped / '
             f'{len(conversion.unmapped)} unmapped']
    names = [OFFICIAL_CLASSES[row] for row in conversion.class_rows]
    lines.append(f'  class rows kept (official index -> ours): '
                 f'{conversion.class_rows} = {names}')
    reasons = {group: why for group, _, why in DROPPED_GROUPS[kind]}
    for group, keys in conversion.dropped.items():
        lines.append(f'  dropped {group}: {len(keys)} ({reasons[group]})')
    for key in conversion.unmapped[:20]:
        lines.append(f'  unmapped: {key}')
    if len(conversion.unmapped) > 20:
        lines.append(f'  ... {len(conversion.unmapped) - 20} more unmapped')
    return lines


def _plain_meta(meta) -> dict:
    """The official meta's plain entries (str / numbers / lists of them)."""
    plain = (str, int, float, bool)
    kept = {}
    for key, value in (meta or {}).items():
        if isinstance(value, plain) or (
                isinstance(value, (list, tuple)) and all(
                    isinstance(v, plain) for v in value)):
            kept[str(key)] = list(value) if isinstance(value, tuple) \
                else value
    return kept


def convert_checkpoint_file(src: str,
                            dst: str,
                            kind: str,
                            classes: Sequence[str] = DETECTION_CLASSES,
                            allow_unmapped: bool = False
                            ) -> Tuple[CheckpointConversion, List[str]]:
    """Converts an official checkpoint file; never overwrites ``dst``.

    Args:
        src (str): the official ``.pth``.
        dst (str): where the converted checkpoint goes (must not exist).
        kind (str): ``'bevformer'`` or ``'uniad'``.
        classes (Sequence[str]): see :func:`convert_official_state_dict`.
        allow_unmapped (bool): write even if some keys are unmapped (they
            are left out). Defaults to False.

    Returns:
        tuple[CheckpointConversion, list[str]]: the conversion and its
        :func:`summary_lines`.

    Raises:
        FileExistsError: ``dst`` exists.
        FileNotFoundError / ValueError: ``src`` missing, not a checkpoint,
            or not a ``kind`` checkpoint (the message names the file and
            what was expected).
    """
    from ..utils.checkpoint import load_checkpoint_file
    if kind not in KINDS:
        raise ValueError(f'unknown checkpoint kind {kind!r}; expected one '
                         f'of {list(KINDS)}')
    if osp.lexists(dst):
        raise FileExistsError(f'{dst} exists; the converter never '
                              f'overwrites (remove it or choose another '
                              f'output path)')
    expected = _WHAT[kind]
    if not osp.isfile(src):
        raise FileNotFoundError(f'{src} does not exist; expected {expected}'
                                f', from {OFFICIAL_CHECKPOINTS[kind]["url"]}')
    try:
        ckpt = load_checkpoint_file(src)
    except ValueError as err:
        raise ValueError(f'{err}; expected {expected}') from None
    state_dict = ckpt['state_dict']
    if not all(isinstance(v, Tensor) for v in state_dict.values()):
        raise ValueError(f'{src}: its state_dict holds non-tensor values; '
                         f'expected {expected}')
    check_kind(state_dict, kind, source=src)
    conversion = convert_official_state_dict(state_dict, kind, classes)
    lines = summary_lines(conversion, kind)
    if conversion.unmapped and not allow_unmapped:
        raise ValueError(
            f'{src}: {len(conversion.unmapped)} tensors are neither mapped '
            f'nor dropped on purpose (first: '
            f'{conversion.unmapped[:3]}); nothing written (pass '
            f'--allow-unmapped to write the mapped ones)')
    meta = dict(
        converted_from=osp.basename(src), source_kind=kind,
        classes=list(classes),
        converter='tools/convert_checkpoint.py',
        counts=dict(mapped=len(conversion.mapping),
                    dropped={g: len(k) for g, k in conversion.dropped.items()},
                    unmapped=len(conversion.unmapped)),
        source_meta=_plain_meta(ckpt.get('meta')))
    folder = osp.dirname(osp.abspath(dst))
    if not osp.isdir(folder):
        raise FileNotFoundError(f'the output folder {folder} does not exist')
    # 'x': dst is never overwritten, even if it appears meanwhile.
    try:
        with open(dst, 'xb') as f:
            torch.save(dict(meta=meta, state_dict=conversion.state_dict), f)
    except FileExistsError:
        raise FileExistsError(f'{dst} exists; the converter never '
                              f'overwrites') from None
    except BaseException:
        if osp.isfile(dst):
            os.remove(dst)
        raise
    return conversion, lines
