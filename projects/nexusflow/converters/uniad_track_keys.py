"""Official UniAD stage-1 track-decoder keys -> :class:`UniADTrackDecoder`.

Covers the keys the track decoder reads in UniAD's ``uniad_base_track_map``
state dict (``pts_bbox_head.transformer.decoder.*``,
``pts_bbox_head.{cls,reg,past_traj_reg}_branches.*``, and the model-level
``query_embedding.weight`` and ``reference_points.*``). Values are not
changed: the decoder keeps UniAD's class rows and box-code layout.
"""
import re
from typing import Dict, Iterable, List, Mapping, Optional, Tuple

from torch import Tensor

# (official pattern, our replacement); the first match wins. ``{i}`` is
# the decoder layer, ``{rest}`` the brick-internal name, which mmcv's
# MultiheadAttention / FFN / deformable attention share with the official
# modules.
_DECODER = r'pts_bbox_head\.transformer\.decoder\.layers\.(\d+)\.'
TRACK_DECODER_RULES: Tuple[Tuple[str, str], ...] = (
    (_DECODER + r'attentions\.0\.(attn\.(?:in_proj_weight|in_proj_bias|'
     r'out_proj\.weight|out_proj\.bias))$', r'layers.\1.self_attn.\2'),
    (_DECODER + r'attentions\.1\.((?:sampling_offsets|attention_weights|'
     r'value_proj|output_proj)\.(?:weight|bias))$',
     r'layers.\1.cross_attn.\2'),
    (_DECODER + r'ffns\.0\.(layers\.(?:0\.0|1)\.(?:weight|bias))$',
     r'layers.\1.ffn.\2'),
    (_DECODER + r'norms\.([012])\.(weight|bias)$', r'layers.\1.norms.\2.\3'),
    (r'pts_bbox_head\.cls_branches\.(\d+)\.([0-9]+)\.(weight|bias)$',
     r'cls_branches.\1.\2.\3'),
    (r'pts_bbox_head\.reg_branches\.(\d+)\.([0-9]+)\.(weight|bias)$',
     r'reg_branches.\1.\2.\3'),
    (r'pts_bbox_head\.past_traj_reg_branches\.(\d+)\.([0-9]+)\.'
     r'(weight|bias)$', r'traj_branches.\1.\2.\3'),
    (r'query_embedding\.weight$', r'query_embedding.weight'),
    (r'reference_points\.(weight|bias)$', r'reference_points.\1'),
)
_COMPILED = tuple((re.compile(p), r) for p, r in TRACK_DECODER_RULES)
# Official keys that belong to the track decoder (mapped or not).
TRACK_DECODER_SCOPE = re.compile(
    r'^(pts_bbox_head\.transformer\.decoder\.|'
    r'pts_bbox_head\.(cls|reg|past_traj_reg)_branches\.|'
    r'query_embedding\.|reference_points\.)')


def is_track_decoder_key(key: str) -> bool:
    """Whether an official key belongs to the track decoder."""
    return TRACK_DECODER_SCOPE.match(key) is not None


def track_decoder_key(key: str, prefix: str = '') -> Optional[str]:
    """Our name of one official key.

    Args:
        key (str): official UniAD key.
        prefix (str): where the decoder sits in the target model, e.g.
            ``'track_head.decoder.'``; empty for the decoder itself.

    Returns:
        str or None: the key in :class:`UniADTrackDecoder` (with
        ``prefix``), None when no rule covers it.
    """
    for pattern, replacement in _COMPILED:
        if pattern.match(key):
            return prefix + pattern.sub(replacement, key)
    return None


def map_track_decoder_keys(keys: Iterable[str], prefix: str = ''
                           ) -> Tuple[Dict[str, str], List[str]]:
    """Maps the track-decoder keys among ``keys``.

    Keys outside the track decoder (:func:`is_track_decoder_key` false) are
    ignored.

    Args:
        keys (Iterable[str]): official keys.
        prefix (str): see :func:`track_decoder_key`.

    Returns:
        tuple[dict, list]: ``{official: ours}`` and the track-decoder keys
        no rule covers (empty for the official stage-1 model).
    """
    mapping: Dict[str, str] = {}
    unmapped: List[str] = []
    for key in keys:
        if not is_track_decoder_key(key):
            continue
        ours = track_decoder_key(key, prefix)
        if ours is None:
            unmapped.append(key)
        else:
            mapping[key] = ours
    return mapping, unmapped


def convert_track_decoder_state_dict(state_dict: Mapping[str, Tensor],
                                     prefix: str = '',
                                     strict: bool = True
                                     ) -> Dict[str, Tensor]:
    """The track-decoder tensors of an official state dict under our names.

    Args:
        state_dict (Mapping[str, Tensor]): official (sub-)state dict.
        prefix (str): see :func:`track_decoder_key`.
        strict (bool): raise when a track-decoder key is not covered.
            Defaults to True.

    Returns:
        dict[str, Tensor]: the same tensors, renamed.
    """
    mapping, unmapped = map_track_decoder_keys(state_dict, prefix)
    if strict and unmapped:
        raise KeyError(f'convert_track_decoder_state_dict: {len(unmapped)} '
                       f'track-decoder keys have no rule: {unmapped[:5]}')
    return {ours: state_dict[key] for key, ours in mapping.items()}
