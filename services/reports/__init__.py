"""The reports service: KPI definitions as data, valued from event-fed projections."""
