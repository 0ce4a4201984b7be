"""Auto-imports every `*_arch.py` here so that it registers in BasicSR's registry."""
from faig.registration import import_all

import_all(__name__, __file__, 'arch')
