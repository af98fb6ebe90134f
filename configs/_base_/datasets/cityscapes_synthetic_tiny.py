# The synthetic Cityscapes set of the dense *_tiny twins (CPU smoke runs),
# made by
#   python tools/create_synthetic_cityscapes.py \
#       --out data/synthetic_cityscapes_tiny --train 8 --val 4 --size 32 64
# mmengine refuses a key defined in two `_base_` files, and cityscapes.py
# already defines the dataloaders, so the settings live under their own
# names; an MTL twin (*_mtl_onelabel_tiny, which the other twins inherit)
# lists this file next to its full config and merges them with
#   train_dataloader = _base_.tiny_train_dataloader
#   val_dataloader = _base_.tiny_val_dataloader
#   test_dataloader = val_dataloader
# onelabel is drawn with the official statistics for the 8 images.
tiny_data_root = 'data/synthetic_cityscapes_tiny/'
tiny_train_dataloader = dict(
    batch_size=4, num_workers=0, persistent_workers=False,
    dataset=dict(data_root=tiny_data_root, label_setting='onelabel',
                 labels_weights=None))
tiny_val_dataloader = dict(num_workers=0, persistent_workers=False,
                           dataset=dict(data_root=tiny_data_root))
