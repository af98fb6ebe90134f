"""A slow, loop-based BEVFormer encoder written from the rules of
``shared/reference/uniad_cases/README.md`` (not from the module under test):
it reads the OFFICIAL key names, samples bilinearly with its own gather code
and rotates the previous BEV pixel by pixel. Batch size 1 only.

Used to check :class:`nexusflow.hosts.uniad.BEVFormerEncoder` on frames the
shared cases do not cover (a previous BEV, shift and rotation); the parity
test first checks this reference itself against the official first-frame
case.
"""
import math
from typing import Dict, List, Optional, Sequence, Tuple

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor

HEAD = 'pts_bbox_head.'
T = HEAD + 'transformer.'


def official_encoder_keys(num_layers: int) -> List[str]:
    """Official names of every encoder-related tensor (UniAD stage 1)."""
    keys = [HEAD + 'bev_embedding.weight',
            HEAD + 'positional_encoding.row_embed.weight',
            HEAD + 'positional_encoding.col_embed.weight',
            T + 'level_embeds', T + 'cams_embeds']
    for part in ('0', '2', 'norm'):
        keys += [f'{T}can_bus_mlp.{part}.{kind}'
                 for kind in ('weight', 'bias')]
    for i in range(num_layers):
        layer = f'{T}encoder.layers.{i}.'
        names = [f'attentions.0.{n}' for n in (
            'sampling_offsets', 'attention_weights', 'value_proj',
            'output_proj')]
        names += [f'attentions.1.deformable_attention.{n}' for n in (
            'sampling_offsets', 'attention_weights', 'value_proj')]
        names += ['attentions.1.output_proj', 'ffns.0.layers.0.0',
                  'ffns.0.layers.1', 'norms.0', 'norms.1', 'norms.2']
        for name in names:
            keys += [layer + name + '.weight', layer + name + '.bias']
    return keys


def bilinear(image: Tensor, x: Tensor, y: Tensor) -> Tensor:
    """Samples ``image`` ``(C, h, w)`` at normalised ``(x, y)`` (any equal
    shapes): pixel centres at ``(i + 0.5) / size``, zero outside.

    Returns:
        Tensor: ``(*x.shape, C)``.
    """
    channels, height, width = image.shape
    table = image.reshape(channels, -1).t()
    px = x.reshape(-1) * width - 0.5
    py = y.reshape(-1) * height - 0.5
    x0, y0 = torch.floor(px), torch.floor(py)
    out = image.new_zeros(px.shape[0], channels)
    for dx in (0, 1):
        for dy in (0, 1):
            xi, yi = x0 + dx, y0 + dy
            weight = (1 - (px - xi).abs()) * (1 - (py - yi).abs())
            inside = (xi >= 0) & (xi < width) & (yi >= 0) & (yi < height)
            flat = (yi.clamp(0, height - 1) * width +
                    xi.clamp(0, width - 1)).long()
            out += table.index_select(0, flat) * (weight * inside)[:, None]
    return out.view(*x.shape, channels)


def rotate_nearest(image: Tensor, angle_deg: float,
                   center: Sequence[float]) -> Tensor:
    """torchvision's ``rotate`` (nearest, fill 0) pixel by pixel: output
    pixel ``(c, r)`` reads the input at ``R(angle)`` applied to its centre
    relative to ``center`` (``(x, y)`` pixels, pixel ``i`` spanning ``[i, i +
    1)``), rounded half to even."""
    _, height, width = image.shape
    cos, sin = math.cos(math.radians(angle_deg)), math.sin(
        math.radians(angle_deg))
    out = torch.zeros_like(image)
    for r in range(height):
        for c in range(width):
            x, y = c + 0.5 - center[0], r + 0.5 - center[1]
            src_c = round(cos * x - sin * y + center[0] - 0.5)
            src_r = round(sin * x + cos * y + center[1] - 0.5)
            if 0 <= src_c < width and 0 <= src_r < height:
                out[:, r, c] = image[:, src_r, src_c]
    return out


def _linear(sd: Dict[str, Tensor], name: str, x: Tensor) -> Tensor:
    return x @ sd[name + '.weight'].t() + sd[name + '.bias']


def _norm(sd: Dict[str, Tensor], name: str, x: Tensor) -> Tensor:
    return F.layer_norm(x, x.shape[-1:], sd[name + '.weight'],
                        sd[name + '.bias'], 1e-5)


def reference_encoder(sd: Dict[str, Tensor], feats: List[Tensor],
                      lidar2img: np.ndarray, image_hw: Tuple[int, int],
                      can_bus: np.ndarray, bev_size: Tuple[int, int],
                      pc_range: Sequence[float], num_layers: int,
                      num_heads: int, num_anchors: int, tsa_points: int,
                      sca_points: int, rotate_center: Sequence[float],
                      prev_bev: Optional[Tensor] = None) -> Dict[str, Tensor]:
    """The encoder of one frame.

    Args:
        sd (dict): official-named tensors (:func:`official_encoder_keys`).
        feats (list[Tensor]): per level ``(1, N, C, h, w)``.
        lidar2img (np.ndarray): ``(N, 4, 4)``.
        image_hw (tuple[int, int]): ``(H, W)`` of the padded image.
        can_bus (np.ndarray): ``(18,)`` in delta form.
        bev_size (tuple[int, int]): ``(bev_h, bev_w)``.
        pc_range (Sequence[float]): point-cloud range.
        num_layers, num_heads, num_anchors, tsa_points, sca_points (int):
            sizes.
        rotate_center (Sequence[float]): ``(x, y)`` pixels.
        prev_bev (Tensor, optional): ``(bev_h * bev_w, C)`` previous BEV.

    Returns:
        dict: ``bev`` ``(HW, C)``, ``layers`` (list), ``can_bus_embed``
        ``(C,)``, ``shift`` ``(2,)``, ``ref_cam`` ``(N, HW, D, 2)``,
        ``mask`` ``(N, HW, D)``, ``prev_rotated``.
    """
    bev_h, bev_w = bev_size
    num_q = bev_h * bev_w
    dims = sd[HEAD + 'bev_embedding.weight'].shape[1]
    head_dims = dims // num_heads
    num_cams = lidar2img.shape[0]
    # CAN bus MLP -> every query.
    can = torch.tensor(np.asarray(can_bus, dtype=np.float64),
                       dtype=torch.float32)
    hidden = torch.relu(_linear(sd, T + 'can_bus_mlp.0', can))
    hidden = torch.relu(_linear(sd, T + 'can_bus_mlp.2', hidden))
    can_embed = _norm(sd, T + 'can_bus_mlp.norm', hidden)
    queries0 = sd[HEAD + 'bev_embedding.weight'] + can_embed
    # Learned positional encoding: column part, then row part.
    col = sd[HEAD + 'positional_encoding.col_embed.weight']
    row = sd[HEAD + 'positional_encoding.row_embed.weight']
    pos = torch.zeros(num_q, dims)
    for h in range(bev_h):
        for w in range(bev_w):
            pos[h * bev_w + w] = torch.cat([col[w], row[h]])
    # Shift, in float64 like the official numpy code.
    real_h, real_w = pc_range[4] - pc_range[1], pc_range[3] - pc_range[0]
    dx, dy = float(can_bus[0]), float(can_bus[1])
    length = math.hypot(dx, dy)
    bev_angle = math.degrees(can_bus[16]) - math.degrees(math.atan2(dy, dx))
    shift = torch.tensor([
        length * math.sin(math.radians(bev_angle)) / (real_w / bev_w) /
        bev_w,
        length * math.cos(math.radians(bev_angle)) / (real_h / bev_h) / bev_h
    ], dtype=torch.float32)
    # 2-D references: the in-place shift reaches both queue entries.
    ref_2d = torch.zeros(num_q, 2)
    for h in range(bev_h):
        for w in range(bev_w):
            ref_2d[h * bev_w + w] = torch.tensor(
                [(w + 0.5) / bev_w, (h + 0.5) / bev_h])
    ref_2d = ref_2d + shift
    # Previous BEV rotated by the yaw change.
    prev_rotated = None
    if prev_bev is not None:
        image = prev_bev.t().reshape(dims, bev_h, bev_w)
        prev_rotated = rotate_nearest(image, float(can_bus[17]),
                                      rotate_center).reshape(dims, -1).t()
    # 3-D pillar points projected in float32 with strict masks.
    depth = pc_range[5] - pc_range[2]
    zs = [pc_range[2] + 0.5 + k * (depth - 1) / (num_anchors - 1)
          for k in range(num_anchors)]
    points = torch.zeros(num_q, num_anchors, 4)
    for h in range(bev_h):
        for w in range(bev_w):
            for k, z in enumerate(zs):
                points[h * bev_w + w, k] = torch.tensor([
                    pc_range[0] + (w + 0.5) / bev_w * real_w,
                    pc_range[1] + (h + 0.5) / bev_h * real_h, z, 1.0
                ])
    mats = torch.tensor(np.asarray(lidar2img), dtype=torch.float32)
    cam = torch.einsum('nij,qkj->nqki', mats, points)
    mask = cam[..., 2] > 1e-5
    uv = cam[..., :2] / cam[..., 2:3].clamp(min=1e-5)
    uv = uv / torch.tensor([image_hw[1], image_hw[0]], dtype=torch.float32)
    mask = mask & (uv > 0).all(-1) & (uv < 1).all(-1)
    # Camera values: + camera embedding + level embedding.
    levels = []
    for level, feat in enumerate(feats):
        levels.append(feat[0] + sd[T + 'cams_embeds'][:, :, None, None] +
                      sd[T + 'level_embeds'][level][None, :, None, None])
    shapes = [lvl.shape[-2:] for lvl in levels]

    x = queries0
    outputs = []
    for i in range(num_layers):
        p = f'{T}encoder.layers.{i}.'
        # --- temporal self-attention
        queue = [prev_rotated, queries0] if prev_bev is not None else [x, x]
        qin = torch.cat([queue[0], x + pos], -1)
        offsets = _linear(sd, p + 'attentions.0.sampling_offsets', qin).view(
            num_q, num_heads, 2, tsa_points, 2)
        weights = _linear(sd, p + 'attentions.0.attention_weights',
                          qin).view(num_q, num_heads, 2,
                                    tsa_points).softmax(-1)
        mean = torch.zeros(num_q, dims)
        for t in range(2):
            value = _linear(sd, p + 'attentions.0.value_proj', queue[t])
            for m in range(num_heads):
                image = value[:, m * head_dims:(m + 1) * head_dims].t()
                image = image.reshape(head_dims, bev_h, bev_w)
                loc_x = ref_2d[:, 0:1] + offsets[:, m, t, :, 0] / bev_w
                loc_y = ref_2d[:, 1:2] + offsets[:, m, t, :, 1] / bev_h
                picked = bilinear(image, loc_x, loc_y)  # (Q, P, d)
                mean[:, m * head_dims:(m + 1) * head_dims] += (
                    picked * weights[:, m, t, :, None]).sum(1) / 2
        x = x + _linear(sd, p + 'attentions.0.output_proj', mean)
        x = _norm(sd, p + 'norms.0', x)
        # --- spatial cross-attention (no positional encoding)
        slots = torch.zeros(num_q, dims)
        sca = p + 'attentions.1.deformable_attention.'
        for n in range(num_cams):
            index = mask[n].any(-1).nonzero()[:, 0]
            if len(index) == 0:
                continue
            q = x[index]
            off = _linear(sd, sca + 'sampling_offsets', q).view(
                len(index), num_heads, len(levels), sca_points, 2)
            att = _linear(sd, sca + 'attention_weights', q).view(
                len(index), num_heads, -1).softmax(-1).view(
                    len(index), num_heads, len(levels), sca_points)
            out = torch.zeros(len(index), dims)
            for lvl, image_l in enumerate(levels):
                h_l, w_l = shapes[lvl]
                value = _linear(sd, sca + 'value_proj',
                                image_l[n].flatten(1).t())
                for m in range(num_heads):
                    image = value[:, m * head_dims:(m + 1) * head_dims].t()
                    image = image.reshape(head_dims, h_l, w_l)
                    # Point k belongs to z-anchor k % num_anchors.
                    anchor = uv[n, index][:, [
                        k % num_anchors for k in range(sca_points)
                    ]]
                    loc_x = anchor[..., 0] + off[:, m, lvl, :, 0] / w_l
                    loc_y = anchor[..., 1] + off[:, m, lvl, :, 1] / h_l
                    picked = bilinear(image, loc_x, loc_y)  # (n, P, d)
                    out[:, m * head_dims:(m + 1) * head_dims] += (
                        picked * att[:, m, lvl, :, None]).sum(1)
            slots[index] += out
        count = mask.any(-1).sum(0).clamp(min=1)
        x = x + _linear(sd, p + 'attentions.1.output_proj',
                        slots / count[:, None])
        x = _norm(sd, p + 'norms.1', x)
        # --- FFN
        hidden = torch.relu(_linear(sd, p + 'ffns.0.layers.0.0', x))
        x = x + _linear(sd, p + 'ffns.0.layers.1', hidden)
        x = _norm(sd, p + 'norms.2', x)
        outputs.append(x)
    return dict(bev=x, layers=outputs, can_bus_embed=can_embed, shift=shift,
                ref_cam=uv, mask=mask, prev_rotated=prev_rotated, pos=pos)
