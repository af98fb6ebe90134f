"""Converts an official BEVFormer or UniAD checkpoint to this project's
``UniADTrackMap`` names (see ``nexusflow.converters.checkpoint``).

Example:
    wget -P ckpts https://github.com/zhiqi-li/storage/releases/download/v1.0/bevformer_r101_dcn_24ep.pth
    python tools/convert_checkpoint.py bevformer \
        ckpts/bevformer_r101_dcn_24ep.pth \
        ckpts/bevformer_r101_dcn_24ep_nexusflow.pth

Prints how many tensors were mapped, dropped on purpose (by group, with the
reason) and unmapped; never overwrites the output.
"""  # noqa: E501
import argparse
import sys

from _bootstrap import import_nexusflow

import_nexusflow()
from nexusflow.converters.checkpoint import (KINDS, OFFICIAL_CLASSES,
                                             convert_checkpoint_file)
from nexusflow.structures.nuscenes_meta import DETECTION_CLASSES
from nexusflow.utils.errors import one_line_errors


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description='Convert an official BEVFormer / UniAD checkpoint '
        '(mmcv 1.x) to a checkpoint this project loads (load_from)')
    parser.add_argument('kind', choices=KINDS,
                        help='bevformer: bevformer_r101_dcn_24ep.pth; '
                        'uniad: uniad_base_track_map.pth')
    parser.add_argument('src', help='the official .pth file')
    parser.add_argument('dst', help='the converted .pth (must not exist)')
    parser.add_argument(
        '--classes', default=','.join(DETECTION_CLASSES),
        help='comma-separated classes of the target track head, in its '
        f'order, among {",".join(OFFICIAL_CLASSES)} (default: all 10, as '
        'UniAD trains)')
    parser.add_argument('--allow-unmapped', action='store_true',
                        help='write even if some tensors are unmapped')
    parser.add_argument('--debug', action='store_true',
                        help='show the traceback of an error')
    return parser.parse_args()


def main() -> None:
    args = parse_args()
    classes = [name.strip() for name in args.classes.split(',')
               if name.strip()]
    conversion, lines = convert_checkpoint_file(
        args.src, args.dst, args.kind, classes,
        allow_unmapped=args.allow_unmapped)
    for line in lines:
        print(line)
    print(f'wrote {args.dst} ({len(conversion.state_dict)} tensors)')


if __name__ == '__main__':
    with one_line_errors('--debug' in sys.argv[1:]):
        main()
