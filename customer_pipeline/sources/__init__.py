"""Source adapters: each reads one kind of dataset and classifies every row (see base.py)."""
from __future__ import annotations

from customer_pipeline.settings import Profile, online_retail_path
from customer_pipeline.sources.base import ClassifiedSource


def load_source(profile: Profile) -> ClassifiedSource:
    """The classified source rows of a dataset profile (cached per file version)."""
    if profile.name == "cdnow":
        from customer_pipeline.sources import cdnow

        return cdnow.load(None, profile)
    if profile.name == "online_retail":
        from customer_pipeline.sources import online_retail

        return online_retail.load(online_retail_path(), profile)
    if profile.name == "saas_demo":
        from customer_pipeline.sources import saas

        return saas.load(profile)
    raise ValueError(f"no source adapter for dataset profile {profile.name!r}")
