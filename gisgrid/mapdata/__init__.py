"""What the maps draw: layers with measures, vector tiles, OGC API Features collections."""
