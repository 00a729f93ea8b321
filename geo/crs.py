"""Coordinate reference systems used across the product, named once."""
WGS84 = "EPSG:4326"  # storage of lon/lat and everything sent to a web map
BNG = "EPSG:27700"  # British National Grid: metres, for distances, areas, geomasking
