"""Folium maps: the offline base map and the layers drawn on it, from protected figures."""
