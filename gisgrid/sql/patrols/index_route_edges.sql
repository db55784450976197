-- Snapping stops to the network is a KNN search: it needs a GiST index.
CREATE INDEX ON route_edges USING gist (geom)
