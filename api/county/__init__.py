"""County profile: departments, leaders, routing matrix, SLA, linkage, gazetteer, FAQ (pure loader)."""

from api.county.current import clear_cache, county_profile
from api.county.loader import ProfileError, load_profile
from api.county.models import CountyProfile

__all__ = ["CountyProfile", "ProfileError", "clear_cache", "county_profile", "load_profile"]
