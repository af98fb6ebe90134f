"""Official UniAD stage-1 ``seg_head.*`` keys -> :class:`UniADPanopticMapHead`.

Every official seg-head tensor is either renamed (values and shapes
unchanged) or dropped on purpose:

* ``seg_head.bev_embedding.weight``: built by ``PansegformerHead`` but never
  read (the head takes the track head's BEV);
* ``seg_head.reg_branches2.*`` and ``seg_head.cls_thing_branches.*``: the
  thing-mask decoder's box and class branches, whose losses UniAD multiplies
  by 0 and which inference never reads.
"""
import re
from typing import Dict, List, Mapping, Tuple, TypeVar

Value = TypeVar('Value')

# Deformable-attention parameters, same names in mmcv's module.
_MSDA = r'((?:sampling_offsets|attention_weights|value_proj|output_proj)\.' \
    r'(?:weight|bias))$'
_FFN = r'ffns\.0\.(layers\.(?:0\.0|1)\.(?:weight|bias))$'
_NORM = r'norms\.(\d)\.(weight|bias)$'
_ENC = r'seg_head\.transformer\.encoder\.layers\.(\d+)\.'
_DEC = r'seg_head\.transformer\.decoder\.layers\.(\d+)\.'
_MASK = r'seg_head\.(things|stuff)_mask_head\.'
_WB = r'(weight|bias)$'

# (official pattern, our replacement); the first match wins. Replacements
# starting with '=' name the mask decoder by the group 'things'/'stuff'.
SEG_HEAD_RULES: Tuple[Tuple[str, str], ...] = (
    (r'seg_head\.transformer\.level_embeds$', 'transformer.level_embeds'),
    (r'seg_head\.transformer\.reference_points\.' + _WB,
     r'transformer.reference_points.\1'),
    (_ENC + r'attentions\.0\.' + _MSDA,
     r'transformer.encoder.layers.\1.self_attn.\2'),
    (_ENC + _FFN, r'transformer.encoder.layers.\1.ffn.\2'),
    (_ENC + _NORM, r'transformer.encoder.layers.\1.norms.\2.\3'),
    (_DEC + r'attentions\.0\.(attn\.(?:in_proj_weight|in_proj_bias|'
     r'out_proj\.weight|out_proj\.bias))$',
     r'transformer.decoder.layers.\1.self_attn.\2'),
    (_DEC + r'attentions\.1\.' + _MSDA,
     r'transformer.decoder.layers.\1.cross_attn.\2'),
    (_DEC + _FFN, r'transformer.decoder.layers.\1.ffn.\2'),
    (_DEC + _NORM, r'transformer.decoder.layers.\1.norms.\2.\3'),
    (r'seg_head\.cls_branches\.(\d+)\.' + _WB, r'cls_branches.\1.\2'),
    (r'seg_head\.reg_branches\.(\d+)\.(\d+)\.' + _WB,
     r'reg_branches.\1.\2.\3'),
    (r'seg_head\.cls_stuff_branches\.(\d+)\.' + _WB,
     r'cls_stuff_branches.\1.\2'),
    (r'seg_head\.query_embedding\.weight$', 'query_embedding.weight'),
    (r'seg_head\.stuff_query\.weight$', 'stuff_query.weight'),
    # Mask decoders: blocks.{i} -> layers.{i}, attnen -> final_attn.
    (_MASK + r'blocks\.(\d+)\.attn\.(q|k|v)\.' + _WB,
     r'=\1.layers.\2.cross_attn.\3_proj.\4'),
    (_MASK + r'blocks\.(\d+)\.attn\.proj\.' + _WB,
     r'=\1.layers.\2.cross_attn.out_proj.\3'),
    (_MASK + r'blocks\.(\d+)\.attn\.linear_l1\.0\.' + _WB,
     r'=\1.layers.\2.cross_attn.head_mix.0.\3'),
    (_MASK + r'blocks\.(\d+)\.attn\.linear\.0\.' + _WB,
     r'=\1.layers.\2.cross_attn.to_mask.0.\3'),
    (_MASK + r'blocks\.(\d+)\.head_norm1\.' + _WB,
     r'=\1.layers.\2.norm1.\3'),
    (_MASK + r'blocks\.(\d+)\.head_norm2\.' + _WB,
     r'=\1.layers.\2.norm2.\3'),
    (_MASK + r'blocks\.(\d+)\.norm3\.' + _WB, r'=\1.layers.\2.self_norm.\3'),
    (_MASK + r'blocks\.(\d+)\.mlp\.fc1\.' + _WB,
     r'=\1.layers.\2.ffn.layers.0.0.\3'),
    (_MASK + r'blocks\.(\d+)\.mlp\.fc2\.' + _WB,
     r'=\1.layers.\2.ffn.layers.1.\3'),
    (_MASK + r'blocks\.(\d+)\.self_attention\.qkv\.' + _WB,
     r'=\1.layers.\2.self_attn.attn.in_proj_\3'),
    (_MASK + r'blocks\.(\d+)\.self_attention\.proj\.' + _WB,
     r'=\1.layers.\2.self_attn.attn.out_proj.\3'),
    (_MASK + r'attnen\.(q|k)\.' + _WB, r'=\1.final_attn.\2_proj.\3'),
    (_MASK + r'attnen\.linear_l1\.0\.' + _WB,
     r'=\1.final_attn.head_mix.0.\2'),
    (_MASK + r'attnen\.linear\.0\.' + _WB, r'=\1.final_attn.to_mask.0.\2'),
)
_COMPILED = tuple((re.compile(p), r) for p, r in SEG_HEAD_RULES)
_DECODERS = dict(things='thing_decoder', stuff='stuff_decoder')

# Official seg-head tensors this head does not hold, and why.
SEG_HEAD_DROPPED: Tuple[Tuple[str, str], ...] = (
    (r'seg_head\.bev_embedding\.weight$', 'never read (the BEV comes from '
     'the track head)'),
    (r'seg_head\.reg_branches2\.', 'thing-mask-decoder box branch: loss x0, '
     'not read at inference'),
    (r'seg_head\.cls_thing_branches\.', 'thing-mask-decoder class branch: '
     'loss x0, not read at inference'),
)
_DROPPED = tuple((re.compile(p), why) for p, why in SEG_HEAD_DROPPED)


def seg_head_key(key: str, prefix: str = '') -> str:
    """Our name of one official ``seg_head.*`` key.

    Args:
        key (str): official key.
        prefix (str): where the head sits in the target model (e.g.
            ``'map_head.'``); empty for the head itself.

    Returns:
        str: the key in :class:`UniADPanopticMapHead` with ``prefix``.

    Raises:
        KeyError: no rule covers the key (also for dropped keys).
    """
    for pattern, replacement in _COMPILED:
        match = pattern.match(key)
        if match is None:
            continue
        ours = pattern.sub(replacement, key)
        if ours.startswith('='):
            group, rest = ours[1:].split('.', 1)
            ours = f'{_DECODERS[group]}.{rest}'
        return prefix + ours
    raise KeyError(f'seg_head_key: no rule for the official key {key}')


def drop_reason(key: str) -> str:
    """Why an official seg-head key is dropped; empty if it is not."""
    for pattern, why in _DROPPED:
        if pattern.match(key):
            return why
    return ''


def convert_seg_head_state_dict(
        state_dict: Mapping[str, Value],
        prefix: str = '') -> Tuple[Dict[str, Value], List[str]]:
    """The ``seg_head.*`` items of an official state dict under our names.

    The transformer's deformable attentions keep all 4 levels' rows (the
    head is built with ``num_levels=4`` and ``cuda_level_layout=True``, the
    official reading of them). Keys outside ``seg_head.`` are ignored.

    Args:
        state_dict (Mapping[str, Value]): official (sub-)state dict;
            values are passed through (tensors, or shapes for a dry run).
        prefix (str): see :func:`seg_head_key`.

    Returns:
        tuple[dict, list]: ``{our key: value}`` and the official keys
        dropped on purpose (:data:`SEG_HEAD_DROPPED`).

    Raises:
        KeyError: a ``seg_head.`` key that is neither mapped nor dropped.
    """
    mapped: Dict[str, Value] = {}
    dropped: List[str] = []
    unknown: List[str] = []
    for key, value in state_dict.items():
        if not key.startswith('seg_head.'):
            continue
        if drop_reason(key):
            dropped.append(key)
            continue
        try:
            mapped[seg_head_key(key, prefix)] = value
        except KeyError:
            unknown.append(key)
    if unknown:
        raise KeyError(f'convert_seg_head_state_dict: {len(unknown)} '
                       f'seg_head keys have no rule: {unknown[:5]}')
    return mapped, dropped
