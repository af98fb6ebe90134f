"""Official BEVFormer / UniAD checkpoint keys of the image branch and the BEV
encoder, mapped to :class:`~nexusflow.hosts.uniad.BEVFormerEncoder` inside
``UniADTrackMap``.

The official encoder lives in ``pts_bbox_head`` (``bev_embedding``,
``positional_encoding``) and ``pts_bbox_head.transformer`` (``level_embeds``,
``cams_embeds``, ``can_bus_mlp``, ``encoder``); here it is one module,
``bev_encoder``. Every tensor keeps its shape and layout: only names change.
``img_backbone.*`` and ``img_neck.*`` (mmdet ResNet with DCNv2, FPN) keep
their names.
"""
import re
from typing import Dict, List, Mapping, NamedTuple, Optional, Tuple

from torch import Tensor

HEAD = 'pts_bbox_head.'

# (official pattern relative to pts_bbox_head., encoder-relative template)
_ENCODER_RULES: Tuple[Tuple[str, str], ...] = (
    (r'bev_embedding\.weight', 'bev_embedding.weight'),
    (r'positional_encoding\.(row_embed|col_embed)\.weight',
     r'positional_encoding.\1.weight'),
    (r'transformer\.(level_embeds|cams_embeds)', r'\1'),
    (r'transformer\.can_bus_mlp\.0\.(weight|bias)', r'can_bus_mlp.fc_in.\1'),
    (r'transformer\.can_bus_mlp\.2\.(weight|bias)', r'can_bus_mlp.fc_out.\1'),
    (r'transformer\.can_bus_mlp\.norm\.(weight|bias)',
     r'can_bus_mlp.norm.\1'),
    (r'transformer\.encoder\.layers\.(\d+)\.attentions\.0\.'
     r'(sampling_offsets|attention_weights|value_proj|output_proj)\.'
     r'(weight|bias)', r'layers.\1.temporal_attn.\2.\3'),
    (r'transformer\.encoder\.layers\.(\d+)\.attentions\.1\.'
     r'deformable_attention\.(sampling_offsets|attention_weights|value_proj)'
     r'\.(weight|bias)', r'layers.\1.spatial_attn.deformable_attention.\2.\3'),
    (r'transformer\.encoder\.layers\.(\d+)\.attentions\.1\.output_proj\.'
     r'(weight|bias)', r'layers.\1.spatial_attn.output_proj.\2'),
    (r'transformer\.encoder\.layers\.(\d+)\.ffns\.0\.layers\.(0\.0|1)\.'
     r'(weight|bias)', r'layers.\1.ffn.layers.\2.\3'),
    (r'transformer\.encoder\.layers\.(\d+)\.norms\.([012])\.(weight|bias)',
     r'layers.\1.norms.\2.\3'),
)
_COMPILED = tuple((re.compile(pattern), template)
                  for pattern, template in _ENCODER_RULES)

#: Official key prefixes this module is responsible for.
ENCODER_PREFIXES = (
    HEAD + 'bev_embedding.', HEAD + 'positional_encoding.',
    HEAD + 'transformer.level_embeds', HEAD + 'transformer.cams_embeds',
    HEAD + 'transformer.can_bus_mlp.', HEAD + 'transformer.encoder.')
IMAGE_PREFIXES = ('img_backbone.', 'img_neck.')


class KeyConversion(NamedTuple):
    """Result of :func:`convert_bevformer_encoder_keys`.

    Attributes:
        state_dict (dict[str, Tensor]): converted tensors under this
            project's names.
        mapping (dict[str, str]): official name -> project name.
        unmapped (list[str]): official keys under :data:`ENCODER_PREFIXES`
            or :data:`IMAGE_PREFIXES` that no rule maps (should be empty).
        ignored (list[str]): official keys outside those prefixes (the
            decoder, heads, ...), left to the other converters.
        shape_mismatches (list[tuple[str, tuple, tuple]]): ``(project name,
            official shape, target shape)`` where a ``target`` was given and
            the shapes differ.
        missing (list[str]): ``target`` keys under the encoder / image
            prefixes that no official tensor filled.
    """
    state_dict: Dict[str, Tensor]
    mapping: Dict[str, str]
    unmapped: List[str]
    ignored: List[str]
    shape_mismatches: List[Tuple[str, tuple, tuple]]
    missing: List[str]


def bevformer_encoder_key(key: str,
                          encoder_prefix: str = 'bev_encoder.'
                          ) -> Optional[str]:
    """This project's name of one official image-branch or encoder key.

    Args:
        key (str): official key, e.g.
            ``pts_bbox_head.transformer.encoder.layers.0.attentions.0.
            value_proj.weight``.
        encoder_prefix (str): where the encoder sits in the target model
            (``''`` for a bare :class:`BEVFormerEncoder`).

    Returns:
        str | None: e.g. ``bev_encoder.layers.0.temporal_attn.value_proj.
        weight``; the key itself for ``img_backbone.*`` / ``img_neck.*``;
        None if no rule maps it.
    """
    if key.startswith(IMAGE_PREFIXES):
        return key
    if not key.startswith(HEAD):
        return None
    rest = key[len(HEAD):]
    for pattern, template in _COMPILED:
        match = pattern.fullmatch(rest)
        if match:
            return encoder_prefix + match.expand(template)
    return None


def convert_bevformer_encoder_keys(
        state_dict: Mapping[str, Tensor],
        encoder_prefix: str = 'bev_encoder.',
        target: Optional[Mapping[str, Tensor]] = None,
        with_image: bool = True) -> KeyConversion:
    """Converts the image branch and BEV encoder of an official BEVFormer or
    UniAD state dict.

    Args:
        state_dict (Mapping[str, Tensor]): official state dict (the
            ``state_dict`` entry of the checkpoint).
        encoder_prefix (str): where the encoder sits in the target model.
            Defaults to ``'bev_encoder.'`` (``UniADTrackMap``).
        target (Mapping[str, Tensor], optional): the target model's state
            dict, to check shapes and report target keys left unfilled.
        with_image (bool): also map ``img_backbone.*`` / ``img_neck.*``.
            Defaults to True.

    Returns:
        KeyConversion: converted tensors and the bookkeeping.
    """
    prefixes = ENCODER_PREFIXES + (IMAGE_PREFIXES if with_image else ())
    converted, mapping, unmapped, ignored = {}, {}, [], []
    for key, value in state_dict.items():
        if not key.startswith(prefixes):
            ignored.append(key)
            continue
        name = bevformer_encoder_key(key, encoder_prefix)
        if name is None:
            unmapped.append(key)
            continue
        converted[name] = value
        mapping[key] = name
    mismatches, missing = [], []
    if target is not None:
        for name, value in converted.items():
            if name in target and tuple(target[name].shape) != tuple(
                    value.shape):
                mismatches.append((name, tuple(value.shape),
                                   tuple(target[name].shape)))
        ours = (encoder_prefix, ) + (IMAGE_PREFIXES if with_image else ())
        missing = [
            name for name in target
            if name.startswith(ours) and name not in converted
        ]
    return KeyConversion(converted, mapping, unmapped, ignored, mismatches,
                         missing)
