-- A photo's row, once per distinct upload (its SHA-256); a resend leaves the first row as is.
INSERT INTO photo (sha256, media_type, bytes_in, width, height, taken_at, taken_lon, taken_lat,
                   account_id, username)
VALUES (:sha256, :media_type, :bytes_in, :width, :height, :taken_at, :taken_lon, :taken_lat,
        :account_id, :username)
ON CONFLICT (sha256) DO NOTHING
