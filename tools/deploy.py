"""Removes NexusFlow from a trained model: writes the host's plain config and
its weights without surrogates, checked by a strict load (every attachment:
NexusFlowHook / AlignWeightHook, NexusFlowWrapper, NexusFlowNeck).

Example:
    python tools/deploy.py \
        configs/nexusflow/centerpoint_pillar_domainsplit_hook.py \
        work_dirs/centerpoint_pillar_domainsplit_hook/epoch_20.pth deploy/
"""
import argparse

from _bootstrap import import_nexusflow

import_nexusflow()
from nexusflow.attach.deploy import deploy


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description='Write the host model of a NexusFlow checkpoint (config '
        '+ weights without surrogates)')
    parser.add_argument('config', help='the training config')
    parser.add_argument('checkpoint', help='the trained checkpoint')
    parser.add_argument('out', help='output folder for <name>.py/<name>.pth')
    return parser.parse_args()


def main() -> None:
    args = parse_args()
    try:
        result = deploy(args.config, args.checkpoint, args.out)
    except (FileNotFoundError, FileExistsError, ValueError) as err:
        raise SystemExit(f'error: {err}') from None
    print(f'{type(result["model"]).__name__}: {result["kept"]} parameters '
          f'kept, {result["removed"]} NexusFlow values removed\n'
          f'wrote {result["config"]}\nwrote {result["checkpoint"]}')


if __name__ == '__main__':
    main()
