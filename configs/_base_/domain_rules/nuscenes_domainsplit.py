# NexusFlow's nuScenes domain split: map labels only in Boston, track labels
# only in Singapore (fnmatch globs over log.location). Use it as
#   _base_ = [..., '../_base_/domain_rules/nuscenes_domainsplit.py']
#   ... dict(type='NuScenesDomainSplitDataset', rules=_base_.domain_rules, ...)
domain_rules = dict(map=['boston-seaport'], track=['singapore-*'])
