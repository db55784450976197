-- n fresh ids from a sequence, so rows can reference each other before COPY.
SELECT nextval(:s) FROM generate_series(1, :n)
