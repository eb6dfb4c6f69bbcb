"""The county profile named in settings (county_profile_dir), loaded once for the whole API.

Routing, the back office's organisation view (api.org.profile), the FAQ and the town gazetteer all
read this one object; a restart, or `clear_cache()` after the YAML changed, loads it anew.
"""

from __future__ import annotations

from functools import lru_cache

from api.core.settings import get_settings
from api.county.loader import load_profile
from api.county.models import CountyProfile


@lru_cache(maxsize=4)
def _load(folder: str) -> CountyProfile:
    return load_profile(folder)


def county_profile() -> CountyProfile:
    return _load(str(get_settings().county_profile_dir))


def clear_cache() -> None:
    _load.cache_clear()
