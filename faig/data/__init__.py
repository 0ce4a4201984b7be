"""The project's data. Every `*_dataset.py` here registers in BasicSR's registry when `faig.register()` runs
(BasicSR-style auto-import, done on first use rather than on package import so that the light
modules here, such as faig.data.image_io, do not pull in basicsr)."""
