# The reverse of the paper's split: map labels only in Singapore, track labels
# only in Boston.
domain_rules = dict(map=['singapore-*'], track=['boston-seaport'])
