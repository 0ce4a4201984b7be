"""Auto-imports every `*_dataset.py` here so that it registers in BasicSR's registry."""
from faig.registration import import_all

import_all(__name__, __file__, 'dataset')
