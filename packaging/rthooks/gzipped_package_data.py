"""PyInstaller runtime hook: package data files shipped gzipped (`NAME.gz` beside where
`NAME` would be) are read transparently by `pkgutil.get_data`.

The bundle ships highdicom's 22.6 MB `_standard/module_attribute_map.json` as a 0.6 MB
`.gz` (see packaging/cxr_desktop.spec); highdicom reads it with `pkgutil.get_data`.
"""

import gzip
import pkgutil

_get_data = pkgutil.get_data


def _get_data_or_gzipped(package, resource):
    try:
        return _get_data(package, resource)
    except FileNotFoundError:
        packed = _get_data(package, resource + ".gz")
        return None if packed is None else gzip.decompress(packed)


pkgutil.get_data = _get_data_or_gzipped
