"""County profile: departments, leaders, routing matrix, SLA, linkage, gazetteer, FAQ (pure loader)."""

from api.county.loader import ProfileError, load_profile
from api.county.models import CountyProfile

__all__ = ["CountyProfile", "ProfileError", "load_profile"]
